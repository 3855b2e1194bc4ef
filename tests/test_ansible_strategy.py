"""The mitogen strategy every run here uses (runbooks/strategy):

- leaves the CPUs alone: a process a task starts may run on every CPU this test may, as it would
  without mitogen. mitogen's own plugin pins it to one core of two (its affinity policy), with all
  else the run starts;
- starts an AWS module's process with the AWS SDK already imported, on the controller's own Python
  only (mitogen's own plugin imports it again for every task);
- lets every AWS task of a run share one botocore loader, so the SDK's data (endpoints, service
  models) is parsed once per run, not once per task.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbooks.ansible import strategy_env

PLAYBOOK = """
- name: Read the CPUs a task's process may run on.
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Read them from the process's status.
      ansible.builtin.command: grep Cpus_allowed_list /proc/self/status
      register: allowed
      changed_when: false
    - name: Print them.
      ansible.builtin.debug:
        msg: "allowed={{ allowed.stdout.split()[-1] }}"
"""


def allowed_cpus(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def printed(tmp_path: Path, playbook: str, key: str, *args: str) -> str:
    """Run `playbook` with the kit's strategy on localhost; the value its one `key=` line prints."""
    path = tmp_path / "playbook.yml"
    path.write_text(playbook)
    env = {**os.environ, **strategy_env(), "ANSIBLE_LOCALHOST_WARNING": "false"}
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    run = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", *args, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [line] = [line for line in run.stdout.splitlines() if f"{key}=" in line]
    return line.split(f"{key}=")[1].strip('" ')


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_a_tasks_process_may_run_on_every_cpu(tmp_path: Path) -> None:
    assert allowed_cpus(printed(tmp_path, PLAYBOOK, "allowed")) == os.sched_getaffinity(0)


PROBE_MODULE = """
import sys
LOADED = sorted(m for m in ("boto3", "botocore.client", "botocore.session") if m in sys.modules)
from ansible.module_utils.basic import AnsibleModule
AnsibleModule(argument_spec={}).exit_json(changed=False, loaded=LOADED)
"""

PROBE_PLAYBOOK = """
- name: Read which SDK modules a task's process starts with.
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    # As every amazon.aws module runs: in a process forked for it (it has module_utils of its own).
    mitogen_task_isolation: fork
  tasks:
    - name: Probe twice, the second in a process forked like the first.
      sdk_probe:
      register: probe
      loop: [1, 2]
    - name: Print what each found.
      ansible.builtin.debug:
        msg: "loaded={{ probe.results | map(attribute='loaded') | map('join', '+') | join(',') }}"
"""


@pytest.mark.parametrize(
    ("interpreter", "loaded"),
    [
        (sys.executable, "boto3+botocore.client+botocore.session"),
        # Another Python may lack the SDK: mitogen would ship the controller's copy, so nothing is loaded.
        ("/usr/bin/python3", ""),
    ],
)
def test_a_tasks_process_starts_with_the_sdk_on_the_controllers_python(
    tmp_path: Path, interpreter: str, loaded: str
) -> None:
    if not Path(interpreter).exists():
        pytest.skip(f"no {interpreter}")
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "sdk_probe.py").write_text(PROBE_MODULE)
    found = printed(tmp_path, PROBE_PLAYBOOK, "loaded", "-e", f"ansible_python_interpreter={interpreter}")
    assert found == f"{loaded},{loaded}"


LOADER_MODULE = """
import os
import boto3
from ansible.module_utils.basic import AnsibleModule
module = AnsibleModule(argument_spec={"task": {"type": "int"}})
loader = boto3.session.Session(region_name="us-east-1")._session.get_component("data_loader")
# The first task to see this loader marks it: a loader made for each task has no mark.
if not hasattr(loader, "first_task"):
    loader.first_task = module.params["task"]
module.exit_json(changed=False, found=f"{os.getpid()}/{loader.first_task}/{len(loader.search_paths)}")
"""

LOADER_PLAYBOOK = """
- name: Read the botocore loader each AWS task's session gets.
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Make a boto3 session in three tasks, as every amazon.aws module does.
      sdk_loader:
        task: "{{ item }}"
      register: probe
      loop: [1, 2, 3]
    - name: Print what each found.
      ansible.builtin.debug:
        msg: "found={{ probe.results | map(attribute='found') | join(',') }}"
"""


def test_the_aws_tasks_of_a_run_share_the_sdks_parsed_data(tmp_path: Path) -> None:
    import botocore.loaders

    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "sdk_loader.py").write_text(LOADER_MODULE)

    found = printed(tmp_path, LOADER_PLAYBOOK, "found").split(",")

    # One process and one loader, which the first task marked (what it parsed stays for the next),
    # with boto3's data directory listed once however many sessions boto3 made.
    default_paths = len(botocore.loaders.create_loader().search_paths)
    assert len(found) == 3
    assert {tuple(f.split("/")[1:]) for f in found} == {("1", str(default_paths + 1))}, found
    assert len({f.split("/")[0] for f in found}) == 1, found

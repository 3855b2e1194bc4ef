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

from runbooks.ansible import STRATEGY_DIR, strategy_env

CONTROLLER_PYTHON = 'ansible_python_interpreter: "{{ ansible_playbook_python }}"'


def local_play(name: str, tasks: str, variables: str = CONTROLLER_PYTHON) -> str:
    """A play on localhost (local connection, no facts) with ``variables`` (one line) and ``tasks``."""
    return f"""
- name: {name}
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    {variables}
  tasks:
{tasks}"""


PLAYBOOK = local_play(
    "Read the CPUs a task's process may run on.",
    """    - name: Read them from the process's status.
      ansible.builtin.command: grep Cpus_allowed_list /proc/self/status
      register: allowed
      changed_when: false
    - name: Print them.
      ansible.builtin.debug:
        msg: "allowed={{ allowed.stdout.split()[-1] }}"
""",
)


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

PROBE_PLAYBOOK = local_play(
    "Read which SDK modules a task's process starts with.",
    """    - name: Probe twice, the second in a process forked like the first.
      sdk_probe:
      register: probe
      loop: [1, 2]
    - name: Print what each found.
      ansible.builtin.debug:
        msg: "loaded={{ probe.results | map(attribute='loaded') | map('join', '+') | join(',') }}"
""",
    # As every amazon.aws module runs: in a process forked for it (it has module_utils of its own).
    "mitogen_task_isolation: fork",
)


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

LOADER_PLAYBOOK = local_play(
    "Read the botocore loader each AWS task's session gets.",
    """    - name: Make a boto3 session in three tasks, as every amazon.aws module does.
      sdk_loader:
        task: "{{ item }}"
      register: probe
      loop: [1, 2, 3]
    - name: Print what each found.
      ansible.builtin.debug:
        msg: "found={{ probe.results | map(attribute='found') | join(',') }}"
""",
)


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


CREDENTIAL_PLUGIN = """#!{python}
import datetime, json, sys
minutes, cluster, runs = sys.argv[1:]
with open(runs, "a") as log:
    log.write(cluster + "\\n")
expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=int(minutes))
status = {{"token": "token-" + cluster, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}}
api = "client.authentication.k8s.io/v1beta1"
print(json.dumps({{"apiVersion": api, "kind": "ExecCredential", "status": status}}))
"""

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:9"}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
users:
  - name: u
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: {plugin}
        args: ["{minutes}", "{cluster}", "{runs}"]
"""

CREDENTIAL_PLAYBOOK = local_play(
    "Read namespaces through two clusters' kubeconfigs, twice each.",
    """    - name: Read them (nothing listens; only the credential plugin's runs count).
      kubernetes.core.k8s_info:
        kubeconfig: "{{ item }}.yaml"
        kind: Namespace
      loop: [a, b, a, b]
      ignore_errors: true
    - name: Print which cluster each plugin run was for.
      ansible.builtin.debug:
        msg: "runs={{ lookup('ansible.builtin.file', 'runs') | split('\\n') | join('+') }}"
""",
)


@pytest.mark.parametrize(
    ("minutes", "runs"),
    [
        # As `aws eks get-token` gives: fourteen minutes, kept for the next task of the same cluster.
        (14, "a+b"),
        # Under ten minutes left: a task gets a new one.
        (9, "a+b+a+b"),
    ],
)
def test_a_run_keeps_an_eks_token_while_ten_minutes_remain(tmp_path: Path, minutes: int, runs: str) -> None:
    plugin = tmp_path / "credential-plugin"
    plugin.write_text(CREDENTIAL_PLUGIN.format(python=sys.executable))
    plugin.chmod(0o755)
    log = tmp_path / "runs"
    log.touch()
    for cluster in ("a", "b"):
        kubeconfig = KUBECONFIG.format(plugin=plugin, minutes=minutes, cluster=cluster, runs=log)
        (tmp_path / f"{cluster}.yaml").write_text(kubeconfig)
    assert printed(tmp_path, CREDENTIAL_PLAYBOOK, "runs") == runs


LISTING = """
import os, sys, types
import ansible.collections.list
from ansible import constants
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_AnsibleCollectionFinder(paths=constants.COLLECTIONS_PATHS)._install()
listings = []
listed = ansible.collections.list.list_collection_dirs
ansible.collections.list.list_collection_dirs = lambda *a, **k: listings.append(1) or listed(*a, **k)
expected = {path.decode() for path in listed()}
sys.path.insert(0, sys.argv[1])
import mitogen_linear, ansible_mitogen.planner

mitogen_linear._list_collections()  # what the strategy does in the controller when a play starts
for task in range(3):  # a task's worker: forked from the controller, its first collection module
    before = len(listings)
    child = os.fork()
    if child == 0:
        invocation = types.SimpleNamespace(_extra_sys_paths=set())
        ansible_mitogen.planner._load_collections(invocation)
        # 0: every collection's path, and no listing of its own
        os._exit(10 * (invocation._extra_sys_paths != expected or not expected) + len(listings) - before)
    status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    print(f"worker={status}")
print(f"listings={len(listings)}")
"""


def test_the_controller_lists_the_collections_once_for_every_tasks_worker() -> None:
    command = [sys.executable, "-c", LISTING, str(STRATEGY_DIR)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    # Once in the controller; each worker gets every installed collection's path without listing them.
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["worker=0", "worker=0", "worker=0", "listings=1"]

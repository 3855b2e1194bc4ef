"""The sites' home usage inputs pass the role's validation, and a bad one set in the inventory fails it.

Runs roles/home_usage/tasks/validate.yml on the controller with each shipped inventory (as
playbooks/validate.yml does): it changes nothing, so no host, cluster or emulator is needed. The
role's own bad-input cases are in its Molecule scenario (molecule/default/vars/bad_inputs.yml).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible_run import ROOT

PLAYBOOK = """---
- name: Validate the home usage inputs.
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Validate.
      ansible.builtin.include_role:
        name: home_usage
        tasks_from: validate
    - name: Say that validation passed.
      ansible.builtin.debug:
        msg: "VALIDATION PASSED {{ home_usage_scheduler }} {{ home_usage_root }}"
"""


def validate(tmp_path: Path, site: str, extra_vars: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "validate.yml"
    playbook.write_text(PLAYBOOK)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    ansible_playbook = str(Path(sys.executable).parent / "ansible-playbook")
    return subprocess.run(
        [ansible_playbook, "-i", f"inventories/{site}", str(playbook), "-e", json.dumps(extra_vars)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(("site", "expected"), [("local", "systemd /home"), ("example", "kubernetes /homes")])
def test_site_passes(tmp_path: Path, site: str, expected: str) -> None:
    run = validate(tmp_path, site, {})
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"VALIDATION PASSED {expected}" in run.stdout


def test_bad_interval_in_the_inventory_fails_naming_it(tmp_path: Path) -> None:
    run = validate(tmp_path, "local", {"home_usage_interval": "30s"})
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "VALIDATION PASSED" not in output
    assert "home_usage_interval is" in output and "30s" in output, output[-2000:]
    assert "at least 60 seconds" in output

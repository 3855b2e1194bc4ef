"""sciplat.platform.warn (the roles' warnings about what the inventory no longer lists): each message is
one [WARNING] line however long, in check mode too, and the task changes nothing; a bad msg fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runbooks.ansible import strategy_env

ROOT = Path(__file__).resolve().parent.parent
LONG = "Extra NAT gateway nat-0123 in vpc-0456: " + "the inventory wants another shape, " * 6 + "set it."
PLAYBOOK = f"""
- name: Warn.
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Two messages, one spread over lines.
      sciplat.platform.warn:
        msg: ["{LONG}", "second\\n   message"]
    - name: Not strings.
      sciplat.platform.warn:
        msg: [{{a: 1}}]
      ignore_errors: true
      register: bad
    - name: Check that it failed.
      ansible.builtin.assert:
        that: bad is failed and 'list of strings' in bad.msg
"""


def test_each_message_is_one_warning_line_and_nothing_changes(tmp_path: Path) -> None:
    playbook = tmp_path / "warn.yml"
    playbook.write_text(PLAYBOOK)
    env = {
        **os.environ,
        **strategy_env(),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    run = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "--check", str(playbook)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert f"[WARNING]: {LONG}\n" in output
    assert "[WARNING]: second message\n" in output
    assert "changed=0" in output and "failed=0" in output

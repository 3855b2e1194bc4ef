"""What a runbook run writes is the operator's only: its directory 0700, its audit log, state and lock
0600, and ansible-runner's artifacts (the playbook's output and events) 0700 / 0600, without the
values of no_log tasks."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbooks import ansible as runbook_ansible
from runbooks.engine import Context, Run, Step, procedure_lock
from runbooks.site import load_site

LOCAL = load_site("local")
SECRET = "s3cr3t-8f14e45fceea167a5a36dedd4bea2543"
PLAYBOOK = f"""---
- name: A playbook a runbook runs.
  hosts: localhost
  gather_facts: false
  vars:
    runbook_test_secret: {SECRET}
  tasks:
    - name: Say something an operator reads.
      ansible.builtin.debug:
        msg: visible-line-42
    - name: Handle the secret.
      ansible.builtin.debug:
        msg: "{{{{ runbook_test_secret }}}}"
      no_log: true
"""


@pytest.fixture(autouse=True)
def output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path / "out"))
    old = os.umask(0o022)  # what most shells have: files 0644 unless the code says otherwise
    try:
        yield tmp_path / "out"
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in [root, *root.rglob("*")]
        if not path.is_symlink()
    }


def test_a_run_with_a_playbook_writes_its_records_for_the_operator_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playbook = tmp_path / "runbook-test.yml"
    playbook.write_text(PLAYBOOK)
    monkeypatch.setattr(runbook_ansible, "playbook_path", lambda name: playbook)

    def play(ctx: Context) -> str:
        return str(runbook_ansible.run_playbook(ctx, "runbook-test.yml", timeout=300))

    steps = [Step("play", lambda c: "run the test playbook", play, lambda c: None)]
    run = Run(LOCAL, "demo", lambda ctx: steps, {}, apply=True, yes=True, echo=lambda _: None)
    run.execute()

    modes = _modes(run.run_dir)
    files = {name: mode for name, mode in modes.items() if (run.run_dir / name).is_file()}
    dirs = {name: mode for name, mode in modes.items() if (run.run_dir / name).is_dir()}
    assert {"audit.jsonl", "state.json"} <= files.keys()
    artifacts = [name for name in files if "/artifacts/" in name]
    assert any(name.endswith("/stdout") for name in artifacts)
    assert any("/job_events/" in name for name in artifacts)
    assert {name: mode for name, mode in files.items() if mode != "0o600"} == {}
    assert {name: mode for name, mode in dirs.items() if mode != "0o700"} == {}
    assert oct(stat.S_IMODE(run.run_dir.parent.stat().st_mode)) == "0o700"

    # The output is there for the operator; the no_log task's value is nowhere in the run's records.
    texts = {name: (run.run_dir / name).read_text(errors="replace") for name in files}
    assert any("visible-line-42" in text for text in texts.values())
    assert [name for name, text in texts.items() if SECRET in text] == []
    events = [json.loads(line) for line in texts["audit.jsonl"].splitlines()]
    assert ("ansible:runbook-test.yml", "successful") in {(e["step"], e["result"]) for e in events}


def test_an_existing_audit_log_and_the_lock_are_made_0600(output_dir: Path) -> None:
    steps = [Step("noop", lambda c: "nothing", lambda c: "done", lambda c: None)]
    first = Run(LOCAL, "demo", lambda ctx: steps, {}, apply=True, yes=True, echo=lambda _: None)
    first.execute()
    (first.run_dir / "audit.jsonl").chmod(0o644)  # as runs before this change wrote it
    resumed = Run(
        LOCAL, "demo", lambda ctx: steps, {}, apply=True, yes=True, resume=first.run_id, echo=lambda _: None
    )
    resumed.execute()
    assert oct(stat.S_IMODE((first.run_dir / "audit.jsonl").stat().st_mode)) == "0o600"
    with procedure_lock(LOCAL, "demo", "run-1") as lock:
        assert oct(stat.S_IMODE(lock.stat().st_mode)) == "0o600"
        assert oct(stat.S_IMODE(lock.parent.stat().st_mode)) == "0o700"

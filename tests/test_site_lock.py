"""One lock per site in AWS (SSM, conditional write): a second operator's procedure, drill or
converge is refused while one runs. Against the small site of test_runbooks_preflight."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_run import ROOT, run_playbook
from runbooks_site import cli
from test_runbooks_preflight import restore_jobs, small_site  # noqa: F401  (the fixture)

from runbooks import aws, site_lock
from runbooks.engine import Refused
from runbooks.site import Site

OTHER = {
    "run_id": "20261205T010000Z-restore-filesystem-abcdef",
    "procedure": "restore-filesystem",
    "user": "bob",
    "host": "laptop-2",
    "pid": 4242,
    "since": "2026-12-05T01:00:00+00:00",
}


def lock_from_another_laptop(site: Site) -> None:
    aws.client(site, "ssm").put_parameter(
        Name=site_lock.parameter(site), Value=json.dumps(OTHER), Type="String", Overwrite=False
    )


def test_a_second_operator_is_refused_and_nothing_starts(small_site: Site) -> None:  # noqa: F811
    lock_from_another_laptop(small_site)
    result = cli("run", "restore-user-home", "--site", "local", "--user", "alice", "--apply", "--yes")
    assert result.exit_code == 2, result.output
    assert (
        "site local is locked: restore-filesystem run 20261205T010000Z-restore-filesystem-abcdef by bob "
        "on laptop-2 (pid 4242)" in result.output
    )
    assert restore_jobs(small_site) == []
    result = cli("drill", "user-files", "--site", "local", "--yes")
    assert result.exit_code == 2 and "site local is locked" in result.output
    assert "by bob on laptop-2" in cli("lock", "--site", "local").output
    with pytest.raises(Refused, match="not by run nope"):
        site_lock.release(small_site, "nope")
    assert cli("lock", "--site", "local", "--release", OTHER["run_id"]).exit_code == 0
    assert site_lock.holder(small_site) is None


def test_the_lock_is_held_during_a_run_taken_again_inside_it_and_released(small_site: Site) -> None:  # noqa: F811
    with site_lock.hold(small_site, "drill user-files", "run-1"):
        assert site_lock.holder(small_site)["run_id"] == "run-1"  # type: ignore[index]
        with site_lock.hold(small_site, "restore-user-home", "run-2"):  # the drill's procedure
            pass
        assert site_lock.holder(small_site)["run_id"] == "run-1"  # type: ignore[index]
    assert site_lock.holder(small_site) is None
    gone = subprocess.Popen(["true"])
    gone.wait()
    with site_lock.hold(small_site, "x", "crashed"):
        pass
    dead = {**OTHER, "host": os.uname().nodename, "pid": gone.pid}
    aws.client(small_site, "ssm").put_parameter(
        Name=site_lock.parameter(small_site), Value=json.dumps(dead), Type="String"
    )
    with site_lock.hold(small_site, "restore-user-home", "run-3"):  # a dead process's lock is taken over
        assert site_lock.holder(small_site)["run_id"] == "run-3"  # type: ignore[index]


def test_a_converge_is_refused_while_a_runbook_holds_the_lock(small_site: Site) -> None:  # noqa: F811
    lock_from_another_laptop(small_site)
    state_dir = Path(os.environ["EMULATOR_STATE_DIR"])
    # site.yml imports the lock's play right after validation (which takes seconds: run the play alone).
    site_yml = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    assert [p.get("ansible.builtin.import_playbook") for p in site_yml[:2]] == [
        "validate.yml",
        "site_lock.yml",
    ]
    run = run_playbook("site_lock.yml", state_dir=state_dir)
    assert run.returncode != 0
    assert (
        "Site local is locked: restore-filesystem run 20261205T010000Z-restore-filesystem-abcdef by bob "
        "on laptop-2 since 2026-12-05T01:00:00+00:00 is changing the site" in " ".join(run.output.split())
    ), run.output[-3000:]

"""The ssh_host way of reaching the homes, over real SSH: the local site's `hub` machine (booted as
`make host` boots it, the emulated EFS bound at /srv/efs) is the host that mounts the file system;
restore-user-home, the file-system restore and the quota report work through it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from local_machines import machines, needs_machines
from runbooks_site import files
from test_runbooks_preflight import make_small_site, runner

from emulator.launcher import Emulator
from runbooks import aws
from runbooks import quota_report as quota
from runbooks.home_access import SshHostAccess, home_access
from runbooks.site import Site, load_site

pytestmark = needs_machines
SSH_SETTINGS = {"host": "hub-local", "root": "/srv/efs/{file_system_id}"}


@pytest.fixture(scope="module")
def hub_machine(site_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local site's hub machine, with this emulator's EFS data at /srv/efs (as `make host`)."""
    state_dir = tmp_path_factory.mktemp("machines")
    started = machines(
        state_dir, "start", "hub", "--port", "http", "--bind", f"{site_emulator.state_dir}/efs:/srv/efs"
    )
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        yield state_dir
    finally:
        machines(state_dir, "destroy", "hub")


@pytest.fixture
def ssh_site(
    site_emulator: Emulator, hub_machine: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Site:
    """The small site, its homes reached over SSH on the hub machine (hub-local in the inventory)."""
    make_small_site(site_emulator, monkeypatch, tmp_path)
    monkeypatch.setenv("MACHINES_STATE_DIR", str(hub_machine))
    site = load_site("local")
    assert site.var("runbook_home_ssh") == SSH_SETTINGS  # the local inventory's, as an operator sets it
    return dataclasses.replace(site, hostvars={**site.hostvars, "runbook_home_access": "ssh_host"})


def local_root(site: Site, fs_id: str) -> Path:
    """The same file system seen from the test (the emulator's data directory)."""
    local = dataclasses.replace(site, hostvars={**site.hostvars, "runbook_home_access": "local_path"})
    return home_access(local).root(fs_id)  # type: ignore[attr-defined]


def test_restore_user_home_over_ssh(ssh_site: Site) -> None:
    fs = aws.find_home_fs(ssh_site)
    assert fs is not None
    access = home_access(ssh_site)
    assert isinstance(access, SshHostAccess)
    assert access.check() == f"ssh hub-local: /srv/efs is writable (python {access.check().split()[-1][:-1]})"
    home = local_root(ssh_site, fs["FileSystemId"]) / "home" / "alice"
    expected = files(home)
    shutil.rmtree(home / "data")
    lines: list[str] = []
    runner(ssh_site, "restore-user-home", "--user", "alice", lines=lines).execute()
    assert files(home) == expected
    assert any("1 restored, 0 replaced, 1 already identical" in line for line in lines), lines
    assert not list(home.parent.parent.glob("aws-backup-restore_*"))  # the side directory is removed


def test_restore_filesystem_lifts_the_new_file_system_over_ssh(ssh_site: Site) -> None:
    old = aws.find_home_fs(ssh_site)
    assert old is not None
    expected = files(local_root(ssh_site, old["FileSystemId"]))
    run = runner(ssh_site, "restore-filesystem", steps=3)
    run.execute()
    new = run.ctx.data["new_file_system_id"]
    assert new != old["FileSystemId"] and run.ctx.data["lifted"] is True
    assert files(local_root(ssh_site, new)) == expected


def test_quota_report_reads_the_usage_file_over_ssh(ssh_site: Site) -> None:
    fs = aws.find_home_fs(ssh_site)
    assert fs is not None
    usage_dir = local_root(ssh_site, fs["FileSystemId"]) / "home" / ".sciplat-usage"
    usage_dir.mkdir()
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    homes = {"alice": {"bytes": 8192, "files": 2, "measured_at": stamp, "full_at": stamp}}
    usage = {"version": 1, "root": "/home", "measured_at": stamp, "homes": homes, "run": {"complete": True}}
    (usage_dir / "usage.json").write_text(json.dumps(usage))
    report = quota.report(ssh_site)
    where = f"ssh_host /srv/efs/{fs['FileSystemId']}/home/.sciplat-usage/usage.json"
    assert report["usage_file"] == where and report["stale"] is False
    assert [(row["user"], row["bytes"]) for row in report["users"]] == [("alice", 8192)]
    (usage_dir / "usage.json").unlink()
    with pytest.raises(quota.Refused, match=f"no usage file yet \\({where}\\)"):
        quota.report(ssh_site)

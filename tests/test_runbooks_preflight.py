"""No paid or destructive action before every precondition is checked, and a resumed step reuses
what an earlier attempt started: against a small site made in the session's emulator with boto3
(a home file system with files, a vault with a recovery point, the backup role), no converge."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runbooks_site import files

from emulator.launcher import Emulator
from runbooks import aws, procedures
from runbooks.engine import Refused, Run
from runbooks.home_access import home_access
from runbooks.site import Site, load_site

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


_LOADED: dict[str, Site] = {}


def loaded_site(emulator: Emulator) -> Site:
    """The local site read once per emulator (seconds of Ansible templating): what varies between
    tests (RUNBOOK_OUTPUT_DIR, the endpoint file) is read from the environment when used."""
    key = str(emulator.state_dir)
    if key not in _LOADED:
        _LOADED[key] = load_site("local")
    return _LOADED[key]


def make_small_site(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Site:
    """The local site's home file system, vault and backup role, made directly; alice's files backed up."""
    emulator.reset()
    monkeypatch.setenv("EMULATOR_STATE_DIR", str(emulator.state_dir))
    monkeypatch.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("SITE_OUTPUT_DIR", str(tmp_path / "site-output"))
    monkeypatch.setenv("MACHINES_STATE_DIR", str(tmp_path / "machines"))
    site = loaded_site(emulator)
    aws.client(site, "iam").create_role(
        RoleName=site.var("backup_iam_role_name"), AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    aws.client(site, "backup").create_backup_vault(BackupVaultName=aws.vault_name(site))
    tags = [{"Key": k, "Value": v} for k, v in {**site.tags, "Name": aws.home_fs_name(site)}.items()]
    aws.client(site, "efs").create_file_system(CreationToken="homes", Encrypted=True, Tags=tags)
    fs = aws.find_home_fs(site)
    assert fs is not None
    home = home_access(site).root(fs["FileSystemId"]) / "home" / "alice"
    (home / "data").mkdir(parents=True)
    (home / "notes.md").write_text("# observing log\n")
    (home / "data" / "frame.fits").write_bytes(b"\x00" * 4096)
    aws.start_backup(site, fs, 60)
    return site


@pytest.fixture
def small_site(site_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Site]:
    yield make_small_site(site_emulator, monkeypatch, tmp_path)


def unreachable_homes(site: Site) -> Site:
    """The operator's site: homes reached over SSH, on a host nobody answers for."""
    settings = {"host": "hub-1", "root": "/mnt/efs/{file_system_id}"}
    hosts = {"hub-1": {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_user": "root"}}
    return dataclasses.replace(
        site,
        hostvars={**site.hostvars, "runbook_home_access": "ssh_host", "runbook_home_ssh": settings},
        hosts=hosts.get,
    )


def restore_jobs(site: Site) -> list[dict[str, Any]]:
    return aws.client(site, "backup").list_restore_jobs()["RestoreJobs"]


def file_systems(site: Site) -> list[str]:
    return [fs["FileSystemId"] for fs in aws.client(site, "efs").describe_file_systems()["FileSystems"]]


def runner(site: Site, name: str, *args: str, steps: int | None = None, **kwargs: Any) -> Run:
    module = procedures.get(name)
    params = procedures.parse_args(module, list(args))
    lines: list[str] = kwargs.pop("lines", [])

    def steps_of(ctx: Any) -> Any:
        return module.steps(ctx)[:steps] if steps else module.steps(ctx)

    return Run(site, name, steps_of, params, apply=True, yes=True, echo=lines.append, **kwargs)


@pytest.mark.parametrize("procedure", ["restore-filesystem", "restore-user-home"])
def test_homes_out_of_reach_refuse_before_any_restore_job(small_site: Site, procedure: str) -> None:
    site = unreachable_homes(small_site)
    before = file_systems(site)
    lines: list[str] = []
    args = ("--user", "alice") if procedure == "restore-user-home" else ()
    with pytest.raises(Refused, match="home access over SSH to hub-1 does not work: ssh hub-1"):
        runner(site, procedure, *args, lines=lines).execute()
    assert restore_jobs(site) == [] and file_systems(site) == before
    assert lines[-1].endswith("nothing was changed")
    # The dry run says the same, before printing a plan an operator would then apply.
    with pytest.raises(Refused, match="home access over SSH"):
        module = procedures.get(procedure)
        Run(site, procedure, module.steps, {"user": "alice"}, echo=lambda _: None).execute()


def test_a_missing_backup_role_refuses_before_the_restore(small_site: Site) -> None:
    site = dataclasses.replace(small_site, hostvars={**small_site.hostvars, "backup_iam_role_name": "gone"})
    with pytest.raises(Refused, match="backup role gone does not exist"):
        runner(site, "restore-filesystem").execute()
    assert restore_jobs(site) == []


def interrupt_first_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the first restore job is being waited for (after it started)."""
    real = aws.wait_restore
    calls: list[str] = []

    def wait(site: Site, job_id: str, timeout: float) -> dict[str, Any]:
        calls.append(job_id)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(site, job_id, timeout)

    monkeypatch.setattr(aws, "wait_restore", wait)


def test_a_resumed_filesystem_restore_waits_for_the_job_it_started(
    small_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = aws.find_home_fs(small_site)
    assert old is not None
    expected = files(home_access(small_site).root(old["FileSystemId"]))
    interrupt_first_wait(monkeypatch)
    # choose-recovery-point, restore-to-new-filesystem, lift-restored-data: the part that is paid.
    first = runner(small_site, "restore-filesystem", steps=3)
    with pytest.raises(KeyboardInterrupt):
        first.execute()
    (job,) = restore_jobs(small_site)
    state = json.loads((first.run_dir / "state.json").read_text())
    assert state["data"]["restore_job_id"] == job["RestoreJobId"]
    lines: list[str] = []
    runner(small_site, "restore-filesystem", steps=3, resume=first.run_id, lines=lines).execute()
    assert [j["RestoreJobId"] for j in restore_jobs(small_site)] == [job["RestoreJobId"]]
    assert any(f"restore job {job['RestoreJobId']} was started by an earlier attempt" in x for x in lines)
    new = [fs for fs in file_systems(small_site) if fs != old["FileSystemId"]]
    assert len(new) == 1
    assert files(home_access(small_site).root(new[0])) == expected


def test_a_resumed_user_restore_waits_for_the_job_it_started(
    small_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = aws.find_home_fs(small_site)
    assert fs is not None
    home = home_access(small_site).root(fs["FileSystemId"]) / "home" / "alice"
    expected = files(home)
    (home / "notes.md").unlink()
    interrupt_first_wait(monkeypatch)
    first = runner(small_site, "restore-user-home", "--user", "alice")
    with pytest.raises(KeyboardInterrupt):
        first.execute()
    runner(small_site, "restore-user-home", "--user", "alice", resume=first.run_id).execute()
    assert len(restore_jobs(small_site)) == 1
    assert files(home) == expected


def test_status_as_json_lists_what_exists(small_site: Site) -> None:
    from runbooks_site import cli

    result = cli("status", "--site", "local", "--format", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["site"] == "local" and status["endpoint"].startswith("http://127.0.0.1:")
    efs = [r for r in status["resources"] if r["part"] == "efs"]
    assert [(r["name"], r["state"]) for r in efs] == [("local-homes", "available")]


@pytest.mark.parametrize("procedure", ["restore-filesystem", "restore-user-home"])
def test_the_restore_plan_prices_the_restore(small_site: Site, procedure: str) -> None:
    """The dry run's first step names the recovery point and what restoring it costs at list prices:
    its size at the warm tier's price per GB, plus the request of an item-level restore."""
    from runbooks import cost

    module = procedures.get(procedure)
    params = {"user": "alice"} if procedure == "restore-user-home" else {}
    lines: list[str] = []
    Run(small_site, procedure, lambda ctx: module.steps(ctx)[:1], params, echo=lines.append).execute()
    (point,) = aws.recovery_points(small_site)
    gb = point["BackupSizeInBytes"] / 1e9
    assert gb > 0
    prices = cost.load_prices(small_site.region)
    usd = gb * prices.price("backup_efs_restore_gb")
    if procedure == "restore-user-home":
        usd += prices.price("backup_efs_item_restore_request")
    (planned,) = [line for line in lines if "choose-recovery-point: would use recovery point" in line]
    assert f"expected cost about {usd:.2f} USD" in planned and "restored from warm storage" in planned
    assert "list prices, data/prices/us-east-1.yml" in planned
    assert restore_jobs(small_site) == []

"""Every procedure against the local site (converged once, in a private emulator): the effect, the
dry run that changes nothing, the refusals. Ends with the user-files drill."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_run import WITHOUT_HUB, run_playbook
from typer.testing import CliRunner

from emulator.launcher import running_emulator
from runbooks import aws, drills, procedures
from runbooks.cli import app
from runbooks.engine import Refused, Run, procedure_lock
from runbooks.home_access import home_access
from runbooks.site import Site, load_site

pytestmark = pytest.mark.e2e
# Waits are real AWS durations divided by this: every wait loop still polls, the module stays quick.
TIME_SCALE = 300.0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The local site, converged in a private emulator; runs and reports go to a temporary dir."""
    saved = {k: os.environ.get(k) for k in ("EMULATOR_STATE_DIR", "RUNBOOK_OUTPUT_DIR")}
    with running_emulator(tmp_path_factory.mktemp("runbooks"), time_scale=TIME_SCALE) as emulator:
        os.environ["EMULATOR_STATE_DIR"] = str(emulator.state_dir)
        os.environ["RUNBOOK_OUTPUT_DIR"] = str(tmp_path_factory.mktemp("runbook-output"))
        run = run_playbook("site.yml", state_dir=emulator.state_dir, args=WITHOUT_HUB)
        assert run.returncode == 0, run.output[-6000:]
        try:
            yield load_site("local")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def home_root_of(site: Site) -> Path:
    fs = aws.find_home_fs(site)
    assert fs is not None
    return home_access(site).root(fs["FileSystemId"])


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def alice(site: Site) -> dict[str, bytes]:
    """alice's home with three files, backed up; returns what the backup holds."""
    home = home_root_of(site) / "home" / "alice"
    (home / "data").mkdir(parents=True)
    (home / "notes.md").write_text("# observing log\n")
    (home / "data" / "frame.fits").write_bytes(os.urandom(64 * 1024))
    (home / "plot.py").write_text("print('plot')\n")
    fs = aws.find_home_fs(site)
    assert fs is not None
    aws.start_backup(site, fs, 120)
    return files(home)


def test_dry_run_changes_nothing(site: Site, alice: dict[str, bytes]) -> None:
    root = home_root_of(site)
    before = files(root)
    result = cli("run", "restore-user-home", "--site", "local", "--user", "alice")
    assert result.exit_code == 0, result.output
    assert "DRY RUN" in result.output and "would start an AWS Backup item-level restore" in result.output
    assert files(root) == before and not list(root.glob("aws-backup-restore_*"))
    assert aws.client(site, "backup").list_restore_jobs()["RestoreJobs"] == []
    result = cli("run", "cost-cap", "on", "--site", "local")
    assert result.exit_code == 0, result.output
    ssm = aws.client(site, "ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/sciplat/local/cost-cap")


def test_bad_arguments_are_refused_with_clear_errors(site: Site, alice: dict[str, bytes]) -> None:
    result = cli("run", "restore-user-home", "--site", "local", "--user", "mallory", "--apply")
    assert result.exit_code == 2
    assert "unknown user 'mallory': no home directory /home/mallory on fs-" in result.output
    result = cli(
        "run",
        "restore-user-home",
        "--site",
        "local",
        "--user",
        "alice",
        "--recovery-point",
        "nope",
        "--apply",
    )
    assert (
        result.exit_code == 2 and "recovery point 'nope' does not exist in vault local-homes" in result.output
    )
    result = cli("run", "replace-node-group", "--site", "local", "--group", "gpu", "--apply", "--yes")
    assert result.exit_code == 2 and "unknown node group 'gpu': the inventory has core, user" in result.output
    result = cli("run", "cost-cap", "off", "--site", "local", "--apply")
    assert result.exit_code == 2 and "the cost cap is not on" in result.output


def test_a_second_run_while_one_is_in_progress_is_refused(site: Site, alice: dict[str, bytes]) -> None:
    with procedure_lock(site, "restore-user-home", "20261125T000000Z-restore-user-home-aaaaaa"):
        result = cli("run", "restore-user-home", "--site", "local", "--user", "alice", "--apply")
    assert result.exit_code == 2
    assert "restore-user-home is already running on site local: run 20261125T000000Z" in result.output


def test_restore_user_home_brings_files_back_and_keeps_newer_ones(
    site: Site, alice: dict[str, bytes]
) -> None:
    home = home_root_of(site) / "home" / "alice"
    shutil.rmtree(home / "data")
    (home / "notes.md").write_text("# edited after the backup\n")
    result = cli("run", "restore-user-home", "--site", "local", "--user", "alice", "--apply")
    assert result.exit_code == 0, result.output
    assert "newer kept" in result.output and "skipped: site local has no hub URL" in result.output
    now = files(home)
    assert now["data/frame.fits"] == alice["data/frame.fits"] and now["plot.py"] == alice["plot.py"]
    assert now["notes.md"] == b"# edited after the backup\n"
    (side,) = home_root_of(site).glob("aws-backup-restore_*")
    assert (side / "home" / "alice" / "notes.md").read_bytes() == alice["notes.md"]

    result = cli("run", "restore-user-home", "--site", "local", "--user", "alice", "--overwrite", "--apply")
    assert result.exit_code == 2 and "--yes" in result.output  # destructive, no terminal
    result = cli(
        "run", "restore-user-home", "--site", "local", "--user", "alice", "--overwrite", "--apply", "--yes"
    )
    assert result.exit_code == 0, result.output
    assert files(home) == alice
    run_dirs = sorted(
        (Path(os.environ["RUNBOOK_OUTPUT_DIR"]) / "runbooks" / "runs").glob("*restore-user-home*")
    )
    events = [json.loads(line) for line in (run_dirs[-1] / "audit.jsonl").read_text().splitlines()]
    assert {"choose-recovery-point", "restore-to-side-directory", "move-into-place"} <= {
        e["step"] for e in events
    }


def test_cost_cap_on_and_off(site: Site) -> None:
    eks = aws.client(site, "eks")

    def user_scaling() -> dict[str, int]:
        return eks.describe_nodegroup(clusterName="local-hub", nodegroupName="user")["nodegroup"][
            "scalingConfig"
        ]

    before = user_scaling()
    assert cli("cost-cap", "--site", "local").output.strip() == "cost cap: off"
    assert cli("run", "cost-cap", "on", "--site", "local", "--apply").exit_code == 2  # destructive
    result = cli("run", "cost-cap", "on", "--site", "local", "--apply", "--yes", "--reason", "budget alarm")
    assert result.exit_code == 0, result.output
    assert user_scaling() == {"minSize": before["minSize"], "maxSize": 1, "desiredSize": before["minSize"]}
    value = json.loads(
        aws.client(site, "ssm").get_parameter(Name="/sciplat/local/cost-cap")["Parameter"]["Value"]
    )
    assert value["node_groups"] == {"user": before} and value["reason"] == "budget alarm"
    status = cli("cost-cap", "--site", "local").output
    assert status.startswith("cost cap: ON since") and "(budget alarm)" in status, status
    result = cli("run", "cost-cap", "off", "--site", "local", "--apply")
    assert result.exit_code == 0, result.output
    assert user_scaling() == before
    ssm = aws.client(site, "ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/sciplat/local/cost-cap")


def with_vars(site: Site, **variables: Any) -> Site:
    return dataclasses.replace(site, hostvars={**site.hostvars, **variables})


def run(site: Site, name: str, *args: str) -> list[dict[str, Any]]:
    module = procedures.get(name)
    params = procedures.parse_args(module, list(args))
    return Run(site, name, module.steps, params, apply=True, yes=True, echo=lambda _: None).execute()


def test_rotate_secrets_writes_new_values_and_keeps_the_old_file(site: Site, tmp_path: Path) -> None:
    secrets_file = tmp_path / "hub-secrets.yml"
    old = {"jupyterhub_cookie_secret": "a" * 64, "jupyterhub_proxy_secret_token": "b" * 64, "other": "kept"}
    secrets_file.write_text(yaml.safe_dump(old))
    local = with_vars(site, runbook_secrets_file=str(secrets_file))
    results = run(local, "rotate-secrets")
    new = yaml.safe_load(secrets_file.read_text())
    assert new["other"] == "kept"
    for name in (
        "jupyterhub_cookie_secret",
        "jupyterhub_proxy_secret_token",
        "jupyterhub_oauth_client_secret",
    ):
        assert len(new[name]) == 64 and new[name] != old.get(name)
    assert secrets_file.stat().st_mode & 0o077 == 0
    assert [r["result"] for r in results][-1] == "skipped"  # no hub stage on the local site
    (kept,) = (Path(os.environ["RUNBOOK_OUTPUT_DIR"]) / "runbooks" / "runs").glob(
        "*rotate-secrets*/secrets-before.yml"
    )
    assert yaml.safe_load(kept.read_text()) == old
    audit = next(kept.parent.glob("audit.jsonl")).read_text()
    assert new["jupyterhub_cookie_secret"] not in audit and "a" * 64 not in audit


def hub_db(path: Path, users: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO users (name) VALUES (?)", [(u,) for u in users])


def test_restore_hub_database_puts_back_a_sound_copy(site: Site, tmp_path: Path) -> None:
    target, backups = tmp_path / "hub" / "jupyterhub.sqlite", tmp_path / "hub" / "backups"
    hub_db(backups / "jupyterhub-1.sqlite", ["alice", "bob"])
    backups.mkdir(parents=True, exist_ok=True)
    (backups / "jupyterhub-2.sqlite").write_bytes(b"torn write")  # newer, and broken: not chosen
    target.write_bytes(b"corrupt")
    local = with_vars(site, runbook_hub_db_path=str(target), runbook_hub_db_backup_dir=str(backups))
    with pytest.raises(Refused, match=r"database copy 'missing\.sqlite' does not exist"):
        run(local, "restore-hub-database", "--from", "missing.sqlite")
    run(local, "restore-hub-database")
    with sqlite3.connect(target) as db:
        assert [row[0] for row in db.execute("SELECT name FROM users ORDER BY id")] == ["alice", "bob"]
    (kept,) = (Path(os.environ["RUNBOOK_OUTPUT_DIR"]) / "runbooks" / "runs").glob(
        "*restore-hub-database*/*.before"
    )
    assert kept.read_bytes() == b"corrupt"


@pytest.mark.slow
def test_replace_node_group_recreates_it(site: Site) -> None:
    eks = aws.client(site, "eks")
    before = eks.describe_nodegroup(clusterName="local-hub", nodegroupName="user")["nodegroup"]
    run(site, "replace-node-group", "--group", "user")
    after = eks.describe_nodegroup(clusterName="local-hub", nodegroupName="user")["nodegroup"]
    assert after["status"] == "ACTIVE" and after["createdAt"] > before["createdAt"]
    assert after["scalingConfig"] == before["scalingConfig"] and after["labels"] == before["labels"]


@pytest.mark.slow
def test_restore_filesystem_to_a_new_file_system(site: Site, alice: dict[str, bytes]) -> None:
    old = aws.find_home_fs(site)
    assert old is not None
    aws.start_backup(site, old, 120)
    expected = {
        k: v
        for k, v in files(home_access(site).root(old["FileSystemId"])).items()
        if not k.startswith("aws-backup-restore_")
    }
    run(site, "restore-filesystem", "--remove-old")
    new = aws.find_home_fs(site)
    assert new is not None and new["FileSystemId"] != old["FileSystemId"]
    restored = files(home_access(site).root(new["FileSystemId"]))
    assert {k: v for k, v in restored.items() if not k.startswith("aws-backup-restore_")} == expected
    efs = aws.client(site, "efs")
    targets = efs.describe_mount_targets(FileSystemId=new["FileSystemId"])["MountTargets"]
    assert len(targets) == 3 and {t["LifeCycleState"] for t in targets} == {"available"}
    assert old["FileSystemId"] not in {f["FileSystemId"] for f in efs.describe_file_systems()["FileSystems"]}


@pytest.mark.slow
def test_rebuild_cluster_after_the_cluster_drill(site: Site) -> None:
    """The cluster drill deletes the cluster and runs rebuild-cluster; the report says recovered."""
    report = drills.run_drill(site, "cluster", echo=lambda _: None)
    assert report["result"] == "recovered", report.get("error")
    assert aws.describe_cluster(site)["status"] == "ACTIVE"
    steps = {s["step"]: s["result"] for s in report["recovery_steps"]}
    assert steps["reconverge-cluster"] == steps["reattach-home-filesystem"] == "done"
    assert steps["check-kubernetes"] == "skipped"  # the local site has no API server, and says so


def test_user_files_drill_reports_rto_and_rpo(site: Site) -> None:
    report = drills.run_drill(site, "user-files", echo=lambda _: None)
    assert report["result"] == "recovered", report.get("error")
    assert report["rto_s"] > 0 and report["rpo"]["age_s"] >= 0 and report["verified_files"] >= 3
    markdown = Path(report["paths"]["markdown"]).read_text()
    assert "| RTO (fault to verified recovery) |" in markdown and "| inject-fault | done |" in markdown
    assert json.loads(Path(report["paths"]["json"]).read_text())["rto_s"] == report["rto_s"]

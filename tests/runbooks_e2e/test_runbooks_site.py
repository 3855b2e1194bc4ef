"""Every procedure against the local site (converged once, in a private emulator): the effect, the
dry run that changes nothing, the refusals. Ends with the user-files drill. The procedures that
rebuild whole resources are in test_runbooks_recovery.py (a second site, run beside this one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from runbooks_site import cli, files, home_root_of, run, with_vars

from runbooks import aws, drills
from runbooks.engine import Refused, procedure_lock
from runbooks.site import Site

pytestmark = pytest.mark.e2e


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
    # This run's audit log, as the run names it (runs of the same second do not sort by time).
    audit = Path(re.search(r"audit log (\S+/audit\.jsonl)", result.output).group(1))
    assert audit.parent.parent == Path(os.environ["RUNBOOK_OUTPUT_DIR"]) / "runbooks" / "runs"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
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


def test_rotate_secrets_writes_new_values_and_keeps_the_old_file(site: Site, tmp_path: Path) -> None:
    secrets_file = tmp_path / "hub-secrets.yml"
    old = {"jupyterhub_cookie_secret": "a" * 64, "jupyterhub_proxy_token": "b" * 64, "other": "kept"}
    secrets_file.write_text(yaml.safe_dump(old))
    local = with_vars(site, runbook_secrets_file=str(secrets_file))
    results = run(local, "rotate-secrets")
    new = yaml.safe_load(secrets_file.read_text())
    assert new["other"] == "kept"
    for name in ("jupyterhub_cookie_secret", "jupyterhub_proxy_token"):
        assert len(new[name]) == 64 and new[name] != old.get(name)
    assert "jupyterhub_oauth_client_secret" not in new  # the provider's: never invented
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


def test_quota_report_reads_the_usage_file_on_the_emulated_home_file_system(site: Site) -> None:
    """Real homes and a usage file in the contract's format on the emulated EFS, sized as du sizes
    them (what home_usage counts); the real `runbook` command reads them back."""
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    root = home_root_of(site) / "home"
    made = [root / "qr-big", root / "qr-small", root / ".sciplat-usage"]
    try:
        for name, count in (("qr-big", 40), ("qr-small", 3)):
            (root / name / "data").mkdir(parents=True)
            for n in range(count):
                (root / name / "data" / f"frame{n}.fits").write_bytes(os.urandom(64 * 1024))
        now = datetime.now(UTC).replace(microsecond=0)
        stamp = now.isoformat().replace("+00:00", "Z")
        du = {
            name: int(
                subprocess.run(
                    ["du", "-s", "--block-size=1", str(root / name)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()[0]
            )
            for name in ("qr-big", "qr-small")
        }
        homes = {
            name: {"bytes": used, "files": 1, "dirs": 1, "measured_at": stamp, "full_at": stamp}
            for name, used in du.items()
        }
        usage = {
            "version": 1,
            "root": "/home",
            "measured_at": stamp,
            "homes": homes,
            "run": {
                "mode": "full",
                "seconds": 0.1,
                "homes_walked": 2,
                "homes_reused": 0,
                "dirs_listed": 4,
                "complete": True,
            },
        }
        (root / ".sciplat-usage").mkdir()
        (root / ".sciplat-usage" / "usage.json").write_text(json.dumps(usage))
        yesterday = (now - timedelta(days=1)).date().isoformat()
        history = {
            "date": yesterday,
            "homes": {"qr-big": du["qr-big"] - 1024 * 1024, "qr-small": du["qr-small"]},
        }
        (root / ".sciplat-usage" / "history.jsonl").write_text(json.dumps(history) + "\n")
        runbook = Path(sys.executable).parent / "runbook"

        def quota_report(*args: str) -> str:
            command = [str(runbook), "quota-report", "--site", "local", *args]
            answer = subprocess.run(command, capture_output=True, text=True, timeout=120)
            assert answer.returncode == 0, answer.stderr
            return answer.stdout

        report = json.loads(quota_report("--format", "json"))
        assert [row["user"] for row in report["users"]] == ["qr-big", "qr-small"]
        assert [row["bytes"] for row in report["users"]] == [du["qr-big"], du["qr-small"]]
        assert report["users"][0]["growth_bytes"] == 1024 * 1024 and report["stale"] is False
        assert report["usage_file"] == str(root / ".sciplat-usage" / "usage.json")
        table = quota_report("--top", "1")
        assert "Homes: 2, total used" in table and "… 1 more (--top 2 shows all)" in table
        assert "qr-big" in table and "+1 MiB" in table
    finally:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)


def test_user_files_drill_reports_rto_and_rpo(site: Site) -> None:
    report = drills.run_drill(site, "user-files", yes=True, echo=lambda _: None)
    assert report["result"] == "recovered", report.get("error")
    assert report["rto_s"] > 0 and report["rpo"]["age_s"] >= 0 and report["verified_files"] >= 3
    markdown = Path(report["paths"]["markdown"]).read_text()
    assert "| RTO (fault to verified recovery) |" in markdown and "| inject-fault | done |" in markdown
    assert json.loads(Path(report["paths"]["json"]).read_text())["rto_s"] == report["rto_s"]

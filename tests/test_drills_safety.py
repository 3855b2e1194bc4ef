"""Drills on a real site: the plan first and a confirmation, production sites refused unless named
again, sampled fingerprints said for what they prove, RTO/RPO judged against the site's targets.
Against the small site of test_runbooks_preflight (the session's emulator, no converge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runbooks_site import cli, files, with_vars
from test_runbooks_preflight import restore_jobs, small_site  # noqa: F401  (the fixture)

from runbooks import aws, cost, drills
from runbooks.engine import Refused
from runbooks.home_access import home_access
from runbooks.site import Site


def test_a_production_site_is_refused_unless_the_flag_names_it(small_site: Site) -> None:  # noqa: F811
    site = with_vars(small_site, runbook_production=True)
    for named in (None, "staging"):
        with pytest.raises(Refused, match=r"marked production .* add --production-site local"):
            drills.run_drill(site, "filesystem", yes=True, production_site=named, echo=lambda _: None)
    assert aws.find_home_fs(site) is not None and restore_jobs(site) == []
    result = cli("drill", "filesystem", "--site", "example", "--yes")
    assert result.exit_code == 2 and "site hst-prod is marked production" in result.output


def test_the_plan_is_printed_and_nothing_breaks_without_a_confirmation(small_site: Site) -> None:  # noqa: F811
    fs = aws.find_home_fs(small_site)
    assert fs is not None
    before = files(home_access(small_site).root(fs["FileSystemId"]))  # type: ignore[attr-defined]
    lines: list[str] = []
    with pytest.raises(Refused, match="no terminal to confirm it: re-run with --yes"):
        drills.run_drill(small_site, "filesystem", echo=lines.append, interactive=False)
    asked: list[str] = []
    with pytest.raises(Refused, match="not confirmed: nothing was changed"):
        drills.run_drill(
            small_site,
            "filesystem",
            echo=lines.append,
            interactive=True,
            confirm=lambda q: asked.append(q) or False,
        )
    assert asked == ["Break site local as planned?"]
    assert lines[0] == "Drill filesystem on site local: the plan"
    assert f"DELETES the home file system {fs['FileSystemId']}" in lines[1]
    assert "restores: restore-filesystem" in lines[2] and "expected cost: about" in lines[3]
    # The restore at the warm tier's list price per GB restored (data/prices/us-east-1.yml).
    per_gb = cost.load_prices(small_site.region).price("backup_efs_restore_gb")
    assert f"GB restored from warm storage at {per_gb:g} USD/GB, into a new file system" in lines[4], lines
    again = aws.find_home_fs(small_site)
    assert again and again["FileSystemId"] == fs["FileSystemId"] and restore_jobs(small_site) == []
    assert files(home_access(small_site).root(fs["FileSystemId"])) == before  # type: ignore[attr-defined]


def test_a_drill_samples_a_large_file_system_and_judges_its_targets(small_site: Site, tmp_path: Path) -> None:  # noqa: F811
    fs = aws.find_home_fs(small_site)
    assert fs is not None
    root = home_access(small_site).root(fs["FileSystemId"])  # type: ignore[attr-defined]
    for n in range(30):
        (root / "home" / f"user{n}").mkdir(parents=True)
        (root / "home" / f"user{n}" / "data.txt").write_text(f"user {n}\n")
    site = with_vars(
        small_site,
        runbook_drill_sample_files=5,
        runbook_rto_target_minutes={"default": 60, "user-files": 0.0001},
        runbook_rpo_target_minutes=1440,
    )
    report = drills.run_drill(site, "user-files", yes=True, echo=lambda _: None)
    assert report["result"] == "recovered", report.get("error")
    fingerprint = report["fingerprint"]
    # 30 homes + alice's 2 files + the drill user's 3 (all hashed) + a sample of 5 others.
    assert fingerprint["files"] == 35 and fingerprint["sample"] == 5 and 8 <= fingerprint["hashed"] <= 10
    assert "a random sample of 5 plus every file of the drill user" in fingerprint["proves"]
    assert "fewer than 60% of the files differ" in fingerprint["proves"]
    assert report["targets"]["rto"]["verdict"] == "missed" and report["targets"]["rpo"]["verdict"] == "met"
    markdown = Path(report["paths"]["markdown"]).read_text()
    assert "| Time to recover (RTO): users could not work for | 0 s |" in markdown
    assert "**MISSED** |" in markdown and "**MET** |" in markdown
    assert "## What the file check proves" in markdown and "## The plan (printed and confirmed" in markdown
    saved = json.loads(Path(report["paths"]["json"]).read_text())
    assert saved["plan"]["cost_items"][0]["what"] == "one item-level restore request"


def test_drill_json_output_is_the_report(small_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from runbooks import cli as cli_module

    monkeypatch.setattr(cli_module, "load_site", lambda name: small_site)
    result = cli("drill", "user-files", "--site", "local", "--yes", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["result"] == "recovered" and report["targets"]["rto"]["verdict"] == "met"

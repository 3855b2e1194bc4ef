"""`runbook quota-report` over fixture trees: a home root holding .sciplat-usage/usage.json and
history.jsonl as the home_usage role writes them (docs: the issue 8 contract), the site's quota
variables, and the figures the report renders from them; the CLI's refusals and exit codes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runbooks import cli
from runbooks import quota_report as quota
from runbooks.site import PROJECT_ROOT, load_site

LOCAL = load_site("local")
GiB = 1024**3
MiB = 1024**2
NOW = datetime(2026, 11, 26, 5, 10, tzinfo=UTC)
QUOTA_VARS = {
    "jupyterhub_quota_enabled": True,
    "jupyterhub_quota_default": "10G",
    "jupyterhub_quota_users": {"bigdata": "50G"},
    "jupyterhub_quota_groups": {"survey": "20G", "small": "1G"},
    "jupyterhub_quota_warn_percent": 90,
    "jupyterhub_groups": {"survey": ["surveyor", "astro2"], "small": ["surveyor"]},
}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def site_with(**variables: Any) -> Any:
    return dataclasses.replace(LOCAL, hostvars={**LOCAL.hostvars, **variables})


def write_tree(
    root: Path,
    homes: dict[str, int],
    *,
    measured: datetime = NOW - timedelta(minutes=5),
    history: dict[date, dict[str, int]] | None = None,
    complete: bool = True,
    behind: tuple[str, ...] = (),
) -> Path:
    """<root>/.sciplat-usage/usage.json (+ history.jsonl) in the contract's format; homes in
    ``behind`` keep a figure from a day earlier (a run whose time budget ran out)."""
    directory = root / quota.USAGE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    entries = {}
    for user, used in homes.items():
        at = measured - timedelta(days=1) if user in behind else measured
        entries[user] = {
            "bytes": used,
            "files": 10,
            "dirs": 2,
            "measured_at": stamp(at),
            "full_at": stamp(at - timedelta(hours=3)),
        }
    usage = {
        "version": 1,
        "root": "/home",
        "measured_at": stamp(measured),
        "run": {
            "mode": "incremental",
            "seconds": 1.25,
            "homes_walked": len(homes) - len(behind),
            "homes_reused": len(behind),
            "dirs_listed": 12,
            "complete": complete,
        },
        "homes": entries,
    }
    (directory / quota.USAGE_FILE).write_text(json.dumps(usage))
    if history is not None:
        lines = [json.dumps({"date": day.isoformat(), "homes": figures}) for day, figures in history.items()]
        (directory / quota.HISTORY_FILE).write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def home_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home root standing for the site's (the report finds it through home_root_path)."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setattr(quota, "home_root_path", lambda site: root)
    return root


def table(site: Any, **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
    top = kwargs.pop("top", 20)
    report = quota.report(site, now=NOW, **kwargs)
    return report, quota.render(report, top=top).splitlines()


def row_of(lines: list[str], user: str) -> list[str]:
    found = [line for line in lines if line.startswith(f"{user} ")]
    assert len(found) == 1, (user, lines)
    return found[0].split()


def users_shown(lines: list[str]) -> list[str]:
    """The user column of the table, in order (from the rule under the header to the first blank)."""
    start = next(n for n, line in enumerate(lines) if line.startswith("---")) + 1
    rows = []
    for line in lines[start:]:
        if not line or line.startswith("…"):
            break
        rows.append(line.split()[0])
    return rows


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args))


def test_users_sorted_by_usage_with_their_quota_and_state(home_root: Path) -> None:
    write_tree(
        home_root,
        {
            "astro1": 12 * GiB,  # over the 10G default by 2 GiB
            "astro2": 19 * GiB,  # survey's 20G: 95%, near
            "bigdata": 30 * GiB,  # own 50G override: 60%, ok
            "surveyor": 9 * GiB,  # survey 20G and small 1G: the larger counts, 45%
            "tiny": 512 * MiB,  # 5%
        },
    )
    report, lines = table(site_with(**QUOTA_VARS))
    assert users_shown(lines) == ["bigdata", "astro2", "astro1", "surveyor", "tiny"]
    assert row_of(lines, "bigdata")[1:7] == ["30", "GiB", "50", "GiB", "60%", "ok"]
    assert row_of(lines, "astro2")[1:7] == ["19", "GiB", "20", "GiB", "95%", "near"]
    assert row_of(lines, "astro1")[1:7] == ["12", "GiB", "10", "GiB", "120%", "OVER"]
    assert row_of(lines, "surveyor")[1:7] == ["9", "GiB", "20", "GiB", "45%", "ok"]
    assert row_of(lines, "tiny")[1:7] == ["512", "MiB", "10", "GiB", "5%", "ok"]
    assert "Homes: 5, total used 70.5 GiB" in lines
    assert "Quotas: default 10 GiB, near from 90%; over quota: 1, near quota: 1" in lines
    assert "  over: astro1 (delete 2 GiB)" in lines and "  near: astro2 (95%)" in lines
    assert report["over"] == ["astro1"] and report["near"] == ["astro2"]
    assert next(r for r in report["users"] if r["user"] == "astro1")["to_delete"] == 2 * GiB


def test_growth_over_the_days_asked_from_the_history(home_root: Path) -> None:
    today = NOW.date()
    history = {
        today - timedelta(days=10): {"astro1": 1 * GiB, "astro2": 8 * GiB},
        today - timedelta(days=7): {"astro1": 2 * GiB, "astro2": 9 * GiB, "gone": 5 * GiB},
        today - timedelta(days=3): {"astro1": 3 * GiB, "astro2": 9 * GiB},
        today: {"astro1": 6 * GiB, "astro2": 9 * GiB, "newbie": 100 * MiB},
    }
    homes = {"astro1": 6 * GiB, "astro2": 8 * GiB + 512 * MiB, "newbie": 300 * MiB}
    write_tree(home_root, homes, history=history)
    site = site_with(**QUOTA_VARS)

    report, lines = table(site, growth_days=7)
    assert report["growth"] == {
        "days": 7,
        "from": (today - timedelta(days=7)).isoformat(),
        "to": today.isoformat(),
        "span_days": 7,
        "history_lines": 4,
    }
    assert row_of(lines, "astro1")[7:9] == ["+4", "GiB"]
    assert row_of(lines, "astro2")[7:9] == ["-512", "MiB"]
    assert row_of(lines, "newbie")[7] == "new"  # not in the baseline: no growth figure
    top = lines[lines.index("Top growth over 7 days:") + 1 :]
    assert [line.split()[0] for line in top] == ["astro1"]  # shrinking and new homes are not growth
    assert top[0].split()[1:] == ["+4", "GiB", "(2", "GiB", "->", "6", "GiB)"]

    report, lines = table(site, growth_days=3)
    assert row_of(lines, "astro1")[7:9] == ["+3", "GiB"]

    report, lines = table(site, growth_days=30)  # longer than the history: from its oldest line
    assert report["growth"]["from"] == (today - timedelta(days=10)).isoformat()
    assert row_of(lines, "astro1")[7:9] == ["+5", "GiB"]
    assert any(line.startswith("Growth over 10 days only") for line in lines)


def test_no_history_means_no_growth_figures(home_root: Path) -> None:
    write_tree(home_root, {"astro1": GiB})
    report, lines = table(site_with(**QUOTA_VARS))
    assert report["growth"]["from"] is None and report["top_growth"] == []
    assert row_of(lines, "astro1")[7] == "-"
    assert "No history before the measurement day yet: no growth figures" in lines
    assert not any(line.startswith("Top growth") for line in lines)


def test_stale_data_is_flagged_with_the_rule_used(home_root: Path) -> None:
    write_tree(home_root, {"astro1": GiB}, measured=NOW - timedelta(hours=2))
    report, lines = table(site_with(**QUOTA_VARS))
    assert report["stale"] and report["age_seconds"] == 7200
    assert lines[1].startswith("STALE: measured 2026-11-26T03:10:00Z (2 h 0 min ago)")
    assert "older than 60 min (the default; runbook_quota_stale_minutes sets it)" in lines[1]

    report, lines = table(site_with(**QUOTA_VARS, runbook_quota_stale_minutes=180))
    assert not report["stale"] and lines[1] == "Measured 2026-11-26T03:10:00Z (2 h 0 min ago)"

    write_tree(home_root, {"astro1": GiB}, measured=NOW - timedelta(minutes=3))
    report, lines = table(site_with(**QUOTA_VARS, runbook_quota_stale_minutes=1))
    assert report["stale"] and "older than 1 min (runbook_quota_stale_minutes)" in lines[1]


def test_an_incomplete_run_is_said_and_the_homes_it_did_not_reach_marked(home_root: Path) -> None:
    write_tree(home_root, {"astro1": 2 * GiB, "astro2": GiB}, complete=False, behind=("astro2",))
    report, lines = table(site_with(**QUOTA_VARS))
    assert not report["complete"] and report["behind"] == 1
    assert lines[2].startswith("INCOMPLETE last run: its time budget ran out")
    assert lines[3] == "  1 home kept an older figure (marked 'older' below)"
    assert lines[-1].endswith("2026-11-25 05:05Z (older)") and lines[-1].startswith("astro2 ")
    assert not row_of(lines, "astro1")[-1].endswith("(older)")

    # A complete run brought every home up to date, a reused one's older measured_at included.
    write_tree(home_root, {"astro1": 2 * GiB, "astro2": GiB}, complete=True, behind=("astro2",))
    report, lines = table(site_with(**QUOTA_VARS))
    assert lines[2] == "Last run complete (incremental run, 1.25 s, 1 homes walked, 1 reused)"
    assert report["behind"] == 0 and not any("(older)" in line for line in lines)


def test_a_zero_quota_is_over_without_a_percentage(home_root: Path) -> None:
    write_tree(home_root, {"locked": MiB})
    report = quota.report(site_with(**{**QUOTA_VARS, "jupyterhub_quota_users": {"locked": "0G"}}), now=NOW)
    (row,) = report["users"]
    assert (row["state"], row["percent"], row["to_delete"]) == ("over", None, MiB)
    json.loads(json.dumps(report, allow_nan=False))  # no Infinity in the JSON output
    assert row_of(quota.render(report).splitlines(), "locked")[1:6] == ["1", "MiB", "0", "B", "-"]


def test_quotas_off_shows_usage_only(home_root: Path) -> None:
    write_tree(home_root, {"astro1": 12 * GiB, "astro2": GiB})
    for off in ({"jupyterhub_quota_enabled": False}, {}):
        hostvars = {**LOCAL.hostvars, **QUOTA_VARS, **off}
        if not off:  # not set at all (the local inventory sets it)
            hostvars.pop("jupyterhub_quota_enabled")
        report, lines = table(dataclasses.replace(LOCAL, hostvars=hostvars))
        assert "Quotas are off on this site (jupyterhub_quota_enabled is not true): usage only" in lines
        assert row_of(lines, "astro1")[1:6] == ["12", "GiB", "-", "-", "-"]
        assert report["quotas"]["enabled"] is False and report["over"] == []
        assert not any(line.startswith("Quotas: default") for line in lines)


def test_top_limits_the_rows_and_says_how_many_more(home_root: Path) -> None:
    write_tree(home_root, {f"user{n:02d}": n * MiB for n in range(1, 26)})
    _, lines = table(site_with(**QUOTA_VARS), top=3)
    assert users_shown(lines) == ["user25", "user24", "user23"]
    assert "… 22 more (--top 25 shows all)" in lines
    _, lines = table(site_with(**QUOTA_VARS))  # default 20
    assert len(users_shown(lines)) == 20
    assert "… 5 more (--top 25 shows all)" in lines


def test_cli_prints_the_table_and_json_for_machines(home_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "load_site", lambda name: site_with(**QUOTA_VARS))
    write_tree(home_root, {"astro1": 12 * GiB, "astro2": GiB, "tiny": MiB})
    result = invoke("quota-report", "--site", "local", "--top", "1")
    assert result.exit_code == 0, result.output
    assert "astro1" in result.output and "… 2 more (--top 3 shows all)" in result.output
    assert f"Home storage of site local: {home_root / '.sciplat-usage' / 'usage.json'}" in result.output

    result = invoke("quota-report", "--site", "local", "--top", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [row["user"] for row in data["users"]] == ["astro1", "astro2", "tiny"]  # json: every home
    assert data["users"][0] | {"state": "over", "bytes": 12 * GiB, "quota": 10 * GiB} == data["users"][0]
    assert data["over"] == ["astro1"] and data["homes"] == 3 and data["quotas"]["default"] == 10 * GiB
    assert data["total_bytes"] == 13 * GiB + MiB and isinstance(data["stale"], bool)


def test_cli_refuses_bad_arguments_naming_them() -> None:
    result = invoke("quota-report", "--site", "atlantis")
    assert result.exit_code == 2 and "unknown site 'atlantis': known sites are " in result.output
    for args, word in (
        (["--top", "0"], "'--top'"),
        (["--top", "many"], "'--top'"),
        (["--growth-days", "0"], "'--growth-days'"),
        (["--format", "xml"], "--format must be table or json, not 'xml'"),
    ):
        result = invoke("quota-report", "--site", "local", *args)
        assert result.exit_code == 2, (args, result.output)
        assert word in result.output, (args, result.output)


def test_no_usage_file_says_how_to_measure(home_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for backend, hint in (
        ("single_node", "run the measurement: systemctl start sciplat-home-usage on the hub host"),
        (
            "eks",
            "run the measurement: start a Job from the CronJob, "
            "kubectl -n jhub create job --from=cronjob/sciplat-home-usage",
        ),
    ):
        monkeypatch.setattr(cli, "load_site", lambda name, b=backend: site_with(jupyterhub_backend=b))
        result = invoke("quota-report", "--site", "local")
        assert result.exit_code == 2, result.output
        assert f"no usage file yet ({home_root / '.sciplat-usage' / 'usage.json'}): {hint}" in result.output

    (home_root / ".sciplat-usage").mkdir()
    (home_root / ".sciplat-usage" / "usage.json").write_text('{"version": 1}')
    result = invoke("quota-report", "--site", "local")
    assert result.exit_code == 2 and "cannot be read" in result.output
    assert "no 'homes' mapping" in result.output


def test_bad_quota_settings_are_refused_naming_the_variable(
    home_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(home_root, {"astro1": GiB})
    for bad, name in (
        ({"jupyterhub_quota_default": "ten gigs"}, "jupyterhub_quota_default: 'ten gigs' is not a size"),
        ({"jupyterhub_quota_users": {"astro1": "5X"}}, "jupyterhub_quota_users[astro1]: '5X' is not a size"),
        ({"jupyterhub_quota_warn_percent": 150}, "jupyterhub_quota_warn_percent: the warning threshold"),
        ({"jupyterhub_groups": {"survey": "astro1"}}, "jupyterhub_groups must map a group to a list"),
    ):
        monkeypatch.setattr(cli, "load_site", lambda name, b=bad: site_with(**{**QUOTA_VARS, **b}))
        result = invoke("quota-report", "--site", "local")
        assert result.exit_code == 2, (bad, result.output)
        assert name in result.output, (bad, result.output)


def test_a_kubernetes_job_without_a_cluster_to_reach_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    job = {
        "runbook_home_access": "kubernetes_job",
        "runbook_home_job": {"image": "python:3.12-slim"},
        "eks_cluster_kubeconfig_path": str(tmp_path / "gone.yaml"),
    }
    monkeypatch.setattr(cli, "load_site", lambda name: site_with(**job))
    result = invoke("quota-report", "--site", "local")
    assert result.exit_code == 2
    assert f"no kubeconfig at {tmp_path / 'gone.yaml'} to reach the cluster" in result.output


def test_the_rules_are_the_hubs_module_not_a_copy() -> None:
    hub_file = PROJECT_ROOT / "roles" / "jupyterhub" / "files" / "sciplat_quota.py"
    assert Path(quota.rules.__file__).resolve() == hub_file.resolve()
    assert not hub_file.is_symlink()


def test_a_setting_the_inventory_leaves_out_is_the_roles_documented_default() -> None:
    """The report reads the same values a converge would: the inventory's, else the role's documented
    default (meta/argument_specs.yml); a templated default is known only inside a play."""
    unset = dataclasses.replace(LOCAL, hostvars={})
    assert unset.setting("jupyterhub_quota_default") == "10G"
    assert unset.setting("jupyterhub_quota_warn_percent") == 90
    assert site_with(jupyterhub_quota_warn_percent=75).setting("jupyterhub_quota_warn_percent") == 75
    assert unset.setting("aws_network_id_parameter") is None  # "/sciplat/{{ aws_network_name }}/..."
    assert unset.setting("no_role_has_this") is None
    report = quota.quota_settings(dataclasses.replace(unset, hostvars={"jupyterhub_quota_enabled": True}))
    assert report.enabled and report.quotas is not None

"""The operator's command line: --version, `run PROCEDURE --help`, --format json, progress while waiting."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from runbooks_site import cli

from runbooks import procedures
from runbooks.engine import progress_to, wait_until


def test_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0 and result.output.startswith("runbook 0.")


@pytest.mark.parametrize("name", list(procedures.registry()))
def test_run_procedure_help_lists_its_arguments(name: str) -> None:
    module = procedures.get(name)
    result = cli("run", name, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{name}: {module.SUMMARY}")
    for param_name, param in module.PARAMS.items():
        assert (param_name if param.positional else f"--{param_name}") in result.output
        assert param.help in result.output
    assert f"docs/runbooks/{name}.md" in result.output


def test_run_help_without_a_procedure_is_the_commands_help() -> None:
    result = cli("run", "--help")
    assert result.exit_code == 0 and "runbook run PROCEDURE --help" in result.output
    assert cli("run", "fix-everything", "--help").exit_code == 2


def test_cost_as_json_has_the_items_and_total_of_the_table(tmp_path: Path) -> None:
    text = cli("cost", "--site", "local")
    data = cli("cost", "--site", "local", "--format", "json")
    assert text.exit_code == data.exit_code == 0, data.output
    report = json.loads(data.output)
    total = report["sites"]["local"]["total"]
    lines = text.output.splitlines()
    (total_line,) = [line for line in lines if line.startswith("total ")]
    assert total_line.endswith(f"{total:.2f}")
    # What a restore costs, after the total and apart from it, in both forms.
    restores = report["sites"]["local"]["restores"]
    assert [r["item"] for r in restores] == [
        "restore-filesystem, warm",
        "restore-filesystem, cold",
        "restore-user-home",
    ]
    shown = lines[lines.index(total_line) + 2 :]
    assert [line.split()[-1] for line in shown] == [f"{r['usd']:.2f}" for r in restores]
    assert report["prices"] == "data/prices/us-east-1.yml"
    assert cli("cost", "--format", "yaml").exit_code == 2


def test_waits_say_what_they_wait_for_how_long_so_far_and_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runbooks import engine

    monkeypatch.setattr(engine, "PROGRESS_EVERY", 0.1)
    lines: list[str] = []
    start = time.monotonic()
    with progress_to(lines.append):
        wait_until(
            "the restore job",
            lambda: True if time.monotonic() - start > 0.35 else None,
            timeout=30,
            interval=0.05,
        )
    assert lines, "no progress line"
    assert lines[0].startswith("      waiting for the restore job: 0 s so far, deadline in 30 s (at ")
    assert lines[0].endswith(", 30 s in all)")
    lines.clear()
    wait_until("quietly", lambda: True, timeout=1)  # outside a run: nothing printed
    assert lines == []

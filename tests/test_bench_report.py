"""What every benchmark's report records beside its figures (bench/report.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from report import BenchRun  # noqa: E402


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def test_report_says_what_ran_where_and_on_which_tree(tmp_path: Path, capsys) -> None:
    output = tmp_path / "results.json"
    argv = ["bench/converge.py", "--output", str(output), "--strategies", "linear"]

    BenchRun(argv).write(output, time_scale=10.0, results=[{"strategy": "linear", "cold_converge_s": 1.5}])

    report = json.loads(output.read_text())
    assert report["command"] == argv
    commit, _, dirty = report["commit"].partition("+")
    assert commit == git("rev-parse", "--short", "HEAD")
    assert dirty in ("", "dirty")
    assert set(report["load_1min"]) == {"start", "end"}
    assert all(isinstance(load, float) and load >= 0 for load in report["load_1min"].values())
    assert set(report["machine"]) == {"node", "arch", "cpus", "python"}
    assert report["when"].endswith("+00:00")
    # The benchmark's own keys are kept as given, beside the record of the run.
    assert report["time_scale"] == 10.0
    assert report["results"] == [{"strategy": "linear", "cold_converge_s": 1.5}]
    assert f"written: {output}" in capsys.readouterr().out


def test_a_changed_file_marks_the_commit_dirty_and_a_report_does_not(tmp_path: Path) -> None:
    # A checkout of its own holding bench/report.py, so that its files can be changed.
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "report.py").write_text((ROOT / "bench" / "report.py").read_text())
    (tmp_path / "Makefile").write_text("bench:\n")
    # Ignoring what the kit's checkout ignores: importing report.py writes bench/__pycache__.
    (tmp_path / ".gitignore").write_text((ROOT / ".gitignore").read_text())

    def tree(*args: str) -> str:
        command = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", *args]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    def commit() -> str:
        code = "import report; print(report.tree_commit())"
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path / "bench", capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    tree("init", "-q")
    tree("add", ".")
    tree("commit", "-q", "-m", "measured")
    head = tree("rev-parse", "--short", "HEAD").strip()

    assert commit() == head
    (tmp_path / "bench" / "results.json").write_text("{}\n")
    assert commit() == head
    (tmp_path / "Makefile").write_text("bench:\n\t@true\n")
    assert commit() == head + "+dirty"


def test_converge_seconds_are_told_play_by_play() -> None:
    from converge import seconds_by_play

    # The shape of ansible.posix.profile_tasks' output: each task header, then the time since the run began.
    output = """
PLAY [Validate every stage's inputs.] ******
TASK [Check the inputs.] ******
Sunday 06 December 2026  19:37:45 +0000 (0:00:00.062)       0:00:01.500 *******
ok: [localhost]
TASK [Check more.] ******
Sunday 06 December 2026  19:37:47 +0000 (0:00:02.000)       0:00:03.500 *******
PLAY [Build the network.] ******
TASK [Create the VPC.] ******
Sunday 06 December 2026  19:37:50 +0000 (0:00:03.000)       0:00:06.500 *******
changed: [localhost]
PLAY RECAP *****
Sunday 06 December 2026  19:38:00 +0000 (0:00:10.000)       0:01:16.500 *******
"""
    spent = seconds_by_play(output, total_s=80.0)
    assert spent == {
        "Build the network.": 70.0,
        "Validate every stage's inputs.": 5.0,
        "(after the last task)": 3.5,
        "(before the first task)": 1.5,
    }
    assert sum(spent.values()) == 80.0

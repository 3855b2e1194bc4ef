"""roles/home_usage/files/home_usage.py on real trees: figures equal du's, the incremental rule, the
full pass every H hours, the time budget, hard links, symbolic links, history, removed homes, the lock.

The script is imported by its path (it is a file the role installs, not a package).
"""

from __future__ import annotations

import datetime
import fcntl
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from log_alarms import counted

SCRIPT = Path(__file__).resolve().parents[1] / "roles" / "home_usage" / "files" / "home_usage.py"
_spec = importlib.util.spec_from_file_location("home_usage", SCRIPT)
hu = importlib.util.module_from_spec(_spec)
sys.modules["home_usage"] = hu
_spec.loader.exec_module(hu)

OLD = 1_600_000_000  # an mtime well in the past: directories are not "racy" (just modified)


def du(path: Path) -> int:
    out = subprocess.run(
        ["du", "-s", "--block-size=1", str(path)], check=True, capture_output=True, text=True
    )
    return int(out.stdout.split()[0])


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))


def settle(root: Path) -> None:
    """Set every directory's mtime into the past, as if the tree had been written long ago."""
    for dirpath, _dirs, _files in os.walk(root):
        if ".sciplat-usage" not in dirpath:
            os.utime(dirpath, (OLD, OLD))


def build(root: Path) -> None:
    write(root / "astro1" / "notes.txt", 100)
    write(root / "astro1" / "data" / "cube.fits", 70_000)
    write(root / "astro1" / "data" / "deep" / "deeper" / "x.bin", 5_000)
    write(root / "astro2" / "big.bin", 300_000)
    (root / "astro2" / "empty").mkdir()
    (root / "astro3").mkdir()
    settle(root)


def run(root: Path, **kwargs):
    return hu.measure(str(root), **kwargs)


def assert_matches_du(root: Path, document: dict) -> None:
    homes = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert sorted(document["homes"]) == homes
    for name in homes:
        assert document["homes"][name]["bytes"] == du(root / name), name


def test_figures_equal_du_and_usage_file_is_written(tmp_path):
    build(tmp_path)
    document, _ = run(tmp_path)
    assert_matches_du(tmp_path, document)
    on_disk = json.loads((tmp_path / ".sciplat-usage" / "usage.json").read_text())
    assert on_disk == document
    assert on_disk["version"] == 1 and on_disk["root"] == str(tmp_path)
    assert on_disk["run"]["complete"] is True and on_disk["run"]["mode"] == "full"
    assert on_disk["homes"]["astro1"]["dirs"] == 4 and on_disk["homes"]["astro1"]["files"] == 3
    assert on_disk["homes"]["astro3"]["files"] == 0
    assert on_disk["measured_at"].endswith("Z")
    assert oct(os.stat(tmp_path / ".sciplat-usage").st_mode & 0o777) == "0o700"
    assert oct(os.stat(tmp_path / ".sciplat-usage" / "usage.json").st_mode & 0o777) == "0o600"


def test_unchanged_tree_lists_no_directory_again(tmp_path):
    build(tmp_path)
    first, _ = run(tmp_path)
    assert first["run"]["dirs_listed"] == 7
    second, _ = run(tmp_path)
    assert second["run"]["dirs_listed"] == 0
    assert second["run"]["homes_reused"] == 3 and second["run"]["homes_walked"] == 0
    assert second["run"]["dirs_stat"] == 7  # one stat per directory (7 directories)
    assert second["homes"]["astro1"]["bytes"] == first["homes"]["astro1"]["bytes"]
    assert second["run"]["mode"] == "incremental"


@pytest.mark.parametrize("change", ["add", "delete", "rename", "new_subdir", "remove_subdir"])
def test_incremental_sees_changes(tmp_path, change):
    build(tmp_path)
    run(tmp_path)
    home = tmp_path / "astro1"
    if change == "add":
        write(home / "data" / "deep" / "new.bin", 40_000)
    elif change == "delete":
        (home / "data" / "cube.fits").unlink()
    elif change == "rename":
        (home / "data" / "cube.fits").rename(home / "data" / "deep" / "cube.fits")
    elif change == "new_subdir":
        write(home / "fresh" / "sub" / "y.bin", 9_000)
    elif change == "remove_subdir":
        for path in sorted((home / "data" / "deep").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (home / "data" / "deep").rmdir()
    document, _ = run(tmp_path)
    assert_matches_du(tmp_path, document)
    assert document["run"]["homes_walked"] == 1  # only astro1 had a directory listed
    assert 1 <= document["run"]["dirs_listed"] <= 3


def test_in_place_growth_is_seen_by_the_full_pass_after_h_hours(tmp_path):
    build(tmp_path)
    now = [time.time()]
    run(tmp_path, clock=lambda: now[0], full_every_hours=6)
    with open(tmp_path / "astro2" / "big.bin", "ab") as handle:  # grows in place: no directory changes
        handle.write(os.urandom(200_000))
    stale, _ = run(tmp_path, clock=lambda: now[0] + 3600, full_every_hours=6)
    assert stale["run"]["dirs_listed"] == 0
    assert stale["homes"]["astro2"]["bytes"] < du(tmp_path / "astro2")  # the documented staleness
    now[0] += 6 * 3600 + 1
    fresh, _ = run(tmp_path, clock=lambda: now[0], full_every_hours=6)
    assert fresh["run"]["dirs_listed"] == 7 and fresh["run"]["mode"] == "full"
    assert_matches_du(tmp_path, fresh)
    assert fresh["homes"]["astro2"]["full_at"] == hu.iso(now[0])


def test_full_flag_lists_everything(tmp_path):
    build(tmp_path)
    run(tmp_path)
    document, _ = run(tmp_path, full=True)
    assert document["run"]["dirs_listed"] == 7 and document["run"]["mode"] == "full"


def test_budget_exhausted_keeps_older_figures_and_goes_oldest_first(tmp_path):
    build(tmp_path)
    run(tmp_path)
    write(tmp_path / "astro1" / "more.bin", 50_000)
    write(tmp_path / "astro2" / "more.bin", 50_000)
    write(tmp_path / "astro3" / "more.bin", 50_000)
    before = json.loads((tmp_path / ".sciplat-usage" / "usage.json").read_text())
    # A budget this small lets each run bring exactly one home (the oldest figure) up to date.
    seen = []
    for _ in range(3):
        time.sleep(1.1)  # measured_at has a resolution of one second
        document, _ = run(tmp_path, max_seconds=1e-9)
        assert document["run"]["complete"] is False
        assert document["run"]["homes_walked"] + document["run"]["homes_reused"] == 1
        assert document["run"]["homes_skipped"] == 2
        changed = [name for name in document["homes"] if document["homes"][name] != before["homes"][name]]
        assert len(changed) == 1
        seen.append(changed[0])
        for name in document["homes"]:
            if name != changed[0]:
                assert document["homes"][name] == before["homes"][name]  # older figure kept
                if name not in seen:
                    assert document["homes"][name]["bytes"] < du(
                        tmp_path / name
                    )  # not brought up to date yet
        assert document["homes"][changed[0]]["bytes"] == du(tmp_path / changed[0])
        before = document
    assert sorted(seen) == ["astro1", "astro2", "astro3"]  # each once: oldest first, round-robin
    assert json.loads((tmp_path / ".sciplat-usage" / "usage.json").read_text())["run"]["complete"] is False


def test_budget_cut_inside_a_home_goes_on_next_run(tmp_path, monkeypatch):
    for index in range(200):
        write(tmp_path / "astro1" / f"d{index:03}" / "f", 100)
    settle(tmp_path)
    monkeypatch.setattr(hu, "BUDGET_CHECK_EVERY", 50)
    first, _ = run(tmp_path, max_seconds=1e-9)
    assert first["run"]["complete"] is False and "astro1" not in first["homes"]
    assert first["run"]["dirs_listed"] == 50
    listed = 50
    for _ in range(5):
        document, _ = run(tmp_path, max_seconds=1e-9)
        listed += document["run"]["dirs_listed"]
        if document["run"]["complete"]:
            break
    assert document["run"]["complete"] is True
    assert listed == 201  # every directory listed once over the runs: nothing redone
    assert_matches_du(tmp_path, document)


def test_hard_links_counted_once_and_symlinks_not_followed(tmp_path):
    write(tmp_path / "astro1" / "a.bin", 80_000)
    os.link(tmp_path / "astro1" / "a.bin", tmp_path / "astro1" / "b.bin")
    (tmp_path / "astro1" / "sub").mkdir()
    os.link(tmp_path / "astro1" / "a.bin", tmp_path / "astro1" / "sub" / "c.bin")
    write(tmp_path / "astro2" / "huge.bin", 500_000)
    os.symlink(tmp_path / "astro2", tmp_path / "astro1" / "to-astro2")
    os.symlink(tmp_path / "astro2" / "huge.bin", tmp_path / "astro1" / "to-huge")
    document, _ = run(tmp_path)
    assert_matches_du(tmp_path, document)
    assert document["homes"]["astro1"]["bytes"] < 200_000
    assert document["homes"]["astro1"]["files"] == 3  # one inode for three names, two symlinks
    (tmp_path / "astro1" / "b.bin").unlink()
    document, _ = run(tmp_path)
    assert_matches_du(tmp_path, document)


def test_history_one_line_per_day_and_trimmed(tmp_path):
    build(tmp_path)
    history = tmp_path / ".sciplat-usage" / "history.jsonl"
    day = datetime.datetime(2026, 11, 1, 5, 0, tzinfo=datetime.UTC).timestamp()
    run(tmp_path, clock=lambda: day)
    run(tmp_path, clock=lambda: day + 3600)
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    assert [line["date"] for line in lines] == ["2026-11-01"]
    assert lines[0]["homes"]["astro2"] == du(tmp_path / "astro2")
    for offset in range(1, 5):
        run(tmp_path, clock=lambda offset=offset: day + offset * 86400, history_days=3)
    dates = [json.loads(line)["date"] for line in history.read_text().splitlines()]
    assert dates == ["2026-11-03", "2026-11-04", "2026-11-05"]


def test_removed_home_is_dropped(tmp_path):
    build(tmp_path)
    run(tmp_path)
    cache = tmp_path / ".sciplat-usage" / "cache"
    assert (cache / "astro3.json").exists()
    (tmp_path / "astro3").rmdir()
    document, _ = run(tmp_path)
    assert "astro3" not in document["homes"]
    assert not (cache / "astro3.json").exists()


def test_dot_entries_and_files_at_the_top_are_not_homes(tmp_path):
    build(tmp_path)
    write(tmp_path / ".snapshot" / "x", 10)
    write(tmp_path / "README", 10)
    document, _ = run(tmp_path)
    assert sorted(document["homes"]) == ["astro1", "astro2", "astro3"]


def test_lock_held_refuses_a_second_run(tmp_path):
    build(tmp_path)
    state = tmp_path / ".sciplat-usage"
    state.mkdir()
    with open(state / "lock", "w") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        with pytest.raises(hu.LockHeld):
            run(tmp_path)
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "measure", "--root", str(tmp_path)], capture_output=True, text=True
        )
    assert result.returncode == 3
    assert "another measurement holds" in result.stderr
    assert not (state / "usage.json").exists()


def test_cli_summary_line_and_bad_root(tmp_path):
    build(tmp_path)
    ok = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "measure",
            "--root",
            str(tmp_path),
            "--state-dir",
            str(tmp_path / ".st"),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.splitlines()) == 1
    assert "3 homes" in ok.stdout and "complete" in ok.stdout
    # The stale-usage alarm's metric filter counts a finished measurement's line, and not an error's.
    assert counted("usage-stale", ok.stdout) == ok.stdout.splitlines()
    assert json.loads((tmp_path / ".st" / "usage.json").read_text())["homes"]["astro2"]["bytes"] == du(
        tmp_path / "astro2"
    )
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "measure", "--root", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "missing is not a directory" in bad.stderr
    assert counted("usage-stale", bad.stdout + bad.stderr) == []
    mode = subprocess.run(
        [sys.executable, str(SCRIPT), "measure", "--root", str(tmp_path), "--mode", "rwx"],
        capture_output=True,
        text=True,
    )
    assert mode.returncode == 2 and "--mode" in mode.stderr


def test_shared_mode_for_a_reader_of_another_uid(tmp_path):
    build(tmp_path)
    run(tmp_path, mode=0o755)
    assert oct(os.stat(tmp_path / ".sciplat-usage").st_mode & 0o777) == "0o755"
    assert oct(os.stat(tmp_path / ".sciplat-usage" / "usage.json").st_mode & 0o777) == "0o644"

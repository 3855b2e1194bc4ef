"""`make bench-usage`: how long roles/home_usage's measurement takes on 1,000 homes of 1,000 small files.

The tree (1,000 homes, each 1,000 files of 64 to 512 bytes in 25 directories: 4 projects of 5 runs of
50 files) is built once under ~/.cache/sciplat-kit/bench (outside the clone) and reused. Figures:
- full: a first measurement with no state (every directory listed, every file stat'ed);
- incremental, unchanged: the next run (one lstat per directory, nothing listed);
- incremental, 10 homes changed: a file added in one directory and one deleted in another in 10 homes;
- du: `du -s --block-size=1` over every home, for reference (and the figures must equal du's).
Wall-clock on a shared machine with the page cache warm (the tree was just built or read): compare
within one run. The script runs as the CronJob and the systemd service run it (a subprocess).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from report import BenchRun

from environments.core import cache_root

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "roles" / "home_usage" / "files" / "home_usage.py"
CACHE = cache_root() / "bench"
HOMES = 1000
PROJECTS = 4
RUNS = 5
FILES_PER_DIR = 50  # 4 x 5 x 50 = 1,000 files per home
LAYOUT = f"v1-{HOMES}x{PROJECTS}x{RUNS}x{FILES_PER_DIR}"


def build_tree(tree: Path) -> float | None:
    """Build the homes once (marker file .complete); returns the seconds it took, None when reused."""
    if (tree / ".complete").exists():
        return None
    if tree.exists():
        shutil.rmtree(tree)
    start = time.monotonic()
    for home in range(HOMES):
        for project in range(PROJECTS):
            for run in range(RUNS):
                directory = tree / f"user{home:04}" / f"project{project}" / f"run{run}"
                directory.mkdir(parents=True)
                for index in range(FILES_PER_DIR):
                    size = 64 + (home * 7 + project * 13 + run * 17 + index * 31) % 449
                    (directory / f"f{index:02}.dat").write_bytes(b"x" * size)
        if home % 100 == 99:
            print(f"  built {home + 1} homes", file=sys.stderr, flush=True)
    (tree / ".complete").write_text(LAYOUT + "\n")
    return round(time.monotonic() - start, 1)


def measure(tree: Path, state: Path, *extra: str) -> dict:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "measure", "--root", str(tree), "--state-dir", str(state), *extra],
        capture_output=True,
        text=True,
    )
    wall = round(time.monotonic() - start, 2)
    if result.returncode != 0:
        raise SystemExit(f"home_usage.py failed:\n{result.stderr}")
    document = json.loads((state / "usage.json").read_text())
    run = document["run"]
    return {
        "seconds": wall,
        "script_seconds": run["seconds"],
        "homes_walked": run["homes_walked"],
        "homes_reused": run["homes_reused"],
        "dirs_listed": run["dirs_listed"],
        "dirs_stat": run["dirs_stat"],
        "complete": run["complete"],
        "homes": document["homes"],
    }


def du_all(tree: Path) -> tuple[float, dict[str, int]]:
    homes = sorted(p.name for p in tree.iterdir() if not p.name.startswith("."))
    start = time.monotonic()
    out = subprocess.run(
        ["du", "-s", "--block-size=1", *homes], cwd=tree, check=True, capture_output=True, text=True
    ).stdout
    elapsed = round(time.monotonic() - start, 2)
    figures = {}
    for line in out.splitlines():
        size, name = line.split("\t", 1)
        figures[name] = int(size)
    return elapsed, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "home_usage.json")
    args = parser.parse_args()
    bench_run = BenchRun()

    tree = CACHE / f"home-usage-{LAYOUT}"
    print(f"tree: {tree}", file=sys.stderr)
    built = build_tree(tree)
    state = tree / ".sciplat-usage"
    shutil.rmtree(state, ignore_errors=True)

    full = measure(tree, state)
    unchanged = measure(tree, state)
    changed_homes = [f"user{home:04}" for home in range(0, HOMES, HOMES // 10)]
    added = []
    for name in changed_homes:
        new = tree / name / "project1" / "run2" / "bench-added.dat"
        new.write_bytes(b"y" * 300)
        added.append(new)
        (tree / name / "project3" / "run4" / "f49.dat").unlink()
    try:
        changed = measure(tree, state)
        du_seconds, du = du_all(tree)
    finally:
        # Put the tree back as it was built, for the next run.
        for new in added:
            new.unlink()
        for name in changed_homes:
            (tree / name / "project3" / "run4" / "f49.dat").write_bytes(b"x" * 100)
    mismatched = [name for name, size in du.items() if changed["homes"].get(name, {}).get("bytes") != size]
    if mismatched or len(changed["homes"]) != HOMES:
        raise SystemExit(f"figures differ from du for {len(mismatched)} homes, e.g. {mismatched[:3]}")

    rows = [
        ("full (no state)", full),
        ("incremental, nothing changed", unchanged),
        ("incremental, 10 homes changed", changed),
    ]
    files, dirs = PROJECTS * RUNS * FILES_PER_DIR, PROJECTS * RUNS + PROJECTS + 1
    print(f"{HOMES} homes x {files} files ({dirs} directories each)")
    print(f"{'measurement':32} {'seconds':>8} {'walked':>7} {'reused':>7} {'listed':>7} {'stat':>7}")
    for label, run in rows:
        print(
            f"{label:32} {run['seconds']:>8} {run['homes_walked']:>7} {run['homes_reused']:>7} "
            f"{run['dirs_listed']:>7} {run['dirs_stat']:>7}"
        )
    print(f"{'du -s of every home (reference)':32} {du_seconds:>8}")
    if built is not None:
        print(f"(tree built in {built} s; reused from now on: {tree})")

    bench_run.write(
        args.output,
        tree={
            "homes": HOMES,
            "files_per_home": PROJECTS * RUNS * FILES_PER_DIR,
            "dirs_per_home": PROJECTS * RUNS + PROJECTS + 1,
            "built_seconds": built,
        },
        full={k: v for k, v in full.items() if k != "homes"},
        incremental_unchanged={k: v for k, v in unchanged.items() if k != "homes"},
        incremental_10_changed={k: v for k, v in changed.items() if k != "homes"},
        du_seconds=du_seconds,
        figures_equal_du=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

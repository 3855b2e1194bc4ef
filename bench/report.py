"""What every benchmark writes beside its figures, so that a reader can judge them.

A benchmark makes a `BenchRun` before it measures and calls `write` with its figures at the end. The report
says when it ran, on which machine, the command line that ran it, the commit of the tree it measured
("+dirty" with uncommitted changes) and the 1-minute load average at start and end: the timings come from a
shared machine, and a busy one makes them slower.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def tree_commit() -> str:
    """The short commit of the checkout this file is in, with "+dirty" if it has uncommitted changes.

    The reports themselves (bench/*.json) do not count: `make bench` runs one benchmark after another, and
    each would otherwise find the tree changed by the report of the one before.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    changed = git("status", "--porcelain", "--", ".", ":(exclude)bench/*.json").strip()
    return commit + "+dirty" if changed else commit


def load_1min() -> float:
    return round(os.getloadavg()[0], 2)


class BenchRun:
    """Made at a benchmark's start (the commit and the load are read then), written at its end."""

    def __init__(self, argv: list[str] | None = None) -> None:
        self.command = list(sys.argv if argv is None else argv)
        self.when = datetime.now(UTC).isoformat(timespec="seconds")
        self.commit = tree_commit()
        self.load_at_start = load_1min()

    def write(self, path: Path, **figures: Any) -> dict[str, Any]:
        """Write the report with the benchmark's figures (each a top-level key) to `path`, as JSON."""
        report = {
            "when": self.when,
            "machine": {
                "node": platform.node(),
                "arch": platform.machine(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "command": self.command,
            "commit": self.commit,
            "load_1min": {"start": self.load_at_start, "end": load_1min()},
            **figures,
        }
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written: {path}")
        return report

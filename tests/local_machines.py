"""Local machines (docs/hosts.md) in tests: their command line, and the mark of tests that boot one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

needs_machines = pytest.mark.skipif(
    shutil.which("systemd-nspawn") is None or shutil.which("debootstrap") is None,
    reason="needs systemd-container and debootstrap (`make host-deps`)",
)


def machines(state_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """python -m machines ARGV --state-dir STATE_DIR, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "machines", *argv, "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )

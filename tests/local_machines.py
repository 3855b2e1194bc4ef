"""Local machines (docs/hosts.md) in tests: their command line, the mark of tests that boot one, and a machine
directory with only a host key (what the emulator reads for an instance a machine stands for)."""

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


def machine_with_host_key(machine_dir: Path) -> Path:
    """MACHINE_DIR/rootfs/etc/ssh with a new ed25519 host key (comment root@NAME), and no machine: the
    console output of an instance tagged `emulator:machine` with MACHINE_DIR prints it. Returns the public
    key's file."""
    ssh = machine_dir / "rootfs" / "etc" / "ssh"
    ssh.mkdir(parents=True)
    key = ssh / "ssh_host_ed25519_key"
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{machine_dir.name}"]
    subprocess.run([*keygen, "-f", str(key)], check=True)
    return key.with_suffix(".pub")

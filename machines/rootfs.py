"""Build (once) and cache the Debian root filesystem every local machine is copied from.

The tree is `debootstrap --variant=minbase bookworm` plus the packages in `PACKAGES`, cached under
`~/.cache/sciplat-kit/rootfs/<hash>` where the hash covers every input (suite, variant, package
lists, mirror, the version of the recipe below). A change of any input builds a new tree; the old
one stays until removed by hand (`python -m machines prune`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from environments.core import cache_root

SUITE = "bookworm"
VARIANT = "minbase"
# What debootstrap itself installs: enough to boot systemd and log in over SSH.
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "sudo",
    "ca-certificates",
)
# Installed with apt inside the tree afterwards (dependency resolution by apt): what a hub host
# needs and is slow to fetch on every converge. acl lets Ansible `become` an unprivileged user.
EXTRA_PACKAGES = (
    "acl",
    "iproute2",
    "nodejs",
    "npm",
    "openssl",
    "procps",
    "python3-venv",
    "python3-apt",
)
# Bump when the recipe in build() changes in a way the inputs above do not show.
RECIPE_VERSION = "1"

CACHE_DIR = cache_root()


def host_mirror() -> str:
    """The Debian mirror the host's apt already uses (so no mirror is written into the kit)."""
    override = os.environ.get("MACHINES_DEBIAN_MIRROR")
    if override:
        return override
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file() or path.suffix not in {".list", ".sources", ""}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            line = line.strip()
            match = re.match(r"^URIs:\s*(\S+)", line) or re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", line)
            if match and "/debian" in match.group(1) and "security" not in match.group(1):
                return match.group(1)
    raise RuntimeError("no Debian mirror found in /etc/apt/sources*; set MACHINES_DEBIAN_MIRROR")


def inputs() -> dict[str, object]:
    return {
        "suite": SUITE,
        "variant": VARIANT,
        "base": sorted(BASE_PACKAGES),
        "extra": sorted(EXTRA_PACKAGES),
        "mirror": host_mirror(),
        "recipe": RECIPE_VERSION,
    }


def inputs_hash() -> str:
    return hashlib.sha256(json.dumps(inputs(), sort_keys=True).encode()).hexdigest()[:16]


def cached_path() -> Path:
    return CACHE_DIR / "rootfs" / inputs_hash()


def _chroot(tree: Path, *argv: str) -> None:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C",
    }
    subprocess.run(["chroot", str(tree), *argv], check=True, env=env, stdout=subprocess.DEVNULL)


def _with_api_mounts(tree: Path, func) -> None:
    """Run func() with /proc, /sys and /dev mounted in the tree (apt's maintainer scripts want them)."""
    mounted: list[Path] = []
    try:
        for src, fstype in (("proc", "proc"), ("sysfs", "sysfs")):
            target = tree / ("proc" if fstype == "proc" else "sys")
            subprocess.run(["mount", "-t", fstype, src, str(target)], check=True)
            mounted.append(target)
        target = tree / "dev"
        subprocess.run(["mount", "--bind", "/dev", str(target)], check=True)
        mounted.append(target)
        func()
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)


def build(log=print) -> Path:
    """Return the cached tree, building it first when it is missing (about 3 minutes)."""
    final = cached_path()
    if (final / ".complete").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same tree
        if (final / ".complete").exists():
            return final
        work = final.parent / f".building-{final.name}-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        started = time.monotonic()
        mirror = host_mirror()
        log(f"machines: building the {SUITE} tree {final.name} from {mirror} (once; cached)")
        subprocess.run(
            [
                "debootstrap",
                f"--variant={VARIANT}",
                "--include=" + ",".join(BASE_PACKAGES),
                SUITE,
                str(work),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

        def install_extra() -> None:
            _chroot(work, "apt-get", "update", "-qq")
            _chroot(
                work,
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                *EXTRA_PACKAGES,
            )
            _chroot(work, "apt-get", "clean")

        _with_api_mounts(work, install_extra)
        _configure(work)
        (work / ".complete").write_text(json.dumps(inputs(), sort_keys=True) + "\n")
        os.rename(work, final)
        log(f"machines: tree built in {time.monotonic() - started:.0f} s: {final}")
    return final


def _configure(tree: Path) -> None:
    """Machine-independent settings; per-machine ones (keys, port, hostname) come at copy time."""
    # Host keys are generated per machine; the cached tree carries none.
    for key in (tree / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    (tree / "etc" / "machine-id").write_text("")  # systemd generates one at first boot
    # Nothing inside needs a getty on the container console.
    wants = tree / "etc" / "systemd" / "system" / "getty.target.wants"
    shutil.rmtree(wants, ignore_errors=True)
    for unit in ("console-getty.service", "systemd-networkd-wait-online.service"):
        mask = tree / "etc" / "systemd" / "system" / unit
        if not mask.exists():
            mask.symlink_to("/dev/null")
    # The host's resolver works from inside (shared network).
    resolv = tree / "etc" / "resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    shutil.copyfile("/etc/resolv.conf", resolv)

"""The single-node hub's proxy is installed from the role's lockfile (issue 17).

roles/jupyterhub/files/single_node/proxy holds package.json and the package-lock.json `npm ci` installs;
the jupyterhub single_node Molecule scenario installs it on a real host and compares the installed tree
with the lock. Here: the lock is complete (every package pinned to a version with its sha512 hash; no
`resolved` URL, so npm fetches it from the registry the host is configured with, a mirror too, and checks
the hash) and says what package.json asks for, so `npm ci` cannot resolve anything itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "roles" / "jupyterhub" / "files" / "single_node" / "proxy"


def load(name: str) -> dict[str, Any]:
    return json.loads((PROXY / name).read_text())  # type: ignore[no-any-return]


def test_the_lock_pins_every_package_with_its_hash() -> None:
    lock = load("package-lock.json")
    assert lock["lockfileVersion"] >= 2  # the `packages` section npm ci installs from
    packages = {path: entry for path, entry in lock["packages"].items() if path}
    assert packages
    unpinned = [
        path
        for path, entry in packages.items()
        if not re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", entry.get("integrity", ""))
        or not re.fullmatch(r"\d+\.\d+\.\d+", entry.get("version", ""))
    ]
    assert unpinned == []


def test_the_lock_is_the_one_package_json_asks_for() -> None:
    package, lock = load("package.json"), load("package-lock.json")
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    # An exact version: the proxy changes only with a new lock, never by a range.
    [(name, version)] = package["dependencies"].items()
    assert name == "configurable-http-proxy" and re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert lock["packages"][f"node_modules/{name}"]["version"] == version

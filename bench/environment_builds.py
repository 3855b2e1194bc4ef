"""`make bench`: how long the science environments take to freeze and build, and how big they are.

Figures, per environment version in the tree:
- freeze: `python -m environments freeze NAME --from V --version V+1` on a copy of the tree
  (resolution against the package index, wheels only, hashes);
- build cold: a fresh venv from the lock with an empty wheel cache (every wheel downloaded);
- build warm: a fresh venv from the lock with the wheel cache of the cold build;
- build cached: the venv this lock already built (what CI's second run does);
- size: the venv on disk, and the number of packages pinned.
Wall-clock on a shared machine, with the index's speed in the cold figures: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import BenchRun

from environments import core

ROOT = Path(__file__).resolve().parent.parent


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "environments", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"environments {' '.join(args)} failed:\n{result.stderr}")
    return round(elapsed, 2)


def size_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return round(total / 1e6, 1)


def next_version(version: str) -> str:
    year, month = (int(part) for part in version.split(".")[:2])
    return f"{year + month // 12}.{month % 12 + 1}"


def bench(name: str, version: str, scratch: Path) -> dict[str, Any]:
    tree = scratch / "tree"
    shutil.copytree(core.ROOT / name / version, tree / name / version)
    cache = scratch / "cache"
    env = {**os.environ, "SCIPLAT_ENVIRONMENTS_DIR": str(tree), "SCIPLAT_CACHE": str(cache)}
    figures: dict[str, Any] = {"environment": f"{name} {version}"}
    figures["freeze_s"] = timed(["freeze", name, "--from", version, "--version", next_version(version)], env)
    shutil.rmtree(cache, ignore_errors=True)  # the freeze fetched metadata: the build starts cold
    figures["build_cold_s"] = timed(["build", name, version, "--fresh"], env)
    figures["build_warm_wheels_s"] = timed(["build", name, version, "--fresh"], env)
    figures["build_cached_venv_s"] = timed(["build", name, version], env)
    venvs = list((cache / "environments" / "venvs").glob(f"{name}-{version}-*"))
    venv = next(v for v in venvs if not v.name.endswith(".partial"))
    figures["venv_mb"] = size_mb(venv)
    figures["wheel_cache_mb"] = size_mb(cache / "uv")
    figures["packages"] = len(core.Lock.load(core.ROOT / name / version / "requirements.lock").pins)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "environments.json")
    args = parser.parse_args()
    bench_run = BenchRun()
    results = []
    for name in core.names():
        for version in core.versions(name):
            with tempfile.TemporaryDirectory(prefix="sciplat-env-bench-") as scratch:
                figures = bench(name, version, Path(scratch))
            print(json.dumps(figures))
            results.append(figures)
    bench_run.write(args.output, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the storage notice's wheel once per set of inputs, cached outside the clone.

    python lab_extension/build.py [--cache DIR] [--out DIR]

The key is a hash of every input file (this script, pyproject.toml, package.json, package-lock.json,
the JavaScript and the Python package). A build for a key already in the cache
(<cache>/lab-extension/<key>/) is reused; otherwise a build venv (jupyterlab, hatchling,
hatch-jupyter-builder, pinned in pyproject.toml, from PyPI), `npm ci` (@jupyterlab/builder, from the
npm registry, node 20) and `pip wheel` (hatch-jupyter-builder runs `jupyter labextension build`) make
it. The wheel is then copied to --out (default build/lab-extension/ in the clone), where the local
inventory points jupyterhub_lab_extension_wheel. Prints the wheel's path.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Where every build runs, whatever the clone or the cache: webpack's module ids (the container entry's)
# follow the sources' absolute path, and the science images pin the wheel's sha256, so the same sources
# must give the same wheel on any machine. One build at a time holds WORK's lock.
WORK = Path("/tmp/sciplat-lab-extension-build")
INPUTS = [
    "build.py",
    "pyproject.toml",
    "package.json",
    "package-lock.json",
    "src/index.js",
    "sciplat_storage_notice/__init__.py",
    "jupyter-config/server-config/sciplat_storage_notice.json",
]


def key() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run(argv: list, cwd: Path | None = None, env: dict | None = None) -> None:
    print("+", " ".join(str(a) for a in argv), flush=True)
    subprocess.run([str(a) for a in argv], cwd=cwd, env=env, check=True)


def build_venv(cache: Path) -> Path:
    """A venv with the build requirements of pyproject.toml, one per set of pins."""
    requires = tomllib.loads((HERE / "pyproject.toml").read_text())["build-system"]["requires"]
    venv = cache / "lab-extension" / ("venv-" + hashlib.sha256("\n".join(requires).encode()).hexdigest()[:12])
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", venv])
        run([venv / "bin" / "pip", "install", "--quiet", "--cache-dir", cache / "pip", *requires])
        (venv / ".complete").touch()
    return venv


def check_node() -> None:
    """node 20 or newer and npm on PATH (@jupyterlab/builder 4.5 needs them)."""
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
        version = node.stdout.strip()
        subprocess.run(["npm", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("lab_extension/build.py: node 20+ and npm are needed on PATH") from None
    if int(version.lstrip("v").split(".")[0]) < 20:
        raise SystemExit(f"lab_extension/build.py: node {version} found, 20 or newer is needed")


def build(cache: Path) -> Path:
    target = cache / "lab-extension" / key()
    wheels = sorted(target.glob("*.whl"))
    if (target / ".complete").exists() and wheels:
        return wheels[0]
    with open(WORK.with_name(WORK.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another clone sharing the cache may have built this key while we waited.
        if not (target / ".complete").exists():
            _build(cache, target)
    return sorted(target.glob("*.whl"))[0]


def _build(cache: Path, target: Path) -> None:
    check_node()
    venv = build_venv(cache)
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "npm_config_cache": str(cache / "npm"),
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
        # The JupyterLab core the extension shares modules with: the pinned jupyterlab's staging
        # directory (jupyter_builder would otherwise download @jupyterlab/core-meta).
        "SCIPLAT_LAB_CORE_PATH": str(next((venv / "lib").glob("python3*/site-packages/jupyterlab/staging"))),
    }
    shutil.rmtree(WORK, ignore_errors=True)
    source = WORK / "src"
    for name in INPUTS:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HERE / name, source / name)
    run(["npm", "ci", "--no-progress"], cwd=source, env=env)
    out = WORK / "dist"
    pip = venv / "bin" / "pip"
    run([pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", out, source], env=env)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for wheel in out.glob("*.whl"):
        shutil.copy2(wheel, target / wheel.name)
    shutil.rmtree(WORK)
    (target / ".complete").touch()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_cache = Path(os.environ.get("SCIPLAT_CACHE", Path.home() / ".cache/sciplat-kit"))
    parser.add_argument("--cache", type=Path, default=default_cache)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lab-extension")
    args = parser.parse_args(argv)
    wheel = build(args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.whl"):
        if old.name != wheel.name:
            old.unlink()
    dest = args.out / wheel.name
    shutil.copy2(wheel, dest)
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())

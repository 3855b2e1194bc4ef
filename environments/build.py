"""Build an environment's virtual environment from its lock, and run its smoke notebooks in it.

Built environments and downloaded wheels are cached under ~/.cache/sciplat-kit, keyed by the lock's
sha256: a lock that did not change is never installed twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from environments.core import CACHE_DIR, EnvError, EnvVersion, uv_binary

VENV_CACHE = CACHE_DIR / "environments" / "venvs"
WHEEL_CACHE = CACHE_DIR / "uv"
COMPLETE = ".sciplat-complete"
FIXTURES = Path(__file__).resolve().parent / "fixtures.py"
# The public archive's bucket and the prefixes its missions live under.
PUBLIC_BUCKET = "stpubdata"

INSTALL_FAILURE_RES = (
    re.compile(r"Because (\S+) was not found in the package registry"),
    re.compile(r"hash mismatch for `?([A-Za-z0-9._-]+)"),
    re.compile(r"Failed to (?:download|fetch|build|prepare distributions?)[^`]*`([^`]+)`"),
    re.compile(r"[Nn]o (?:solution|matching distribution)[^\n]*?`?([A-Za-z0-9._-]+==[^\s`]+)"),
    re.compile(r"`([A-Za-z0-9._-]+==[^\s`]+)`"),
)


@dataclass
class Built:
    env: EnvVersion
    venv: Path
    cached: bool
    seconds: float

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def venv_path(env: EnvVersion) -> Path:
    return VENV_CACHE / f"{env.name}-{env.version}-{env.lock().digest[:16]}"


def name_failing_package(stderr: str) -> str:
    for pattern in INSTALL_FAILURE_RES:
        match = pattern.search(stderr)
        if match:
            return match.group(1)
    return "unknown package"


def build(env: EnvVersion, *, wheel_cache: Path = WHEEL_CACHE, fresh: bool = False) -> Built:
    """Install the lock into a fresh venv with --require-hashes (or reuse the one this lock built)."""
    spec = env.spec()
    target = venv_path(env)
    start = time.monotonic()
    if (target / COMPLETE).exists() and not fresh:
        return Built(env, target, True, time.monotonic() - start)
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(target.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    uv = uv_binary()
    created = subprocess.run(
        [uv, "venv", "--quiet", "--python", f"python{spec.python}", str(scratch)],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        raise EnvError(f"{env.label()}: cannot create a Python {spec.python} venv: {created.stderr.strip()}")
    installed = subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(scratch / "bin" / "python"),
            "--require-hashes",
            "--only-binary",
            ":all:",
            "--cache-dir",
            str(wheel_cache),
            "-r",
            str(env.lock_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        package = name_failing_package(installed.stderr)
        raise EnvError(f"{env.label()}: the lock no longer installs: {package}\n{installed.stderr.strip()}")
    scratch.rename(target)
    (target / COMPLETE).write_text(env.lock().digest + "\n")
    return Built(env, target, False, time.monotonic() - start)


def size_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def seed_public_data(built: Built, aws_env: dict[str, str]) -> list[str]:
    """Write small FITS files with the environment's own astropy into the emulated public bucket."""
    result = subprocess.run(
        [str(built.python), str(FIXTURES), PUBLIC_BUCKET],
        capture_output=True,
        text=True,
        env={**os.environ, **aws_env},
        check=False,
    )
    if result.returncode != 0:
        raise EnvError(f"{built.env.label()}: could not write the test FITS files:\n{result.stderr.strip()}")
    return result.stdout.split()


def _first_line(source: str) -> str:
    return next((line for line in source.splitlines() if line.strip()), "")[:80]


def run_notebook(built: Built, notebook: Path, aws_env: dict[str, str], timeout: int = 300) -> None:
    """Execute one notebook with nbclient on a kernel from the built venv; name the failing cell."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory() as kernels:
        kernel_dir = Path(kernels) / "kernels" / "smoke"
        kernel_dir.mkdir(parents=True)
        (kernel_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [
                        str(built.python),
                        "-m",
                        "ipykernel_launcher",
                        "--log-level=ERROR",
                        "-f",
                        "{connection_file}",
                    ],
                    "display_name": built.env.label(),
                    "language": "python",
                    "env": {**aws_env, "MPLBACKEND": "Agg"},
                }
            )
        )
        manager = KernelManager(
            kernel_name="smoke", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir.parent)])
        )
        client = NotebookClient(nb, km=manager, timeout=timeout, resources={"metadata": {"path": kernels}})
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            raise EnvError(_describe_failure(built, notebook, nb, error)) from None


def _describe_failure(built: Built, notebook: Path, nb: object, error: Exception) -> str:
    for index, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return (
                    f"{built.env.label()}: notebook {notebook.name} cell {index + 1} "
                    f"({_first_line(cell.source)!r}) failed: {output['ename']}: {output['evalue']}"
                )
    return f"{built.env.label()}: notebook {notebook.name} failed: {type(error).__name__}: {error}"


def smoke(built: Built, aws_env: dict[str, str]) -> list[str]:
    """Seed the public data, then run every smoke notebook; return the notebooks that ran."""
    if not built.env.notebooks:
        raise EnvError(f"{built.env.label()}: no smoke notebooks in {built.env.path / 'notebooks'}")
    seed_public_data(built, aws_env)
    ran = []
    for notebook in built.env.notebooks:
        run_notebook(built, notebook, aws_env)
        ran.append(notebook.name)
    return ran


def aws_environment(state_dir: Path | None = None) -> dict[str, str]:
    """Where S3 is: AWS_ENDPOINT_URL when set, else the emulator's endpoint file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith("AWS_") and key != "AWS_ENDPOINT_URL"
    }
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        state = state_dir or Path(os.environ.get("EMULATOR_STATE_DIR", ".emulator"))
        endpoint_file = state / "endpoint"
        if not endpoint_file.exists():
            raise EnvError(
                "no S3 endpoint: set AWS_ENDPOINT_URL, or start the emulator (python -m emulator start)"
            )
        endpoint = endpoint_file.read_text().strip()
        env.setdefault("AWS_ACCESS_KEY_ID", "testing")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env["AWS_ENDPOINT_URL"] = endpoint
    return env

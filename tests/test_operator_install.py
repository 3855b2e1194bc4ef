"""What an operator installs (`make install`: pyproject.toml with requirements.lock) runs the runbooks and
the environments tool with none of the development distribution (dev/: the emulator, the local machines,
the tests' tools): every module of both imports and their commands answer, while moto, Molecule, Selenium,
pytest, the emulator and the machines are not there. The two locks pin the same versions, so the tests (on
the development lock) test the operator's."""

from __future__ import annotations

import pkgutil
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_ONLY = ("moto", "molecule", "selenium", "pytest", "emulator", "machines")
# Run by a built environment's own Python (astropy, numpy), never imported by the kit.
ENVIRONMENT_SCRIPTS = {"environments.fixtures"}


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_the_operator_lock_pins_the_versions_of_the_development_lock():
    operator, development = pins(ROOT / "requirements.lock"), pins(ROOT / "dev" / "requirements.lock")
    assert {"ansible-core", "boto3", "mitogen", "ansible-runner"} <= operator.keys()
    assert not {"moto", "molecule", "selenium", "pytest"} & operator.keys()
    assert {name: development.get(name) for name in operator} == operator


@pytest.fixture(scope="module")
def operator_venv(tmp_path_factory) -> Path:
    """The venv `make install` makes, beside the clone's own (its wheels come from the kit's cache)."""
    venv = tmp_path_factory.mktemp("operator") / "venv"
    done = subprocess.run(
        ["make", "-C", str(ROOT), "install", f"VENV={venv}"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (venv / ".installed-operator").is_file()
    return venv


def run(venv: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """ARGV in the venv, from a directory outside the clone: only what the venv has is importable."""
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "NO_COLOR": "1",
    }
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env)


def test_every_module_of_the_runbooks_and_environments_imports_without_the_development_tools(
    operator_venv, tmp_path
):
    modules = sorted(
        info.name
        for package in ("runbooks", "environments")
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}.")
        if not info.name.endswith("__main__") and info.name not in ENVIRONMENT_SCRIPTS
    )
    assert "runbooks.procedures.rebuild_hub_host" in modules
    script = (
        "import importlib, importlib.util\n"
        f"loaded = [importlib.import_module(name) for name in {modules!r}]\n"
        f"missing = [n for n in {DEVELOPMENT_ONLY!r} if importlib.util.find_spec(n) is None]\n"
        f"print(sorted(m.__name__ for m in loaded if not m.__file__.startswith({str(ROOT)!r})))\n"
        "print(','.join(missing))\n"
    )
    done = run(operator_venv, "python", "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    elsewhere, missing = done.stdout.splitlines()
    assert elsewhere == "[]"  # the editable install maps the packages to this clone
    assert missing.split(",") == list(DEVELOPMENT_ONLY)


def test_the_operator_commands_answer_and_the_local_image_names_the_development_install(
    operator_venv, tmp_path
):
    version = run(operator_venv, "runbook", "--version", cwd=tmp_path)
    assert version.stdout.strip() == "runbook 0.1.0", version.stdout + version.stderr
    procedures = run(operator_venv, "runbook", "list", cwd=tmp_path)
    assert procedures.returncode == 0, procedures.stderr
    assert re.search(r"^rebuild-hub-host\s+Re-create", procedures.stdout, re.M)
    environments = run(operator_venv, "python", "-m", "environments", "list", cwd=tmp_path)
    assert environments.returncode == 0, environments.stderr
    assert re.search(r"^hst\s+2026\.11\s+python 3\.11", environments.stdout, re.M)
    image_argv = ("python", "-m", "environments", "image", "hst", "2026.11", "--registry", "r.example")
    image = run(operator_venv, *image_argv, cwd=tmp_path)
    assert image.returncode != 0
    assert "development install (make setup)" in image.stderr and "image_pipeline" in image.stderr
    assert "Traceback" not in image.stderr

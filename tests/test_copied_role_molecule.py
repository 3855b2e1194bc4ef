"""A role copied into another project runs its own Molecule scenario there, as docs/copying-a-role.md
says: the role under the project's roles/, the built collection installed into the project's collections/,
the shared Molecule files from the installed emulator (`python -m emulator molecule-files`). Nothing of
this repository is on the scenario's paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROLE = "backup"  # AWS only (no machine, no cluster): the shortest scenario that reaches the emulator

pytestmark = pytest.mark.e2e


def test_a_copied_role_runs_its_molecule_scenario_in_another_project(tmp_path):
    project = tmp_path / "other-platform"
    shutil.copytree(
        ROOT / "roles" / ROLE, project / "roles" / ROLE, ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env |= {
        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule-state"),
        "EMULATOR_TIME_SCALE": os.environ.get("EMULATOR_TIME_SCALE", "120"),
        "NO_COLOR": "1",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",  # as in an activated venv: molecule calls ansible-*
    }

    def run(*argv, cwd=project):
        return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True)

    built = run(sys.executable, ROOT / "tools" / "build_collection.py", "--output-dir", tmp_path / "dist")
    assert built.returncode == 0, built.stderr
    installed = run(
        BIN / "ansible-galaxy",
        "collection",
        "install",
        "--no-deps",
        "-p",
        "collections",
        built.stdout.strip(),
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shared = run(sys.executable, "-m", "emulator", "molecule-files", "--into", "molecule/shared")
    assert shared.returncode == 0, shared.stderr
    assert (project / "molecule" / "shared" / "create.yml").is_file()
    assert (
        project / "collections" / "ansible_collections" / "sciplat" / "platform" / "roles" / ROLE
    ).is_dir()

    scenario = run(
        BIN / "molecule", "-c", "../../molecule/shared/base.yml", "test", cwd=project / "roles" / ROLE
    )
    output = scenario.stdout + scenario.stderr
    assert scenario.returncode == 0, output[-6000:]
    for action in ("converge", "idempotence", "check", "verify"):
        assert f"default > {action}: Executed: Successful" in output, output[-3000:]
    assert "failed=0" in output.split("SCENARIO RECAP", 1)[1], output[-3000:]

"""The local site converged in a private emulator, for the runbook tests (fixtures and helpers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ansible_run import WITHOUT_HUB, run_playbook
from typer.testing import CliRunner

from emulator.launcher import running_emulator
from runbooks import aws, procedures
from runbooks.cli import app
from runbooks.engine import Run
from runbooks.home_access import home_access
from runbooks.site import Site, load_site

# Waits are real AWS durations divided by this: every wait loop still polls, the module stays quick.
TIME_SCALE = 300.0


@contextmanager
def converged_local_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The local site, converged in a private emulator; runs and reports go to a temporary dir."""
    saved = {k: os.environ.get(k) for k in ("EMULATOR_STATE_DIR", "RUNBOOK_OUTPUT_DIR")}
    with running_emulator(tmp_path_factory.mktemp("runbooks"), time_scale=TIME_SCALE) as emulator:
        os.environ["EMULATOR_STATE_DIR"] = str(emulator.state_dir)
        os.environ["RUNBOOK_OUTPUT_DIR"] = str(tmp_path_factory.mktemp("runbook-output"))
        run = run_playbook("site.yml", state_dir=emulator.state_dir, args=WITHOUT_HUB)
        assert run.returncode == 0, run.output[-6000:]
        try:
            yield load_site("local")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def home_root_of(site: Site) -> Path:
    fs = aws.find_home_fs(site)
    assert fs is not None
    return home_access(site).root(fs["FileSystemId"])


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def seed_alice(site: Site) -> dict[str, bytes]:
    """alice's home with three files, backed up; returns what the backup holds."""
    home = home_root_of(site) / "home" / "alice"
    (home / "data").mkdir(parents=True)
    (home / "notes.md").write_text("# observing log\n")
    (home / "data" / "frame.fits").write_bytes(os.urandom(64 * 1024))
    (home / "plot.py").write_text("print('plot')\n")
    fs = aws.find_home_fs(site)
    assert fs is not None
    aws.start_backup(site, fs, 120)
    return files(home)


def run(site: Site, name: str, *args: str) -> list[dict[str, Any]]:
    module = procedures.get(name)
    params = procedures.parse_args(module, list(args))
    return Run(site, name, module.steps, params, apply=True, yes=True, echo=lambda _: None).execute()

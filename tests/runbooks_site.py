"""The local site converged in a private emulator, for the runbook tests (fixtures and helpers)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from runbooks import aws, procedures
from runbooks.cli import app
from runbooks.engine import Run
from runbooks.home_access import home_access
from runbooks.site import Site


def with_vars(site: Site, **variables: Any) -> Site:
    """The site with some variables set as an inventory would."""
    return dataclasses.replace(site, hostvars={**site.hostvars, **variables})


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

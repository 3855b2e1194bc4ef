"""``python -m emulator start|stop|reset|status``: the one launcher for demo, tests and Molecule.

``python -m emulator molecule-files [--into DIR]``: the shared Molecule playbooks every role's scenario
uses (create, destroy, the emulator's environment), shipped in this package so a role copied into another
project can run its scenario: without ``--into`` prints their directory, with it copies them there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from emulator.launcher import DEFAULT_TIME_SCALE, Emulator, default_state_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "reset", "status", "molecule-files"])
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="default: $EMULATOR_STATE_DIR or ./.emulator"
    )
    parser.add_argument("--port", type=int, default=None, help="default: a free loopback port")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=float(os.environ.get("EMULATOR_TIME_SCALE", DEFAULT_TIME_SCALE)),
        help="real AWS durations are divided by this (default: $EMULATOR_TIME_SCALE or %(default)s)",
    )
    parser.add_argument(
        "--into", type=Path, default=None, help="molecule-files: the directory to copy them to"
    )
    args = parser.parse_args(argv)
    if args.command == "molecule-files":
        molecule_files(args.into)
        return
    emulator = Emulator((args.state_dir or default_state_dir()).resolve(), args.time_scale)

    if args.command == "start":
        try:
            endpoint = emulator.start(args.port)
        except RuntimeError as error:
            sys.exit(f"emulator: {error}")
        print(f"emulator: {endpoint}")
    elif args.command == "stop":
        print("emulator: stopped" if emulator.stop() else "emulator: not running")
    elif args.command == "reset":
        if not emulator.running():
            sys.exit("emulator: not running (start it with `python -m emulator start`)")
        emulator.reset()
        print("emulator: reset")
    elif not emulator.running():
        print("emulator: not running")
        sys.exit(1)
    else:
        print(f"emulator: {emulator.endpoint}")


MOLECULE_FILES = Path(__file__).resolve().parent / "molecule"


def molecule_files(into: Path | None) -> None:
    """Print where the shared Molecule files are, or copy them into a project (again: same result)."""
    if into is None:
        print(MOLECULE_FILES)
        return
    if into.resolve() == MOLECULE_FILES:
        print(f"emulator: {into} is where the shared Molecule files already are")
        return
    shutil.copytree(MOLECULE_FILES, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"emulator: shared Molecule files copied to {into}")

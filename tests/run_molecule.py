"""Run the roles' Molecule scenarios a few at a time (`make molecule`), each with its own state and log.

Every scenario runs `molecule test -s <name>` in its role directory with its own
MOLECULE_EPHEMERAL_DIRECTORY (`.molecule/<role>-<scenario>`): its own emulator (a free port picked by the
kernel) and its own machines state directory (machine names differ between scenarios and are not
registered with systemd-machined: `--register=no`). Two scenarios of the same role never run at the
same time (they share the role directory). A scenario's output goes to `.molecule/logs/<role>-<scenario>.log`,
each line prefixed with the seconds since the scenario started; a failed scenario's log is printed whole
at the end, never interleaved with the others. One summary line per scenario gives its time and the time
of each Molecule action (create, converge, idempotence, check, verify, ...).

The longest scenarios start first: their durations from the last run are kept in
`~/.cache/sciplat-kit/molecule/durations.json` (only an ordering hint; a missing file just changes the order).

    python tests/run_molecule.py [-j JOBS] [role/scenario ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from environments.core import cache_root
from runbooks.ansible import strategy_env

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = cache_root()
DURATIONS = CACHE_DIR / "molecule" / "durations.json"
# Molecule's own progress lines: "INFO     [default > converge] Executing" without colours,
# "INFO     default ➜ converge: Executing" with them.
ACTION = re.compile(r"INFO\s+(?:\[\S+ > (\w+)\]|\S+ \S+ (\w+):) (Executing|Executed)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(eq=False)
class Scenario:
    role: str
    name: str
    returncode: int | None = None
    seconds: float = 0.0
    actions: list[tuple[str, float]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.role}/{self.name}"

    @property
    def state_dir(self) -> Path:
        return ROOT / ".molecule" / f"{self.role}-{self.name}"

    @property
    def log(self) -> Path:
        return ROOT / ".molecule" / "logs" / f"{self.role}-{self.name}.log"

    def uses_machine(self) -> bool:
        """Whether the scenario boots a local machine (slow: boot and installs inside it)."""
        directory = ROOT / "roles" / self.role / "molecule" / self.name
        return any("machines" in path.read_text() for path in directory.glob("*.yml"))


def discover() -> list[Scenario]:
    return [
        Scenario(path.parts[-4], path.parts[-2])
        for path in sorted(ROOT.glob("roles/*/molecule/*/molecule.yml"))
    ]


def run(scenario: Scenario) -> None:
    """molecule test -s <name>; output to the scenario's log with elapsed-time prefixes."""
    scenario.log.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **strategy_env(),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(scenario.state_dir),
        # The scenario's emulator (molecule/shared/create.yml) waits as the pytest suite's do: real AWS
        # durations / 120, still long enough that every wait loop in the roles polls.
        "EMULATOR_TIME_SCALE": os.environ.get("EMULATOR_TIME_SCALE", "120"),
        "NO_COLOR": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PY_COLORS": "0",
    }
    started = time.monotonic()
    current: tuple[str, float] | None = None
    with scenario.log.open("w") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "molecule"),
                *("--base-config", str(ROOT / "molecule" / "shared" / "base.yml")),
                *("test", "-s", scenario.name),
            ],
            cwd=ROOT / "roles" / scenario.role,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        for line in process.stdout:
            elapsed = time.monotonic() - started
            log.write(f"[{elapsed:7.1f}] {line}")
            match = ACTION.search(ANSI.sub("", line))
            action = match and (match.group(1) or match.group(2))
            if match and match.group(3) == "Executing":
                current = (action, elapsed)
            elif match and current and action == current[0]:
                scenario.actions.append((current[0], elapsed - current[1]))
                current = None
        scenario.returncode = process.wait()
    scenario.seconds = time.monotonic() - started


def summary(scenario: Scenario) -> str:
    status = "ok" if scenario.returncode == 0 else f"FAILED (exit {scenario.returncode})"
    actions = " ".join(f"{name} {seconds:.0f}" for name, seconds in scenario.actions)
    return f"== molecule {scenario.key}: {status} in {scenario.seconds:.0f} s ({actions})"


def order(scenarios: list[Scenario]) -> list[Scenario]:
    """Longest first (last run's durations; without them, the scenarios that boot a machine first)."""
    try:
        known = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        known = {}
    return sorted(scenarios, key=lambda s: (-known.get(s.key, 0), not s.uses_machine(), s.key))


def run_all(scenarios: list[Scenario], jobs: int) -> int:
    pending = order(scenarios)
    running: dict[Scenario, threading.Thread] = {}
    lock = threading.Condition()
    print(f"== molecule: {len(pending)} scenarios, {jobs} at a time; logs in .molecule/logs/", flush=True)
    started = time.monotonic()

    def worker(scenario: Scenario) -> None:
        try:
            run(scenario)
        except Exception as error:  # a runner bug must fail the scenario, not hang the loop
            scenario.returncode = 255
            scenario.log.parent.mkdir(parents=True, exist_ok=True)
            with scenario.log.open("a") as log:
                log.write(f"run_molecule: {error!r}\n")
        with lock:
            del running[scenario]
            print(summary(scenario), flush=True)
            lock.notify_all()

    with lock:
        while pending or running:
            busy_roles = {s.role for s in running}
            ready = [s for s in pending if s.role not in busy_roles]
            if ready and len(running) < jobs:
                scenario = ready[0]
                pending.remove(scenario)
                print(f"== molecule {scenario.key}: started", flush=True)
                thread = threading.Thread(target=worker, args=(scenario,), daemon=True)
                running[scenario] = thread
                thread.start()
                continue
            lock.wait()

    failed = [s for s in scenarios if s.returncode != 0]
    for scenario in failed:
        print(f"\n== molecule {scenario.key} FAILED: its whole log ({scenario.log})", flush=True)
        print(scenario.log.read_text(errors="replace"), flush=True)
    try:
        DURATIONS.parent.mkdir(parents=True, exist_ok=True)
        known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
        known.update({s.key: round(s.seconds) for s in scenarios if s.returncode == 0})
        DURATIONS.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    except (OSError, ValueError):
        pass
    total = time.monotonic() - started
    verdict = f"{len(failed)} of {len(scenarios)} FAILED" if failed else f"all {len(scenarios)} passed"
    print(f"== molecule: {verdict} in {total:.0f} s ({jobs} at a time)", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("MOLECULE_JOBS", "3")))
    parser.add_argument("scenarios", nargs="*", help="role/scenario (default: every scenario)")
    args = parser.parse_args(argv)
    scenarios = discover()
    if args.scenarios:
        wanted = set(args.scenarios)
        unknown = wanted - {s.key for s in scenarios}
        if unknown:
            parser.error(f"no such scenario: {', '.join(sorted(unknown))}")
        scenarios = [s for s in scenarios if s.key in wanted]
    return run_all(scenarios, max(1, args.jobs))


if __name__ == "__main__":
    sys.exit(main())

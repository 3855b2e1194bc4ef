"""The step engine every procedure runs on.

A procedure is a list of named steps; each step has a precondition (read-only, may refuse), an
action and a verification. A step may also have a ``preflight``: a read-only check that does not
depend on earlier steps (the homes can be reached, a role exists), run for every step still to do
BEFORE the first step acts, in the dry run as in the real one: a run never starts something paid or
destructive and then refuses on a check it could have made first.

A run is a dry run unless ``apply`` is set: the dry run checks every precondition it can and
prints what each step would do, changing nothing. With ``apply``:

- destructive steps are announced and need a confirmation (``yes`` for non-interactive use; without
  a terminal and without ``yes`` the run is refused before anything changes);
- one run of a procedure per site at a time (a lock file naming the run that holds it), and, when
  the caller gives ``site_lock`` (the CLI does), one run of anything per site (runbooks/site_lock.py);
- every step's outcome is written to ``<run dir>/state.json`` as it happens, so ``resume`` with the
  run id skips the steps that were done and verified, and reuses what they found (``ctx.data``);
- every event is a JSON line in ``<run dir>/audit.jsonl``: who, when, step, action, result, duration;
- the run's records are the operator's only: the run directory is 0700, ``audit.jsonl``, ``state.json``
  and the lock file are 0600 (a run's parameters and what it kept, such as a secrets file, live there);
- progress on the terminal: ``[k/n] step ... (elapsed)``, and while a step waits, what it waits
  for, for how long so far and its deadline (every ``PROGRESS_EVERY`` seconds).

Waits go through :func:`wait_until`, which always has a deadline.

A step that starts something paid or long (an AWS restore job) records what it started in
``ctx.data`` and calls ``ctx.save()`` at once: a resumed run finds it there and waits for that one
instead of starting a second.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from runbooks.site import PROJECT_ROOT, Site

T = TypeVar("T")
# The site's lock in AWS (runbooks/site_lock.hold), given by the caller: held by an applied run.
SiteLock = Callable[[Site, str, str], AbstractContextManager[None]]


class Refused(Exception):
    """The run cannot start or continue: bad argument, missing resource, lock held. Nothing changed
    by this step (earlier applied steps are recorded in the run's state)."""


class StepFailed(Exception):
    """A step acted but its verification failed, or a wait timed out."""


@dataclass
class Step:
    """One step: ``describe`` says what it would do (for the plan); ``act`` does it and returns a
    one-line note; ``verify`` returns None when the effect is there, else what is wrong.
    ``skip`` returns a reason to skip (e.g. "the site has no hub") or None."""

    name: str
    describe: Callable[[Context], str]
    act: Callable[[Context], str | None]
    verify: Callable[[Context], str | None] | None = None
    precondition: Callable[[Context], None] | None = None
    skip: Callable[[Context], str | None] | None = None
    destructive: bool = False
    preflight: Callable[[Context], str | None] | None = None


@dataclass
class Context:
    """What the steps of one run share: the site, the arguments, and ``data`` (kept in the state
    file, so a resumed run sees what earlier steps found)."""

    site: Site
    procedure: str
    params: dict[str, Any]
    apply: bool
    run_id: str
    run_dir: Path
    data: dict[str, Any] = field(default_factory=dict)
    echo: Callable[[str], None] = print
    audit: Callable[..., None] = lambda **_: None
    save: Callable[[], None] = lambda: None

    def note(self, text: str) -> None:
        self.echo(f"      {text}")


def output_dir(site: Site) -> Path:
    """Where a site's runs, locks and drill reports go: RUNBOOK_OUTPUT_DIR, else the inventory's
    runbook_output_dir, else site-output/<site> in the checkout."""
    configured = os.environ.get("RUNBOOK_OUTPUT_DIR") or site.var("runbook_output_dir")
    path = Path(configured) if configured else PROJECT_ROOT / "site-output" / site.name
    return path.resolve()


def private_dir(path: Path) -> Path:
    """``path`` (made with its parents if missing) with mode 0700: the operator's only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def private_open(path: Path, flags: int) -> int:
    """A file descriptor on ``path`` opened with ``os.O_WRONLY | flags``, the file mode 0600 (also when it
    existed with another mode)."""
    fd = os.open(path, os.O_WRONLY | flags, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def make_private(root: Path) -> None:
    """Every directory under ``root`` (itself included) 0700, every file 0600 (ansible-runner's artifacts)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def new_run_id(procedure: str) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{procedure}-{secrets.token_hex(3)}"


# Where waits report their progress (the running procedure's echo), and how often (seconds).
PROGRESS: list[Callable[[str], None]] = []
PROGRESS_EVERY = 15.0


@contextmanager
def progress_to(echo: Callable[[str], None]) -> Iterator[None]:
    """Waits inside the block say on ``echo`` what they wait for, how long so far, the deadline."""
    PROGRESS.append(echo)
    try:
        yield
    finally:
        PROGRESS.remove(echo)


def wait_until(what: str, check: Callable[[], T | None], *, timeout: float, interval: float = 1.0) -> T:
    """Poll ``check`` until it returns something other than None; StepFailed after ``timeout`` s."""
    start = time.monotonic()
    deadline = start + timeout
    until = datetime.now(UTC).timestamp() + timeout
    said = start
    while True:
        result = check()
        if result is not None:
            return result
        now = time.monotonic()
        if now >= deadline:
            raise StepFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        if PROGRESS and now - said >= PROGRESS_EVERY:
            said = now
            at = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%SZ")
            PROGRESS[-1](
                f"      waiting for {what}: {now - start:.0f} s so far, deadline in {deadline - now:.0f} s "
                f"(at {at}, {timeout:.0f} s in all)"
            )
        time.sleep(interval)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def procedure_lock(site: Site, procedure: str, run_id: str) -> Iterator[Path]:
    """One run of ``procedure`` on ``site`` at a time. A lock left by a process that is gone (same
    host) is taken over, with a note; a live one refuses the run, naming who holds it."""
    locks = private_dir(output_dir(site) / "runbooks" / "locks")
    path = locks / f"{procedure}.lock"
    me = {
        "run_id": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for _ in range(2):
        try:
            fd = private_open(path, os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            try:
                holder = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                holder = {}
            same_host = holder.get("host") == me["host"]
            if same_host and holder.get("pid") and not _pid_alive(int(holder["pid"])):
                print(
                    f"runbook: taking over the lock of run {holder.get('run_id')} "
                    f"(process {holder.get('pid')} is gone)",
                    file=sys.stderr,
                )
                path.unlink(missing_ok=True)
                continue
            raise Refused(
                f"{procedure} is already running on site {site.name}: run {holder.get('run_id', '?')} "
                f"by {holder.get('user', '?')} on {holder.get('host', '?')} (pid {holder.get('pid', '?')}) "
                f"since {holder.get('since', '?')}. Wait for it to finish; if that process is gone, "
                f"remove {path} and resume it with --resume {holder.get('run_id', 'RUN_ID')}"
            ) from None
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
        break
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class Run:
    """Runs one procedure's steps on a site (see the module docstring)."""

    def __init__(
        self,
        site: Site,
        procedure: str,
        steps_of: Callable[[Context], list[Step]],
        params: dict[str, Any],
        *,
        apply: bool = False,
        yes: bool = False,
        resume: str | None = None,
        echo: Callable[[str], None] = print,
        interactive: bool | None = None,
        confirm: Callable[[str], bool] | None = None,
        site_lock: SiteLock | None = None,
    ) -> None:
        self.site = site
        self.site_lock = site_lock
        self.procedure = procedure
        self.steps_of = steps_of
        self.apply = apply
        self.yes = yes
        self.echo = echo
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.confirm = confirm or _ask
        runs = output_dir(site) / "runbooks" / "runs"
        self.state: dict[str, Any]
        if resume:
            run_dir = runs / resume
            if not (run_dir / "state.json").exists():
                known = sorted(p.name for p in runs.glob(f"*-{procedure}-*")) if runs.exists() else []
                raise Refused(
                    f"no run {resume!r} of {procedure} on site {site.name} to resume"
                    + (f"; runs recorded: {', '.join(known[-5:])}" if known else "")
                )
            self.state = json.loads((run_dir / "state.json").read_text())
            if self.state["procedure"] != procedure:
                raise Refused(f"run {resume} is a run of {self.state['procedure']}, not {procedure}")
            self.run_id = resume
            params = {**self.state["params"], **{k: v for k, v in params.items() if v is not None}}
        else:
            self.run_id = new_run_id(procedure)
            run_dir = runs / self.run_id
            self.state = {
                "procedure": procedure,
                "site": site.name,
                "params": params,
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "steps": {},
                "data": {},
            }
        self.run_dir = run_dir
        self.ctx = Context(
            site=site,
            procedure=procedure,
            params=params,
            apply=apply,
            run_id=self.run_id,
            run_dir=run_dir,
            data=self.state["data"],
            echo=echo,
            audit=self._audit,
            save=self._save,
        )
        self.results: list[dict[str, Any]] = []

    # -- records -------------------------------------------------------------------------------

    def _audit(self, **event: Any) -> None:
        if not self.apply:
            return
        private_dir(self.run_dir.parent)
        private_dir(self.run_dir)
        line = {
            "when": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "who": getpass.getuser(),
            "host": socket.gethostname(),
            "site": self.site.name,
            "procedure": self.procedure,
            "run_id": self.run_id,
            **event,
        }
        with os.fdopen(private_open(self.run_dir / "audit.jsonl", os.O_CREAT | os.O_APPEND), "a") as handle:
            handle.write(json.dumps(line, default=str) + "\n")

    def _save(self) -> None:
        if not self.apply:
            return
        private_dir(self.run_dir.parent)
        private_dir(self.run_dir)
        tmp = self.run_dir / "state.json.tmp"
        with os.fdopen(private_open(tmp, os.O_CREAT | os.O_TRUNC), "w") as handle:
            handle.write(json.dumps(self.state, indent=2, default=str))
        tmp.replace(self.run_dir / "state.json")

    # -- the run -------------------------------------------------------------------------------

    def execute(self) -> list[dict[str, Any]]:
        """Dry run or apply; returns one result per step (name, result, duration_s, note)."""
        steps = self.steps_of(self.ctx)
        mode = "APPLY" if self.apply else "DRY RUN (nothing will change; add --apply to act)"
        self.echo(f"runbook {self.procedure} on site {self.site.name}: {mode}")
        if self.apply:
            self.echo(f"run id {self.run_id}; audit log {self.run_dir / 'audit.jsonl'}")
        if not self.apply:
            self._preflight(steps)
            return self._plan(steps)
        self._preflight(steps)
        destructive = [s for s in steps if s.destructive and not self._done(s)]
        if destructive:
            self.echo("Destructive steps in this run:")
            for step in destructive:
                self.echo(f"  - {step.name}: {self._describe(step)}")
            if not self.yes:
                if not self.interactive:
                    raise Refused(
                        "this run has destructive steps and there is no terminal to confirm them: "
                        "re-run with --yes to confirm non-interactively"
                    )
                if not self.confirm(f"Proceed with {len(destructive)} destructive step(s)?"):
                    raise Refused("not confirmed: nothing was changed")
            self._audit(
                step="-", action="confirm", result="confirmed", destructive=[s.name for s in destructive]
            )
        site_lock = (
            self.site_lock(self.site, self.procedure, self.run_id) if self.site_lock else nullcontext()
        )
        with site_lock, procedure_lock(self.site, self.procedure, self.run_id), progress_to(self.echo):
            self._save()
            return self._apply(steps)

    def _preflight(self, steps: list[Step]) -> None:
        """Every check of the steps still to do that can be made now, before anything changes."""
        for step in steps:
            if step.preflight is None or self._done(step):
                continue
            try:
                note = step.preflight(self.ctx)
            except Refused as error:
                self._audit(step=step.name, action="preflight", result="refused", note=str(error))
                self.echo(f"preflight of {step.name}: REFUSED: {error}\nnothing was changed")
                raise
            if note:
                self.echo(f"preflight of {step.name}: {note}")
            self._audit(step=step.name, action="preflight", result="ok", note=note or "")

    def _describe(self, step: Step) -> str:
        try:
            return step.describe(self.ctx)
        except Refused:
            raise
        except Exception as error:  # a description must never stop the plan
            return f"(cannot describe yet: {error})"

    def _done(self, step: Step) -> bool:
        return self.state["steps"].get(step.name, {}).get("result") in ("done", "skipped")

    def _plan(self, steps: list[Step]) -> list[dict[str, Any]]:
        total = len(steps)
        for index, step in enumerate(steps, 1):
            reason = step.skip(self.ctx) if step.skip else None
            if reason:
                self.echo(f"[{index}/{total}] {step.name}: would skip: {reason}")
                self.results.append({"step": step.name, "result": "would skip", "note": reason})
                continue
            if step.precondition:
                step.precondition(self.ctx)
            flag = " (DESTRUCTIVE)" if step.destructive else ""
            self.echo(f"[{index}/{total}] {step.name}{flag}: would {self._describe(step)}")
            self.results.append({"step": step.name, "result": "planned", "note": self._describe(step)})
        return self.results

    def _apply(self, steps: list[Step]) -> list[dict[str, Any]]:
        total = len(steps)
        started = time.monotonic()
        self._audit(step="-", action="start", result="started", params=self.ctx.params)
        for index, step in enumerate(steps, 1):
            prefix = f"[{index}/{total}] {step.name}"
            record = self.state["steps"].setdefault(step.name, {})
            if record.get("result") in ("done", "skipped"):
                self.echo(f"{prefix}: already {record['result']} in this run, skipping")
                self._audit(step=step.name, action="resume-skip", result=record["result"])
                self.results.append({"step": step.name, "result": "resumed", "duration_s": 0.0})
                continue
            step_start = time.monotonic()
            reason = step.skip(self.ctx) if step.skip else None
            if reason:
                self.echo(f"{prefix}: skipped: {reason}")
                self._finish(step, record, "skipped", step_start, reason)
                continue
            try:
                if step.precondition:
                    step.precondition(self.ctx)
                self.echo(f"{prefix}: {self._describe(step)}  (elapsed {time.monotonic() - started:.1f} s)")
                self._audit(step=step.name, action="act", result="started")
                note = step.act(self.ctx)
                problem = step.verify(self.ctx) if step.verify else None
                if problem:
                    raise StepFailed(f"verification failed: {problem}")
            except KeyboardInterrupt:
                self._finish(step, record, "interrupted", step_start, "interrupted (Ctrl-C)")
                self.echo(f"{prefix}: INTERRUPTED; {self._resume_hint()}")
                raise
            except Exception as error:
                kind = "REFUSED" if isinstance(error, Refused) else "FAILED"
                self._finish(step, record, kind.lower(), step_start, str(error))
                done = any(r.get("result") == "done" for r in self.state["steps"].values())
                hint = self._resume_hint() if done or kind == "FAILED" else "nothing was changed"
                self.echo(f"{prefix}: {kind}: {error}\n{hint}")
                raise
            self._finish(step, record, "done", step_start, note or "")
            if note:
                self.ctx.note(note)
        elapsed = time.monotonic() - started
        self.state["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        self._save()
        self._audit(step="-", action="finish", result="done", duration_s=round(elapsed, 3))
        self.echo(f"done in {elapsed:.1f} s ({total} steps)")
        return self.results

    def _resume_hint(self) -> str:
        return (
            f"resume after fixing the cause: runbook run {self.procedure} --site {self.site.name} "
            f"--apply --resume {self.run_id}"
        )

    def _finish(self, step: Step, record: dict[str, Any], result: str, start: float, note: str) -> None:
        duration = round(time.monotonic() - start, 3)
        record.update(result=result, duration_s=duration, note=note)
        self._save()
        self._audit(step=step.name, action="step", result=result, duration_s=duration, note=note)
        self.results.append({"step": step.name, "result": result, "duration_s": duration, "note": note})


def _ask(question: str) -> bool:
    answer = input(f"{question} Type 'yes' to go on: ")
    return answer.strip().lower() == "yes"

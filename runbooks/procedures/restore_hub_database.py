"""restore-hub-database: the hub's database (SQLite: users, servers, tokens) is corrupt or lost;
put back a known-good copy.

Where: ``runbook_hub_db_path`` (the hub's database file) and ``runbook_hub_db_backup_dir`` (the
copies the hub stage's backup keeps, ``*.sqlite``), paths on the control node. The current file is
kept in the run's directory first; a copy is used only when SQLite's integrity check passes. The hub
is stopped around the swap by re-converging the hub stage with ``jupyterhub_service_state``
stopped then started, when the site has a hub; without one those steps are skipped, saying so.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from runbooks.ansible import run_playbook
from runbooks.engine import Context, Refused, Step, StepFailed
from runbooks.procedures import Param
from runbooks.procedures.common import hub_skip

NAME = "restore-hub-database"
SUMMARY = "Replace the hub's SQLite database with a known-good copy (integrity-checked)."
WHEN = "The hub fails to start with database errors, or its user/server records were lost."
PARAMS = {
    "from": Param("the copy to restore (path or file name); default: the newest that passes", default=None)
}


def _path(ctx: Context, var: str) -> Path:
    value = ctx.site.var(var)
    if not isinstance(value, str) or not value or "{{" in value:
        raise Refused(f"site {ctx.site.name}: {var} is not set in its inventory")
    return Path(value).expanduser()


def integrity(path: Path) -> str | None:
    """None when SQLite finds the file sound and it has the hub's users table."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            (answer,) = db.execute("PRAGMA integrity_check").fetchone()
            if answer != "ok":
                return f"integrity check: {answer}"
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if "users" in tables else "no users table (not a JupyterHub database)"


def _choose(ctx: Context) -> None:
    backups = _path(ctx, "runbook_hub_db_backup_dir")
    _path(ctx, "runbook_hub_db_path")
    chosen = ctx.params.get("from")
    if chosen:
        candidate = Path(chosen) if Path(chosen).is_absolute() else backups / chosen
        if not candidate.is_file():
            raise Refused(f"database copy {chosen!r} does not exist in {backups}")
        problem = integrity(candidate)
        if problem:
            raise Refused(f"database copy {candidate} fails its check: {problem}")
        ctx.data.setdefault("source", str(candidate))
        return
    copies = sorted(backups.glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in copies:
        if integrity(candidate) is None:
            ctx.data.setdefault("source", str(candidate))
            return
    raise Refused(f"no sound database copy (*.sqlite) in {backups}")


def _hub_skip(ctx: Context) -> str | None:
    """The single-node hub keeps its database on its own host, which this procedure does not reach:
    re-converging that hub would stop and start nothing here and swap a file the hub does not use."""
    if ctx.site.var("jupyterhub_backend") == "single_node":
        return (
            f"site {ctx.site.name}'s hub is single-node: its database is on the hub host "
            "(/var/lib/jupyterhub), not at runbook_hub_db_path; this procedure does not stop it (gap)"
        )
    return hub_skip(ctx)


def _hub_state(state: str):
    def act(ctx: Context) -> str:
        recap = run_playbook(ctx, "hub.yml", extravars={"jupyterhub_service_state": state})
        return f"hub {state}: {recap['changed']} changed"

    return act


def _keep_current(ctx: Context) -> str:
    target = _path(ctx, "runbook_hub_db_path")
    if ctx.data.get("kept") and Path(ctx.data["kept"]).exists():  # a resumed run: never overwrite it
        return f"current database already kept as {ctx.data['kept']} by an earlier attempt"
    if not target.exists():
        ctx.data["kept"] = None
        return f"{target} does not exist: nothing to keep"
    kept = ctx.run_dir / f"{target.name}.before"
    shutil.copy2(target, kept)
    kept.chmod(0o600)  # the hub database (users, hashed tokens, state): the operator only
    ctx.data["kept"] = str(kept)
    return f"current database kept as {kept}"


def _swap(ctx: Context) -> str:
    target = _path(ctx, "runbook_hub_db_path")
    tmp = target.with_name(target.name + ".restoring")
    shutil.copy2(ctx.data["source"], tmp)
    tmp.replace(target)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    return f"{target} replaced by {ctx.data['source']}"


def _verify_swap(ctx: Context) -> str | None:
    target = _path(ctx, "runbook_hub_db_path")
    problem = integrity(target)
    if problem:
        raise StepFailed(f"{target} after the swap: {problem}")
    return None if target.read_bytes() == Path(ctx.data["source"]).read_bytes() else "the copy differs"


def steps(ctx: Context) -> list[Step]:
    return [
        Step(
            "choose-copy",
            lambda c: f"use {c.data.get('source', '?')} (integrity-checked)",
            lambda c: f"using {c.data['source']}",
            precondition=_choose,
        ),
        Step(
            "stop-hub",
            lambda c: "stop the hub (hub stage, jupyterhub_service_state=stopped)",
            _hub_state("stopped"),
            skip=_hub_skip,
        ),
        Step(
            "keep-current-database",
            lambda c: "copy the current database into the run's directory",
            _keep_current,
        ),
        Step(
            "replace-database",
            lambda c: (
                f"REPLACE {_path(c, 'runbook_hub_db_path')} with the chosen copy: changes since it are lost"
            ),
            _swap,
            _verify_swap,
            destructive=True,
        ),
        Step(
            "start-hub",
            lambda c: "start the hub (hub stage, jupyterhub_service_state=started)",
            _hub_state("started"),
            skip=_hub_skip,
        ),
    ]

"""restore-user-home: bring back one user's home directory from AWS Backup, item-level.

AWS Backup restores the directory into ``aws-backup-restore_<timestamp>/`` off the root of the same
file system (it never overwrites in place); this procedure then moves the files into the user's
home, keeping any file that is newer in the home than in the backup unless --overwrite.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from runbooks import aws
from runbooks.engine import Context, Refused, Step
from runbooks.home_access import home_access, home_root
from runbooks.hub import Hub, no_hub_reason
from runbooks.procedures import USER_NAME, Param

NAME = "restore-user-home"
SUMMARY = "Restore one user's home directory from a recovery point, without overwriting newer files."
WHEN = "A user deleted or damaged files in their home directory; the rest of the file system is fine."
PARAMS = {
    "user": Param("the user whose home to restore (their hub name and directory name)", required=True),
    "recovery-point": Param(
        "recovery point ARN (or its id); default: the newest completed one", default="newest"
    ),
    "overwrite": Param("replace files that are newer in the home than in the backup", flag=True),
    "missing-home": Param("the user's whole home directory is gone (it cannot be checked for)", flag=True),
}
SIDE_PREFIX = "aws-backup-restore_"


def _timeout(ctx: Context) -> float:
    return float(ctx.site.var("runbook_wait_timeout", 1800))


def _home_rel(ctx: Context) -> str:
    return f"{home_root(ctx.site).strip('/')}/{ctx.params['user']}"


def _check(ctx: Context) -> None:
    user = ctx.params["user"]
    if not USER_NAME.match(user):
        raise Refused(f"unknown user {user!r}: not a valid user name")
    fs = aws.find_home_fs(ctx.site)
    if fs is None:
        raise Refused(
            f"site {ctx.site.name} has no home file system {aws.home_fs_name(ctx.site)}: "
            "use restore-filesystem to bring the whole file system back"
        )
    root = home_access(ctx.site).root(fs["FileSystemId"])
    home = root / _home_rel(ctx)
    known = home.is_dir()
    if not known and not no_hub_reason(ctx.site):
        known = Hub(ctx.site).user(user) is not None
    if not known and not ctx.params.get("missing-home"):
        raise Refused(
            f"unknown user {user!r}: no home directory /{_home_rel(ctx)} on {fs['FileSystemId']}"
            + ("" if no_hub_reason(ctx.site) else " and the hub does not know them")
            + "; if their whole home directory was deleted, add --missing-home"
        )
    point = aws.choose_recovery_point(ctx.site, ctx.params.get("recovery-point"), fs["FileSystemArn"])
    ctx.data.setdefault("file_system_id", fs["FileSystemId"])
    ctx.data.setdefault("recovery_point_arn", point["RecoveryPointArn"])
    ctx.data.setdefault("recovery_point_created", point["CreationDate"].isoformat())


def _restore(ctx: Context) -> str:
    fs_id = ctx.data["file_system_id"]
    root = home_access(ctx.site).root(fs_id)
    before = {p.name for p in root.glob(f"{SIDE_PREFIX}*")}
    job = aws.restore(
        ctx.site,
        ctx.data["recovery_point_arn"],
        {
            "file-system-id": fs_id,
            "newFileSystem": "false",
            "ItemsToRestore": json.dumps([f"/{_home_rel(ctx)}"]),
        },
        _timeout(ctx),
    )
    created = sorted({p.name for p in root.glob(f"{SIDE_PREFIX}*")} - before)
    if len(created) != 1:
        raise Refused(
            f"restore job {job['RestoreJobId']} completed but left {len(created)} new restore directories"
        )
    ctx.data["side_dir"] = created[0]
    ctx.data["restore_job_id"] = job["RestoreJobId"]
    return f"restore job {job['RestoreJobId']} completed into /{created[0]}"


def _side_home(ctx: Context) -> Path:
    root = home_access(ctx.site).root(ctx.data["file_system_id"])
    return root / ctx.data["side_dir"] / _home_rel(ctx)


def _verify_restore(ctx: Context) -> str | None:
    side = _side_home(ctx)
    return None if side.is_dir() else f"{side} is not there after the restore job"


def merge_tree(source: Path, target: Path, overwrite: bool) -> dict[str, list[str]]:
    """Move every file of ``source`` into ``target``. An existing different file is replaced only
    when it is older than the restored copy, or with ``overwrite``; else it is kept and the restored
    copy stays in ``source``. Returns the relative paths by outcome."""
    outcome: dict[str, list[str]] = {"moved": [], "replaced": [], "identical": [], "kept_newer": []}
    target.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(source):
        base = Path(dirpath)
        rel_dir = base.relative_to(source)
        dest_dir = target / rel_dir
        if not dest_dir.exists():
            dest_dir.mkdir(parents=True)
            shutil.copystat(base, dest_dir)
        for name in sorted(filenames) + sorted(d for d in dirnames if (base / d).is_symlink()):
            src, dest = base / name, dest_dir / name
            rel = str(rel_dir / name)
            if not dest.exists() and not dest.is_symlink():
                os.replace(src, dest)
                outcome["moved"].append(rel)
            elif dest.is_file() and src.is_file() and filecmp.cmp(src, dest, shallow=False):
                src.unlink()
                outcome["identical"].append(rel)
            elif overwrite or dest.lstat().st_mtime <= src.lstat().st_mtime:
                os.replace(src, dest)
                outcome["replaced"].append(rel)
            else:
                outcome["kept_newer"].append(rel)
    return outcome


def _move(ctx: Context) -> str:
    root = home_access(ctx.site).root(ctx.data["file_system_id"])
    home = root / _home_rel(ctx)
    side = _side_home(ctx)
    ctx.data["restored_digest"] = {
        str(p.relative_to(side)): digest(p) for p in side.rglob("*") if p.is_file()
    }
    outcome = merge_tree(side, home, bool(ctx.params.get("overwrite")))
    ctx.data["outcome"] = outcome
    side_root = root / ctx.data["side_dir"]
    if not outcome["kept_newer"]:
        shutil.rmtree(side_root)
        where = "restore directory removed"
    else:
        where = f"the backup's copies of the kept files are in /{ctx.data['side_dir']}"
    return (
        f"{len(outcome['moved'])} restored, {len(outcome['replaced'])} replaced, "
        f"{len(outcome['identical'])} already identical, {len(outcome['kept_newer'])} newer kept; {where}"
    )


def _verify_move(ctx: Context) -> str | None:
    root = home_access(ctx.site).root(ctx.data["file_system_id"])
    home = root / _home_rel(ctx)
    kept = set(ctx.data["outcome"]["kept_newer"])
    missing = [rel for rel in ctx.data["restored_digest"] if rel not in kept and not (home / rel).is_file()]
    if missing:
        return f"{len(missing)} restored files are not in {home}: {', '.join(missing[:5])}"
    for rel, expected in ctx.data["restored_digest"].items():
        if rel not in kept and digest(home / rel) != expected:
            return f"{home / rel} differs from the backup's copy"
    return None


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def steps(ctx: Context) -> list[Step]:
    user = ctx.params["user"]
    timeout = _timeout(ctx)
    overwrite = bool(ctx.params.get("overwrite"))

    def describe_point(c: Context) -> str:
        return (
            f"use recovery point {c.data.get('recovery_point_arn', '?')} "
            f"(created {c.data.get('recovery_point_created', '?')}) of {c.data.get('file_system_id', '?')}"
        )

    def hub_stop(c: Context) -> str:
        return Hub(c.site).stop_server(user, timeout)

    def hub_start(c: Context) -> str:
        return Hub(c.site).start_server(user, timeout)

    def no_hub(c: Context) -> str | None:
        reason = no_hub_reason(c.site)
        return f"{reason}; make sure {user} is not writing to their home meanwhile" if reason else None

    def found(c: Context) -> str | None:
        return None if c.data.get("recovery_point_arn") else "no recovery point chosen"

    return [
        Step(
            "choose-recovery-point", describe_point, lambda c: describe_point(c), found, precondition=_check
        ),
        Step(
            "stop-user-server", lambda c: f"stop {user}'s server through the hub API", hub_stop, skip=no_hub
        ),
        Step(
            "restore-to-side-directory",
            lambda c: (
                f"start an AWS Backup item-level restore of /{_home_rel(c)} into "
                f"/{SIDE_PREFIX}<timestamp>/ on {c.data.get('file_system_id', '?')} "
                f"and wait (at most {timeout:.0f} s)"
            ),
            _restore,
            _verify_restore,
        ),
        Step(
            "move-into-place",
            lambda c: (
                f"move the restored files into /{_home_rel(c)}, "
                + (
                    "REPLACING files that differ, newer or not"
                    if overwrite
                    else "keeping files that are newer there"
                )
            ),
            _move,
            _verify_move,
            destructive=overwrite,
        ),
        Step(
            "start-user-server",
            lambda c: f"start {user}'s server through the hub API",
            hub_start,
            skip=no_hub,
        ),
    ]


def summary(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in ("file_system_id", "recovery_point_arn", "side_dir", "outcome")}

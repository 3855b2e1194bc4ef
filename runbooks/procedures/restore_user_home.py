"""restore-user-home: bring back one user's home directory from AWS Backup, item-level.

AWS Backup restores the directory into ``aws-backup-restore_<timestamp>/`` off the root of the same
file system (it never overwrites in place); this procedure then moves the files into the user's
home, keeping any file that is newer in the home than in the backup unless --overwrite.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from runbooks import aws, cost, home_ops
from runbooks.engine import Context, Refused, Step, StepFailed
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
    access = home_access(ctx.site)
    access.check(fs["FileSystemId"])
    known = access.run(fs["FileSystemId"], "is_dir", path=_home_rel(ctx))
    if not known and not no_hub_reason(ctx.site):
        known = Hub(ctx.site).user(user) is not None
    if not known and not ctx.params.get("missing-home"):
        raise Refused(
            f"unknown user {user!r}: no home directory /{_home_rel(ctx)} on {fs['FileSystemId']}"
            + ("" if no_hub_reason(ctx.site) else " and the hub does not know them")
            + "; if their whole home directory was deleted, add --missing-home"
        )
    point = aws.choose_recovery_point(ctx.site, ctx.params.get("recovery-point"), fs["FileSystemArn"])
    aws.backup_role_arn(ctx.site)  # the restore job needs it: refuse now, not after stopping a server
    ctx.data.setdefault("file_system_id", fs["FileSystemId"])
    ctx.data.setdefault("recovery_point_arn", point["RecoveryPointArn"])
    ctx.data.setdefault("recovery_point_created", point["CreationDate"].isoformat())
    ctx.data.setdefault("restore_cost", cost.recovery_point_restore(ctx.site.region, point, item_level=True))


def _preflight_homes(ctx: Context) -> str:
    """The restore's file moves need the homes: the way of reaching them must work before anything."""
    return home_access(ctx.site).check()


def _restore(ctx: Context) -> str:
    fs_id = ctx.data["file_system_id"]
    access = home_access(ctx.site)
    if "side_dirs_before" not in ctx.data:
        ctx.data["side_dirs_before"] = access.run(fs_id, "side_dirs")
        ctx.save()
    job = aws.restore_once(
        ctx,
        ctx.data["recovery_point_arn"],
        {
            "file-system-id": fs_id,
            "newFileSystem": "false",
            "ItemsToRestore": json.dumps([f"/{_home_rel(ctx)}"]),
        },
        _timeout(ctx),
    )
    created = sorted(set(access.run(fs_id, "side_dirs")) - set(ctx.data["side_dirs_before"]))
    if len(created) != 1:
        raise StepFailed(
            f"restore job {job['RestoreJobId']} completed but left {len(created)} new restore directories"
        )
    ctx.data["side_dir"] = created[0]
    return f"restore job {job['RestoreJobId']} completed into /{created[0]}"


def _side_rel(ctx: Context) -> str:
    return f"{ctx.data['side_dir']}/{_home_rel(ctx)}"


def _verify_restore(ctx: Context) -> str | None:
    found = home_access(ctx.site).run(ctx.data["file_system_id"], "is_dir", path=_side_rel(ctx))
    return None if found else f"/{_side_rel(ctx)} is not there after the restore job"


def merge_tree(source: Path, target: Path, overwrite: bool) -> dict[str, list[str]]:
    """Move every file of ``source`` into ``target`` (home_ops.merge on local directories)."""
    common = Path(os.path.commonpath([source, target]))
    return home_ops.merge(common, str(source.relative_to(common)), str(target.relative_to(common)), overwrite)


def _move(ctx: Context) -> str:
    access = home_access(ctx.site)
    fs_id = ctx.data["file_system_id"]
    ctx.data["restored_digest"] = access.run(fs_id, "digests", path=_side_rel(ctx))
    overwrite = bool(ctx.params.get("overwrite"))
    outcome = access.run(fs_id, "merge", source=_side_rel(ctx), target=_home_rel(ctx), overwrite=overwrite)
    ctx.data["outcome"] = outcome
    if not outcome["kept_newer"]:
        access.run(fs_id, "remove", path=ctx.data["side_dir"])
        where = "restore directory removed"
    else:
        where = f"the backup's copies of the kept files are in /{ctx.data['side_dir']}"
    return (
        f"{len(outcome['moved'])} restored, {len(outcome['replaced'])} replaced, "
        f"{len(outcome['identical'])} already identical, {len(outcome['kept_newer'])} newer kept; {where}"
    )


def _verify_move(ctx: Context) -> str | None:
    now = home_access(ctx.site).run(ctx.data["file_system_id"], "digests", path=_home_rel(ctx))
    kept = set(ctx.data["outcome"]["kept_newer"])
    missing = [rel for rel in ctx.data["restored_digest"] if rel not in kept and rel not in now]
    if missing:
        return f"{len(missing)} restored files are not in /{_home_rel(ctx)}: {', '.join(missing[:5])}"
    for rel, expected in ctx.data["restored_digest"].items():
        if rel not in kept and now[rel] != expected:
            return f"/{_home_rel(ctx)}/{rel} differs from the backup's copy"
    return None


def steps(ctx: Context) -> list[Step]:
    user = ctx.params["user"]
    timeout = _timeout(ctx)
    overwrite = bool(ctx.params.get("overwrite"))

    def describe_point(c: Context) -> str:
        return (
            f"use recovery point {c.data.get('recovery_point_arn', '?')} "
            f"(created {c.data.get('recovery_point_created', '?')}) of {c.data.get('file_system_id', '?')}"
            + (f"; {c.data['restore_cost']}" if c.data.get("restore_cost") else "")
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
            preflight=_preflight_homes,
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

"""restore-filesystem: the home file system is lost or corrupt; bring all of it back on a NEW EFS.

AWS Backup restores the recovery point into a new file system (data under
``aws-backup-restore_<timestamp>/``, lifted to the root here); the names are swapped (the new one
takes the Name tag the storage stage looks for, the old one is renamed and leaves the backup
selection); the storage stage is re-converged through ansible-runner, which gives the new file
system its mount targets, access points and Kubernetes manifests. The old file system is kept
until --remove-old.

Before the restore job (paid: a whole new file system) is started, every check that can be made is:
the recovery point, the backup role, and that the runbook can reach the homes (runbook_home_access)
to lift the restored tree. The job's id is in the run's state as soon as it is started: a resumed run
waits for that job and never starts a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runbooks import aws, cost
from runbooks.ansible import playbook_path, run_playbook
from runbooks.engine import Context, Step, StepFailed, wait_until
from runbooks.home_access import home_access
from runbooks.hub import no_hub_reason
from runbooks.procedures import Param

NAME = "restore-filesystem"
SUMMARY = "Restore the whole home file system to a new EFS and point the site at it."
WHEN = "The home file system was deleted, or its data is damaged beyond item-level restores."
PARAMS = {
    "recovery-point": Param(
        "recovery point ARN (or its id); default: the newest completed one", default="newest"
    ),
    "remove-old": Param("delete the old file system once the new one is verified", flag=True),
}
SIDE_PREFIX = "aws-backup-restore_"


def _timeout(ctx: Context) -> float:
    return float(ctx.site.var("runbook_wait_timeout", 1800))


def _check(ctx: Context) -> None:
    efs = aws.client(ctx.site, "efs")
    current = aws.find_home_fs(ctx.site, efs)
    if current is not None:
        point = aws.choose_recovery_point(
            ctx.site, ctx.params.get("recovery-point"), current["FileSystemArn"]
        )
    else:
        point = aws.choose_recovery_point(ctx.site, ctx.params.get("recovery-point"), None)
    ctx.data.setdefault("old_file_system_id", current["FileSystemId"] if current else None)
    ctx.data.setdefault("recovery_point_arn", point["RecoveryPointArn"])
    ctx.data.setdefault("recovery_point_created", point["CreationDate"].isoformat())
    ctx.data.setdefault("source_file_system_id", point["ResourceArn"].split("/")[-1])
    ctx.data.setdefault("restore_cost", cost.recovery_point_restore(ctx.site.region, point))


def _preflight_restore(ctx: Context) -> str:
    """What the restore job needs and what the steps after it need, checked before it starts."""
    role = aws.backup_role_arn(ctx.site)
    return f"backup role {role.split('/')[-1]} exists"


def _preflight_homes(ctx: Context) -> str:
    """The lift needs the new file system's files: the way of reaching the homes must work now."""
    return home_access(ctx.site).check()


def _restore(ctx: Context) -> str:
    name = aws.home_fs_name(ctx.site)
    token = f"{name}-restore-{ctx.run_id.split('-')[0]}"[:64]
    metadata = {
        "file-system-id": ctx.data["source_file_system_id"],
        "newFileSystem": "true",
        "CreationToken": token,
        "Encrypted": "true",
        "PerformanceMode": str(ctx.site.var("efs_storage_performance_mode") or "generalPurpose"),
    }
    kms = ctx.site.var("efs_storage_kms_key_arn")
    if isinstance(kms, str) and kms.startswith("arn:"):
        metadata["KmsKeyId"] = kms
    job = aws.restore_once(ctx, ctx.data["recovery_point_arn"], metadata, _timeout(ctx))
    new_id = job["CreatedResourceArn"].split("/")[-1]
    ctx.data["new_file_system_id"] = new_id
    efs = aws.client(ctx.site, "efs")

    def available() -> bool | None:
        fs = efs.describe_file_systems(FileSystemId=new_id)["FileSystems"][0]
        return True if fs["LifeCycleState"] == "available" else None

    wait_until(f"file system {new_id} to be available", available, timeout=_timeout(ctx))
    created = home_access(ctx.site).run(new_id, "side_dirs")
    if len(created) != 1:
        raise StepFailed(f"expected one {SIDE_PREFIX}* directory on the new {new_id}, found {created}")
    ctx.data["restore_dir"] = created[0]
    return f"restore job {job['RestoreJobId']} created {new_id}"


def _lift(ctx: Context) -> str:
    access = home_access(ctx.site)
    new_id, side = ctx.data["new_file_system_id"], ctx.data["restore_dir"]
    if side not in access.run(new_id, "side_dirs"):
        if ctx.data.get("lifted"):
            return f"/{side} was already lifted"
        raise StepFailed(f"/{side} is missing on {new_id} ({access.where(new_id)})")
    done = access.run(new_id, "lift", side=side)
    ctx.data["lifted"] = True
    ctx.data["restored_files"] = done["files"]
    return f"{done['moved']} top-level entries moved from /{side} to the root ({done['files']} files)"


def _verify_lift(ctx: Context) -> str | None:
    side, new_id = ctx.data["restore_dir"], ctx.data["new_file_system_id"]
    still = side in home_access(ctx.site).run(new_id, "side_dirs")
    return f"/{side} is still there on {new_id}" if still else None


def _swap(ctx: Context) -> str:
    efs = aws.client(ctx.site, "efs")
    name = aws.home_fs_name(ctx.site)
    backup_tag = ctx.site.var("efs_storage_backup_tag") or {}
    old, new = ctx.data.get("old_file_system_id"), ctx.data["new_file_system_id"]
    notes = []
    if old and _exists(efs, old):
        renamed = f"{name}-replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        efs.tag_resource(ResourceId=old, Tags=[{"Key": "Name", "Value": renamed}])
        if backup_tag.get("key"):
            efs.untag_resource(ResourceId=old, TagKeys=[backup_tag["key"]])
        ctx.data["old_renamed"] = renamed
        notes.append(f"{old} renamed {renamed} and left out of the backup selection")
    tags = {**ctx.site.tags, "Name": name}
    if backup_tag.get("key"):
        tags[str(backup_tag["key"])] = str(backup_tag.get("value", ""))
    efs.tag_resource(ResourceId=new, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    notes.append(f"{new} is now {name}")
    return "; ".join(notes)


def _exists(efs: Any, fs_id: str) -> bool:
    try:
        fs = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    except efs.exceptions.FileSystemNotFound:
        return False
    return bool(fs) and fs[0]["LifeCycleState"] not in ("deleting", "deleted")


def _verify_swap(ctx: Context) -> str | None:
    found = aws.find_home_fs(ctx.site)
    if not found or found["FileSystemId"] != ctx.data["new_file_system_id"]:
        return f"the site's home file system is {found and found['FileSystemId']}, not the new one"
    return None


def _converge_storage(ctx: Context) -> str:
    # The hub's claim is bound to the old file system's volume: the storage stage makes both again.
    recap = run_playbook(ctx, "storage.yml", extravars={"efs_storage_kubernetes_replace_claim": True})
    return f"storage stage converged: {recap['changed']} changed, {recap['ok']} ok"


def _verify_storage(ctx: Context) -> str | None:
    efs = aws.client(ctx.site, "efs")
    new = ctx.data["new_file_system_id"]

    def ready() -> list[dict[str, Any]] | None:
        targets = efs.describe_mount_targets(FileSystemId=new)["MountTargets"]
        return targets if targets and all(t["LifeCycleState"] == "available" for t in targets) else None

    targets = wait_until(f"mount targets of {new}", ready, timeout=_timeout(ctx))
    points = efs.describe_access_points(FileSystemId=new)["AccessPoints"]
    wanted = {p.get("name") for p in ctx.site.var("efs_storage_access_points") or [] if isinstance(p, dict)}
    have = {p.get("Name") for p in points}
    if not wanted <= have:
        return f"access points {sorted(wanted - have)} missing on {new}"
    ctx.data["mount_targets"] = len(targets)
    return None


def _hub(ctx: Context) -> str:
    recap = run_playbook(ctx, "hub.yml")
    return f"hub stage converged: {recap['changed']} changed"


def _no_hub(ctx: Context) -> str | None:
    reason = no_hub_reason(ctx.site)
    if reason:
        return f"{reason}; servers started from now on mount the new file system"
    if not playbook_path("hub.yml").exists():
        return "playbooks/hub.yml does not exist in this checkout"
    return None


def _remove_old(ctx: Context) -> str:
    efs = aws.client(ctx.site, "efs")
    old = ctx.data["old_file_system_id"]
    for target in efs.describe_mount_targets(FileSystemId=old)["MountTargets"]:
        efs.delete_mount_target(MountTargetId=target["MountTargetId"])
    wait_until(
        f"mount targets of {old} to go",
        lambda: True if not efs.describe_mount_targets(FileSystemId=old)["MountTargets"] else None,
        timeout=_timeout(ctx),
    )
    for point in efs.describe_access_points(FileSystemId=old)["AccessPoints"]:
        efs.delete_access_point(AccessPointId=point["AccessPointId"])
    efs.delete_file_system(FileSystemId=old)
    wait_until(f"{old} to be deleted", lambda: True if not _exists(efs, old) else None, timeout=_timeout(ctx))
    return f"{old} deleted"


def _keep_old(ctx: Context) -> str | None:
    old = ctx.data.get("old_file_system_id")
    if not old or not _exists(aws.client(ctx.site, "efs"), old):
        return "there is no old file system left"
    if not ctx.params.get("remove-old"):
        return (
            f"keeping {old} ({ctx.data.get('old_renamed', 'renamed')}); re-run with --remove-old to delete it"
        )
    return None


def _forget_volumes(ctx: Context) -> str:
    removed = home_access(ctx.site).prune()
    return f"removed {', '.join(removed)}" if removed else "no volume of a deleted file system was left"


def _no_volumes(ctx: Context) -> str | None:
    kind = ctx.site.var("runbook_home_access")
    return None if kind == "kubernetes_job" else f"runbook_home_access {kind} keeps no volumes in the cluster"


def steps(ctx: Context) -> list[Step]:
    timeout = _timeout(ctx)

    def describe_point(c: Context) -> str:
        old = c.data.get("old_file_system_id") or "none (it is gone)"
        return (
            f"use recovery point {c.data.get('recovery_point_arn', '?')} "
            f"(created {c.data.get('recovery_point_created', '?')}); current file system: {old}"
            + (f"; {c.data['restore_cost']}" if c.data.get("restore_cost") else "")
        )

    return [
        Step("choose-recovery-point", describe_point, describe_point, precondition=_check),
        Step(
            "restore-to-new-filesystem",
            lambda c: (
                "restore it into a NEW encrypted EFS file system through AWS Backup (paid: a whole "
                f"file system's data), wait at most {timeout:.0f} s"
            ),
            _restore,
            preflight=_preflight_restore,
        ),
        Step(
            "lift-restored-data",
            lambda c: (
                f"move the restored tree out of /{SIDE_PREFIX}<timestamp>/ to the new file system's root"
            ),
            _lift,
            _verify_lift,
            preflight=_preflight_homes,
        ),
        Step(
            "switch-site-to-new-filesystem",
            lambda c: (
                f"give the new file system the Name {aws.home_fs_name(c.site)} and the backup tag; "
                "rename the old one and take it out of the backup selection "
                "(users see the backup's data from now on)"
            ),
            _swap,
            _verify_swap,
            destructive=True,
        ),
        Step(
            "reconverge-storage",
            lambda c: (
                "run playbooks/storage.yml through ansible-runner: mount targets, access points, manifests"
            ),
            _converge_storage,
            _verify_storage,
        ),
        Step(
            "reconverge-hub",
            lambda c: "run playbooks/hub.yml so the hub mounts the new file system",
            _hub,
            skip=_no_hub,
        ),
        Step(
            "remove-old-filesystem",
            lambda c: f"DELETE the old file system {c.data.get('old_file_system_id')} and its mount targets",
            _remove_old,
            skip=_keep_old,
            destructive=bool(ctx.params.get("remove-old")),
        ),
        Step(
            "forget-runbook-volumes",
            lambda c: (
                "delete the runbook's own volume and claim of each file system that no longer exists "
                "(they hold no data: Retain)"
            ),
            _forget_volumes,
            skip=_no_volumes,
        ),
    ]

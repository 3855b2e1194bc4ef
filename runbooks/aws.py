"""The AWS reads and writes the procedures share, on boto3 with the site's environment (Site.aws())."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from runbooks.engine import Refused, StepFailed, wait_until
from runbooks.site import Site

FINAL_JOB_STATES = ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")


def client(site: Site, service: str) -> Any:
    """A boto3 client with the site's endpoint and credentials (read once, when created)."""
    with site.aws():
        return boto3.session.Session(region_name=site.region).client(service)


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("Tags", [])
    if isinstance(tags, dict):
        return tags
    return {t["Key"]: t["Value"] for t in tags}


def home_fs_name(site: Site) -> str:
    name = site.var("efs_storage_name")
    if not isinstance(name, str) or not name:
        raise Refused(f"site {site.name}: efs_storage_name is not set in its inventory")
    return name


def find_home_fs(site: Site, efs: Any | None = None) -> dict[str, Any] | None:
    """The site's home file system: the one carrying the site's tags and Name efs_storage_name."""
    efs = efs or client(site, "efs")
    name = home_fs_name(site)
    found = [
        fs
        for fs in efs.describe_file_systems()["FileSystems"]
        if tags_of(fs).get("Name") == name
        and site.tags.items() <= tags_of(fs).items()
        and fs["LifeCycleState"] not in ("deleting", "deleted")
    ]
    if len(found) > 1:
        ids = ", ".join(fs["FileSystemId"] for fs in found)
        raise Refused(f"site {site.name}: {len(found)} file systems are called {name} ({ids})")
    return found[0] if found else None


def vault_name(site: Site) -> str:
    name = site.var("backup_vault_name")
    if not isinstance(name, str) or not name:
        raise Refused(f"site {site.name}: backup_vault_name is not set in its inventory")
    return name


def recovery_points(site: Site, resource_arn: str | None = None) -> list[dict[str, Any]]:
    """The vault's EFS recovery points, newest first (of one file system when resource_arn is given)."""
    backup = client(site, "backup")
    vault = vault_name(site)
    points: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"BackupVaultName": vault, "ByResourceType": "EFS"}
    try:
        while True:
            page = backup.list_recovery_points_by_backup_vault(**kwargs)
            points += page.get("RecoveryPoints", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ResourceNotFoundException", "AccessDeniedException"):
            raise Refused(
                f"site {site.name}: backup vault {vault} does not exist (converge the backup stage)"
            ) from error
        raise
    if resource_arn:
        points = [p for p in points if p.get("ResourceArn") == resource_arn]
    return sorted(points, key=lambda p: p["CreationDate"], reverse=True)


def choose_recovery_point(site: Site, chosen: str | None, resource_arn: str | None) -> dict[str, Any]:
    """The chosen recovery point (ARN or id suffix), else the newest COMPLETED one; Refused if none."""
    points = recovery_points(site, resource_arn)
    completed = [p for p in points if p.get("Status") == "COMPLETED"]
    if chosen and chosen != "newest":
        match = [
            p for p in points if p["RecoveryPointArn"] == chosen or p["RecoveryPointArn"].endswith(chosen)
        ]
        if not match:
            listed = ", ".join(p["RecoveryPointArn"].split(":")[-1] for p in completed[:5]) or "none"
            raise Refused(
                f"recovery point {chosen!r} does not exist in vault {vault_name(site)}"
                f"{' for ' + resource_arn if resource_arn else ''}; newest completed: {listed}"
            )
        if match[0].get("Status") != "COMPLETED":
            raise Refused(f"recovery point {chosen} is {match[0].get('Status')}, not COMPLETED")
        return match[0]
    if not completed:
        raise Refused(
            f"vault {vault_name(site)} holds no completed recovery point"
            f"{' of ' + resource_arn if resource_arn else ''}: nothing to restore from"
        )
    return completed[0]


def backup_role_arn(site: Site) -> str:
    name = site.var("backup_iam_role_name")
    if not isinstance(name, str) or not name:
        raise Refused(f"site {site.name}: backup_iam_role_name is not set in its inventory")
    try:
        return client(site, "iam").get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as error:
        raise Refused(f"site {site.name}: backup role {name} does not exist ({error})") from error


def wait_job(describe: Any, key: str, what: str, timeout: float) -> dict[str, Any]:
    """Poll an AWS Backup job (key State or Status) until it ends; StepFailed unless COMPLETED."""

    def check() -> dict[str, Any] | None:
        job = describe()
        return job if job.get(key) in FINAL_JOB_STATES else None

    job = wait_until(what, check, timeout=timeout, interval=0.5)
    if job[key] != "COMPLETED":
        raise StepFailed(f"{what} ended {job[key]}: {job.get('StatusMessage', '')}")
    return job


def start_backup(site: Site, fs: dict[str, Any], timeout: float) -> dict[str, Any]:
    """An on-demand backup of ``fs`` into the site's vault, waited for; the completed job.

    It is kept as long as the plan's shortest rule keeps its backups: a vault lock with a maximum
    retention refuses jobs without one.
    """
    backup = client(site, "backup")
    days = min((int(r.get("delete_after_days", 35)) for r in site.var("backup_rules") or []), default=35)
    job_id = backup.start_backup_job(
        BackupVaultName=vault_name(site),
        ResourceArn=fs["FileSystemArn"],
        IamRoleArn=backup_role_arn(site),
        Lifecycle={"DeleteAfterDays": days},
    )["BackupJobId"]
    return wait_job(
        lambda: backup.describe_backup_job(BackupJobId=job_id), "State", f"backup job {job_id}", timeout
    )


def start_restore(site: Site, point_arn: str, metadata: dict[str, str]) -> str:
    """Start an AWS Backup restore job (paid: it creates or writes data); its id."""
    backup = client(site, "backup")
    return str(
        backup.start_restore_job(
            RecoveryPointArn=point_arn,
            IamRoleArn=backup_role_arn(site),
            ResourceType="EFS",
            Metadata=metadata,
        )["RestoreJobId"]
    )


def wait_restore(site: Site, job_id: str, timeout: float) -> dict[str, Any]:
    """Wait for a restore job to end; the completed job (StepFailed unless COMPLETED)."""
    backup = client(site, "backup")
    return wait_job(
        lambda: backup.describe_restore_job(RestoreJobId=job_id), "Status", f"restore job {job_id}", timeout
    )


def restore_once(ctx: Any, point_arn: str, metadata: dict[str, str], timeout: float) -> dict[str, Any]:
    """The run's one restore job: started and recorded in the run's state (``restore_job_id``)
    before it is waited for, so a resumed run waits for the same job instead of starting another."""
    job_id = ctx.data.get("restore_job_id")
    if job_id:
        ctx.note(f"restore job {job_id} was started by an earlier attempt of this run: waiting for it")
    else:
        job_id = start_restore(ctx.site, point_arn, metadata)
        ctx.data["restore_job_id"] = job_id
        ctx.save()
        ctx.note(f"restore job {job_id} started")
    return wait_restore(ctx.site, job_id, timeout)


def age_seconds(when: datetime) -> float:
    return (datetime.now(UTC) - when.astimezone(UTC)).total_seconds()


def node_groups(site: Site, purpose: str | None = None) -> list[dict[str, Any]]:
    """The inventory's node groups (eks_cluster_node_groups), of one purpose when given."""
    groups = site.var("eks_cluster_node_groups") or []
    return [g for g in groups if purpose is None or g.get("purpose") == purpose]


def cluster_name(site: Site) -> str:
    name = site.var("eks_cluster_name")
    if not isinstance(name, str) or not name:
        raise Refused(f"site {site.name}: eks_cluster_name is not set in its inventory")
    return name


def describe_cluster(site: Site) -> dict[str, Any] | None:
    try:
        return client(site, "eks").describe_cluster(name=cluster_name(site))["cluster"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise

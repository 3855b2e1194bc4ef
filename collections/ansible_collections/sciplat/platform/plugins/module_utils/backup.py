# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Helpers for the AWS Backup modules of sciplat.platform.

- ``lock_state``: a vault's lock as DescribeBackupVault reports it, with its mode (governance or
  compliance) and whether its grace time is over (``fixed``: nothing can change it any more).
- ``lock_problem``: validation of a requested lock (AWS Backup's limits, min <= max, the mode
  against ``changeable_for_days``).
- ``vault_events`` / ``DEPRECATED_EVENTS``: the notification events botocore's service model
  accepts, and the ones AWS Backup has deprecated (accepted, but they never notify).
- ``input_problem``: the arguments of ``backup_job`` and ``backup_recovery_points`` checked before any
  call (a vault's name as AWS Backup allows it, ARNs, a wait in seconds).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

# Limits of PutBackupVaultLockConfiguration (AWS Backup API reference).
MIN_RETENTION_FLOOR = 1
MAX_RETENTION_CEILING = 36500
CHANGEABLE_FOR_DAYS_FLOOR = 3

# "The list below shows items that are deprecated events (for reference) and are no longer in use.
# They are no longer supported and will not return statuses or notifications."
# (AWS Backup API reference, PutBackupVaultNotifications, BackupVaultEvents.)
DEPRECATED_EVENTS = {
    "BACKUP_JOB_SUCCESSFUL": "BACKUP_JOB_COMPLETED",
    "BACKUP_JOB_FAILED": "BACKUP_JOB_COMPLETED",
    "BACKUP_JOB_EXPIRED": "BACKUP_JOB_COMPLETED",
    "RESTORE_JOB_SUCCESSFUL": "RESTORE_JOB_COMPLETED",
    "RESTORE_JOB_FAILED": "RESTORE_JOB_COMPLETED",
    "BACKUP_PLAN_CREATED": None,
    "BACKUP_PLAN_MODIFIED": None,
}

# BackupVaultName as CreateBackupVault allows it (AWS Backup API reference).
VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-_]{2,50}$")
# arn:partition:service:region:account:resource (IAM has no region, S3 neither region nor account).
ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")

# Indirection so unit tests can set the time a lock's grace period is compared with.
_utcnow: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)  # noqa: E731


def vault_events(client: Any) -> list[str]:
    """The BackupVaultEvent values of the client's service model (what botocore will send)."""
    return list(client.meta.service_model.shape_for("BackupVaultEvent").enum)


def _aware(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return None


def lock_state(vault: dict[str, Any] | None) -> dict[str, Any]:
    """The lock of a DescribeBackupVault answer.

    ``mode`` is compliance when AWS reports a lock date (the end of the grace time set by
    ChangeableForDays) and governance otherwise; ``fixed`` tells that the lock date has passed.
    """
    vault = vault or {}
    if not vault.get("Locked"):
        return {
            "locked": False,
            "mode": None,
            "min_retention_days": None,
            "max_retention_days": None,
            "lock_date": None,
            "fixed": False,
        }
    lock_date = _aware(vault.get("LockDate"))
    return {
        "locked": True,
        "mode": "compliance" if lock_date else "governance",
        "min_retention_days": vault.get("MinRetentionDays"),
        "max_retention_days": vault.get("MaxRetentionDays"),
        "lock_date": lock_date.isoformat() if lock_date else None,
        "fixed": bool(lock_date and lock_date <= _utcnow()),
    }


def wanted_mode(lock: dict[str, Any]) -> str:
    return "compliance" if lock.get("changeable_for_days") is not None else "governance"


def lock_problem(lock: dict[str, Any]) -> str | None:
    """An error message naming the bad lock setting, or None."""
    low, high = lock.get("min_retention_days"), lock.get("max_retention_days")
    days = lock.get("changeable_for_days")
    mode = lock.get("mode")
    if low is not None and not MIN_RETENTION_FLOOR <= low <= MAX_RETENTION_CEILING:
        return f"lock.min_retention_days must be {MIN_RETENTION_FLOOR} to {MAX_RETENTION_CEILING}, got {low}"
    if high is not None and not MIN_RETENTION_FLOOR <= high <= MAX_RETENTION_CEILING:
        return f"lock.max_retention_days must be {MIN_RETENTION_FLOOR} to {MAX_RETENTION_CEILING}, got {high}"
    if low is not None and high is not None and low > high:
        return f"lock.min_retention_days ({low}) must not be greater than lock.max_retention_days ({high})"
    if days is not None and not CHANGEABLE_FOR_DAYS_FLOOR <= days <= MAX_RETENTION_CEILING:
        return (
            f"lock.changeable_for_days must be {CHANGEABLE_FOR_DAYS_FLOOR} to {MAX_RETENTION_CEILING}"
            f" (the grace time before a compliance lock is fixed), got {days}"
        )
    if mode == "compliance" and days is None:
        return "lock.changeable_for_days is required for a compliance lock (lock.mode: compliance)"
    if mode == "governance" and days is not None:
        return (
            "lock.changeable_for_days makes a compliance lock; drop it for lock.mode: governance"
            " (or set lock.mode: compliance)"
        )
    return None


def lock_view(state: dict[str, Any]) -> dict[str, Any]:
    """The lock for the diff and the result (without the internal ``fixed``)."""
    return {k: v for k, v in state.items() if k != "fixed"}


def input_problem(params: dict[str, Any]) -> str | None:
    """An error message naming the first bad argument among vault_name, resource_arn, iam_role_arn and
    wait_timeout (those of them in ``params``), or None."""
    vault = params.get("vault_name")
    if vault is not None and not VAULT_NAME.match(vault):
        return f"vault_name must be 2 to 50 letters, digits, hyphens or underscores; got {vault!r}"
    resource = params.get("resource_arn")
    if resource is not None and not ARN.match(resource):
        return (
            "resource_arn must be the ARN of the resource to back up"
            f" (arn:aws:elasticfilesystem:<region>:<account>:file-system/<id>, ...); got {resource!r}"
        )
    role = params.get("iam_role_arn")
    if role is not None and not ROLE_ARN.match(role):
        return f"iam_role_arn must be an IAM role's ARN (arn:aws:iam::<account>:role/<name>); got {role!r}"
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout <= 0:
        return f"wait_timeout must be a number of seconds greater than 0; got {timeout}"
    return None

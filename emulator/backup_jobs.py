"""AWS Backup for EFS: backup selections, on-demand backup jobs, recovery points and restore jobs.

moto knows vaults and plans only. Here, following botocore's ``backup`` model and the AWS Backup
API reference (each method names its page):

- a backup job is ``CREATED``, then ``RUNNING`` (AWS: an on-demand job "will transition in state of
  Running within an hour", https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-a-backup.html),
  then ``COMPLETED``; its recovery point is not visible while the job is ``CREATED`` (clients poll
  for it: kanisterio/kanister pkg/blockstorage/awsefs/wait.go), ``CREATING`` while it runs, then
  ``COMPLETED``;
- a restore job is ``PENDING``, ``RUNNING``, then ``COMPLETED`` with ``CreatedResourceArn``;
- how long the running part takes grows with the data, at the rates the EFS user guide gives for
  AWS Backup: 100 MB/s for large files, 500 files/s for small ones
  (https://docs.aws.amazon.com/efs/latest/ug/awsbackup.html#backup-performance), on top of a fixed
  part (``REAL_SECONDS`` in emulator.lifecycle); all of it divided by the time scale.

The data: a backup job copies the file system's directory (emulator.efs_data) when it starts; a
restore job copies the recovery point back when it completes, into ``aws-backup-restore_<timestamp>``
off the root of the target file system, whole or only the ``ItemsToRestore``.
Scheduled plan rules do not fire by themselves: ``run_plan`` (``POST /_emulator/backup/run-plan``)
starts the jobs a rule would.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from moto.backup import urls as backup_urls
from moto.backup.exceptions import (
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend, Vault, backup_backends
from moto.core.exceptions import JsonRESTError
from moto.efs.models import efs_backends

from emulator import efs_data
from emulator.lifecycle import LOG, Record, Timeline, scaled, time_scale, timeline, wait_seconds

# AWS Backup's EFS rates (see the module docstring).
BYTES_PER_SECOND = 100e6
FILES_PER_SECOND = 500.0

IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")
EFS_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticfilesystem:([a-z0-9-]+):(\d{12}):file-system/(fs-[0-9a-f]{8,40})$"
)
SELECTION_NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")
CONDITION_TYPES = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
RESTORE_KEYS = (
    "file-system-id",
    "Encrypted",
    "KmsKeyId",
    "PerformanceMode",
    "CreationToken",
    "newFileSystem",
    "ItemsToRestore",
)
MAX_ITEMS_TO_RESTORE = 5


class AccessDeniedException(JsonRESTError):
    code = 403

    def __init__(self) -> None:
        super().__init__("AccessDeniedException", "Insufficient privileges to perform this action.")


class InvalidResourceStateException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidResourceStateException", message)


# Reset bumps the generation: restores still pending from before it write nothing.
_generation = 0


def reset() -> None:
    global _generation
    _generation += 1


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _new_id() -> str:
    return str(uuid.uuid4()).upper()


def _compact(shape: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in shape.items() if value is not None}


def _data_seconds(stats: efs_data.TreeStats) -> float:
    return max(stats.bytes / BYTES_PER_SECOND, stats.files / FILES_PER_SECOND)


def _percent(start: float, end: float, now: float) -> float:
    return 100.0 if end <= start else max(0.0, min(100.0, 100.0 * (now - start) / (end - start)))


def _check_role(iam_role_arn: str | None, required: bool) -> None:
    if iam_role_arn is None and not required:
        return
    if not iam_role_arn or not IAM_ROLE_ARN.match(iam_role_arn):
        raise InvalidParameterValueException(msg=f"Invalid IAM role ARN: {iam_role_arn}")


def _check_lifecycle(lifecycle: dict[str, Any] | None) -> None:
    """DeleteAfterDays "must be at least 90 days after the number of days specified in
    MoveToColdStorageAfterDays" (the ``Lifecycle`` shape)."""
    cold = (lifecycle or {}).get("MoveToColdStorageAfterDays")
    delete = (lifecycle or {}).get("DeleteAfterDays")
    if cold is not None and delete is not None and delete < cold + 90:
        raise InvalidParameterValueException(
            msg="Invalid lifecycle. DeleteAfterDays must be at least 90 days after MoveToColdStorageAfterDays"
        )


def page(items: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    """One page of a list call: NextToken is the index of the next item (all at once without MaxResults)."""
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        raise InvalidParameterValueException(msg=f"Invalid NextToken: {next_token}") from None
    if max_results is None:
        return items[start:], None
    end = start + max_results
    return items[start:end], str(end) if end < len(items) else None


def _tag_key(key: str) -> str:
    return key.removeprefix("aws:ResourceTag/")


class Selection:
    """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupSelection.html"""

    def __init__(self, plan_id: str, selection: dict[str, Any], creator_request_id: str | None) -> None:
        self.selection_id = str(uuid.uuid4())
        self.backup_plan_id = plan_id
        self.creation_date = _utc(time.time())
        self.creator_request_id = creator_request_id
        conditions = selection.get("Conditions") or {}
        # AWS answers with every list present, Conditions' four included (amazon.aws.backup_selection
        # compares against exactly that default).
        self.selection = {
            "SelectionName": selection["SelectionName"],
            "IamRoleArn": selection["IamRoleArn"],
            "Resources": selection.get("Resources") or [],
            "ListOfTags": selection.get("ListOfTags") or [],
            "NotResources": selection.get("NotResources") or [],
            "Conditions": {kind: conditions.get(kind) or [] for kind in CONDITION_TYPES},
        }

    def result(self) -> dict[str, Any]:
        return _compact(
            {
                "BackupSelection": self.selection,
                "SelectionId": self.selection_id,
                "BackupPlanId": self.backup_plan_id,
                "CreationDate": self.creation_date,
                "CreatorRequestId": self.creator_request_id,
            }
        )

    def list_member(self) -> dict[str, Any]:
        return _compact(
            {
                "SelectionId": self.selection_id,
                "SelectionName": self.selection["SelectionName"],
                "BackupPlanId": self.backup_plan_id,
                "CreationDate": self.creation_date,
                "CreatorRequestId": self.creator_request_id,
                "IamRoleArn": self.selection["IamRoleArn"],
            }
        )

    def selects(self, arn: str, tags: dict[str, str]) -> bool:
        """Resources or any ListOfTags entry picks a resource; every Conditions entry must hold;
        NotResources excludes (https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html)."""
        spec = self.selection
        picked = any(fnmatch.fnmatchcase(arn, pattern) for pattern in spec["Resources"]) or any(
            tags.get(_tag_key(tag["ConditionKey"])) == tag["ConditionValue"] for tag in spec["ListOfTags"]
        )
        if not picked or any(fnmatch.fnmatchcase(arn, pattern) for pattern in spec["NotResources"]):
            return False
        conditions = spec["Conditions"]

        def value(condition: dict[str, str]) -> str | None:
            return tags.get(_tag_key(condition["ConditionKey"]))

        return (
            all(value(c) == c["ConditionValue"] for c in conditions["StringEquals"])
            and all(value(c) != c["ConditionValue"] for c in conditions["StringNotEquals"])
            and all(
                fnmatch.fnmatchcase(value(c) or "", c["ConditionValue"]) for c in conditions["StringLike"]
            )
            and not any(
                fnmatch.fnmatchcase(value(c) or "", c["ConditionValue"]) for c in conditions["StringNotLike"]
            )
        )


class RecoveryPoint:
    """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRecoveryPoint.html"""

    def __init__(
        self,
        backend: EmulatedBackupBackend,
        vault: Vault,
        resource_arn: str,
        file_system: Any,
        iam_role_arn: str,
        lifecycle: dict[str, Any] | None,
        created_by: dict[str, Any] | None,
    ) -> None:
        self.recovery_point_id = _new_id()
        region, account = backend.region_name, backend.account_id
        self.arn = f"arn:aws:backup:{region}:{account}:recovery-point:{self.recovery_point_id}"
        self.vault = vault
        self.resource_arn = resource_arn
        self.iam_role_arn = iam_role_arn
        self.lifecycle = lifecycle
        self.created_by = created_by
        self.created_at = time.time()
        self.completed_at: float | None = None
        self.status_timeline = Timeline(None)
        self.size = 0
        self.last_restore_time: datetime | None = None
        self.data_dir = efs_data.recovery_point_dir(self.recovery_point_id)
        efs = efs_backends[backend.account_id][backend.region_name]
        tags = efs.tagging_service.get_tag_dict_for_resource(file_system.file_system_id)
        self.resource_name = tags.get("Name")
        # What a restore needs to rebuild the file system (GetRecoveryPointRestoreMetadata).
        self.source = {
            "file_system_id": file_system.file_system_id,
            "performance_mode": file_system.performance_mode,
            "encrypted": bool(file_system.encrypted),
            "kms_key_id": file_system.kms_key_id,
            "throughput_mode": file_system.throughput_mode,
            "provisioned_throughput_in_mibps": file_system.provisioned_throughput_in_mibps,
            "tags": tags,
        }

    @property
    def status(self) -> str | None:
        return self.status_timeline.status()

    def restore_metadata(self) -> dict[str, str]:
        """The EFS keys StartRestoreJob takes back (``file-system-id`` is "Returned in
        GetRecoveryPointRestoreMetadata": API_StartRestoreJob.html)."""
        metadata = {
            "file-system-id": self.source["file_system_id"],
            "Encrypted": str(self.source["encrypted"]).lower(),
            "PerformanceMode": self.source["performance_mode"],
        }
        if self.source["kms_key_id"]:
            metadata["KmsKeyId"] = self.source["kms_key_id"]
        return metadata

    def _calculated_lifecycle(self) -> dict[str, datetime] | None:
        if not self.lifecycle:
            return None
        created = _utc(self.created_at)
        shape = {}
        if self.lifecycle.get("MoveToColdStorageAfterDays") is not None:
            shape["MoveToColdStorageAt"] = created + timedelta(
                days=self.lifecycle["MoveToColdStorageAfterDays"]
            )
        if self.lifecycle.get("DeleteAfterDays") is not None:
            shape["DeleteAt"] = created + timedelta(days=self.lifecycle["DeleteAfterDays"])
        return shape

    def _storage_class(self) -> str:
        cold_at = (self._calculated_lifecycle() or {}).get("MoveToColdStorageAt")
        return "COLD" if cold_at is not None and cold_at <= _utc(time.time()) else "WARM"

    def _common(self) -> dict[str, Any]:
        completed = self.status == "COMPLETED"
        return {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": self.vault.backup_vault_name,
            "BackupVaultArn": self.vault.backup_vault_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": "EFS",
            "ResourceName": self.resource_name,
            "CreatedBy": self.created_by,
            "IamRoleArn": self.iam_role_arn,
            "Status": self.status,
            "CreationDate": _utc(self.created_at),
            "InitiationDate": _utc(self.created_at),
            "CompletionDate": _utc(self.completed_at) if completed and self.completed_at else None,
            "BackupSizeInBytes": self.size if completed else 0,
            "CalculatedLifecycle": self._calculated_lifecycle(),
            "Lifecycle": self.lifecycle,
            "EncryptionKeyArn": self.vault.encryption_key_arn,
            "IsEncrypted": True,
            "LastRestoreTime": self.last_restore_time,
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }

    def describe(self) -> dict[str, Any]:
        return _compact({**self._common(), "StorageClass": self._storage_class()})

    def by_vault(self) -> dict[str, Any]:
        """RecoveryPointByBackupVault."""
        return _compact(self._common())

    def by_resource(self) -> dict[str, Any]:
        """RecoveryPointByResource (note ``BackupSizeBytes`` there)."""
        common = self._common()
        return _compact(
            {
                "RecoveryPointArn": self.arn,
                "CreationDate": common["CreationDate"],
                "Status": self.status,
                "EncryptionKeyArn": self.vault.encryption_key_arn,
                "BackupSizeBytes": common["BackupSizeInBytes"],
                "BackupVaultName": self.vault.backup_vault_name,
                "IsParent": False,
                "ResourceName": self.resource_name,
                "VaultType": "BACKUP_VAULT",
            }
        )


class BackupJob:
    """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupJob.html"""

    def __init__(
        self,
        backend: EmulatedBackupBackend,
        vault: Vault,
        resource_arn: str,
        iam_role_arn: str,
        lifecycle: dict[str, Any] | None,
        start_window_minutes: int | None,
        created_by: dict[str, Any] | None,
    ) -> None:
        self.backup_job_id = _new_id()
        self.account_id = backend.account_id
        self.vault = vault
        self.resource_arn = resource_arn
        self.iam_role_arn = iam_role_arn
        self.lifecycle = lifecycle
        self.created_by = created_by
        self.created_at = time.time()
        self.start_by = self.created_at + (start_window_minutes or 480) * 60 / time_scale()
        self.status_message: str | None = None
        self.recovery_point: RecoveryPoint | None = None
        self.size = 0
        self.resource_name: str | None = None
        self.state_timeline = Timeline(None)
        self.completed_at: float | None = None
        self.record: Record | None = None

    @property
    def state(self) -> str:
        return self.state_timeline.status() or "CREATED"

    def run(self, backend: EmulatedBackupBackend, file_system: Any | None) -> None:
        """Take the copy now; be CREATED, RUNNING, then COMPLETED (or FAILED without a file system)."""
        started = self.created_at + wait_seconds("backup::backup-job.start")
        if file_system is None or not efs_data.file_system_dir(file_system.file_system_id).is_dir():
            self.status_message = f"Unable to find resource {self.resource_arn}"
            self.state_timeline.sequence("CREATED", (started, "RUNNING"), (started, "FAILED"))
            self.completed_at = started
            return
        point = RecoveryPoint(
            backend,
            self.vault,
            self.resource_arn,
            file_system,
            self.iam_role_arn,
            self.lifecycle,
            self.created_by,
        )
        source = efs_data.file_system_dir(file_system.file_system_id)
        previous = backend.latest_recovery_point(self.resource_arn, self.vault.backup_vault_name)
        copied = efs_data.copy_tree(source, point.data_dir)
        self.size = point.size = efs_data.changed_bytes(
            point.data_dir, previous.data_dir if previous else None
        )
        changed = efs_data.TreeStats(copied.files, self.size)
        done = (
            started
            + wait_seconds("backup::backup-job.run")
            + scaled("backup::backup-job.run", _data_seconds(changed))
        )
        self.state_timeline.sequence("CREATED", (started, "RUNNING"), (done, "COMPLETED"))
        point.status_timeline.sequence(None, (started, "CREATING"), (done, "COMPLETED"))
        self.completed_at = point.completed_at = done
        self.recovery_point = point
        self.resource_name = point.resource_name
        backend.add_recovery_point(point)
        self.record = LOG.add(Record("backup", "backup-job", self.backup_job_id, self.created_at, done))

    def stop(self, backend: EmulatedBackupBackend) -> None:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StopBackupJob.html"""
        if self.state not in ("CREATED", "PENDING", "RUNNING"):
            raise InvalidRequestException(
                msg=f"Backup job {self.backup_job_id} is in state {self.state} and cannot be stopped"
            )
        now = time.time()
        self.state_timeline.settle("ABORTED")
        self.completed_at = now
        self.status_message = "Backup job was stopped by user."
        if self.record is not None:  # never ready: logged as ended when stopped
            self.record.ready_at = None
            self.record.deleting_at = self.record.deleted_at = now
        if self.recovery_point is not None:
            backend.remove_recovery_point(self.recovery_point)
            self.recovery_point = None

    def result(self) -> dict[str, Any]:
        now = time.time()
        state = self.state
        started = self.state_timeline.until("RUNNING") or self.created_at
        done = self.completed_at or now
        finished = state in ("COMPLETED", "FAILED", "ABORTED", "EXPIRED")
        percent = (
            100.0 if state == "COMPLETED" else 0.0 if state == "CREATED" else _percent(started, done, now)
        )
        return _compact(
            {
                "AccountId": self.account_id,
                "BackupJobId": self.backup_job_id,
                "BackupVaultName": self.vault.backup_vault_name,
                "BackupVaultArn": self.vault.backup_vault_arn,
                "VaultType": "BACKUP_VAULT",
                "RecoveryPointArn": self.recovery_point.arn if self.recovery_point else None,
                "RecoveryPointLifecycle": self.lifecycle,
                "EncryptionKeyArn": self.vault.encryption_key_arn,
                "IsEncrypted": True,
                "ResourceArn": self.resource_arn,
                "CreationDate": _utc(self.created_at),
                "CompletionDate": _utc(done) if finished else None,
                "State": state,
                "StatusMessage": self.status_message,
                "PercentDone": f"{percent:.1f}",
                "BackupSizeInBytes": self.size if state == "COMPLETED" else 0,
                "BytesTransferred": round(self.size * percent / 100),
                "IamRoleArn": self.iam_role_arn,
                "CreatedBy": self.created_by,
                "ExpectedCompletionDate": _utc(self.completed_at) if self.completed_at else None,
                "StartBy": _utc(self.start_by),
                "ResourceType": "EFS",
                "ResourceName": self.resource_name,
                "InitiationDate": _utc(self.created_at),
                "IsParent": False,
            }
        )


def _metadata_error(key: str, problem: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(msg=f"Invalid restore metadata: {key}: {problem}")


def parse_restore_metadata(metadata: dict[str, str]) -> dict[str, Any]:
    """The EFS keys of StartRestoreJob's ``Metadata``
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartRestoreJob.html): only these are
    accepted (AWS enforces it: kanisterio/kanister#792); keys match without regard to case, as the
    reference's own ``"itemsToRestore"`` example and aws/aws-cli#6468's ``newFilesystem`` show."""
    known = {key.lower(): key for key in RESTORE_KEYS}
    values: dict[str, str] = {}
    for key, value in metadata.items():
        if key.startswith("aws:backup:"):  # the console's request id
            continue
        if key.lower() not in known:
            raise _metadata_error(
                key, f"not a restore metadata key for EFS (allowed: {', '.join(RESTORE_KEYS)})"
            )
        values[known[key.lower()]] = value
    if not values.get("file-system-id"):
        raise _metadata_error("file-system-id", "required")
    if not re.fullmatch(r"fs-[0-9a-f]{8,40}", values["file-system-id"]):
        raise _metadata_error("file-system-id", f"not a file system ID: {values['file-system-id']}")
    booleans = {}
    for key, default in (("newFileSystem", None), ("Encrypted", "false")):
        raw = values.get(key, default)
        if raw is None:
            raise _metadata_error(key, 'required ("true" or "false")')
        if raw.lower() not in ("true", "false"):
            raise _metadata_error(key, f'must be "true" or "false", not {raw!r}')
        booleans[key] = raw.lower() == "true"
    if values.get("KmsKeyId") and not booleans["Encrypted"]:
        raise _metadata_error("KmsKeyId", "Encrypted must be true when KmsKeyId is given")
    performance_mode = values.get("PerformanceMode", "generalPurpose")
    if performance_mode not in ("generalPurpose", "maxIO"):
        raise _metadata_error("PerformanceMode", f"must be generalPurpose or maxIO, not {performance_mode!r}")
    items = None
    if "ItemsToRestore" in values:
        try:
            items = json.loads(values["ItemsToRestore"])
        except ValueError:
            raise _metadata_error("ItemsToRestore", "must be a JSON list of paths") from None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise _metadata_error("ItemsToRestore", "must be a JSON list of paths")
        if not 1 <= len(items) <= MAX_ITEMS_TO_RESTORE:
            raise _metadata_error("ItemsToRestore", f"must list 1 to {MAX_ITEMS_TO_RESTORE} paths")
        for item in items:
            if not item.startswith("/") or ".." in Path(item).parts or item == "/":
                raise _metadata_error(
                    "ItemsToRestore", f"not a path relative to the file system root: {item!r}"
                )
    return {
        "file_system_id": values["file-system-id"],
        "new_file_system": booleans["newFileSystem"],
        "encrypted": booleans["Encrypted"],
        "kms_key_id": values.get("KmsKeyId") or None,
        "performance_mode": performance_mode,
        "creation_token": values.get("CreationToken"),
        "items": items,
    }


class RestoreJob:
    """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRestoreJob.html"""

    def __init__(
        self,
        backend: EmulatedBackupBackend,
        point: RecoveryPoint,
        request: dict[str, Any],
        iam_role_arn: str | None,
        copy_source_tags: bool,
    ) -> None:
        self.restore_job_id = _new_id()
        self.account_id = backend.account_id
        self.point = point
        self.iam_role_arn = iam_role_arn
        self.items: list[str] | None = request["items"]
        self.created_ns = time.time_ns()
        self.created_at = self.created_ns / 1e9
        self.status_message: str | None = None
        self.size = 0
        self.generation = _generation
        self._settled = False
        self._lock = threading.Lock()
        efs = efs_backends[backend.account_id][backend.region_name]
        if request["new_file_system"]:
            source = point.source
            self.target = efs.create_file_system(
                creation_token=request["creation_token"] or str(uuid.uuid4()),
                performance_mode=request["performance_mode"],
                encrypted=request["encrypted"],
                kms_key_id=request["kms_key_id"],
                throughput_mode=source["throughput_mode"],
                provisioned_throughput_in_mibps=source["provisioned_throughput_in_mibps"],
                availability_zone_name=None,
                backup=False,
                tags=[{"Key": k, "Value": v} for k, v in source["tags"].items()] if copy_source_tags else [],
            )
        else:
            self.target = efs.file_systems_by_id[request["file_system_id"]]
        started = self.created_at + wait_seconds("backup::restore-job.start")
        available_at = timeline(self.target).until("available")
        started = max(started, available_at or 0.0)
        restored = efs_data.TreeStats()
        for part in [_item_stats(point.data_dir, item) for item in self.items or ["/"]]:
            restored.files += part.files
            restored.bytes += part.bytes
        self.completed_at = (
            started
            + wait_seconds("backup::restore-job.run")
            + scaled("backup::restore-job.run", _data_seconds(restored))
        )
        self.status_timeline = Timeline(None)
        self.status_timeline.sequence("PENDING", (started, "RUNNING"), (self.completed_at, "COMPLETED"))
        LOG.add(Record("backup", "restore-job", self.restore_job_id, self.created_at, self.completed_at))
        timer = threading.Timer(max(0.0, self.completed_at - time.time()), self.settle)
        timer.daemon = True
        timer.start()

    @property
    def status(self) -> str:
        self.settle()
        return self.status_timeline.status() or "PENDING"

    def settle(self) -> None:
        """Once due, copy the data into ``aws-backup-restore_<start time>`` (once)."""
        with self._lock:
            if self._settled or time.time() < self.completed_at or self.generation != _generation:
                return
            self._settled = True
            root = efs_data.file_system_dir(self.target.file_system_id)
            if not root.is_dir():
                self.status_timeline.settle("FAILED")
                self.status_message = f"File system {self.target.file_system_id} does not exist"
                return
            directory = root / efs_data.restore_directory_name(self.created_ns)
            if self.items:
                copied = efs_data.copy_items(self.point.data_dir, directory, self.items)
            else:
                copied = efs_data.copy_tree(self.point.data_dir, directory)
            self.size = copied.bytes
            self.point.last_restore_time = _utc(self.completed_at)

    def result(self) -> dict[str, Any]:
        status = self.status
        now = time.time()
        started = self.status_timeline.until("RUNNING") or self.created_at
        percent = {"PENDING": 0.0, "COMPLETED": 100.0}.get(status, _percent(started, self.completed_at, now))
        finished = status in ("COMPLETED", "FAILED", "ABORTED")
        return _compact(
            {
                "AccountId": self.account_id,
                "RestoreJobId": self.restore_job_id,
                "RecoveryPointArn": self.point.arn,
                "SourceResourceArn": self.point.resource_arn,
                "BackupVaultArn": self.point.vault.backup_vault_arn,
                "CreationDate": _utc(self.created_at),
                "CompletionDate": _utc(self.completed_at) if finished else None,
                "Status": status,
                "StatusMessage": self.status_message,
                "PercentDone": f"{percent:.2f}%",
                "BackupSizeInBytes": self.size if status == "COMPLETED" else None,
                "IamRoleArn": self.iam_role_arn,
                "ExpectedCompletionTimeMinutes": max(
                    1, math.ceil((self.completed_at - self.created_at) / 60)
                ),
                "CreatedResourceArn": self.target.file_system_arn if status == "COMPLETED" else None,
                "ResourceType": "EFS",
                "RecoveryPointCreationDate": _utc(self.point.created_at),
                "IsParent": False,
            }
        )


def _item_stats(root: Path, item: str) -> efs_data.TreeStats:
    path = root / item.lstrip("/") if item != "/" else root
    if path.is_dir():
        return efs_data.stats(path)
    if path.is_file():
        return efs_data.TreeStats(1, path.stat().st_size)
    return efs_data.TreeStats()


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return _utc(float(value))
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _between(moment: datetime | None, after: str | None, before: str | None) -> bool:
    low, high = _timestamp(after), _timestamp(before)
    if low is None and high is None:
        return True
    if moment is None:
        return False
    return (low is None or moment >= low) and (high is None or moment <= high)


class EmulatedBackupBackend(BackupBackend):
    """moto's Backup backend plus selections, jobs, recovery points and restores."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.selections: dict[str, dict[str, Selection]] = {}
        self.backup_jobs: dict[str, BackupJob] = {}
        self.recovery_points: dict[str, RecoveryPoint] = {}
        self.restore_jobs: dict[str, RestoreJob] = {}
        self.idempotency_tokens: dict[tuple[str, str], str] = {}
        self.lock = threading.RLock()

    @property
    def _url_module(self) -> Any:
        return backup_urls  # moto derives it from the class's module otherwise

    def vault(self, name: str) -> Vault:
        """A missing vault is AccessDenied on AWS (see emulator.backup)."""
        vault = self.vaults.get(name)
        if vault is None:
            raise AccessDeniedException()
        return vault

    # -- plans and vaults: what AWS refuses ---------------------------------------------------------

    def delete_backup_plan(self, backup_plan_id: str) -> tuple[str, str, float, str]:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupPlan.html"""
        if self.selections.get(backup_plan_id):
            raise InvalidRequestException(
                msg="Related backup plan selections must be deleted prior to backup plan deletion."
            )
        return super().delete_backup_plan(backup_plan_id)

    def delete_backup_vault(self, backup_vault_name: str) -> None:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVault.html"""
        if any(p.vault.backup_vault_name == backup_vault_name for p in self.recovery_points.values()):
            raise InvalidRequestException(
                msg="Backup vault cannot be deleted because it contains recovery points"
            )
        super().delete_backup_vault(backup_vault_name)

    # -- selections --------------------------------------------------------------------------------

    def _live_plan(self, plan_id: str) -> Any:
        plan = self.get_backup_plan(plan_id, None)
        if plan.deletion_date is not None:
            raise ResourceNotFoundException(msg="Failed reading Backup plan with provided version")
        return plan

    def create_backup_selection(
        self, plan_id: str, selection: dict[str, Any], creator_request_id: str | None
    ) -> Selection:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupSelection.html"""
        self._live_plan(plan_id)
        name = selection.get("SelectionName") or ""
        if not SELECTION_NAME.match(name):
            raise InvalidParameterValueException(msg=f"Invalid selection name: {name}")
        _check_role(selection.get("IamRoleArn"), required=True)
        for entry in selection.get("ListOfTags") or []:
            if entry.get("ConditionType") != "STRINGEQUALS":
                raise InvalidParameterValueException(
                    msg=f"Invalid ConditionType: {entry.get('ConditionType')}"
                )
        created = Selection(plan_id, selection, creator_request_id)
        self.selections.setdefault(plan_id, {})[created.selection_id] = created
        return created

    def get_backup_selection(self, plan_id: str, selection_id: str) -> Selection:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetBackupSelection.html"""
        selection = self.selections.get(plan_id, {}).get(selection_id)
        if selection is None:
            raise ResourceNotFoundException(msg=f"Failed reading backup selection {selection_id}")
        return selection

    def delete_backup_selection(self, plan_id: str, selection_id: str) -> None:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupSelection.html"""
        self.get_backup_selection(plan_id, selection_id)
        del self.selections[plan_id][selection_id]

    def list_backup_selections(self, plan_id: str) -> list[Selection]:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupSelections.html"""
        self.get_backup_plan(plan_id, None)
        return list(self.selections.get(plan_id, {}).values())

    # -- backup jobs -------------------------------------------------------------------------------

    def _file_system(self, resource_arn: str) -> Any | None:
        match = EFS_ARN.match(resource_arn)
        if match is None:
            raise InvalidParameterValueException(
                msg=f"Invalid resource ARN: {resource_arn} (the emulator backs up EFS file systems only)"
            )
        region, account, file_system_id = match.groups()
        if (region, account) != (self.region_name, self.account_id):
            return None
        return efs_backends[account][region].file_systems_by_id.get(file_system_id)

    def start_backup_job(
        self,
        vault_name: str,
        resource_arn: str,
        iam_role_arn: str,
        idempotency_token: str | None = None,
        start_window_minutes: int | None = None,
        lifecycle: dict[str, Any] | None = None,
        recovery_point_tags: dict[str, str] | None = None,
        created_by: dict[str, Any] | None = None,
    ) -> BackupJob:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartBackupJob.html"""
        with self.lock:
            vault = self.vault(vault_name)
            _check_role(iam_role_arn, required=True)
            _check_lifecycle(lifecycle)
            if start_window_minutes is not None and start_window_minutes < 60:
                raise InvalidParameterValueException(msg="StartWindowMinutes must be at least 60 minutes")
            file_system = self._file_system(resource_arn)
            if idempotency_token and (resource_arn, idempotency_token) in self.idempotency_tokens:
                return self.backup_jobs[self.idempotency_tokens[(resource_arn, idempotency_token)]]
            job = BackupJob(
                self, vault, resource_arn, iam_role_arn, lifecycle, start_window_minutes, created_by
            )
            job.run(self, file_system)
            if job.recovery_point is not None:
                tags = {**job.recovery_point.source["tags"], **(recovery_point_tags or {})}
                if tags:
                    self.tag_resource(job.recovery_point.arn, tags)
            self.backup_jobs[job.backup_job_id] = job
            if idempotency_token:
                self.idempotency_tokens[(resource_arn, idempotency_token)] = job.backup_job_id
            return job

    def describe_backup_job(self, backup_job_id: str) -> BackupJob:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupJob.html"""
        job = self.backup_jobs.get(backup_job_id)
        if job is None:
            raise ResourceNotFoundException(msg=f"Cannot find backup job {backup_job_id}")
        return job

    def stop_backup_job(self, backup_job_id: str) -> None:
        with self.lock:
            self.describe_backup_job(backup_job_id).stop(self)

    def list_backup_jobs(self, query: dict[str, str]) -> list[BackupJob]:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupJobs.html"""
        jobs = []
        for job in self.backup_jobs.values():
            completed = _utc(job.completed_at) if job.completed_at and job.state == "COMPLETED" else None
            if (
                query.get("state", job.state) == job.state
                and query.get("resourceArn", job.resource_arn) == job.resource_arn
                and query.get("backupVaultName", job.vault.backup_vault_name) == job.vault.backup_vault_name
                and query.get("resourceType", "EFS") == "EFS"
                and query.get("accountId", self.account_id) == self.account_id
                and _between(_utc(job.created_at), query.get("createdAfter"), query.get("createdBefore"))
                and _between(completed, query.get("completeAfter"), query.get("completeBefore"))
            ):
                jobs.append(job)
        return sorted(jobs, key=lambda job: job.created_at, reverse=True)

    # -- recovery points ---------------------------------------------------------------------------

    def add_recovery_point(self, point: RecoveryPoint) -> None:
        self.recovery_points[point.arn] = point
        point.vault.num_of_recovery_points += 1

    def remove_recovery_point(self, point: RecoveryPoint) -> None:
        self.recovery_points.pop(point.arn, None)
        point.vault.num_of_recovery_points -= 1
        efs_data.remove(point.data_dir)

    def latest_recovery_point(self, resource_arn: str, vault_name: str) -> RecoveryPoint | None:
        candidates = [
            point
            for point in self.recovery_points.values()
            if point.resource_arn == resource_arn
            and point.vault.backup_vault_name == vault_name
            and point.status == "COMPLETED"
        ]
        return max(candidates, key=lambda point: point.created_at, default=None)

    def _visible(self) -> Iterator[RecoveryPoint]:
        return (point for point in list(self.recovery_points.values()) if point.status is not None)

    def recovery_point(self, vault_name: str, arn: str) -> RecoveryPoint:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRecoveryPoint.html"""
        self.vault(vault_name)
        point = self.recovery_points.get(arn)
        if point is None or point.status is None or point.vault.backup_vault_name != vault_name:
            raise ResourceNotFoundException(msg=f"Cannot find recovery point {arn} in vault {vault_name}")
        return point

    def list_recovery_points_by_backup_vault(
        self, vault_name: str, query: dict[str, str]
    ) -> list[RecoveryPoint]:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByBackupVault.html"""
        self.vault(vault_name)
        points = [
            point
            for point in self._visible()
            if point.vault.backup_vault_name == vault_name
            and query.get("resourceArn", point.resource_arn) == point.resource_arn
            and query.get("resourceType", "EFS") == "EFS"
            and query.get("backupPlanId", (point.created_by or {}).get("BackupPlanId"))
            == (point.created_by or {}).get("BackupPlanId")
            and _between(_utc(point.created_at), query.get("createdAfter"), query.get("createdBefore"))
        ]
        return sorted(points, key=lambda point: point.created_at, reverse=True)

    def list_recovery_points_by_resource(self, resource_arn: str) -> list[RecoveryPoint]:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByResource.html"""
        points = [point for point in self._visible() if point.resource_arn == resource_arn]
        return sorted(points, key=lambda point: point.created_at, reverse=True)

    def delete_recovery_point(self, vault_name: str, arn: str) -> None:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html"""
        with self.lock:
            point = self.recovery_point(vault_name, arn)
            if point.status != "COMPLETED":
                raise InvalidResourceStateException(
                    f"Recovery point {arn} is in state {point.status} and cannot be deleted"
                )
            vault = point.vault
            if vault.locked and vault.min_retention_days:
                kept_until = point.created_at + vault.min_retention_days * 86400
                if time.time() < kept_until:
                    raise InvalidRequestException(
                        msg=f"Recovery point {arn} is protected by the vault lock of {vault_name} "
                        f"until {_utc(kept_until).isoformat()}"
                    )
            self.remove_recovery_point(point)

    # -- restores ----------------------------------------------------------------------------------

    def start_restore_job(
        self,
        recovery_point_arn: str,
        metadata: dict[str, str],
        iam_role_arn: str | None,
        resource_type: str | None,
        idempotency_token: str | None,
        copy_source_tags: bool,
    ) -> RestoreJob:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartRestoreJob.html"""
        with self.lock:
            point = self.recovery_points.get(recovery_point_arn)
            if point is None or point.status is None:
                raise ResourceNotFoundException(msg=f"Cannot find recovery point {recovery_point_arn}")
            if point.status != "COMPLETED":
                raise InvalidRequestException(
                    msg=f"Recovery point {recovery_point_arn} is {point.status}; it cannot be restored yet"
                )
            if resource_type not in (None, "EFS"):
                raise InvalidParameterValueException(
                    msg=f"Invalid resource type {resource_type} for an EFS backup"
                )
            _check_role(iam_role_arn, required=False)
            request = parse_restore_metadata(metadata)
            efs = efs_backends[self.account_id][self.region_name]
            if request["new_file_system"]:
                token = request["creation_token"]
                if token and token in efs.creation_tokens:
                    raise _metadata_error(
                        "CreationToken", f"a file system with creation token {token} exists"
                    )
            elif request["file_system_id"] not in efs.file_systems_by_id:
                raise _metadata_error(
                    "file-system-id",
                    f"file system {request['file_system_id']} does not exist (newFileSystem is false)",
                )
            if idempotency_token and (recovery_point_arn, idempotency_token) in self.idempotency_tokens:
                return self.restore_jobs[self.idempotency_tokens[(recovery_point_arn, idempotency_token)]]
            job = RestoreJob(self, point, request, iam_role_arn, copy_source_tags)
            self.restore_jobs[job.restore_job_id] = job
            if idempotency_token:
                self.idempotency_tokens[(recovery_point_arn, idempotency_token)] = job.restore_job_id
            return job

    def describe_restore_job(self, restore_job_id: str) -> RestoreJob:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeRestoreJob.html"""
        job = self.restore_jobs.get(restore_job_id)
        if job is None:
            raise ResourceNotFoundException(msg=f"Cannot find restore job {restore_job_id}")
        return job

    def list_restore_jobs(self, query: dict[str, str]) -> list[RestoreJob]:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRestoreJobs.html"""
        jobs = []
        for job in self.restore_jobs.values():
            status = job.status
            completed = _utc(job.completed_at) if status == "COMPLETED" else None
            if (
                query.get("status", status) == status
                and query.get("resourceType", "EFS") == "EFS"
                and query.get("accountId", self.account_id) == self.account_id
                and _between(_utc(job.created_at), query.get("createdAfter"), query.get("createdBefore"))
                and _between(completed, query.get("completeAfter"), query.get("completeBefore"))
            ):
                jobs.append(job)
        return sorted(jobs, key=lambda job: job.created_at, reverse=True)

    # -- scheduled rules, on request ---------------------------------------------------------------

    def run_plan(self, plan_id: str, rule_name: str | None = None) -> list[BackupJob]:
        """Start the backup jobs the plan's rules (or the one named) would start now: one per rule
        and per EFS file system some selection of the plan picks."""
        plan = self._live_plan(plan_id)
        rules = [rule for rule in plan.backup_plan["Rules"] if rule_name in (None, rule["RuleName"])]
        if not rules:
            raise ResourceNotFoundException(msg=f"Backup plan {plan_id} has no rule {rule_name}")
        efs = efs_backends[self.account_id][self.region_name]
        jobs = []
        for file_system in list(efs.file_systems_by_id.values()):
            tags = efs.tagging_service.get_tag_dict_for_resource(file_system.file_system_id)
            picked = [
                selection
                for selection in self.selections.get(plan_id, {}).values()
                if selection.selects(file_system.file_system_arn, tags)
            ]
            if not picked:
                continue
            for rule in rules:
                created_by = {
                    "BackupPlanId": plan.backup_plan_id,
                    "BackupPlanArn": plan.backup_plan_arn,
                    "BackupPlanName": plan.backup_plan["BackupPlanName"],
                    "BackupPlanVersion": plan.version_id,
                    "BackupRuleId": rule["RuleId"],
                    "BackupRuleName": rule["RuleName"],
                    "BackupRuleCron": rule.get("ScheduleExpression"),
                    "BackupRuleTimezone": rule.get("ScheduleExpressionTimezone"),
                }
                jobs.append(
                    self.start_backup_job(
                        vault_name=rule["TargetBackupVaultName"],
                        resource_arn=file_system.file_system_arn,
                        iam_role_arn=picked[0].selection["IamRoleArn"],
                        start_window_minutes=rule.get("StartWindowMinutes"),
                        lifecycle=rule.get("Lifecycle"),
                        recovery_point_tags=rule.get("RecoveryPointTags"),
                        created_by=created_by,
                    )
                )
        plan.last_execution_date = time.time()
        return jobs


def backends() -> Iterator[EmulatedBackupBackend]:
    for account in list(backup_backends.values()):
        yield from list(account.values())


def run_plan(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_emulator/backup/run-plan`` with ``{"BackupPlanId": ..., "RuleName": ...}`` (the rule
    is optional): ``{"BackupJobIds": [...]}``."""
    plan_id = body["BackupPlanId"]
    for backend in backends():
        if plan_id in backend.plans:
            jobs = backend.run_plan(plan_id, body.get("RuleName"))
            return {"BackupJobIds": [job.backup_job_id for job in jobs]}
    raise ResourceNotFoundException(msg=f"Failed reading Backup plan {plan_id}")


def install() -> None:
    backup_backends.backend = EmulatedBackupBackend
    # DescribeBackupVault's NumberOfRecoveryPoints (moto keeps the count under another name).
    Vault.number_of_recovery_points = property(lambda vault: vault.num_of_recovery_points)  # type: ignore[attr-defined]

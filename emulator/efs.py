"""EFS: file systems and mount targets are ``creating`` before ``available``, as on AWS; each file
system has a data directory (emulator.efs_data); backup policies, the legacy tag API and
UpdateFileSystem exist.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto.efs import urls as efs_urls
from moto.efs.exceptions import BadRequest, EFSError, FileSystemNotFound, PolicyNotFound
from moto.efs.models import EFSBackend, FileSystem, MountTarget, efs_backends
from moto.efs.responses import EFSResponse

from emulator import efs_data
from emulator.lifecycle import TimedStatus, Timeline, provision, wait_seconds
from emulator.patching import route, wrap


class IncorrectFileSystemLifeCycleState(EFSError):
    code = 409

    def __init__(self, file_system_id: str, state: str) -> None:
        super().__init__(
            "IncorrectFileSystemLifeCycleState", f"File system '{file_system_id}' is in '{state}' state."
        )


def _create_file_system(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    """https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html"""
    file_system = original(backend, *args, **kwargs)
    provision(file_system, "efs::file-system.create", file_system.file_system_id, "creating", "available")
    efs_data.create_file_system(file_system.file_system_id)
    return file_system


def _delete_file_system(original: Callable[..., Any], backend: Any, file_system_id: str) -> None:
    """https://docs.aws.amazon.com/efs/latest/ug/API_DeleteFileSystem.html: the data goes with it."""
    original(backend, file_system_id)
    efs_data.remove(efs_data.file_system_dir(file_system_id))


def _create_mount_target(
    original: Callable[..., Any], backend: Any, file_system_id: str, *args: Any, **kwargs: Any
) -> Any:
    """https://docs.aws.amazon.com/efs/latest/ug/API_CreateMountTarget.html: "the file system's
    lifecycle state must be available", else IncorrectFileSystemLifeCycleState."""
    file_system = backend.file_systems_by_id.get(file_system_id)
    if file_system is not None and file_system.life_cycle_state != "available":
        raise IncorrectFileSystemLifeCycleState(file_system_id, file_system.life_cycle_state)
    mount_target = original(backend, file_system_id, *args, **kwargs)
    provision(mount_target, "efs::mount-target.create", mount_target.mount_target_id, "creating", "available")
    return mount_target


def _with_state(original: Callable[..., Any], resource: Any) -> dict[str, Any]:
    # moto builds these from __dict__, where the timed state no longer lives.
    return {**original(resource), "LifeCycleState": resource.life_cycle_state}


def _size_in_bytes(file_system: Any) -> dict[str, Any]:
    """The ``FileSystemSize`` shape, metered from the data directory (all of it in Standard)."""
    size = efs_data.stats(efs_data.file_system_dir(file_system.file_system_id)).bytes
    return {"Value": size, "ValueInIA": 0, "ValueInStandard": size, "Timestamp": time.time()}


def _backup_policy(file_system: Any) -> dict[str, str] | None:
    """The ``BackupPolicy`` shape: ENABLED / DISABLED, or ENABLING / DISABLING while a
    PutBackupPolicy takes effect (terraform-provider-aws waits through them). None while never set
    (moto's answer for a file system created without ``Backup``: PolicyNotFound)."""
    policy_timeline: Timeline | None = file_system.__dict__.get("_backup_policy")
    if policy_timeline is None:
        return {"Status": "ENABLED"} if file_system._backup else None
    return {"Status": policy_timeline.status() or "DISABLED"}


def file_systems() -> Iterator[Any]:
    """Every emulated file system, in every account and region."""
    for account in list(efs_backends.values()):
        for backend in list(account.values()):
            yield from list(backend.file_systems_by_id.values())


def find_file_system(file_system_id: str) -> Any | None:
    return next((fs for fs in file_systems() if fs.file_system_id == file_system_id), None)


class EmulatedEFSResponse(EFSResponse):
    def _file_system(self) -> Any:
        file_system_id = self._get_param("FileSystemId")
        file_system = self.efs_backend.file_systems_by_id.get(file_system_id.rsplit("/", 1)[-1])
        if file_system is None:
            raise FileSystemNotFound(file_system_id)
        return file_system

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> tuple[str, dict[str, Any]]:
        return json.dumps(body), {"status": status, "Content-Type": "application/json"}

    def put_backup_policy(self) -> tuple[str, dict[str, Any]]:
        """https://docs.aws.amazon.com/efs/latest/ug/API_PutBackupPolicy.html"""
        file_system = self._file_system()
        status = (self._get_param("BackupPolicy") or {}).get("Status")
        if status not in ("ENABLED", "DISABLED"):
            raise BadRequest(f"Invalid backup policy status: {status}. Valid values are ENABLED, DISABLED.")
        if file_system.life_cycle_state != "available":
            raise IncorrectFileSystemLifeCycleState(file_system.file_system_id, file_system.life_cycle_state)
        current = (_backup_policy(file_system) or {}).get("Status")
        policy_timeline = file_system.__dict__.setdefault("_backup_policy", Timeline(current or "DISABLED"))
        if current != status:
            transient = "ENABLING" if status == "ENABLED" else "DISABLING"
            policy_timeline.move(transient, status, time.time() + wait_seconds("efs::backup-policy.update"))
        return self._json({"BackupPolicy": _backup_policy(file_system)})

    def describe_backup_policy(self) -> tuple[str, dict[str, Any]]:
        """https://docs.aws.amazon.com/efs/latest/ug/API_DescribeBackupPolicy.html: PolicyNotFound
        while never set, as AWS answers for a file system whose automatic backups were never turned on
        (aws-samples/service-screener-v2#95)."""
        policy = _backup_policy(self._file_system())
        if policy is None:
            raise PolicyNotFound("None")
        return self._json({"BackupPolicy": policy})

    def describe_tags(self) -> tuple[str, dict[str, Any]]:
        """The deprecated DescribeTags (community.aws.efs still calls it):
        https://docs.aws.amazon.com/efs/latest/ug/API_DescribeTags.html"""
        file_system = self._file_system()
        tags = self.efs_backend.list_tags_for_resource(file_system.file_system_id)
        start = int(self._get_param("Marker") or 0)
        count = int(self._get_param("MaxItems") or 100)
        body: dict[str, Any] = {"Tags": tags[start : start + count]}
        if self._get_param("Marker"):
            body["Marker"] = self._get_param("Marker")
        if start + count < len(tags):
            body["NextMarker"] = str(start + count)
        return self._json(body)

    def create_tags(self) -> tuple[str, dict[str, Any]]:
        """The deprecated CreateTags: https://docs.aws.amazon.com/efs/latest/ug/API_CreateTags.html"""
        file_system = self._file_system()
        tags = {tag["Key"]: tag["Value"] for tag in self._get_param("Tags") or []}
        self.efs_backend.tag_resource(file_system.file_system_arn, tags)
        return self._json({}, 204)

    def delete_tags(self) -> tuple[str, dict[str, Any]]:
        """The deprecated DeleteTags: https://docs.aws.amazon.com/efs/latest/ug/API_DeleteTags.html"""
        file_system = self._file_system()
        self.efs_backend.untag_resource(file_system.file_system_arn, self._get_param("TagKeys") or [])
        return self._json({}, 204)

    def update_file_system(self) -> tuple[str, dict[str, Any]]:
        """https://docs.aws.amazon.com/efs/latest/ug/API_UpdateFileSystem.html (throughput only)."""
        file_system = self._file_system()
        if file_system.life_cycle_state != "available":
            raise IncorrectFileSystemLifeCycleState(file_system.file_system_id, file_system.life_cycle_state)
        mode = self._get_param("ThroughputMode") or file_system.throughput_mode
        if mode not in ("bursting", "provisioned", "elastic"):
            raise BadRequest(f"Invalid throughput mode: {mode}")
        provisioned = self._get_param("ProvisionedThroughputInMibps")
        if mode == "provisioned" and provisioned is None and not file_system.provisioned_throughput_in_mibps:
            raise BadRequest("ProvisionedThroughputInMibps is required for the provisioned throughput mode")
        file_system.throughput_mode = mode
        if provisioned is not None:
            file_system.provisioned_throughput_in_mibps = provisioned
        return self._json(file_system.info_json(), 202)


# Paths from botocore's efs model for the legacy tag operations (moto routes the others).
NEW_PATHS = (
    "/2015-02-01/tags/<file_system_id>/",
    "/2015-02-01/create-tags/<file_system_id>",
    "/2015-02-01/delete-tags/<file_system_id>",
)


def install() -> None:
    FileSystem.life_cycle_state = TimedStatus()  # type: ignore[assignment]
    MountTarget.life_cycle_state = TimedStatus()  # type: ignore[assignment]
    FileSystem.backup_policy = property(_backup_policy)  # type: ignore[assignment]
    FileSystem.size_in_bytes = property(_size_in_bytes)  # type: ignore[assignment]
    wrap(FileSystem, "info_json")(_with_state)
    wrap(MountTarget, "info_json")(_with_state)
    wrap(EFSBackend, "create_file_system")(_create_file_system)
    wrap(EFSBackend, "create_mount_target")(_create_mount_target)
    wrap(EFSBackend, "delete_file_system")(_delete_file_system)
    route(efs_urls, EmulatedEFSResponse, NEW_PATHS)

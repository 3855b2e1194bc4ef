"""EFS: file systems and mount targets are ``creating`` before ``available``, as on AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.efs.exceptions import EFSError
from moto.efs.models import EFSBackend, FileSystem, MountTarget

from emulator.lifecycle import TimedStatus, provision
from emulator.patching import wrap


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
    return file_system


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


def install() -> None:
    FileSystem.life_cycle_state = TimedStatus()  # type: ignore[assignment]
    MountTarget.life_cycle_state = TimedStatus()  # type: ignore[assignment]
    wrap(FileSystem, "info_json")(_with_state)
    wrap(MountTarget, "info_json")(_with_state)
    wrap(EFSBackend, "create_file_system")(_create_file_system)
    wrap(EFSBackend, "create_mount_target")(_create_mount_target)

"""The EFS data plane: every emulated file system is a local directory, every recovery point a copy.

``<state_dir>/efs/<fs-id>/`` is created with the file system and removed with it; the local site's
hub host mounts it as its home filesystem (``GET /_emulator/efs/<fs-id>`` says where it is).
A backup copies the tree to ``<state_dir>/recovery-points/<id>/``; a restore copies it back into
an ``aws-backup-restore_<timestamp>`` directory off the root of the target file system, as AWS
Backup does for EFS ("each restore attempt creates a new recovery directory off of the root
directory": https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-efs.html).

Copies keep file modes and modification times (and owners when the process may set them).
Sockets and named pipes are left out, as AWS Backup leaves them out of EFS backups
(https://docs.aws.amazon.com/efs/latest/ug/awsbackup.html).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_root: Path | None = None
_lock = threading.RLock()


def configure(state_dir: Path) -> None:
    global _root
    _root = state_dir.resolve()
    # The data plane's directory exists from the start, as a mount point of EFS does before the first
    # file system: the hub machine bind-mounts it, and a runbook's preflight checks it.
    (_root / "efs").mkdir(parents=True, exist_ok=True)


def root() -> Path:
    if _root is None:
        raise RuntimeError("the EFS data plane is not configured (emulator.fidelity.install)")
    return _root


def file_system_dir(file_system_id: str) -> Path:
    return root() / "efs" / file_system_id


def recovery_point_dir(recovery_point_id: str) -> Path:
    return root() / "recovery-points" / recovery_point_id


def create_file_system(file_system_id: str) -> Path:
    path = file_system_dir(file_system_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove(path: Path) -> None:
    with _lock:
        shutil.rmtree(path, ignore_errors=True)


def clear() -> None:
    """Forget every file system's and recovery point's data (the emulator's reset). The directories
    themselves stay: a running machine bind-mounts ``efs/`` (the local hub's /srv/efs) and would
    keep a removed one, never seeing the file systems created after the reset."""
    with _lock:
        for kind in ("efs", "recovery-points"):
            directory = root() / kind
            for entry in list(directory.iterdir()) if directory.is_dir() else []:
                if entry.is_dir() and not entry.is_symlink():
                    remove(entry)
                else:
                    entry.unlink(missing_ok=True)


@dataclass
class TreeStats:
    files: int = 0
    bytes: int = 0


def _walk(top: Path) -> list[Path]:
    """Every entry under ``top`` (directories before their contents), in a stable order."""
    entries: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        base = Path(dirpath)
        entries.extend(base / name for name in dirnames)
        entries.extend(base / name for name in sorted(filenames))
    return entries


def stats(top: Path) -> TreeStats:
    """Regular files and their bytes under ``top``."""
    result = TreeStats()
    for path in _walk(top) if top.is_dir() else []:
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            result.files += 1
            result.bytes += info.st_size
    return result


def changed_bytes(top: Path, previous: Path | None) -> int:
    """Bytes of the regular files under ``top`` that are new or changed since ``previous`` (a copy).

    AWS Backup's EFS backups are incremental: "only files and directories that have been changed,
    added, or removed are copied" (https://docs.aws.amazon.com/efs/latest/ug/awsbackup.html), and a
    job's BackupSizeInBytes "refers to the delta bytes transferred" (botocore's backup model).
    """
    total = 0
    for path in _walk(top) if top.is_dir() else []:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            continue
        before = None
        if previous is not None:
            with contextlib.suppress(OSError):
                before = (previous / path.relative_to(top)).lstat()
        if before is None or (before.st_size, before.st_mtime_ns) != (info.st_size, info.st_mtime_ns):
            total += info.st_size
    return total


def _copy_entry(source: Path, target: Path, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        target.symlink_to(os.readlink(source))
    elif stat.S_ISDIR(info.st_mode):
        target.mkdir(exist_ok=True)
    elif stat.S_ISREG(info.st_mode):
        shutil.copyfile(source, target)
    else:  # sockets, FIFOs, devices: not in EFS backups
        return
    with contextlib.suppress(PermissionError):
        os.chown(target, info.st_uid, info.st_gid, follow_symlinks=False)
    if stat.S_ISREG(info.st_mode):  # directories get theirs once filled (they may be read-only)
        os.chmod(target, stat.S_IMODE(info.st_mode))


def copy_tree(source: Path, target: Path) -> TreeStats:
    """Copy ``source``'s contents into ``target`` (created), keeping modes, owners and mtimes."""
    copied = TreeStats()
    with _lock:
        target.mkdir(parents=True, exist_ok=True)
        entries = _walk(source) if source.is_dir() else []
        directories: list[tuple[Path, os.stat_result]] = [(target, source.stat())] if source.is_dir() else []
        for path in entries:
            info = path.lstat()
            destination = target / path.relative_to(source)
            if stat.S_ISREG(info.st_mode):
                copied.files += 1
                copied.bytes += info.st_size
            _copy_entry(path, destination, info)
            if stat.S_ISDIR(info.st_mode):
                directories.append((destination, info))
            elif stat.S_ISREG(info.st_mode):
                os.utime(destination, ns=(info.st_atime_ns, info.st_mtime_ns))
        # Directory times last: copying into a directory changes its mtime.
        for destination, info in reversed(directories):
            os.chmod(destination, stat.S_IMODE(info.st_mode))
            os.utime(destination, ns=(info.st_atime_ns, info.st_mtime_ns))
    return copied


def copy_items(source: Path, target: Path, items: list[str]) -> TreeStats:
    """Copy the listed paths (relative to ``source``, starting with "/") into ``target``, keeping
    their relative path: "The full hierarchy of the specified items is preserved in the recovery
    directory" (restoring-efs.html). Missing items are skipped."""
    copied = TreeStats()
    parents: set[Path] = set()
    with _lock:
        for item in items:
            relative = Path(item.lstrip("/"))
            origin = source / relative
            if not origin.exists() and not origin.is_symlink():
                continue
            destination = target / relative
            for parent in reversed(relative.parents):
                if str(parent) != ".":
                    (target / parent).mkdir(parents=True, exist_ok=True)
                    parents.add(parent)
            info = origin.lstat()
            if stat.S_ISDIR(info.st_mode):
                part = copy_tree(origin, destination)
            else:
                _copy_entry(origin, destination, info)
                if stat.S_ISREG(info.st_mode):
                    os.utime(destination, ns=(info.st_atime_ns, info.st_mtime_ns))
                    part = TreeStats(1, info.st_size)
                else:
                    part = TreeStats()
            copied.files += part.files
            copied.bytes += part.bytes
        # Parents keep their modes and times too, set deepest first once everything is in.
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            parent_info = (source / parent).stat()
            with contextlib.suppress(PermissionError):
                os.chown(target / parent, parent_info.st_uid, parent_info.st_gid)
            os.chmod(target / parent, stat.S_IMODE(parent_info.st_mode))
            os.utime(target / parent, ns=(parent_info.st_atime_ns, parent_info.st_mtime_ns))
    return copied


def restore_directory_name(at_ns: int) -> str:
    """``aws-backup-restore_2025-03-28T14-13-02-250589632Z``: the restore's start time in UTC with
    dashes for colons and nanoseconds, as the directories AWS Backup creates are named (restoring-efs.html
    names the pattern ``aws-backup-restore_datetime``; 2021-2022 runbooks show milliseconds,
    ``aws-backup-restore_2022-01-17T08-53-32-695Z``, later ones nanoseconds)."""
    seconds, nanoseconds = divmod(at_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H-%M-%S")
    return f"aws-backup-restore_{stamp}-{nanoseconds:09d}Z"

"""The file operations the runbooks make on a home file system, run where its files are.

This module is standard-library Python only and stands alone: the ``local_path`` way imports it,
the ``ssh_host`` way sends its source to ``python3 -`` on the host that mounts the file system
(runbooks/home_access.py), and any other way (a Kubernetes Job mounting the home claim) runs it the
same: ``python3 home_ops.py OP ROOT JSON_ARGS`` prints one JSON document on stdout.

Every path an operation takes is relative to ROOT, the file system's root directory as that side
sees it, and may not leave it.
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import json
import os
import random
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

SIDE_PREFIX = "aws-backup-restore_"
USAGE_STATE_DIR = ".sciplat-usage"


class OpError(Exception):
    """An operation cannot be done as asked (a path outside the root, a missing directory)."""


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel.strip("/")).resolve() if rel.strip("/") else root.resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise OpError(f"{rel!r} is outside the file system's root")
    return path


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


# -- the operations ------------------------------------------------------------------------------


def probe(root: Path) -> dict[str, Any]:
    """Whether the root is a directory this side can write in."""
    return {
        "root": str(root),
        "is_dir": root.is_dir(),
        "writable": root.is_dir() and os.access(root, os.W_OK | os.X_OK),
        "python": sys.version.split()[0],
    }


def is_dir(root: Path, path: str) -> bool:
    return _inside(root, path).is_dir()


def side_dirs(root: Path) -> list[str]:
    """The restore directories AWS Backup left at the root (``aws-backup-restore_<timestamp>``)."""
    return sorted(p.name for p in root.glob(f"{SIDE_PREFIX}*") if p.is_dir())


def digests(root: Path, path: str) -> dict[str, str]:
    """sha256 of every regular file under ``path``, by path relative to it."""
    base = _inside(root, path)
    return {str(p.relative_to(base)): digest(p) for p in sorted(base.rglob("*")) if p.is_file()}


def merge(root: Path, source: str, target: str, overwrite: bool = False) -> dict[str, list[str]]:
    """Move every file of ``source`` into ``target``. An existing different file is replaced only
    when it is older than the restored copy, or with ``overwrite``; else it is kept and the restored
    copy stays in ``source``. Returns the relative paths by outcome."""
    src_root, dst_root = _inside(root, source), _inside(root, target)
    outcome: dict[str, list[str]] = {"moved": [], "replaced": [], "identical": [], "kept_newer": []}
    dst_root.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(src_root):
        base = Path(dirpath)
        rel_dir = base.relative_to(src_root)
        dest_dir = dst_root / rel_dir
        if not dest_dir.exists():
            dest_dir.mkdir(parents=True)
            shutil.copystat(base, dest_dir)
            _copy_owner(base, dest_dir)
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


def _copy_owner(source: Path, target: Path) -> None:
    info = source.lstat()
    with contextlib.suppress(PermissionError):
        os.chown(target, info.st_uid, info.st_gid)


def lift(root: Path, side: str) -> dict[str, Any]:
    """Move the entries of the restore directory ``side`` to the root, then remove it."""
    side_path = _inside(root, side)
    if not side_path.is_dir():
        raise OpError(f"/{side} is not on the file system")
    moved = 0
    for entry in sorted(side_path.iterdir()):
        target = root / entry.name
        if target.exists():
            raise OpError(f"/{entry.name} exists at the root; not lifting /{side}/{entry.name} over it")
        os.replace(entry, target)
        moved += 1
    side_path.rmdir()
    files = sum(1 for p in root.rglob("*") if p.is_file())
    return {"moved": moved, "files": files}


def remove(root: Path, path: str) -> bool:
    """Remove a directory tree (or a file); False when it was not there."""
    target = _inside(root, path)
    if target == root.resolve():
        raise OpError("refusing to remove the file system's root")
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
        return True
    if target.exists() or target.is_symlink():
        target.unlink()
        return True
    return False


def read_files(root: Path, path: str, names: list[str]) -> dict[str, str | None]:
    """The text of the named files of directory ``path`` (None for a missing one)."""
    base = _inside(root, path)
    return {name: (base / name).read_text() if (base / name).is_file() else None for name in names}


def tree(
    root: Path,
    path: str = "",
    sample: int = 0,
    always: list[str] | None = None,
    seed: int = 0,
    hash_only: list[str] | None = None,
) -> dict[str, Any]:
    """Every regular file under ``path`` (restore side directories and the usage measurement's state
    left out) with mode, mtime and size; sha256 for all of them, or, when ``sample`` is set and the
    tree has more files, for ``sample`` of them drawn at random (seeded) plus every file under the
    ``always`` prefixes; or for exactly the files of ``hash_only`` that exist."""
    base = _inside(root, path)
    files: dict[str, dict[str, Any]] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        if Path(dirpath) == base:
            dirnames[:] = [d for d in dirnames if not d.startswith(SIDE_PREFIX)]
        dirnames[:] = [d for d in dirnames if d != USAGE_STATE_DIR]
        for name in filenames:
            file = Path(dirpath) / name
            info = file.lstat()
            if stat.S_ISREG(info.st_mode):
                files[str(file.relative_to(base))] = {
                    "mode": stat.S_IMODE(info.st_mode),
                    "mtime": info.st_mtime,
                    "size": info.st_size,
                }
    names = sorted(files)
    hashed = names
    if hash_only is not None:
        hashed = sorted(set(hash_only) & set(names))
    elif sample and len(names) > sample:
        prefixes = tuple(p.rstrip("/") + "/" for p in always or [])
        pinned = [n for n in names if prefixes and n.startswith(prefixes)]
        rest = [n for n in names if not (prefixes and n.startswith(prefixes))]
        hashed = sorted(set(pinned) | set(random.Random(seed).sample(rest, min(sample, len(rest)))))
    for name in hashed:
        files[name]["sha256"] = digest(base / name)
    return {"files": files, "total": len(names), "hashed": len(hashed)}


OPERATIONS = {
    "probe": probe,
    "is_dir": is_dir,
    "side_dirs": side_dirs,
    "digests": digests,
    "merge": merge,
    "lift": lift,
    "remove": remove,
    "read_files": read_files,
    "tree": tree,
}


def call(root: Path, op: str, args: dict[str, Any]) -> Any:
    if op not in OPERATIONS:
        raise OpError(f"unknown operation {op!r}")
    if op != "probe" and not root.is_dir():
        raise OpError(f"{root} is not a directory")
    return OPERATIONS[op](root, **args)


def main(argv: list[str]) -> int:
    op, root, args = argv[0], Path(argv[1]), json.loads(argv[2]) if len(argv) > 2 else {}
    try:
        result = {"ok": True, "result": call(root, op, args)}
    except (OpError, OSError) as error:
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

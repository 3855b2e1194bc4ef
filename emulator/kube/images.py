"""OCI images without a registry or a Docker engine: built from local trees, imported into a node.

``archive()`` writes an OCI image layout (one uncompressed layer, a config, a manifest, an index
naming the image) as a tar, cached under ``$SCIPLAT_CACHE/images/<key>.tar`` where the key covers
the image's name, its config and the tree's identity. ``import_archive()`` loads it into a node's
containerd (namespace ``k8s.io``, the CRI's) under that name, so a pod asking for
``docker.io/library/python:3.12-slim`` with ``imagePullPolicy: IfNotPresent`` starts without a pull.

The images the local clusters need (``local_images()``): the pause image (Kubernetes' own
``build/pause/linux/pause.c`` from the ``k8s.io/kubernetes`` module, compiled static) and the stock
Python image the home-usage CronJob names, made from the local machines' Debian tree.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.kube import build
from environments.core import cache_root

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
PYTHON_IMAGE = "docker.io/library/python:3.12-slim"
# What a Python image does not need from the machines' tree (Node.js, docs, apt's caches): smaller
# layers import faster.
PYTHON_EXCLUDES = (
    "usr/lib/node_modules",
    "usr/share/nodejs",
    "usr/include",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/lib/x86_64-linux-gnu/libnode",
    "boot",
    "proc",
    "sys",
    "dev",
    "run",
    "tmp",
)


@dataclass(frozen=True)
class ImageSpec:
    name: str
    tree: Path
    config: dict[str, Any]
    excludes: tuple[str, ...] = ()
    identity: str = ""  # what changes when the tree's content does (its cache key)
    # Directories laid over the tree, one layer each, bottom first: overlayfs upper directories, whose
    # whiteouts (0/0 character devices, opaque directories) become the OCI ``.wh.`` entries.
    layers: tuple[Path, ...] = ()
    # More names for the same image (another tag), each imported alongside ``name``.
    aliases: tuple[str, ...] = ()


def images_dir() -> Path:
    return cache_root() / "images"


def _key(spec: ImageSpec) -> str:
    material = json.dumps(
        [spec.name, spec.config, spec.excludes, spec.identity or str(spec.tree)], sort_keys=True
    )
    if spec.layers or spec.aliases:
        material += json.dumps([[str(layer) for layer in spec.layers], spec.aliases])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


# Mount points the runtime fills: in the image as empty directories.
MOUNT_POINTS = ("proc", "sys", "dev", "run", "tmp")


def _excluded(spec: ImageSpec, name: str) -> bool:
    return any(name == e or name.startswith(e + "/") for e in spec.excludes)


def _layer(spec: ImageSpec, path: Path) -> None:
    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if _excluded(spec, info.name) else info

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(spec.tree)):
            tar.add(spec.tree / entry, arcname=entry, filter=keep)
        for entry in MOUNT_POINTS:
            if entry in spec.excludes and (spec.tree / entry).is_dir():
                tar.add(spec.tree / entry, arcname=entry, recursive=False)


def _upper_layer(spec: ImageSpec, upper: Path, path: Path) -> None:
    """An overlayfs upper directory as an OCI layer: its whiteouts become ``.wh.`` entries."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for directory, subdirs, files in os.walk(upper):
            subdirs.sort()  # the walk's order, so the layer's bytes (its digest) do not vary
            relative = os.path.relpath(directory, upper)
            for entry in [*subdirs, *sorted(files)]:
                name = entry if relative == "." else f"{relative}/{entry}"
                if _excluded(spec, name):
                    if entry in subdirs:
                        subdirs.remove(entry)
                    continue
                full = Path(directory) / entry
                info = os.lstat(full)
                if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                    parent = os.path.dirname(name)
                    tar.addfile(tarfile.TarInfo(f"{parent}/.wh.{entry}" if parent else f".wh.{entry}"))
                    continue
                tar.add(full, arcname=name, recursive=False)
                if entry in subdirs and _opaque(full):
                    tar.addfile(tarfile.TarInfo(f"{name}/.wh..wh..opq"))


def _opaque(directory: Path) -> bool:
    try:
        return os.getxattr(directory, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def _add_layer_blob(layout: Path, write: Callable[[Path], None]) -> dict[str, Any]:
    """Write one layer into the layout's blobs; its descriptor (uncompressed: digest = diff ID)."""
    scratch = layout / "layer.tar"
    write(scratch)
    hasher = hashlib.sha256()
    with scratch.open("rb") as layer:
        for chunk in iter(lambda: layer.read(1 << 20), b""):
            hasher.update(chunk)
    blob = layout / "blobs" / "sha256" / hasher.hexdigest()
    scratch.rename(blob)
    return {
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": f"sha256:{hasher.hexdigest()}",
        "size": blob.stat().st_size,
    }


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def archive(spec: ImageSpec, log: Callable[[str], None] = print) -> Path:
    """The image as an OCI layout tar (built once per key)."""
    target = images_dir() / f"{_key(spec)}.tar"
    if target.exists():
        return target
    images_dir().mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"images: building {spec.name} from {spec.tree} (once; cached)")
    with tempfile.TemporaryDirectory(dir=images_dir()) as scratch:
        layout = Path(scratch) / "layout"
        (layout / "blobs" / "sha256").mkdir(parents=True)
        layers = [_add_layer_blob(layout, lambda path: _layer(spec, path))]
        layers += [
            _add_layer_blob(layout, lambda path, u=upper: _upper_layer(spec, u, path))
            for upper in spec.layers
        ]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": spec.config,
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }
        config_digest, config_size = _blob(layout, json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config_size,
            },
            "layers": layers,
        }
        manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_digest,
                    "size": manifest_size,
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
                    },
                }
                for name in (spec.name, *spec.aliases)
            ],
        }
        (layout / "index.json").write_text(json.dumps(index))
        (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        partial = Path(scratch) / "image.tar"
        with tarfile.open(partial, "w") as tar:
            for entry in sorted(os.listdir(layout)):
                tar.add(layout / entry, arcname=entry)
        partial.rename(target)
    log(
        f"images: built {spec.name} in {time.monotonic() - started:.0f} s ({target.stat().st_size >> 20} MiB)"
    )
    return target


def read_archive(path: Path) -> tuple[list[str], bytes]:
    """The image names in an archive's index and the one manifest they name."""
    with tarfile.open(path) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        entries = index.get("manifests", [])
        digests = {entry["digest"] for entry in entries}
        if len(digests) != 1:
            raise ValueError(f"{path.name}: one image per archive, found {len(digests)} manifests")
        blob = tar.extractfile(f"blobs/sha256/{digests.pop().removeprefix('sha256:')}")
        manifest = blob.read() if blob else b""
    return [entry.get("annotations", {}).get("io.containerd.image.name", "") for entry in entries], manifest


def import_archive(socket: Path, archive_path: Path) -> None:
    """Load an image archive into the containerd at ``socket`` (namespace k8s.io), unpacked."""
    result = subprocess.run(
        [
            "ctr",
            "--address",
            str(socket),
            "-n",
            "k8s.io",
            "images",
            "import",
            "--all-platforms",
            str(archive_path),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {archive_path.name} into {socket} failed: {result.stderr.strip()}")


def image_names(socket: Path) -> list[str]:
    out = subprocess.run(
        ["ctr", "--address", str(socket), "-n", "k8s.io", "images", "ls", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def pause_tree() -> Path:
    """Kubernetes' pause program, compiled static from the module's source (cached by its hash)."""
    source = build.module_dir() / "build" / "pause" / "linux" / "pause.c"
    if not source.exists():
        build.download_module()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    tree = cache_root() / "kube" / f"pause-{digest}"
    if not (tree / "pause").exists():
        tree.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["gcc", "-Os", "-static", "-DVERSION=v3.10", "-o", str(tree / ".pause.partial"), str(source)],
            check=True,
            capture_output=True,
        )
        (tree / ".pause.partial").rename(tree / "pause")
    return tree


def local_images() -> Iterable[ImageSpec]:
    """The images every real node of a local cluster gets."""
    from machines import rootfs

    pause = pause_tree()
    yield ImageSpec(
        PAUSE_IMAGE, pause, {"Entrypoint": ["/pause"], "User": "65535:65535"}, identity=pause.name
    )
    tree = rootfs.build(log=lambda message: print(message, flush=True))
    yield ImageSpec(
        PYTHON_IMAGE,
        tree,
        {"Env": ["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"], "Cmd": ["python3"]},
        PYTHON_EXCLUDES,
        identity=tree.name,
    )


# Seeded containerd roots: importing the images into every new node's containerd stores and unpacks
# them again each time (the Python image alone costs a node about 7 s of CPU, an environment image
# several times that). A new node's containerd starts instead from a hard-linked copy of a root that
# already holds its images, built once per set of archives. Unpacked layers are read-only lower directories
# of overlayfs and content blobs are never written in place, so links are safe; the two bolt
# databases are copied. At most ROOTS_KEPT sets stay cached, the least recently used go first.
ROOTS_KEPT = 4
_DATABASES = ("io.containerd.metadata.v1.bolt/meta.db", "io.containerd.snapshotter.v1.overlayfs/metadata.db")


def _roots_dir() -> Path:
    return images_dir() / "roots"


def _roots_key(archives: Iterable[Path]) -> str:
    material = [[str(a), a.stat().st_size, a.stat().st_mtime_ns] for a in sorted(set(archives))]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:16]


def containerd_config(root: Path, state: Path, socket: Path, opt: Path) -> str:
    """What every containerd here is told first: where it keeps its data and where it listens."""
    return (
        f'version = 2\nroot = "{root}"\nstate = "{state}"\n'
        f'[grpc]\n  address = "{socket}"\n[ttrpc]\n  address = "{socket}.ttrpc"\n'
        f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{opt}"\n'
    )


def wait_containerd(socket: Path, exited: Callable[[], bool], timeout: float = 30.0) -> str | None:
    """None once the containerd on ``socket`` answers; else why it does not (``exited()`` says whether
    its process has ended)."""
    deadline = time.monotonic() + timeout
    version = ["ctr", "--address", str(socket), "version"]
    while time.monotonic() < deadline:
        if socket.exists() and subprocess.run(version, capture_output=True).returncode == 0:
            return None
        if exited():
            return "exited"
        time.sleep(0.2)
    return f"did not answer on {socket} within {timeout:.0f} s"


def _build_root(target: Path, archives: list[Path]) -> None:
    """A containerd of its own, the archives imported into it, stopped; its root moved to ``target``."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    state = Path(tempfile.mkdtemp(prefix="sciplat-seed-", dir="/run"))
    socket = scratch / "c.sock"
    config = scratch / "config.toml"
    config.write_text(containerd_config(scratch / "root", state, socket, scratch / "opt"))
    try:
        with (scratch / "containerd.log").open("wb") as log:
            process = subprocess.Popen(["containerd", "--config", str(config)], stdout=log, stderr=log)
        try:
            failure = wait_containerd(socket, lambda: process.poll() is not None)
            if failure:
                last = (scratch / "containerd.log").read_text(errors="replace")[-600:]
                raise RuntimeError(f"containerd for a seeded root {failure}: {last}")
            for archive in archives:
                import_archive(socket, archive)
        finally:
            process.terminate()
            process.wait(timeout=30)
        (scratch / "root").rename(target)
    finally:
        subprocess.run(["rm", "-rf", str(scratch), str(state)], check=False)


def seed_root(root: Path, archives: Iterable[Path]) -> bool:
    """Give a new node's containerd ``root`` the archives' images, hard-linked from the cached seeded
    root for that set (built first if missing). False, and ``root`` absent, where that cannot be done
    (another file system, a cache being pruned): the node then imports them itself."""
    archives = sorted(set(archives))
    if root.exists() or not archives:
        return False
    roots = _roots_dir()
    roots.mkdir(parents=True, exist_ok=True)
    seeded = roots / _roots_key(archives)
    root.parent.mkdir(parents=True, exist_ok=True)
    # Held while copying too, so that pruning never removes a root being copied.
    with (roots / f"{seeded.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not seeded.is_dir():
            _build_root(seeded, archives)
        os.utime(seeded)  # its last use, for pruning
        copied = subprocess.run(["cp", "-a", "--link", str(seeded), str(root)], capture_output=True)
        if copied.returncode != 0:
            subprocess.run(["rm", "-rf", str(root)], check=False)
            return False
        for database in _DATABASES:
            fresh = root / f"{database}.copy"
            subprocess.run(["cp", str(seeded / database), str(fresh)], check=True)
            fresh.replace(root / database)
    _prune_roots(roots)
    return True


def _prune_roots(roots: Path) -> None:
    built = [p for p in roots.iterdir() if p.is_dir() and "." not in p.name]  # not a scratch being built
    kept = sorted(built, key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[ROOTS_KEPT:]:
        with (roots / f"{old.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being built or used this moment
            subprocess.run(["rm", "-rf", str(old)], check=False)

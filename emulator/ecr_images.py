"""Images pushed into the emulated ECR: what ``docker push`` does to the registry, for local OCI archives.

``POST /_emulator/ecr/push`` with ``{"archive": "<path of an OCI layout tar>"}`` (emulator.kube.images
writes them). Every name in the archive's index must be an ECR image URI,
``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``, of a repository that exists, as a push
needs. The manifest is put under each tag (``imageDigest`` is the manifest's sha256, as a registry
computes it, so ``BatchGetImage``/``PutImage`` retagging works as on AWS), and the archive is kept for
that account and region: every real node of a cluster there has it imported into its containerd, the
running nodes now and new ones as they start, which stands for the node's pull from ECR.

``POST /_emulator/images/public`` with the same body stands for a public registry (quay.io, Docker Hub)
that every node can pull from: the archive's names must not be ECR URIs, and every real node of every
cluster gets it, now and when it starts. The local EKS site's chart images come this way
(emulator.kube.hub_images).
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any

from moto.ecr.exceptions import RepositoryNotFoundException
from moto.ecr.models import ecr_backends

from emulator.kube import images

ECR_IMAGE_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[a-z0-9._/-]+):(?P<tag>[\w.-]+)$"
)
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"

_lock = threading.Lock()
_pushed: dict[tuple[str, str], dict[str, Path]] = {}  # (account, region) -> image name -> archive
_public: dict[str, Path] = {}  # image name -> archive


def _archive(request: dict[str, Any]) -> Path:
    archive = Path(str(request["archive"]))
    if not archive.is_file():
        raise ValueError(f"archive {archive} does not exist")
    return archive


def push(request: dict[str, Any]) -> dict[str, Any]:
    archive = _archive(request)
    names, manifest = images.read_archive(archive)
    targets = []
    for name in names:
        match = ECR_IMAGE_RE.match(name)
        if match is None:
            raise ValueError(
                f"{name!r} is not an ECR image URI "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)"
            )
        targets.append(match)
    digest = f"sha256:{hashlib.sha256(manifest).hexdigest()}"
    for match in targets:
        backend = ecr_backends[match["account"]][match["region"]]
        if match["repository"] not in backend.repositories:
            raise RepositoryNotFoundException(match["repository"], match["account"])
    for match in targets:
        backend = ecr_backends[match["account"]][match["region"]]
        repository = backend.repositories[match["repository"]]
        if any(match["tag"] in i.image_tags and i.get_image_digest() == digest for i in repository.images):
            continue
        backend.put_image(match["repository"], manifest.decode(), match["tag"], MANIFEST_TYPE, digest)
    pushed = []
    with _lock:
        for match in targets:
            _pushed.setdefault((match["account"], match["region"]), {})[match.group(0)] = archive
            pushed.append(match.group(0))
    from emulator import eks_kubernetes

    nodes = eks_kubernetes.load_image(targets[0]["account"], targets[0]["region"], archive)
    return {"images": pushed, "imageDigest": digest, "nodes": nodes}


def publish(request: dict[str, Any]) -> dict[str, Any]:
    archive = _archive(request)
    names, _ = images.read_archive(archive)
    ecr = [name for name in names if ECR_IMAGE_RE.match(name)]
    if ecr:
        raise ValueError(f"{ecr[0]!r} is an ECR image URI: push it to its repository (/_emulator/ecr/push)")
    with _lock:
        for name in names:
            _public[name] = archive
    from emulator import eks_kubernetes

    return {"images": names, "nodes": eks_kubernetes.load_image(None, None, archive)}


def archives(account: str, region: str) -> list[Path]:
    """What a new node in that account and region imports (each archive once): its ECR pushes and
    the public images."""
    with _lock:
        return sorted({*_pushed.get((account, region), {}).values(), *_public.values()})


def reset() -> None:
    with _lock:
        _pushed.clear()
        _public.clear()

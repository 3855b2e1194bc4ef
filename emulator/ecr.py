"""ECR tag immutability as AWS enforces it, with exclusion filters.

moto stores ``IMMUTABLE_WITH_EXCLUSION`` / ``MUTABLE_WITH_EXCLUSION`` and their
``imageTagMutabilityExclusionFilters`` but, when a push (PutImage) would move an existing tag:

- answers ``ImageAlreadyExistsException``, which AWS keeps for a push that changes nothing; moving an
  immutable tag is ``ImageTagAlreadyExistsException``
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html#API_PutImage_Errors);
- matches a filter as a regular expression from the tag's start, so the filter ``stable`` also
  excluded ``stable-old`` and ``*-rc`` was an internal error. A filter is a wildcard (``*`` any
  characters) that must match the whole tag
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html,
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html).

A PutImage without a digest also gets the manifest's sha256 as its ``imageDigest``, as a registry
computes it (moto hashed the layers' digests only, so two images differing in their config shared one
digest, and every image without layers had the digest of nothing).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable
from typing import Any

from moto.ecr.exceptions import ServiceException
from moto.ecr.models import ECRBackend, Image, Repository

from emulator.patching import wrap

IMMUTABLE = ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION")


class ImageTagAlreadyExistsException(ServiceException):
    code = "ImageTagAlreadyExistsException"


def excluded(repository: Repository, tag: str) -> bool:
    """Whether an exclusion filter names the tag (``*`` matches any characters, nothing else is special)."""
    filters = repository.image_tag_mutability_exclusion_filters or []
    return any(fnmatch.fnmatchcase(tag, f["filter"]) for f in filters if f.get("filterType") == "WILDCARD")


def immutable(repository: Repository, tag: str) -> bool:
    return (repository.image_tag_mutability in IMMUTABLE) != excluded(repository, tag)


def _put_image(
    original: Callable[..., Image],
    backend: ECRBackend,
    repository_name: str,
    image_manifest: str,
    image_tag: str,
    image_manifest_mediatype: str | None = None,
    digest: str | None = None,
) -> Image:
    repository = backend.repositories.get(repository_name)
    if repository is not None and image_tag:
        holder = next((i for i in repository.images if image_tag in i.image_tags), None)
        # The same manifest under its own tag is moto's ImageAlreadyExistsException, as on AWS.
        if (
            holder is not None
            and holder.image_manifest != image_manifest
            and immutable(repository, image_tag)
        ):
            raise ImageTagAlreadyExistsException(
                f"The image tag '{image_tag}' already exists in the '{repository_name}' repository and "
                "cannot be overwritten because the tag is immutable."
            )
    digest = digest or f"sha256:{hashlib.sha256(image_manifest.encode()).hexdigest()}"
    return original(backend, repository_name, image_manifest, image_tag, image_manifest_mediatype, digest)


def _images_with_tag(
    _original: Callable[..., Any], _backend: ECRBackend, repository: Repository, tag: str
) -> list[Image]:
    """moto's own check (prefix regular expressions) is replaced by _put_image's: only the lookup remains."""
    return [image for image in repository.images if tag in image.image_tags]


def install() -> None:
    wrap(ECRBackend, "put_image")(_put_image)
    wrap(ECRBackend, "_resolve_image_tag_mutability")(_images_with_tag)

"""ECR tag immutability with exclusion filters (emulator/ecr.py), as the image pipeline sets it:
version and lock tags can never be overwritten, the promotion tags dev and stable move."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client
from oci_manifest import manifest

from emulator.launcher import CLIENT_ENV, Emulator
from environments import core
from environments.image import promote

pytestmark = pytest.mark.emulator

EXCLUDE_CHANNELS = [
    {"filterType": "WILDCARD", "filter": "dev"},
    {"filterType": "WILDCARD", "filter": "stable"},
]


def repository(aws: Client, name: str, filters: list[dict[str, str]] | None = None) -> Any:
    ecr = aws("ecr")
    ecr.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=filters or EXCLUDE_CHANNELS,
    )
    return ecr


def digest_of(ecr: Any, name: str, tag: str) -> str:
    (image,) = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])["imageDetails"]
    return str(image["imageDigest"])


def test_pushing_another_image_under_a_version_tag_is_refused(
    aws: Client, unique: Callable[[str], str]
) -> None:
    name = unique("sciplat-envs/hst")
    ecr = repository(aws, name)
    ecr.put_image(repositoryName=name, imageManifest=manifest(1), imageTag="2026.11")
    first = digest_of(ecr, name, "2026.11")

    with pytest.raises(ClientError) as raised:
        ecr.put_image(repositoryName=name, imageManifest=manifest(2), imageTag="2026.11")

    assert raised.value.response["Error"]["Code"] == "ImageTagAlreadyExistsException"
    assert "'2026.11'" in raised.value.response["Error"]["Message"]
    assert digest_of(ecr, name, "2026.11") == first
    # The same manifest again under its own tag changes nothing: AWS's (and moto's) other error.
    with pytest.raises(ClientError) as again:
        ecr.put_image(repositoryName=name, imageManifest=manifest(1), imageTag="2026.11")
    assert again.value.response["Error"]["Code"] == "ImageAlreadyExistsException"


def test_the_excluded_channel_tags_move(aws: Client, unique: Callable[[str], str]) -> None:
    name = unique("sciplat-envs/hst")
    ecr = repository(aws, name)
    for seed in (1, 2):
        ecr.put_image(repositoryName=name, imageManifest=manifest(seed), imageTag="stable")
    (image,) = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "stable"}])["images"]
    assert json.loads(image["imageManifest"])["config"]["digest"] == f"sha256:{2:064x}"


def test_a_filter_matches_the_whole_tag_with_wildcards(aws: Client, unique: Callable[[str], str]) -> None:
    """moto matched a filter as a regular expression from the start: ``stable`` excluded ``stable-old``."""
    name = unique("sciplat-envs/tess")
    ecr = repository(
        aws,
        name,
        [{"filterType": "WILDCARD", "filter": "stable"}, {"filterType": "WILDCARD", "filter": "*-rc"}],
    )
    ecr.put_image(repositoryName=name, imageManifest=manifest(1), imageTag="stable-old")
    with pytest.raises(ClientError, match="ImageTagAlreadyExistsException"):
        ecr.put_image(repositoryName=name, imageManifest=manifest(2), imageTag="stable-old")
    for seed in (3, 4):
        ecr.put_image(repositoryName=name, imageManifest=manifest(seed), imageTag="2026.12-rc")


def test_an_immutable_repository_without_exclusions_refuses_every_move(
    aws: Client, unique: Callable[[str], str]
) -> None:
    ecr, name = aws("ecr"), unique("sciplat-envs/plain")
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    ecr.put_image(repositoryName=name, imageManifest=manifest(1), imageTag="stable")
    with pytest.raises(ClientError, match="ImageTagAlreadyExistsException"):
        ecr.put_image(repositoryName=name, imageManifest=manifest(2), imageTag="stable")


def test_promotion_moves_dev_in_an_immutable_repository(
    aws: Client, fidelity_emulator: Emulator, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """environments.image.promote (BatchGetImage + PutImage) points dev at the tested build; the build's
    version and lock tags stay where they are."""
    prefix = unique("promote") + "/"
    name = f"{prefix}tess"
    ecr = repository(aws, name)
    lock_tag = f"2026.11-{core.get('tess', '2026.11').lock().short_digest}"
    ecr.put_image(repositoryName=name, imageManifest=manifest(7), imageTag="2026.11")
    ecr.put_image(repositoryName=name, imageManifest=manifest(7), imageTag=lock_tag)
    ecr.put_image(repositoryName=name, imageManifest=manifest(8), imageTag="dev")  # an older build
    for key, value in CLIENT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", fidelity_emulator.endpoint)

    moved = promote("tess", "2026.11", "dev", repository_prefix=prefix, region="us-east-1")

    assert moved.changed
    assert digest_of(ecr, name, "dev") == digest_of(ecr, name, "2026.11") == moved.digest
    with pytest.raises(ClientError, match="ImageTagAlreadyExistsException"):
        ecr.put_image(repositoryName=name, imageManifest=manifest(8), imageTag=lock_tag)

"""The EKS hub's image check (files/sciplat_images.py): a profile whose image ECR does not have is
refused at once with a page naming the environment, instead of a pod pulling until the spawn times out.

ECR is moto's, over HTTP (the hub image has no boto3: the module signs its calls itself); the
KubeSpawner subclass is the one the hub's extra config builds, with the real KubeSpawner's
load_user_options applying the chosen profile. The local EKS site's end-to-end test refuses the
same way in a real hub pod.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from hub_config import role_module
from hub_eks import OFFLINE_KUBECONFIG
from log_alarms import counted
from tornado import web

ACCOUNT, REGION = "123456789012", "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
PUSHED = f"{REGISTRY}/sciplat-envs/tess:2026.11"
NEVER_PUSHED = f"{REGISTRY}/sciplat-envs/hst:2026.11"
ELSEWHERE = "quay.io/x/tutorial:1"
MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
)
PROFILES = [
    {
        "slug": "hst",
        "display_name": "HST 2026.11",
        "default": True,
        "kubespawner_override": {"image": NEVER_PUSHED},
    },
    {"slug": "tess", "display_name": "TESS 2026.11", "kubespawner_override": {"image": PUSHED}},
    {
        "slug": "tutorial",
        "display_name": "Tutorial",
        "kubespawner_override": {"image": "quay.io/x/tutorial:1"},
    },
]


@pytest.fixture
def ecr(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("ecr", region_name=REGION, endpoint_url=moto_server)
    for name in ("sciplat-envs/tess", "sciplat-envs/hst"):
        client.create_repository(repositoryName=name)
    client.put_image(repositoryName="sciplat-envs/tess", imageManifest=MANIFEST, imageTag="2026.11")
    return client


@pytest.fixture(autouse=True)
def offline_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KubeSpawner reads a kubeconfig when created (kubernetes_asyncio's default path is fixed at its
    import); nothing here connects."""
    import kubernetes_asyncio.config.kube_config as kube_config

    path = tmp_path / "kubeconfig"
    path.write_text(OFFLINE_KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


def test_ecr_references_are_read_from_the_image_name() -> None:
    images = role_module("sciplat_images")
    assert images.ecr_reference(PUSHED) == {
        "region": REGION,
        "registryId": ACCOUNT,
        "repositoryName": "sciplat-envs/tess",
        "imageIds": [{"imageTag": "2026.11"}],
    }
    digest = "sha256:" + "ab" * 32
    assert images.ecr_reference(f"{REGISTRY}/tess@{digest}")["imageIds"] == [{"imageDigest": digest}]
    assert images.ecr_reference(f"{REGISTRY}/tess")["imageIds"] == [{"imageTag": "latest"}]
    for elsewhere in ("quay.io/jupyterhub/k8s-singleuser-sample:4.4.0", "python:3.12", ""):
        assert images.ecr_reference(elsewhere) is None


def test_the_standard_library_reader_asks_ecr(ecr: Any) -> None:
    images = role_module("sciplat_images")
    assert images.describe_image(images.ecr_reference(PUSHED)) is True
    assert images.describe_image(images.ecr_reference(NEVER_PUSHED)) is False  # repository, no such tag
    assert images.describe_image(images.ecr_reference(f"{REGISTRY}/no-such-repository:1")) is False


def spawner_class(pages_settings: dict | None = None) -> type:
    """The hub's spawner: KubeSpawner with the pages' wrapper and the image check after the profile."""
    from kubespawner import KubeSpawner

    pages_module, images = role_module("sciplat_pages"), role_module("sciplat_images")
    settings = {"contact_url": "https://help.example.org", "contact_label": "the help desk"}
    pages = pages_module.SitePages(settings | (pages_settings or {}), None, logging.getLogger("test"))
    check = images.ImageCheck(logging.getLogger("JupyterHub"))
    return pages.explain_spawn_errors(KubeSpawner, [check.after_profile_check(pages)]), check


def load(spawner_type: type, profile: str | None) -> Any:
    """A spawner (KubeSpawner's mock mode: no hub, no API client) whose user chose profile."""

    async def loaded() -> Any:
        spawner = spawner_type(_mock=True, log=logging.getLogger("KubeSpawner"), profile_list=PROFILES)
        spawner.user_options = {"profile": profile} if profile else {}
        await spawner.load_user_options()
        return spawner

    return asyncio.run(loaded())


def test_a_missing_image_is_refused_with_a_page_naming_the_environment(
    ecr: Any, caplog: pytest.LogCaptureFixture
) -> None:
    spawner_type, _ = spawner_class()
    assert load(spawner_type, "tess").image == PUSHED  # pushed: through
    assert load(spawner_type, "tutorial").image == ELSEWHERE  # not in ECR: not checked
    for chosen in ("hst", None):  # chosen, and the default profile
        with caplog.at_level(logging.WARNING), pytest.raises(web.HTTPError) as refused:
            load(spawner_type, chosen)
        assert refused.value.status_code == 403  # a handled refusal: it does not count towards a hub restart
        assert refused.value.jupyterhub_message.startswith(
            "Your server cannot start: the HST 2026.11 environment is not available."
        )
        assert "Choose another environment" in refused.value.jupyterhub_message
        assert 'data-sciplat-refusal="missing-image"' in refused.value.jupyterhub_html_message
        assert "help.example.org" in refused.value.jupyterhub_html_message
    assert f"server: {NEVER_PUSHED} is not in its registry" in caplog.text


def test_a_refusal_is_asked_again_soon_and_a_found_image_later(ecr: Any) -> None:
    """Once the image is pushed, the missing answer expires (missing_seconds) and the spawn goes through."""
    spawner_type, check = spawner_class()
    with pytest.raises(web.HTTPError):
        load(spawner_type, "hst")
    ecr.put_image(repositoryName="sciplat-envs/hst", imageManifest=MANIFEST, imageTag="2026.11")
    with pytest.raises(web.HTTPError):  # within missing_seconds the answer is reused
        load(spawner_type, "hst")
    check._answers[NEVER_PUSHED] = (float("-inf"), False)  # as if missing_seconds had passed
    assert load(spawner_type, "hst").image == NEVER_PUSHED


def test_an_ecr_that_cannot_be_asked_lets_the_spawn_through(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    spawner_type, _ = spawner_class()
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        assert load(spawner_type, "hst").image == NEVER_PUSHED
    assert f"image check: cannot ask ECR about {NEVER_PUSHED}" in caplog.text
    assert len(counted("hub-fail-open", caplog.text)) == 1  # the operators' alarm counts it

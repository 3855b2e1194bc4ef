"""The EKS hub's profiles name their images by digest (jupyterhub_eks_image_digests).

playbooks/hub.yml renders tests/fixtures/hub-site with profiles in an emulated ECR: each image tag is
read at converge (DescribeImages) and the chart's values name <repository>@sha256:<digest>; a tag moved
in ECR changes the values only at the next converge, whose --diff shows it; a tag ECR does not have is
refused naming the profile and the tag before anything is written; a check run before any image exists
says "(known after apply)".
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3
import pytest
from hub_eks import Rendered, render
from oci_manifest import manifest

from emulator.launcher import CLIENT_ENV, Emulator

pytestmark = pytest.mark.emulator

REGION = "us-east-1"
REPOSITORY = "sciplat-envs/hst"
REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
IMAGE = f"{REGISTRY}/{REPOSITORY}"


def digest(seed: int) -> str:
    return f"sha256:{hashlib.sha256(manifest(seed).encode()).hexdigest()}"


def profile(slug: str, image: str, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "display_name": slug.upper(),
        "image": image,
        "cpu_guarantee": 0.5,
        "cpu_limit": 1,
        "mem_guarantee": "1G",
        "mem_limit": "2G",
        **extra,
    }


PROFILES = [
    profile("hst", f"{IMAGE}:2026.11", default=True),
    profile("hst-dev", f"{IMAGE}:dev"),
    profile("scipy", "quay.io/jupyter/scipy-notebook:2024-12-09"),
]


@pytest.fixture
def ecr(emulator: Emulator) -> Any:
    emulator.reset()
    return boto3.client(
        "ecr",
        region_name=REGION,
        endpoint_url=emulator.endpoint,
        aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def hub(tmp_path: Path, emulator: Emulator, profiles: list[dict[str, Any]], *args: str) -> Rendered:
    return render(
        tmp_path,
        {"jupyterhub_profiles": profiles, "site_aws_environment": emulator.client_env()},
        args=args,
    )


def images(rendered: Rendered) -> dict[str, str]:
    values = rendered.values["singleuser"]
    found = {p["slug"]: p["kubespawner_override"]["image"] for p in values["profileList"]}
    found["singleuser"] = f"{values['image']['name']}:{values['image']['tag']}"
    return found


def test_profiles_name_the_digest_their_tag_names_at_converge(
    tmp_path: Path, emulator: Emulator, ecr: Any
) -> None:
    ecr.create_repository(repositoryName=REPOSITORY)
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest(1), imageTag="2026.11")
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest(2), imageTag="dev")

    first = hub(tmp_path, emulator, PROFILES)

    assert first.run.returncode == 0, first.run.output[-3000:]
    assert images(first) == {
        "hst": f"{IMAGE}@{digest(1)}",
        "hst-dev": f"{IMAGE}@{digest(2)}",
        "scipy": "quay.io/jupyter/scipy-notebook:2024-12-09",
        "singleuser": f"{IMAGE}@{digest(1)}",  # the default profile's, as the chart joins name and tag
    }

    # dev moves in ECR: running servers keep theirs; the next converge's --diff shows the new digest.
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest(3), imageTag="dev")
    planned = hub(tmp_path, emulator, PROFILES, "--check", "--diff")
    assert planned.run.returncode == 0, planned.run.output[-3000:]
    added = [line for line in planned.run.output.splitlines() if line.startswith("+")]
    assert any(digest(3) in line for line in added), planned.run.output[-3000:]
    assert images(planned)["hst-dev"] == f"{IMAGE}@{digest(2)}"  # check mode wrote nothing

    applied = hub(tmp_path, emulator, PROFILES)
    assert applied.run.returncode == 0, applied.run.output[-3000:]
    assert images(applied)["hst-dev"] == f"{IMAGE}@{digest(3)}"
    assert images(applied)["hst"] == f"{IMAGE}@{digest(1)}"


def test_a_tag_ecr_does_not_have_is_refused_before_anything_is_written(
    tmp_path: Path, emulator: Emulator, ecr: Any
) -> None:
    ecr.create_repository(repositoryName=REPOSITORY)
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest(1), imageTag="2026.11")

    run = hub(tmp_path, emulator, [*PROFILES[:1], profile("hst-next", f"{IMAGE}:2026.12")])

    assert run.run.returncode != 0
    assert "jupyterhub_profiles: profile hst-next names" in run.run.output, run.run.output[-3000:]
    assert f"ECR has no tag 2026.12 in repository {REPOSITORY}" in run.run.output
    assert "profile hst names" not in run.run.output
    assert not run.out.exists()


def test_a_check_run_before_any_image_exists_marks_the_digest_known_after_apply(
    tmp_path: Path, emulator: Emulator, ecr: Any
) -> None:
    assert ecr.describe_repositories()["repositories"] == []

    planned = hub(tmp_path, emulator, PROFILES, "--check", "--diff")

    assert planned.run.returncode == 0, planned.run.output[-3000:]
    added = [line for line in planned.run.output.splitlines() if line.startswith("+")]
    assert any(f"{IMAGE}:2026.11@(known after apply)" in line for line in added), planned.run.output[-3000:]
    assert not planned.out.exists()

"""CodeBuild projects: UpdateProject, which moto lacks, and the Project shape's lastModified."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client

pytestmark = pytest.mark.emulator


def _create(aws: Client, name: str) -> None:
    aws("codebuild").create_project(
        name=name,
        description="first",
        source={"type": "S3", "location": "bucket/kit.zip", "buildspec": "version: 0.2\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/build",
    )


def test_update_project_changes_only_what_it_is_given(aws: Client, unique: Callable[[str], str]) -> None:
    codebuild, name = aws("codebuild"), unique("image")
    _create(aws, name)
    before = codebuild.batch_get_projects(names=[name])["projects"][0]
    assert "lastModified" in before

    answer = codebuild.update_project(name=name, description="second", timeoutInMinutes=90)["project"]

    after = codebuild.batch_get_projects(names=[name])["projects"][0]
    assert answer["description"] == after["description"] == "second"
    assert after["timeoutInMinutes"] == 90
    assert after["source"] == before["source"]
    assert after["environment"]["image"] == "aws/codebuild/standard:7.0"


def test_update_of_a_missing_project_is_refused(aws: Client, unique: Callable[[str], str]) -> None:
    with pytest.raises(ClientError) as raised:
        aws("codebuild").update_project(name=unique("missing"), description="x")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"

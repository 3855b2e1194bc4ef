"""CodeBuild projects: UpdateProject (moto has none) and the project's ``lastModified`` field.

community.aws.codebuild_project calls UpdateProject on every run against an existing project and
compares the answer with BatchGetProjects, dropping ``lastModified`` from both; moto names the field
``lastModifiedDate``, which the API does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.codebuild import urls as codebuild_urls
from moto.codebuild.exceptions import ResourceNotFoundException
from moto.codebuild.models import CodeBuild, CodeBuildBackend
from moto.codebuild.responses import CodeBuildResponse
from moto.core.responses import ActionResult
from moto.core.utils import unix_time

from emulator.patching import route, wrap

# UpdateProject request members and the Project members they set, as botocore's codebuild model names
# them (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_UpdateProject.html).
UPDATABLE = (
    "description",
    "source",
    "secondarySources",
    "sourceVersion",
    "secondarySourceVersions",
    "artifacts",
    "secondaryArtifacts",
    "cache",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
    "queuedTimeoutInMinutes",
    "encryptionKey",
    "tags",
    "vpcConfig",
    "badgeEnabled",
    "logsConfig",
    "fileSystemLocations",
    "buildBatchConfig",
    "concurrentBuildLimit",
)


def _codebuild_init(original: Callable[..., Any], project: CodeBuild, *args: Any, **kwargs: Any) -> None:
    """Project.lastModified, as in the API reference:
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_Project.html"""
    original(project, *args, **kwargs)
    project.project_metadata["lastModified"] = project.project_metadata.pop("lastModifiedDate", unix_time())
    if project.project_metadata.get("tags") is None:
        project.project_metadata["tags"] = []


def update_project(backend: CodeBuildBackend, name: str, changes: dict[str, Any]) -> dict[str, Any]:
    project = backend.codebuild_projects.get(name)
    if project is None:
        raise ResourceNotFoundException(f"Project cannot be found: {name}")
    metadata = project.project_metadata
    for key, value in changes.items():
        if key == "badgeEnabled":
            metadata["badge"] = {"badgeEnabled": bool(value)}
        elif key in UPDATABLE and value is not None:
            metadata[key] = value
    if "tags" in changes:
        project.tags = metadata["tags"]
    metadata["lastModified"] = unix_time()
    return metadata


class EmulatedCodeBuildResponse(CodeBuildResponse):
    def update_project(self) -> ActionResult:
        """https://docs.aws.amazon.com/codebuild/latest/APIReference/API_UpdateProject.html"""
        changes = {key: self._get_param(key) for key in UPDATABLE if self._get_param(key) is not None}
        project = update_project(self.codebuild_backend, self._get_param("name"), changes)
        return ActionResult({"project": project})


def install() -> None:
    route(codebuild_urls, EmulatedCodeBuildResponse)
    wrap(CodeBuild, "__init__")(_codebuild_init)

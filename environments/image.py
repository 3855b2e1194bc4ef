"""The container image: a Dockerfile rendered from a spec, and promotion of built images in ECR."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from environments.core import EnvError, EnvVersion, check_version, get

# The z2jh-compatible base image (Jupyter Docker Stacks), per Python version of a spec: the stack's
# commit tag (615b8cc01b33 ships Python 3.11.9, UID:GID 1000:100) and the digest the FROM line pins.
BASE_IMAGES: dict[str, str] = {"3.11": "quay.io/jupyter/base-notebook:615b8cc01b33"}
# A gap (docs/environments.md, "Base images"): no registry was reachable where the pin was written and no
# document at hand gives 615b8cc01b33's digest, so it is this placeholder, which no registry serves. A
# real site's images stage refuses it (image_pipeline_enforce_security): put here the digest
# `docker buildx imagetools inspect quay.io/jupyter/base-notebook:615b8cc01b33` prints, then render
# each version's Dockerfile again (`python -m environments dockerfile NAME VERSION -o .../Dockerfile`).
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
BASE_IMAGE_DIGESTS: dict[str, str] = {"3.11": PLACEHOLDER_DIGEST}
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
CHANNELS = ("dev", "stable")
# The storage notice's JupyterLab extension (lab_extension/), as `make lab-extension` leaves it.
STORAGE_NOTICE_DIR = Path(__file__).resolve().parent.parent / "build" / "lab-extension"
STORAGE_NOTICE_GLOB = "sciplat_storage_notice-*-py3-none-any.whl"
# Where the Dockerfile puts it for the install (removed in the same step).
STORAGE_NOTICE_STAGE = "/tmp/sciplat-storage-notice"
DEFAULT_REPOSITORY_PREFIX = "sciplat-envs/"


def base_image(python: str) -> str:
    try:
        image = BASE_IMAGES[python]
    except KeyError:
        raise EnvError(
            f"no base image for Python {python}; known: {', '.join(sorted(BASE_IMAGES))} (environments.image)"
        ) from None
    digest = BASE_IMAGE_DIGESTS.get(python, "")
    if not DIGEST.fullmatch(digest):
        raise EnvError(
            f"the base image for Python {python} ({image}) has no digest, or not sha256:<64 hex digits>, in "
            "BASE_IMAGE_DIGESTS (environments.image): images are built only from a base pinned by digest"
        )
    return f"{image}@{digest}"


def unpinned_from_lines(dockerfile: str) -> list[str]:
    """The FROM lines of a Dockerfile whose image is not pinned by a sha256 digest."""
    return [
        line
        for line in dockerfile.splitlines()
        if re.match(r"\s*FROM\s", line, re.IGNORECASE) and not re.search(rf"@{DIGEST.pattern}(\s|$)", line)
    ]


@dataclass(frozen=True)
class Wheel:
    path: Path
    sha256: str

    def lock_line(self, directory: str) -> str:
        """A requirements line for ``pip install --require-hashes``: this file, this hash only."""
        return f"{directory}/{self.path.name} --hash=sha256:{self.sha256}"


def storage_notice_wheel(sha256: str | None = None) -> Wheel:
    """The storage notice's wheel the kit built (``make lab-extension``); with ``sha256``, only that one."""
    directory = STORAGE_NOTICE_DIR
    wheels = sorted(directory.glob(STORAGE_NOTICE_GLOB))
    if len(wheels) != 1:
        found = f"{len(wheels)} ({', '.join(w.name for w in wheels)})" if wheels else "none"
        raise EnvError(
            f"the science images install the storage notice's wheel {STORAGE_NOTICE_GLOB} from {directory}, "
            f"which holds {found}: build it with `make lab-extension`"
        )
    wheel = Wheel(wheels[0], hashlib.sha256(wheels[0].read_bytes()).hexdigest())
    if sha256 is not None and wheel.sha256 != sha256:
        raise EnvError(
            f"{wheel.path} has sha256 {wheel.sha256}, the Dockerfile pins {sha256}: build the wheel the "
            "Dockerfile names with `make lab-extension` (the same lab_extension/ sources give the same "
            "wheel), or, if the extension changed or this machine builds it differently, render the "
            "Dockerfiles again "
            "(`python -m environments dockerfile NAME VERSION -o .../Dockerfile`)"
        )
    return wheel


def pinned_storage_notice(dockerfile: str) -> str:
    """The sha256 of the storage notice's wheel a rendered Dockerfile installs."""
    match = re.search(
        rf"{STORAGE_NOTICE_STAGE}/sciplat_storage_notice-\S+ --hash=sha256:([0-9a-f]{{64}})", dockerfile
    )
    if match is None:
        raise EnvError(
            "the Dockerfile installs no storage notice wheel: render it again "
            "(`python -m environments dockerfile NAME VERSION -o .../Dockerfile`)"
        )
    return match.group(1)


def kernel_name(env: EnvVersion) -> str:
    return f"{env.name}-{env.version}"


def render_dockerfile(env: EnvVersion) -> str:
    """The image for the EKS hub: the base notebook image plus this lock in its own venv and kernel, and the
    storage notice (the wheel `make lab-extension` built, by its sha256) in the servers' environment."""
    spec = env.spec()
    lock = env.lock()
    prefix = f"/opt/conda/envs/{kernel_name(env)}"
    notice = storage_notice_wheel()
    base = base_image(spec.python)
    placeholder = (
        "# The base image's digest is a placeholder no registry serves (docs/environments.md, Base images).\n"
        if base.endswith(PLACEHOLDER_DIGEST)
        else ""
    )
    return f"""# Rendered by `python -m environments dockerfile {env.name} {env.version}` from
# environments/{env.name}/{env.version}/spec.yml; do not edit. Build context: that directory.
{placeholder}FROM {base}

LABEL org.opencontainers.image.title="sciplat-{env.name}" \\
      org.opencontainers.image.version="{env.version}" \\
      org.opencontainers.image.description="{spec.description.replace('"', "'")}" \\
      org.sciplat.environment.lock-sha256="{lock.digest}"

# The notebook user (jovyan, UID 1000, NB_UID in the base image) owns /opt/conda: nothing runs as root.
USER 1000

COPY --chown=${{NB_UID}}:${{NB_GID}} requirements.lock {prefix}.lock
COPY --chown=${{NB_UID}}:${{NB_GID}} notebooks/ /opt/sciplat/smoke/

# Every package pinned with its hash, wheels only, nothing resolved at build time.
RUN python -m venv {prefix} \\
    && {prefix}/bin/python -m pip install --no-cache-dir --no-deps --require-hashes \\
       --only-binary :all: -r {prefix}.lock \\
    && {prefix}/bin/python -m ipykernel install --prefix /opt/conda \\
       --name {kernel_name(env)} --display-name "{env.name.upper()} {env.version}"

# The storage notice (lab_extension/) in the servers' environment, not the kernel's: exactly the wheel the
# kit built (`make lab-extension`), which the build stages into this context; offline, and no
# dependencies resolved (jupyter_server and tornado are the base image's).
COPY --chown=${{NB_UID}}:${{NB_GID}} {notice.path.name} {STORAGE_NOTICE_STAGE}/
RUN echo "{notice.lock_line(STORAGE_NOTICE_STAGE)}" > {STORAGE_NOTICE_STAGE}/lock \\
    && /opt/conda/bin/python -m pip install --no-cache-dir --no-deps --no-index --require-hashes \\
       -r {STORAGE_NOTICE_STAGE}/lock \\
    && rm -r {STORAGE_NOTICE_STAGE}

ENV SCIPLAT_ENVIRONMENT={env.name} \\
    SCIPLAT_ENVIRONMENT_VERSION={env.version} \\
    PATH={prefix}/bin:${{PATH}}

WORKDIR /home/${{NB_USER}}
"""


@dataclass
class Promotion:
    repository: str
    source_tag: str
    channel: str
    digest: str
    changed: bool


def promote(
    env_name: str,
    version: str,
    channel: str,
    *,
    repository_prefix: str = DEFAULT_REPOSITORY_PREFIX,
    region: str | None = None,
    check: bool = False,
) -> Promotion:
    """Point CHANNEL at the image built from VERSION's lock: the same manifest, never a rebuild.

    Only an image tagged VERSION-LOCKDIGEST can be promoted; the build pushes that tag only after the
    smoke notebooks passed inside the image, so its existence is the proof.
    """
    import boto3
    from botocore.exceptions import ClientError

    check_version(version)
    if channel not in CHANNELS:
        raise EnvError(f"channel {channel!r} is not one of: {', '.join(CHANNELS)}")
    env = get(env_name, version)
    repository = f"{repository_prefix}{env.name}"
    source_tag = f"{version}-{env.lock().short_digest}"
    ecr = boto3.client("ecr", region_name=region)
    try:
        found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": source_tag}])
    except ClientError as error:
        if error.response["Error"]["Code"] == "RepositoryNotFoundException":
            raise EnvError(
                f"{env.label()} was never built: ECR repository {repository} does not exist; nothing changed"
            ) from None
        raise
    if not found.get("images"):
        raise EnvError(
            f"{env.label()} was never built: no image tagged {source_tag} in ECR repository {repository} "
            "(the build pushes it only after the smoke notebooks pass); nothing changed"
        )
    image = found["images"][0]
    digest = image["imageId"]["imageDigest"]
    current = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": channel}]).get("images")
    if current and current[0]["imageId"]["imageDigest"] == digest:
        return Promotion(repository, source_tag, channel, digest, changed=False)
    if not check:
        arguments = {
            "repositoryName": repository,
            "imageManifest": image["imageManifest"],
            "imageTag": channel,
        }
        if image.get("imageManifestMediaType"):
            arguments["imageManifestMediaType"] = image["imageManifestMediaType"]
        ecr.put_image(**arguments)
    return Promotion(repository, source_tag, channel, digest, changed=True)

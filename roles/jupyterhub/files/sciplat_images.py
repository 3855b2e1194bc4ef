"""Is the chosen environment's image there? The EKS hub asks ECR before it creates the user's pod.

A profile whose image was never pushed (or was removed) would leave the pod pulling in a loop until
the spawn times out, minutes later, with a message about Kubernetes. Instead, once the profile is
applied and before the pod is made, an image in an ECR registry is looked up (DescribeImages, one
tag or digest): if ECR says the repository or the tag does not exist, the spawn is refused at once
with a page naming the environment and what the user can do. Images elsewhere are not checked; an
error asking (no permission, no answer) lets the spawn through and is logged (fail open), as the
cost cap does. Answers are reused for a while (found: cache_seconds; missing: missing_seconds, so
that an image pushed after a refusal is seen soon).
"""

from __future__ import annotations

import asyncio
import re
import time

import sciplat_aws

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:<tag>][@<digest>]
ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
MISSING = ("ImageNotFoundException", "RepositoryNotFoundException")


def ecr_reference(image: str) -> dict | None:
    """The DescribeImages arguments for an ECR image (its region under "region"), else None."""
    match = ECR_IMAGE.match(image or "")
    if not match:
        return None
    image_id = {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"] or "latest"}
    return {
        "region": match["region"],
        "registryId": match["registry"],
        "repositoryName": match["repository"],
        "imageIds": [image_id],
    }


def describe_image(reference: dict) -> bool:
    """True when ECR has the image, False when it says the repository or the image does not exist."""
    payload = {key: value for key, value in reference.items() if key != "region"}
    try:
        sciplat_aws.json_call(
            "ecr", "AmazonEC2ContainerRegistry_V20150921.DescribeImages", payload, reference["region"]
        )
    except sciplat_aws.AwsError as error:
        if error.code in MISSING:
            return False
        raise
    return True


def profile_name(spawner) -> str:
    """The chosen profile's display name (what the user clicked), else the image."""
    slug = (spawner.user_options or {}).get("profile")
    profiles = spawner.profile_list if isinstance(spawner.profile_list, list) else []
    for profile in profiles:
        if (slug and profile.get("slug") == slug) or (not slug and profile.get("default")):
            return profile.get("display_name") or spawner.image
    return spawner.image


class ImageCheck:
    def __init__(self, log, reader=describe_image, cache_seconds: float = 300, missing_seconds: float = 15):
        self.log, self.reader = log, reader
        self.cache_seconds, self.missing_seconds = cache_seconds, missing_seconds
        self._answers: dict[str, tuple[float, bool]] = {}

    async def exists(self, image: str) -> bool:
        """False only when ECR says the image is not there; True otherwise (found, not ECR, unknown)."""
        reference = ecr_reference(image)
        if reference is None:
            return True
        now = time.monotonic()
        at, found = self._answers.get(image, (float("-inf"), True))
        if now - at < (self.cache_seconds if found else self.missing_seconds):
            return found
        try:
            found = await asyncio.get_running_loop().run_in_executor(None, self.reader, reference)
        except Exception as error:  # any failure: log it and let the spawn through
            self.log.warning(
                "image check: cannot ask ECR about %s (%s); failing open, letting the spawn through",
                image,
                error,
            )
            return True
        self._answers[image] = (now, found)
        return found

    def after_profile_check(self, pages):
        """A check for once the profile is applied (spawner.image is its image): refuses a missing image."""

        async def refuse_a_missing_image(spawner):
            if await self.exists(spawner.image):
                return
            refusal = pages.missing_image_refusal(profile_name(spawner))
            spawner.log.warning(
                "image check: refused %s's server: %s is not in its registry",
                spawner.user.name,
                spawner.image,
            )
            raise refusal

        return refuse_a_missing_image

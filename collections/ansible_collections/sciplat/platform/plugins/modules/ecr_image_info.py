#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecr_image_info
version_added: 0.1.0
short_description: The digest an ECR image reference names now
description:
  - Reads from ECR (DescribeImages) the digest of an image given as
    C(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>) (or C(@sha256:...)), and returns the
    reference pinned to it, C(<registry>/<repository>@sha256:<digest>), which a moved tag cannot change.
  - A repository or tag that does not exist is not an error, RV(exists) is false. Any other failure
    (access denied, throttling) fails the task naming the image.
  - An image outside ECR is returned as it is (RV(ecr) false), with no call.
author:
  - Science platform deployment kit maintainers
options:
  image:
    description: The image reference.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Reads only; the same in check mode. The region is the image's, unless O(region) is given.
"""

EXAMPLES = r"""
- name: Pin the profile's image to the digest its tag names now.
  sciplat.platform.ecr_image_info:
    image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/sciplat-envs/hst:2026.11
  register: hst_image
"""

RETURN = r"""
ecr:
  description: Whether the image is in an ECR registry (else nothing was asked).
  returned: always
  type: bool
exists:
  description: Whether ECR has the image (true for an image outside ECR).
  returned: always
  type: bool
digest:
  description: The image manifest's digest; empty when it does not exist or is not in ECR.
  returned: always
  type: str
  sample: sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945
repository:
  description: The ECR repository's name; empty outside ECR.
  returned: always
  type: str
tag:
  description: The tag asked for (C(latest) when the reference has none); empty when it names a digest.
  returned: always
  type: str
pinned:
  description: C(<registry>/<repository>@<digest>); the image as given when missing or not in ECR.
  returned: always
  type: str
"""

import contextlib
import re

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:<tag>][@<digest>], as the hub's
# spawn-time check (roles/jupyterhub/files/sciplat_images.py) reads it.
ECR_IMAGE = re.compile(
    r"^(?P<registry>(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={"image": {"type": "str", "required": True}}, supports_check_mode=True
    )
    image = module.params["image"]
    match = ECR_IMAGE.match(image)
    if match is None:
        module.exit_json(
            changed=False, ecr=False, exists=True, digest="", pinned=image, repository="", tag=""
        )
    if not module.params.get("region"):
        module.params["region"] = match["region"]
    tag = "" if match["digest"] else match["tag"] or "latest"
    image_id = {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": tag}
    named = {"repository": match["repository"], "tag": tag}
    ecr = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    try:
        (found,) = ecr.describe_images(
            aws_retry=True,
            registryId=match["account"],
            repositoryName=match["repository"],
            imageIds=[image_id],
        )["imageDetails"]
    except is_boto3_error_code(["ImageNotFoundException", "RepositoryNotFoundException"]):
        module.exit_json(changed=False, ecr=True, exists=False, digest="", pinned=image, **named)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Cannot read the image {image} from ECR")
    digest = found["imageDigest"]
    pinned = f"{match['registry']}/{match['repository']}@{digest}"
    module.exit_json(changed=False, ecr=True, exists=True, digest=digest, pinned=pinned, **named)


if __name__ == "__main__":
    main()

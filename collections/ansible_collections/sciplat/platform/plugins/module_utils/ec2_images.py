# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the EC2 image modules share: one image read by ID, failing with the ID and region named."""

from __future__ import annotations

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code


def describe_image(module: Any, client: Any, image_id: str) -> dict[str, Any]:
    """DescribeImages of one image you own (deprecated ones included); fails when there is none."""
    try:
        images = client.describe_images(aws_retry=True, ImageIds=[image_id], IncludeDeprecated=True)["Images"]
    except is_boto3_error_code(["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"]):
        images = []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't describe image {image_id}")
    if not images:
        module.fail_json(msg=f"image_id: there is no image {image_id} in {module.region}")
    return images[0]

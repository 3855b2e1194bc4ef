#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ec2_image_imds_support
version_added: 0.1.0
short_description: Make an EC2 image (AMI) require IMDSv2
description:
  - Sets the C(ImdsSupport) attribute of an AMI you own to C(v2.0) with ModifyImageAttribute. Every instance
    launched from it gets C(HttpTokens=required), so only IMDSv2 session requests reach the metadata service.
  - CreateImage (and so M(amazon.aws.ec2_ami) with O(amazon.aws.ec2_ami#module:instance_id)) cannot set
    it, and amazon.aws 10 has no option for it.
  - AWS does not let the attribute be removed once set, so this module has no O(state=absent).
author:
  - Science platform deployment kit maintainers
options:
  image_id:
    description: ID of the AMI, in the module's region.
    type: str
    required: true
  imds_support:
    description: The value to set; C(v2.0) is the only one AWS accepts.
    type: str
    choices: [v2.0]
    default: v2.0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only DescribeImages is called.
"""

EXAMPLES = r"""
- name: Require IMDSv2 on instances of the demo image.
  sciplat.platform.ec2_image_imds_support:
    image_id: ami-0123456789abcdef0
    region: us-east-1
"""

RETURN = r"""
image_id:
  description: ID of the AMI.
  returned: always
  type: str
  sample: ami-0123456789abcdef0
imds_support:
  description: The image's C(ImdsSupport) after the run (C(v2.0)).
  returned: always
  type: str
  sample: v2.0
"""

import contextlib

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.ec2_images import describe_image


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "image_id": {"type": "str", "required": True},
            "imds_support": {"type": "str", "choices": ["v2.0"], "default": "v2.0"},
        },
        supports_check_mode=True,
    )
    image_id = module.params["image_id"]
    wanted = module.params["imds_support"]
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    current = describe_image(module, client, image_id).get("ImdsSupport")
    change = current != wanted
    if change and not module.check_mode:
        try:
            client.modify_image_attribute(aws_retry=True, ImageId=image_id, ImdsSupport={"Value": wanted})
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't set ImdsSupport on image {image_id}")
    module.exit_json(
        changed=change,
        image_id=image_id,
        imds_support=wanted,
        diff={"before": {"imds_support": current}, "after": {"imds_support": wanted}},
    )


if __name__ == "__main__":
    main()

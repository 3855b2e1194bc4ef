#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ebs_encryption_by_default_info
version_added: 0.1.0
short_description: Read whether EBS encryption by default is on for the account in one region
description:
  - Reads the account's EBS encryption by default setting and default KMS key in the module's region
    (GetEbsEncryptionByDefault, GetEbsDefaultKmsKeyId); changes nothing.
  - An image whose snapshots are encrypted cannot be made public, and with encryption by default on every
    new volume and image copy in that region is encrypted.
author:
  - Science platform deployment kit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the setting in eu-west-1.
  sciplat.platform.ebs_encryption_by_default_info:
    region: eu-west-1
  register: ebs_defaults
"""

RETURN = r"""
enabled:
  description: Whether EBS encryption by default is on.
  returned: always
  type: bool
kms_key_id:
  description: The default KMS key, as AWS reports it (a key ARN, or C(alias/aws/ebs)).
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.ebs import read_encryption_defaults


def main() -> None:
    module = AnsibleAWSModule(argument_spec={}, supports_check_mode=True)
    ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    module.exit_json(changed=False, **read_encryption_defaults(module, ec2))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ebs_encryption_by_default
version_added: 0.1.0
short_description: EBS encryption by default for the account in one region, and its default KMS key
description:
  - Turns EBS encryption by default on or off for the account in the module's region
    (EnableEbsEncryptionByDefault, DisableEbsEncryptionByDefault) and optionally sets the KMS key new
    volumes get when their request names none (ModifyEbsDefaultKmsKeyId, ResetEbsDefaultKmsKeyId);
    amazon.aws and community.aws have no module for either.
  - With encryption by default on, every new EBS volume and snapshot copy in that account and region is
    encrypted, whoever creates it (instances, node groups, the EBS CSI driver). Existing volumes are not
    changed, and instance types that cannot encrypt (C1, M1, M2, M3, CR1, T1 and a few others) no
    longer launch.
author:
  - Science platform deployment kit maintainers
options:
  enabled:
    description: Whether new volumes are encrypted by default.
    type: bool
    default: true
  kms_key_id:
    description:
      - The default KMS key, as a key ARN, key ID, alias name (C(alias/...)) or alias ARN; an alias or
        ID is compared by the key it names (kms:DescribeKey).
      - V(alias/aws/ebs) - the AWS managed key (ResetEbsDefaultKmsKeyId).
      - Omit it to leave the default key as it is.
      - The key's policy must let the principals that create volumes (and the services acting for them,
        such as EC2 Auto Scaling for node groups) use it, or their instances fail to start.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - The setting belongs to the account and region, not to a resource; every role or tool that manages
    it in the same account should agree.
"""

EXAMPLES = r"""
- name: Encrypt every new EBS volume in us-east-1 with the AWS managed key (the default key untouched).
  sciplat.platform.ebs_encryption_by_default:
    region: us-east-1

- name: Encrypt them with the site's own key.
  sciplat.platform.ebs_encryption_by_default:
    region: us-east-1
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
enabled:
  description: Whether EBS encryption by default is on after the run.
  returned: always
  type: bool
kms_key_id:
  description: The default KMS key after the run, as AWS reports it (a key ARN, or C(alias/aws/ebs)).
  returned: always
  type: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.ebs import read_encryption_defaults

MANAGED_KEY = "alias/aws/ebs"


def key_arn(module: AnsibleAWSModule, kms: Any, key_id: str) -> str | None:
    """The ARN of the key an ID, alias or ARN names (a key ARN as it is); None for the AWS managed key
    before its first use (AWS makes it then)."""
    if ":key/" in key_id:
        return key_id
    try:
        return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
    except is_boto3_error_code("NotFoundException"):
        if key_id == MANAGED_KEY:
            return None
        module.fail_json(msg=f"There is no KMS key {key_id} (kms_key_id) in this region.")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't read KMS key {key_id} (kms_key_id)")
    raise AssertionError("unreachable")


def same_key(module: AnsibleAWSModule, kms: Any, current: str, wanted: str) -> bool:
    """Whether two names of a key (ID, alias, ARN) name the same key. The AWS managed key is reported as
    alias/aws/ebs until another key is chosen, and by its ARN once chosen back."""
    if current == wanted:
        return True
    current_arn = key_arn(module, kms, current)
    return current_arn is not None and current_arn == key_arn(module, kms, wanted)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            enabled=dict(type="bool", default=True),
            kms_key_id=dict(type="str", no_log=False),
        ),
        supports_check_mode=True,
    )
    wanted_enabled = module.params["enabled"]
    wanted_key = module.params["kms_key_id"]
    if wanted_key is not None and not wanted_key.strip():
        module.fail_json(
            msg="kms_key_id must name a KMS key (or alias/aws/ebs for the AWS managed key), or be omitted."
        )
    retry = AWSRetry.jittered_backoff(retries=5)
    ec2 = module.client("ec2", retry_decorator=retry)
    kms = module.client("kms", retry_decorator=retry)

    before = read_encryption_defaults(module, ec2)
    after = dict(before)
    if wanted_key is not None and not same_key(module, kms, before["kms_key_id"], wanted_key):
        after["kms_key_id"] = wanted_key
    after["enabled"] = wanted_enabled
    changed = after != before

    if changed and not module.check_mode:
        try:
            if after["kms_key_id"] != before["kms_key_id"]:
                if wanted_key == MANAGED_KEY:
                    after["kms_key_id"] = ec2.reset_ebs_default_kms_key_id()["KmsKeyId"]
                else:
                    after["kms_key_id"] = ec2.modify_ebs_default_kms_key_id(KmsKeyId=wanted_key)["KmsKeyId"]
            if wanted_enabled and not before["enabled"]:
                ec2.enable_ebs_encryption_by_default()
            elif not wanted_enabled and before["enabled"]:
                ec2.disable_ebs_encryption_by_default()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Couldn't change the account's EBS encryption by default settings")

    result: dict[str, Any] = {"changed": changed, **after}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sns_topic_encryption
version_added: 0.1.0
short_description: Set the KMS key that encrypts an SNS topic at rest
description:
  - Sets or removes the C(KmsMasterKeyId) attribute of an existing SNS topic (server-side encryption);
    community.aws.sns_topic has no option for it.
  - CloudWatch alarms, AWS Budgets and AWS Backup cannot publish to a topic encrypted with the
    AWS-managed key C(alias/aws/sns); use a customer-managed key whose key policy lets those service
    principals use C(kms:GenerateDataKey*) and C(kms:Decrypt).
author:
  - Science platform deployment kit maintainers
options:
  topic_arn:
    description: ARN of the topic (it must exist, except in check mode).
    type: str
    required: true
  kms_master_key_id:
    description:
      - The key, as a key ARN, key ID, alias ARN or alias name (C(alias/...)); the value is set and
        compared as given.
      - An empty string removes the encryption.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made; a topic that does not
    exist yet is reported as to be changed.
"""

EXAMPLES = r"""
- name: Encrypt the alarms topic with the site's key.
  sciplat.platform.sns_topic_encryption:
    topic_arn: arn:aws:sns:us-east-1:123456789012:sciplat-alarms
    kms_master_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
topic_arn:
  description: ARN of the topic.
  returned: always
  type: str
kms_master_key_id:
  description: The topic's key after the run (empty when not encrypted).
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


def read(module: AnsibleAWSModule, client: Any, arn: str) -> str | None:
    """The topic's KmsMasterKeyId ('' when unencrypted), or None when there is no such topic."""
    try:
        attributes = client.get_topic_attributes(TopicArn=arn)["Attributes"]
    except is_boto3_error_code("NotFound"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't read the attributes of topic {arn}")
    return attributes.get("KmsMasterKeyId", "")


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            topic_arn=dict(type="str", required=True),
            kms_master_key_id=dict(type="str", required=True, no_log=False),
        ),
        supports_check_mode=True,
    )
    arn = module.params["topic_arn"]
    wanted = module.params["kms_master_key_id"]
    client = module.client("sns", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    before = read(module, client, arn)
    if before is None and not module.check_mode:
        module.fail_json(msg=f"topic {arn} does not exist; create it first (community.aws.sns_topic).")
    changed = before != wanted
    if changed and not module.check_mode:
        try:
            client.set_topic_attributes(TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue=wanted)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Couldn't set the KMS key of topic {arn}")
    result: dict[str, Any] = {"changed": changed, "topic_arn": arn, "kms_master_key_id": wanted}
    if module._diff:
        result["diff"] = {
            "before": {"kms_master_key_id": before or ""},
            "after": {"kms_master_key_id": wanted},
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()

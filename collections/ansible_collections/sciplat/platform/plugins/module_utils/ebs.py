# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The account's EBS encryption by default settings in one region (ebs_encryption_by_default, its _info)."""

from __future__ import annotations

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore


def read_encryption_defaults(module: Any, ec2: Any) -> dict[str, Any]:
    """{enabled, kms_key_id} as the account has them in the client's region (kms_key_id as AWS reports it: a
    key ARN, or alias/aws/ebs while the AWS managed key is the default)."""
    try:
        enabled = ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"]
        key = ec2.get_ebs_default_kms_key_id()["KmsKeyId"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Couldn't read the account's EBS encryption by default settings")
    return {"enabled": bool(enabled), "kms_key_id": key}

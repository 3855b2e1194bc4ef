"""CloudWatch Logs: a log group is encrypted with a KMS key only if the key lets CloudWatch Logs use it.

On AWS, ``CreateLogGroup`` with a ``kmsKeyId`` (and ``AssociateKmsKey``) fails with
``AccessDeniedException`` "The specified KMS key does not exist or is not allowed to be used with Arn
'arn:aws:logs:<region>:<account>:log-group:<name>'" unless the key exists and its policy lets
``logs.<region>.amazonaws.com`` use ``kms:Encrypt*``, ``kms:Decrypt*``, ``kms:ReEncrypt*``,
``kms:GenerateDataKey*`` and ``kms:Describe*``, optionally only for that log group's encryption context
``kms:EncryptionContext:aws:logs:arn`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html;
the error as reported in hashicorp/terraform-provider-aws#29282). moto accepted any key ID, even one
that does not exist.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.logs.models import LogsBackend
from moto.utilities.utils import get_partition

from emulator import kms_policy
from emulator.patching import wrap

KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:DescribeKey")


class AccessDenied(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


def check_key(backend: Any, log_group_name: str, key_id: str) -> None:
    """Raise AccessDeniedException unless CloudWatch Logs may use the key for this log group."""
    region = backend.region_name
    arn = f"arn:{get_partition(region)}:logs:{region}:{backend.account_id}:log-group:{log_group_name}"
    policy = kms_policy.key_policy(backend.account_id, region, key_id)
    context = {
        "kms:EncryptionContext:aws:logs:arn": arn,
        "aws:SourceAccount": backend.account_id,
        "aws:SourceArn": arn,
    }
    service = f"logs.{region}.amazonaws.com"
    if policy is None or not kms_policy.service_may_use(policy, service, KEY_ACTIONS, context):
        raise AccessDenied(
            f"The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"
        )


def _create_log_group(
    original: Any, backend: Any, log_group_name: str, tags: dict[str, str], **kwargs: Any
) -> Any:
    if kwargs.get("kmsKeyId"):
        check_key(backend, log_group_name, kwargs["kmsKeyId"])
    return original(backend, log_group_name, tags, **kwargs)


def install() -> None:
    wrap(LogsBackend, "create_log_group")(_create_log_group)

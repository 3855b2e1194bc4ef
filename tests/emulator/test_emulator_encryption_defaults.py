"""EBS encryption by default and KMS-encrypted log groups: what eks_cluster relies on (moto lacks both)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client

pytestmark = pytest.mark.emulator

Names = Callable[[str], str]

# Encryption by default is per account and region: these tests use a region no other emulator test uses.
REGION = "ap-southeast-2"


def test_encryption_by_default_encrypts_new_volumes_with_the_default_key(aws: Client) -> None:
    ec2 = aws("ec2", region=REGION)
    kms = aws("kms", region=REGION)
    assert ec2.get_ebs_default_kms_key_id()["KmsKeyId"] == "alias/aws/ebs"
    before = ec2.create_volume(Size=1, AvailabilityZone=f"{REGION}a")
    assert before["Encrypted"] is False

    ec2.enable_ebs_encryption_by_default()
    key = kms.create_key(Description="site EBS key")["KeyMetadata"]["Arn"]
    assert ec2.modify_ebs_default_kms_key_id(KmsKeyId=key)["KmsKeyId"] == key
    assert ec2.get_ebs_default_kms_key_id()["KmsKeyId"] == key
    try:
        volume = ec2.create_volume(Size=1, AvailabilityZone=f"{REGION}a")
        assert (volume["Encrypted"], volume["KmsKeyId"]) == (True, key)
        # Encrypted=false cannot opt out: the account's setting wins, as on AWS.
        assert ec2.create_volume(Size=1, AvailabilityZone=f"{REGION}a", Encrypted=False)["Encrypted"] is True

        managed = ec2.reset_ebs_default_kms_key_id()["KmsKeyId"]
        assert managed == kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
        assert ec2.get_ebs_default_kms_key_id()["KmsKeyId"] == "alias/aws/ebs"
        assert ec2.create_volume(Size=1, AvailabilityZone=f"{REGION}a")["KmsKeyId"] == managed
    finally:
        ec2.disable_ebs_encryption_by_default()
    assert ec2.create_volume(Size=1, AvailabilityZone=f"{REGION}a")["Encrypted"] is False


def _log_key(aws: Client, group_arn: str) -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}},
            }
        ],
    }
    return str(aws("kms", region=REGION).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"])


def test_a_log_group_takes_only_a_key_that_lets_cloudwatch_logs_in(aws: Client, unique: Names) -> None:
    logs = aws("logs", region=REGION)
    account = aws("sts").get_caller_identity()["Account"]
    name = f"/aws/eks/{unique('logs')}/cluster"
    arn = f"arn:aws:logs:{REGION}:{account}:log-group:{name}"

    other_group_key = _log_key(aws, arn + "-other")
    no_policy_key = aws("kms", region=REGION).create_key()["KeyMetadata"]["Arn"]
    for key in (other_group_key, no_policy_key, f"arn:aws:kms:{REGION}:{account}:key/0000-missing"):
        with pytest.raises(ClientError) as refused:
            logs.create_log_group(logGroupName=name, kmsKeyId=key)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert f"not allowed to be used with Arn '{arn}'" in refused.value.response["Error"]["Message"]
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []

    key = _log_key(aws, arn)
    logs.create_log_group(logGroupName=name, kmsKeyId=key)
    [group] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert group["kmsKeyId"] == key

"""KMS key states as AWS keeps them: a key named by its ARN, and a key pending deletion that must
have its deletion cancelled (which leaves it disabled) before it is enabled again, as a converge after
a teardown does (amazon.aws.kms_key: CancelKeyDeletion, then EnableKey, both by ARN)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client

pytestmark = pytest.mark.emulator


def test_a_key_pending_deletion_is_cancelled_then_enabled_by_its_arn(aws: Client) -> None:
    kms = aws("kms")
    arn = kms.create_key(Description="alarms topic key")["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"

    for call in (kms.enable_key, kms.disable_key):
        with pytest.raises(ClientError) as refused:
            call(KeyId=arn)
        assert refused.value.response["Error"]["Code"] == "KMSInvalidStateException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    kms.cancel_key_deletion(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.disable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"

"""sciplat.platform.ebs_encryption_by_default, with stubbed EC2 and KMS answers."""

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.modules import ebs_encryption_by_default

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MANAGED = "arn:aws:kms:us-east-1:123456789012:key/0ea3fef3-80a7-4778-9d8c-1c0c6example"


def account(stubs: Any, enabled: bool, key: str = "alias/aws/ebs") -> None:
    stubs.add("ec2", "get_ebs_encryption_by_default", {"EbsEncryptionByDefault": enabled})
    stubs.add("ec2", "get_ebs_default_kms_key_id", {"KmsKeyId": key})


def test_turns_it_on_and_leaves_the_key_alone(run_module, stubs) -> None:
    account(stubs, enabled=False)
    stubs.add("ec2", "enable_ebs_encryption_by_default", {"EbsEncryptionByDefault": True})
    out = run_module(ebs_encryption_by_default, {}, diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"] == {
        "before": {"enabled": False, "kms_key_id": "alias/aws/ebs"},
        "after": {"enabled": True, "kms_key_id": "alias/aws/ebs"},
    }
    stubs.assert_done()


def test_on_with_its_key_already_is_left_alone(run_module, stubs) -> None:
    account(stubs, enabled=True, key=KEY)
    out = run_module(ebs_encryption_by_default, {"kms_key_id": KEY})
    assert out.result["changed"] is False
    assert out.result["kms_key_id"] == KEY
    stubs.assert_done()


def fresh_account(stubs: Any) -> None:
    """Encryption by default off, and the AWS managed key not made yet (AWS makes it on first use)."""
    account(stubs, enabled=False)
    stubs.error("kms", "describe_key", "NotFoundException", "Alias alias/aws/ebs is not found.")


def test_sets_the_default_key_and_turns_it_on(run_module, stubs) -> None:
    fresh_account(stubs)
    stubs.add("ec2", "modify_ebs_default_kms_key_id", {"KmsKeyId": KEY}, {"KmsKeyId": KEY})
    stubs.add("ec2", "enable_ebs_encryption_by_default", {"EbsEncryptionByDefault": True})
    out = run_module(ebs_encryption_by_default, {"kms_key_id": KEY})
    assert out.result["changed"] is True
    assert (out.result["enabled"], out.result["kms_key_id"]) == (True, KEY)
    stubs.assert_done()


def test_an_alias_is_compared_by_the_key_it_names(run_module, stubs) -> None:
    account(stubs, enabled=True, key=KEY)
    stubs.add(
        "kms", "describe_key", {"KeyMetadata": {"KeyId": "1234", "Arn": KEY}}, {"KeyId": "alias/site-ebs"}
    )
    out = run_module(ebs_encryption_by_default, {"kms_key_id": "alias/site-ebs"})
    assert out.result["changed"] is False
    stubs.assert_done()


def test_back_to_the_aws_managed_key(run_module, stubs) -> None:
    account(stubs, enabled=True, key=KEY)
    stubs.add(
        "kms", "describe_key", {"KeyMetadata": {"KeyId": "0ea3", "Arn": MANAGED}}, {"KeyId": "alias/aws/ebs"}
    )
    stubs.add("ec2", "reset_ebs_default_kms_key_id", {"KmsKeyId": MANAGED})
    out = run_module(ebs_encryption_by_default, {"kms_key_id": "alias/aws/ebs"})
    assert out.result["changed"] is True
    assert out.result["kms_key_id"] == MANAGED
    stubs.assert_done()


def test_check_mode_only_reads(run_module, stubs) -> None:
    fresh_account(stubs)
    out = run_module(ebs_encryption_by_default, {"kms_key_id": KEY}, check_mode=True, diff=True)
    assert out.result["changed"] is True
    assert out.result["diff"]["after"] == {"enabled": True, "kms_key_id": KEY}
    stubs.assert_done()


def test_turns_it_off_when_asked(run_module, stubs) -> None:
    account(stubs, enabled=True)
    stubs.add("ec2", "disable_ebs_encryption_by_default", {"EbsEncryptionByDefault": False})
    assert run_module(ebs_encryption_by_default, {"enabled": False}).result["changed"] is True
    stubs.assert_done()


def test_an_empty_key_is_refused_before_any_call(run_module, stubs) -> None:
    out = run_module(ebs_encryption_by_default, {"kms_key_id": " "})
    assert out.failed
    assert "kms_key_id must name a KMS key" in out.result["msg"]
    stubs.assert_done()


def test_a_missing_key_is_named(run_module, stubs) -> None:
    account(stubs, enabled=True, key=KEY)
    stubs.error("kms", "describe_key", "NotFoundException", "Alias alias/nope is not found.")
    out = run_module(ebs_encryption_by_default, {"kms_key_id": "alias/nope"})
    assert out.failed
    assert "There is no KMS key alias/nope (kms_key_id)" in out.result["msg"]

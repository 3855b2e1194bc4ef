"""sciplat.platform.kms_keys_info and the kms_key_is_current test, against moto in-process: the test
must agree with amazon.aws.kms_key on whether it would change a key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.amazon.aws.plugins.modules import kms_key
from ansible_collections.sciplat.platform.plugins.modules import kms_keys_info
from ansible_collections.sciplat.platform.plugins.test.kms_key_is_current import kms_key_is_current
from moto import mock_aws

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Account",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


def wanted(**changes: Any) -> dict[str, Any]:
    """A key as a role's task gives it to the test: the module's options it sets."""
    return {
        "alias": "archive-eks-logs",
        "description": "Encrypts the control-plane logs of archive.",
        "enable_key_rotation": True,
        "policy": POLICY,
        "tags": {"Site": "archive"},
        **changes,
    }


@pytest.fixture
def kms() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def read(run_module, *aliases: str) -> dict[str, Any]:
    out = run_module(kms_keys_info, {"aliases": list(aliases)})
    assert not out.failed, out.result
    assert out.result["changed"] is False
    return out.result["kms_keys"]


def apply_key(run_module, key: dict[str, Any]) -> bool:
    """amazon.aws.kms_key with the key's options, as the roles call it: whether it changed anything."""
    args = {name: value for name, value in key.items() if value is not None} | {"state": "present"}
    if "policy" in args:
        args["policy"] = json.dumps(args["policy"])
    out = run_module(kms_key, args)
    assert not out.failed, out.result
    return out.result["changed"]


def test_a_missing_alias_is_left_out_and_is_not_current(run_module, kms) -> None:
    kms.create_key(Description="no alias")
    assert read(run_module, "archive-eks-logs") == {}
    assert not kms_key_is_current(wanted(), {})
    assert apply_key(run_module, wanted()) is True


def test_a_key_the_module_made_reads_back_current(run_module, kms) -> None:
    apply_key(run_module, wanted())
    apply_key(run_module, wanted(alias="archive-eks-secrets", policy=None, tags={}))

    keys = read(run_module, "alias/archive-eks-logs", "archive-eks-secrets", "archive-eks-logs", "missing")

    assert sorted(keys) == ["archive-eks-logs", "archive-eks-secrets"]
    key = keys["archive-eks-logs"]
    described = kms.describe_key(KeyId="alias/archive-eks-logs")["KeyMetadata"]
    assert (key["key_arn"], key["key_id"]) == (described["Arn"], described["KeyId"])
    assert key["key_state"] == "Enabled"
    assert key["enable_key_rotation"] is True
    assert key["tags"] == {"Site": "archive"}
    assert key["policy"] == POLICY
    assert keys["archive-eks-secrets"]["key_id"] != key["key_id"]
    assert kms_key_is_current(wanted(), keys)
    assert kms_key_is_current(wanted(alias="alias/archive-eks-logs"), keys)
    assert apply_key(run_module, wanted()) is False  # the module agrees


@pytest.mark.parametrize(
    "change",
    [
        {"description": "Another description."},
        {"enable_key_rotation": False},
        {"tags": {"Site": "archive", "Owner": "ops"}},
        {"tags": {}},
        {"policy": {**POLICY, "Statement": [{**POLICY["Statement"][0], "Sid": "Other"}]}},
    ],
    ids=["description", "rotation", "a tag more", "tags purged", "policy"],
)
def test_each_difference_the_module_would_change_is_seen(run_module, kms, change) -> None:
    apply_key(run_module, wanted())
    keys = read(run_module, "archive-eks-logs")

    assert not kms_key_is_current(wanted(**change), keys)
    assert apply_key(run_module, wanted(**change)) is True
    assert kms_key_is_current(wanted(**change), read(run_module, "archive-eks-logs"))


# moto in-process cannot enable a key or cancel its deletion by ARN, as the module asks, so these
# compare with the states the module would change.
@pytest.mark.parametrize("state", ["PendingDeletion", "Disabled"])
def test_a_key_pending_deletion_or_disabled_is_not_current(run_module, kms, state) -> None:
    apply_key(run_module, wanted())
    key_id = read(run_module, "archive-eks-logs")["archive-eks-logs"]["key_id"]
    if state == "PendingDeletion":
        kms.schedule_key_deletion(KeyId=key_id)
    else:
        kms.disable_key(KeyId=key_id)

    keys = read(run_module, "archive-eks-logs")

    assert keys["archive-eks-logs"]["key_state"] == state
    assert not kms_key_is_current(wanted(), keys)
    assert kms_key_is_current(wanted(enabled=False), keys) is (state == "Disabled")


def test_what_the_module_does_not_count_is_not_a_difference(run_module, kms) -> None:
    apply_key(run_module, wanted())
    key_id = read(run_module, "archive-eks-logs")["archive-eks-logs"]["key_id"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "Extra", "TagValue": "1"}])
    keys = read(run_module, "archive-eks-logs")
    # The same policy as JSON text, keys in another order, the action as a one-item list.
    statement = {**POLICY["Statement"][0], "Action": ["kms:*"]}
    reordered = json.dumps({"Statement": [statement], "Version": "2012-10-17"})
    kept_tags = wanted(policy=reordered, purge_tags=False)

    assert kms_key_is_current(kept_tags, keys)
    assert kms_key_is_current({"alias": "archive-eks-logs"}, keys)  # nothing set, nothing to change
    assert apply_key(run_module, {"alias": "archive-eks-logs"}) is False


class Tagged(str):
    """What Ansible gives a test plugin: its strings are a str subclass (data tags)."""


def tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {Tagged(k): tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tagged(v) for v in value]
    return Tagged(value) if isinstance(value, str) else value


def test_a_policy_of_tagged_strings_compares_as_its_text(run_module, kms) -> None:
    # Two statements, one principal a string and one a list: compare_policies then sorts strings
    # among tuples, which it can only do for plain str.
    publish = {
        "Sid": "Publish",
        "Effect": "Allow",
        "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }
    policy = {**POLICY, "Statement": [*POLICY["Statement"], publish]}
    apply_key(run_module, wanted(policy=policy))

    assert kms_key_is_current(tagged(wanted(policy=policy)), read(run_module, "archive-eks-logs"))


def test_bad_options_are_refused_by_name(run_module, kms) -> None:
    with pytest.raises(AnsibleFilterError, match="no alias"):
        kms_key_is_current({"description": "x"}, {})
    with pytest.raises(AnsibleFilterError, match=r"unknown keys \['grants'\]; accepted: alias, description"):
        kms_key_is_current(wanted(grants=[]), {})
    apply_key(run_module, wanted())
    with pytest.raises(AnsibleFilterError, match=r"archive-eks-logs.*policy is not valid JSON"):
        kms_key_is_current(wanted(policy="{not json"), read(run_module, "archive-eks-logs"))

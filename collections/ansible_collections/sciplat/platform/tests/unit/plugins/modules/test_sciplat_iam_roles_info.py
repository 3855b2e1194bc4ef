"""sciplat.platform.iam_roles_info and the iam_role_is_current test, against moto in-process: the test
must agree with amazon.aws.iam_role and amazon.aws.iam_policy on whether they would change a role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.amazon.aws.plugins.modules import iam_policy, iam_role
from ansible_collections.sciplat.platform.plugins.modules import iam_roles_info
from ansible_collections.sciplat.platform.plugins.test.iam_role_is_current import iam_role_is_current
from moto import mock_aws

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
# moto in-process has no AWS managed policies: two of the account's own stand in.
CLUSTER_POLICY = "arn:aws:iam::123456789012:policy/cluster"
VPC_POLICY = "arn:aws:iam::123456789012:policy/vpc"
INLINE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}],
}


def wanted(**changes: Any) -> dict[str, Any]:
    """A role as a role's task gives it to the test: the module's options it sets."""
    return {
        "name": "archive-eks-cluster",
        "description": "Control plane of EKS cluster archive.",
        "assume_role_policy_document": TRUST,
        "managed_policies": [CLUSTER_POLICY],
        "tags": {"Site": "archive"},
        **changes,
    }


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        for name in ("cluster", "vpc"):
            client.create_policy(PolicyName=name, PolicyDocument=json.dumps(INLINE))
        yield client


def read(run_module, *names: str) -> dict[str, Any]:
    out = run_module(iam_roles_info, {"names": list(names)})
    assert not out.failed, out.result
    assert out.result["changed"] is False
    return out.result["roles"]


def apply_role(run_module, role: dict[str, Any]) -> bool:
    """amazon.aws.iam_role with the role's options, as the roles call it: whether it changed anything."""
    args = {k: v for k, v in role.items() if k != "inline_policies"}
    args["assume_role_policy_document"] = json.dumps(role["assume_role_policy_document"])
    out = run_module(iam_role, {**args, "purge_policies": True, "create_instance_profile": False})
    assert not out.failed, out.result
    return out.result["changed"]


def apply_inline(run_module, role: str, name: str, document: Any) -> bool:
    out = run_module(
        iam_policy,
        {"iam_type": "role", "iam_name": role, "policy_name": name, "policy_json": json.dumps(document)},
    )
    assert not out.failed, out.result
    return out.result["changed"]


def test_a_missing_role_is_left_out_and_is_not_current(run_module, iam) -> None:
    assert read(run_module, "archive-eks-cluster") == {}
    assert not iam_role_is_current(wanted(), {})
    assert apply_role(run_module, wanted()) is True


def test_a_role_the_module_made_reads_back_current(run_module, iam) -> None:
    apply_role(run_module, wanted())
    iam.create_role(RoleName="other", AssumeRolePolicyDocument=json.dumps(TRUST))

    roles = read(run_module, "archive-eks-cluster", "other", "archive-eks-cluster", "missing")

    assert sorted(roles) == ["archive-eks-cluster", "other"]
    role = roles["archive-eks-cluster"]
    assert role["arn"] == iam.get_role(RoleName="archive-eks-cluster")["Role"]["Arn"]
    assert role["role_id"].startswith("ARO")
    assert role["assume_role_policy_document"] == TRUST
    assert role["managed_policy_arns"] == [CLUSTER_POLICY]
    assert role["tags"] == {"Site": "archive"}
    assert role["description"] == "Control plane of EKS cluster archive."
    assert role["inline_policies"] == {}
    assert iam_role_is_current(wanted(), roles)
    assert apply_role(run_module, wanted()) is False  # the module agrees


@pytest.mark.parametrize(
    "change",
    [
        {"description": "Another description."},
        {"tags": {"Site": "archive", "Owner": "ops"}},
        {"tags": {}},
        {"managed_policies": []},
        {"managed_policies": [CLUSTER_POLICY, VPC_POLICY]},
        {
            "assume_role_policy_document": {
                **TRUST,
                "Statement": [{**TRUST["Statement"][0], "Effect": "Deny"}],
            }
        },
    ],
    ids=["description", "a tag more", "tags purged", "policy detached", "policy attached", "trust"],
)
def test_each_difference_the_module_would_change_is_seen(run_module, iam, change) -> None:
    apply_role(run_module, wanted())
    roles = read(run_module, "archive-eks-cluster")

    assert not iam_role_is_current(wanted(**change), roles)
    assert apply_role(run_module, wanted(**change)) is True
    assert iam_role_is_current(wanted(**change), read(run_module, "archive-eks-cluster"))


def test_what_the_modules_do_not_count_is_not_a_difference(run_module, iam) -> None:
    apply_role(run_module, wanted())
    iam.tag_role(RoleName="archive-eks-cluster", Tags=[{"Key": "Extra", "Value": "1"}])
    roles = read(run_module, "archive-eks-cluster")
    # The same trust as JSON text, keys in another order, the action as a one-item list.
    reordered = json.dumps(
        {
            "Statement": [
                {
                    "Action": ["sts:AssumeRole"],
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Effect": "Allow",
                }
            ],
            "Version": "2012-10-17",
        }
    )
    kept_tags = wanted(assume_role_policy_document=reordered, purge_tags=False)

    assert iam_role_is_current(kept_tags, roles)
    assert iam_role_is_current({"name": "archive-eks-cluster"}, roles)  # nothing set, nothing to change
    assert (
        apply_role(run_module, {**kept_tags, "assume_role_policy_document": json.loads(reordered)}) is False
    )


def test_a_managed_policy_named_not_by_arn_counts_as_a_difference(run_module, iam) -> None:
    apply_role(run_module, wanted())
    # The module looks a name up among the account's policies: the test does not, so it lets it run.
    assert not iam_role_is_current(
        wanted(managed_policies=["cluster"]), read(run_module, "archive-eks-cluster")
    )


def test_inline_policies_agree_with_iam_policy(run_module, iam) -> None:
    apply_role(run_module, wanted())
    only_policy = {"name": "archive-eks-cluster", "inline_policies": {"secrets-kms": INLINE}}
    assert not iam_role_is_current(only_policy, read(run_module, "archive-eks-cluster"))

    assert apply_inline(run_module, "archive-eks-cluster", "secrets-kms", INLINE) is True
    roles = read(run_module, "archive-eks-cluster")
    assert roles["archive-eks-cluster"]["inline_policies"] == {"secrets-kms": INLINE}
    assert iam_role_is_current(only_policy, roles)
    assert iam_role_is_current({**only_policy, "inline_policies": {"secrets-kms": json.dumps(INLINE)}}, roles)
    assert apply_inline(run_module, "archive-eks-cluster", "secrets-kms", INLINE) is False

    widened = {**INLINE, "Statement": [{**INLINE["Statement"][0], "Action": "kms:*"}]}
    assert not iam_role_is_current({**only_policy, "inline_policies": {"secrets-kms": widened}}, roles)
    assert apply_inline(run_module, "archive-eks-cluster", "secrets-kms", widened) is True
    # Without the inline documents, a policy is never found current.
    bare = run_module(iam_roles_info, {"names": ["archive-eks-cluster"], "inline_policies": False}).result[
        "roles"
    ]
    assert bare["archive-eks-cluster"]["inline_policies"] == {}
    assert not iam_role_is_current(only_policy, bare)


def test_bad_input_is_named(run_module, iam) -> None:
    with pytest.raises(AnsibleFilterError, match="accepted: name, assume_role_policy_document"):
        iam_role_is_current({"name": "r", "boundary": "arn:aws:iam::aws:policy/x"}, {})
    with pytest.raises(AnsibleFilterError, match="options have no name"):
        iam_role_is_current({"description": "x"}, {})
    apply_role(run_module, wanted())
    with pytest.raises(
        AnsibleFilterError, match=r"\(archive-eks-cluster\): assume_role_policy_document is not valid JSON"
    ):
        iam_role_is_current(
            wanted(assume_role_policy_document="{not json"), read(run_module, "archive-eks-cluster")
        )

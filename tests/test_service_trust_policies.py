"""Every IAM document the roles make that lets an AWS service in says on behalf of which account.

The documents are found and rendered with the example site's names by `bench/security_scan.py` (the
`make security-scan` renderer: Ansible, the roles' own variables). An Allow statement whose principal
is a service (`*.amazonaws.com`) must carry an `aws:SourceAccount` or `aws:SourceArn` condition, so that
the service cannot be made to act here for another account (the confused deputy).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import security_scan  # noqa: E402

# Left as they are, with the reason (docs/security-aws.md).
LEFT = {
    # EC2 assumes a node's role for its instance profile; it is not documented to pass a source account.
    "eks_cluster.eks_cluster_node_trust_policy",
    "ec2_hub_host.ec2_hub_host__trust_policy",
}
# CloudWatch Logs uses a key for a log group under the encryption context kms:EncryptionContext:aws:logs:arn,
# the group's ARN (its account included): the condition its guide gives for a key policy.
CONDITION_KEYS = {"aws:sourceaccount", "aws:sourcearn", "kms:encryptioncontext:aws:logs:arn"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("scan") / "policies"
    paths = security_scan.render(security_scan.find_documents(), out)
    return {path.stem: json.loads(path.read_text()) for path in paths}


def _services(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    return [services] if isinstance(services, str) else list(services)


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key.lower() for tests in statement.get("Condition", {}).values() for key in tests}


def test_service_statements_name_the_source_account(documents: dict[str, Any]) -> None:
    open_to_any_account = [
        f"{name}: {', '.join(_services(statement))}"
        for name, document in documents.items()
        if name not in LEFT
        for statement in document["Statement"]
        if statement.get("Effect") == "Allow"
        and _services(statement)
        and not _condition_keys(statement) & CONDITION_KEYS
    ]
    assert open_to_any_account == []


@pytest.mark.parametrize(
    ("name", "service", "conditions"),
    [
        (
            "backup.backup__trust_policy",
            "backup.amazonaws.com",
            {"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}},
        ),
        (
            "image_pipeline.trust-policy",
            "codebuild.amazonaws.com",
            {
                "StringEquals": {"aws:SourceAccount": "111122223333"},
                "ArnLike": {
                    "aws:SourceArn": "arn:aws:codebuild:us-east-1:111122223333:project/hst-prod-image-*"
                },
            },
        ),
    ],
)
def test_service_role_trust(
    documents: dict[str, Any], name: str, service: str, conditions: dict[str, Any]
) -> None:
    [statement] = documents[name]["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == conditions


def test_the_eks_cluster_role_is_assumed_for_this_cluster_only(documents: dict[str, Any]) -> None:
    """The EKS user guide's cluster role trust ("Cross-service confused deputy prevention in Amazon EKS")."""
    [statement] = documents["eks_cluster.eks_cluster_cluster_trust_policy"]["Statement"]
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:eks:us-east-1:111122223333:cluster/hst-prod"},
    }


def test_the_log_key_serves_the_control_plane_log_group_only(documents: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in documents["eks_cluster.eks_cluster_log_key_policy"]["Statement"]}
    assert statements["AccountAdministers"]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    logs = statements["CloudWatchLogsEncryptsTheControlPlaneLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": (
                "arn:aws:logs:us-east-1:111122223333:log-group:/aws/eks/hst-prod/cluster"
            )
        }
    }


def test_the_check_sees_the_service_documents(documents: dict[str, Any]) -> None:
    """Guards the first test against finding nothing: the documents it must judge are rendered."""
    with_services = {name for name, doc in documents.items() if any(_services(s) for s in doc["Statement"])}
    assert {
        "backup.backup__trust_policy",
        "image_pipeline.trust-policy",
        "cloudwatch_alarms.cloudwatch_alarms__topic_policy",
        "cloudwatch_alarms.cloudwatch_alarms__key_policy",
        "eks_cluster.eks_cluster_cluster_trust_policy",
        "eks_cluster.eks_cluster_log_key_policy",
    } <= with_services


def test_the_smoke_notebooks_role_cannot_reach_the_registry(documents: dict[str, Any]) -> None:
    """The image under test runs as the smoke role (tests/test_image_build_smoke.py): the smoke bucket only,
    assumed by the build role only; the build role keeps the push and reads of the bucket only the storage
    notice's wheel it copies into its context (issue 21), never the smoke data."""
    [trust] = documents["image_pipeline.smoke-trust-policy"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/hst-prod-image-build"}
    [smoke] = documents["image_pipeline.smoke-policy"]["Statement"]
    assert smoke["Action"] == ["s3:ListBucket", "s3:GetObject", "s3:PutObject"]
    bucket = "hst-prod-image-builds-111122223333"
    assert smoke["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    build = {s["Sid"]: s for s in documents["image_pipeline.build-policy"]["Statement"]}
    smoke_role = "arn:aws:iam::111122223333:role/hst-prod-image-smoke"
    assert build["RunSmokeTestsAsTheSmokeRole"]["Resource"] == smoke_role
    s3 = [s for s in build.values() if "s3:" in str(s["Action"])]
    assert s3 == [
        {
            "Sid": "StorageNoticeWheel",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/storage-notice/*",
        }
    ]

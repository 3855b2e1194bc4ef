"""sciplat.platform.eks_cluster against moto in-process, and Stubber for updates moto cannot track."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.sciplat.platform.plugins.modules import eks_cluster
from moto import mock_aws

ROLE = "arn:aws:iam::123456789012:role/sciplat-eks-cluster"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
SUBNETS = ["subnet-0000000000000001", "subnet-0000000000000002"]
GROUPS = ["sg-0000000000000003"]
CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/sciplat"


def args(**extra: Any) -> dict[str, Any]:
    return {
        "name": "sciplat",
        "version": "1.30",
        "role_arn": ROLE,
        "subnets": SUBNETS,
        "security_groups": GROUPS,
        **extra,
    }


@pytest.fixture
def eks() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("eks", region_name="us-east-1")


# --- moto in-process ---------------------------------------------------------------------------


def test_create_returns_the_cluster(run_module, eks) -> None:
    out = run_module(
        eks_cluster,
        args(logging=["api", "audit"], public_access_cidrs=["203.0.113.0/24"], tags={"site": "archive"}),
        diff=True,
    )

    assert not out.failed, out.result
    result = out.result
    assert result["changed"] is True
    assert result["status"] == "ACTIVE"
    assert result["arn"] == CLUSTER_ARN
    assert result["version"] == "1.30"
    assert result["endpoint"].startswith("https://")
    assert result["certificate_authority"]["data"]
    assert result["identity"]["oidc"]["issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert result["platform_version"]
    assert result["resources_vpc_config"]["subnet_ids"] == SUBNETS
    assert result["resources_vpc_config"]["endpoint_private_access"] is True
    assert result["tags"] == {"site": "archive"}
    assert result["diff"]["after"]["logging"] == ["api", "audit"]
    stored = eks.describe_cluster(name="sciplat")["cluster"]
    assert stored["logging"]["clusterLogging"][0] == {"types": ["api", "audit"], "enabled": True}


def test_second_run_changes_nothing(run_module, eks, clock) -> None:
    first = run_module(eks_cluster, args(logging=["api"], tags={"site": "archive"}))
    assert first.result["changed"] is True, first.result

    out = run_module(eks_cluster, args(logging=["api"], tags={"site": "archive"}), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["diff"]["before"] == out.result["diff"]["after"]
    assert clock.sleeps == []


def test_logging_update(run_module, eks) -> None:
    run_module(eks_cluster, args(logging=["api"]))

    out = run_module(eks_cluster, args(logging=["audit", "scheduler"]), diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["before"]["logging"] == ["api"]
    assert out.result["diff"]["after"]["logging"] == ["audit", "scheduler"]
    entries = eks.describe_cluster(name="sciplat")["cluster"]["logging"]["clusterLogging"]
    assert {"types": ["audit", "scheduler"], "enabled": True} in entries
    assert run_module(eks_cluster, args(logging=["scheduler", "audit"])).result["changed"] is False
    assert run_module(eks_cluster, args()).result["changed"] is False  # logging omitted: not managed


def test_endpoint_access_update(run_module, eks) -> None:
    run_module(eks_cluster, args())

    out = run_module(eks_cluster, args(endpoint_public_access=False), diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["before"]["endpoint_public_access"] is True
    assert out.result["diff"]["after"]["endpoint_public_access"] is False
    vpc = eks.describe_cluster(name="sciplat")["cluster"]["resourcesVpcConfig"]
    assert vpc["endpointPublicAccess"] is False
    assert vpc["endpointPrivateAccess"] is True


def test_tags_update(run_module, eks) -> None:
    run_module(eks_cluster, args(tags={"a": "1", "b": "2"}))

    out = run_module(eks_cluster, args(tags={"b": "3"}))

    assert out.result["changed"] is True, out.result
    assert out.result["tags"] == {"b": "3"}
    assert eks.describe_cluster(name="sciplat")["cluster"]["tags"] == {"b": "3"}


def test_check_mode_create_changes_nothing(run_module, eks) -> None:
    out = run_module(eks_cluster, args(logging=["api"]), check_mode=True, diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["before"] == {}
    assert out.result["diff"]["after"]["subnets"] == SUBNETS
    assert eks.list_clusters()["clusters"] == []


def test_check_mode_update_changes_nothing(run_module, eks) -> None:
    run_module(eks_cluster, args(logging=["api"]))

    out = run_module(
        eks_cluster,
        args(logging=["audit"], endpoint_public_access=False, tags={"x": "y"}),
        check_mode=True,
        diff=True,
    )

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["after"]["logging"] == ["audit"]
    stored = eks.describe_cluster(name="sciplat")["cluster"]
    assert stored["logging"]["clusterLogging"][0] == {"types": ["api"], "enabled": True}
    assert stored["resourcesVpcConfig"]["endpointPublicAccess"] is True
    assert stored["tags"] == {}


def test_delete(run_module, eks) -> None:
    run_module(eks_cluster, args())

    check = run_module(eks_cluster, {"name": "sciplat", "state": "absent"}, check_mode=True)
    assert check.result["changed"] is True
    assert eks.list_clusters()["clusters"] == ["sciplat"]

    out = run_module(eks_cluster, {"name": "sciplat", "state": "absent"})
    assert out.result["changed"] is True, out.result
    assert eks.list_clusters()["clusters"] == []

    assert run_module(eks_cluster, {"name": "sciplat", "state": "absent"}).result["changed"] is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"subnets": [SUBNETS[0], "subnet-0000000000000009"]},
            "subnets: the subnets of existing cluster sciplat",
        ),
        (
            {"security_groups": ["sg-0000000000000009"]},
            "security_groups: the security groups of existing cluster",
        ),
        (
            {"role_arn": ROLE + "-other"},
            "role_arn: the IAM role of existing cluster sciplat cannot be changed",
        ),
        (
            {"version": "1.32"},
            "version: EKS upgrades one minor version at a time (cluster runs 1.30, asked 1.32);",
        ),
        ({"version": "1.29"}, "version: EKS cannot downgrade a cluster (cluster runs 1.30, asked 1.29)"),
        ({"version": "latest"}, "version must look like 1.31"),
        ({"encryption_kms_key_arn": KEY + "-other"}, "encryption_kms_key_arn: secrets encryption of cluster"),
        ({"encryption_kms_key_arn": ""}, "cannot be removed once set"),
    ],
)
def test_requests_eks_cannot_apply_fail_naming_the_parameter(
    run_module, eks, extra: dict[str, Any], message: str
) -> None:
    run_module(eks_cluster, args(encryption_kms_key_arn=KEY))

    out = run_module(eks_cluster, args(**{"encryption_kms_key_arn": KEY, **extra}))

    assert out.failed
    assert message in out.result["msg"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"endpoint_public_access": False, "endpoint_private_access": False},
            "endpoint_public_access and endpoint_private_access cannot both be false",
        ),
        ({"logging": ["api", "kubelet"]}, "logging"),
        ({"authentication_mode": "IAM"}, "authentication_mode"),
    ],
)
def test_bad_parameters_fail_before_any_call(run_module, stubs, extra: dict[str, Any], message: str) -> None:
    out = run_module(eks_cluster, args(**extra))

    assert out.failed
    assert message in out.result["msg"]
    stubs.assert_done()


def test_create_needs_role_and_subnets(run_module, eks) -> None:
    out = run_module(eks_cluster, {"name": "sciplat"})

    assert out.failed
    assert out.result["msg"] == "role_arn and subnets required to create cluster sciplat"


# --- Stubber: update tracking, version upgrades, failures ------------------------------------


def cluster(status: str = "ACTIVE", version: str = "1.30", **extra: Any) -> dict[str, Any]:
    body = {
        "name": "sciplat",
        "arn": CLUSTER_ARN,
        "version": version,
        "status": status,
        "roleArn": ROLE,
        "resourcesVpcConfig": {
            "subnetIds": SUBNETS,
            "securityGroupIds": GROUPS,
            "vpcId": "vpc-0000000000000001",
            "endpointPublicAccess": True,
            "endpointPrivateAccess": True,
            "publicAccessCidrs": ["0.0.0.0/0"],
        },
        "logging": {"clusterLogging": [{"types": list(eks_cluster.LOG_TYPES), "enabled": False}]},
        "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        "tags": {},
    }
    body.update(extra)
    return {"cluster": body}


NAME = {"name": "sciplat"}


def update(status: str, **extra: Any) -> dict[str, Any]:
    return {"update": {"id": "upd-1", "status": status, **extra}}


def test_version_upgrade_follows_the_update(run_module, stubs, clock) -> None:
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add("eks", "describe_cluster", cluster(), NAME)  # settled before the update
    stubs.add(
        "eks",
        "update_cluster_version",
        update("InProgress", type="VersionUpdate"),
        {**NAME, "version": "1.31"},
    )
    stubs.add("eks", "describe_update", update("InProgress"), {**NAME, "updateId": "upd-1"})
    stubs.add("eks", "describe_update", update("Successful"), {**NAME, "updateId": "upd-1"})
    stubs.add("eks", "describe_cluster", cluster(version="1.31"), NAME)

    out = run_module(eks_cluster, args(version="1.31"), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["version"] == "1.31"
    assert out.result["diff"]["before"]["version"] == "1.30"
    assert out.result["diff"]["after"]["version"] == "1.31"
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_a_run_resumed_during_the_upgrade_waits_for_it_instead_of_asking_again(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster("UPDATING", version="1.30"), NAME)
    stubs.add("eks", "describe_cluster", cluster("UPDATING", version="1.30"), NAME)
    stubs.add("eks", "describe_cluster", cluster(version="1.31"), NAME)

    out = run_module(eks_cluster, args(version="1.31"))

    assert not out.failed, out.result
    assert (out.result["version"], out.result["status"]) == ("1.31", "ACTIVE")
    assert out.result["changed"] is False
    stubs.assert_done()  # no second UpdateClusterVersion


def test_failed_update_reports_its_errors(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add("eks", "update_cluster_version", update("InProgress"))
    errors = [{"errorCode": "NodeCreationFailure", "errorMessage": "node groups must be 1.30 first"}]
    stubs.add("eks", "describe_update", update("Failed", errors=errors))

    out = run_module(eks_cluster, args(version="1.31"))

    assert out.failed
    assert out.result["changed"] is True
    assert "reached status Failed" in out.result["msg"]
    assert "NodeCreationFailure: node groups must be 1.30 first" in out.result["msg"]
    stubs.assert_done()


def test_one_update_at_a_time_and_no_wait_for_the_last(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    # 1: endpoint access, followed to the end because another update comes after it.
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add(
        "eks",
        "update_cluster_config",
        update("InProgress", type="EndpointAccessUpdate"),
        {**NAME, "resourcesVpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True}},
    )
    stubs.add("eks", "describe_update", update("Successful"), {**NAME, "updateId": "upd-1"})
    # 2: logging, started only once the cluster is ACTIVE again, and not waited for (wait=false).
    stubs.add("eks", "describe_cluster", cluster("UPDATING"), NAME)
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add(
        "eks",
        "update_cluster_config",
        update("InProgress", type="LoggingUpdate"),
        {
            **NAME,
            "logging": {
                "clusterLogging": [
                    {"types": ["api"], "enabled": True},
                    {"types": ["audit", "authenticator", "controllerManager", "scheduler"], "enabled": False},
                ]
            },
        },
    )
    stubs.add("eks", "describe_cluster", cluster("UPDATING"), NAME)

    out = run_module(eks_cluster, args(endpoint_public_access=False, logging=["api"], wait=False))

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["status"] == "UPDATING"
    stubs.assert_done()


def test_authentication_mode_moves_forward(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add(
        "eks",
        "update_cluster_config",
        update("InProgress"),
        {**NAME, "accessConfig": {"authenticationMode": "API"}},
    )
    stubs.add("eks", "describe_update", update("Successful"))
    stubs.add("eks", "describe_cluster", cluster(accessConfig={"authenticationMode": "API"}), NAME)

    out = run_module(eks_cluster, args(authentication_mode="API"))

    assert out.result["changed"] is True, out.result
    assert out.result["access_config"] == {"authentication_mode": "API"}
    stubs.assert_done()


def test_authentication_mode_cannot_move_back(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster(accessConfig={"authenticationMode": "API"}), NAME)

    out = run_module(eks_cluster, args())  # default API_AND_CONFIG_MAP

    assert out.failed
    assert out.result["msg"] == (
        "authentication_mode: EKS only moves CONFIG_MAP -> API_AND_CONFIG_MAP -> API"
        " (cluster uses API, asked API_AND_CONFIG_MAP)"
    )
    stubs.assert_done()


def test_encryption_can_be_added_once(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add(
        "eks",
        "associate_encryption_config",
        update("InProgress", type="AssociateEncryptionConfig"),
        {
            "clusterName": "sciplat",
            "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}],
        },
    )

    encrypted = [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]
    stubs.add("eks", "describe_cluster", cluster("UPDATING", encryptionConfig=encrypted), NAME)

    out = run_module(eks_cluster, args(encryption_kms_key_arn=KEY, wait=False), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["encryption_kms_key_arn"] is None
    assert out.result["diff"]["after"]["encryption_kms_key_arn"] == KEY
    assert out.result["encryption_config"][0]["provider"]["key_arn"] == KEY
    stubs.assert_done()


def test_create_waits_and_fails_on_failed_cluster(run_module, stubs, clock) -> None:
    stubs.error("eks", "describe_cluster", "ResourceNotFoundException", "No cluster found", 404)
    stubs.add("eks", "create_cluster", cluster("CREATING"))
    stubs.add("eks", "describe_cluster", cluster("CREATING"), NAME)
    issues = [{"code": "SubnetNotFound", "message": "subnet-0000000000000002 does not exist"}]
    stubs.add("eks", "describe_cluster", cluster("FAILED", health={"issues": issues}), NAME)

    out = run_module(eks_cluster, args())

    assert out.failed
    assert out.result["changed"] is True
    assert "Cluster sciplat reached status FAILED" in out.result["msg"]
    assert "SubnetNotFound: subnet-0000000000000002 does not exist" in out.result["msg"]
    stubs.assert_done()


def test_create_wait_timeout(run_module, stubs, clock) -> None:
    stubs.error("eks", "describe_cluster", "ResourceNotFoundException", "No cluster found", 404)
    stubs.add("eks", "create_cluster", cluster("CREATING"))
    for _ in range(20):
        stubs.add("eks", "describe_cluster", cluster("CREATING"), NAME)

    out = run_module(eks_cluster, args(wait_timeout=120))

    assert out.failed
    assert "Cluster sciplat still CREATING after 120 s" in out.result["msg"]
    assert sum(clock.sleeps) == pytest.approx(120)


def test_wait_on_a_creating_cluster_without_changes(run_module, stubs, clock) -> None:
    stubs.add("eks", "describe_cluster", cluster("CREATING"), NAME)
    stubs.add("eks", "describe_cluster", cluster("CREATING"), NAME)
    stubs.add("eks", "describe_cluster", cluster("ACTIVE"), NAME)

    out = run_module(eks_cluster, args())

    assert out.result["changed"] is False, out.result
    assert out.result["status"] == "ACTIVE"
    stubs.assert_done()


def test_security_group_names_are_resolved(run_module, stubs) -> None:
    stubs.add("eks", "describe_cluster", cluster(), NAME)
    stubs.add(
        "ec2",
        "describe_security_groups",
        {
            "SecurityGroups": [
                {"GroupName": "eks-control-plane", "GroupId": GROUPS[0], "VpcId": "vpc-0000000000000001"}
            ]
        },
    )

    out = run_module(eks_cluster, args(security_groups=["eks-control-plane"]))

    assert not out.failed, out.result
    assert out.result["changed"] is False
    stubs.assert_done()


@pytest.mark.parametrize(
    ("current", "wanted", "problem"),
    [
        ("1.30", "1.31", None),
        ("1.30", "1.30", None),
        ("1.30", "1.32", "one minor version at a time"),
        ("1.30", "2.0", "one minor version at a time"),
        ("1.30", "1.29", "cannot downgrade"),
        ("1.30", "v1.31", "must look like"),
    ],
)
def test_version_problem(current: str, wanted: str, problem: str | None) -> None:
    found = eks_cluster.version_problem(current, wanted)
    assert (found is None) if problem is None else (problem in found)

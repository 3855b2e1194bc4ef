"""The cost cap against the emulator: engage holds the user node group at its floor and records the
sizes in SSM; lift restores them and clears the record; both are idempotent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.launcher import Emulator, running_emulator
from runbooks import cost_cap
from runbooks.site import Site

CLUSTER = "cap-hub"
PARAMETER = "/sciplat/cap/cost-cap"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("cost-cap"), time_scale=600) as running:
        yield running


@pytest.fixture
def site(emulator: Emulator) -> Site:
    environment = emulator.client_env()
    hostvars = {
        "eks_cluster_name": CLUSTER,
        "eks_cluster_node_groups": [
            {"name": "core", "purpose": "core"},
            {"name": "user", "purpose": "user"},
        ],
    }
    return Site(
        name="cap",
        inventory=Path("inventories/cap"),
        region="us-east-1",
        tags={"Site": "cap"},
        hostvars=hostvars,
        resolve=lambda key, default: environment if key == "site_aws_environment" else default,
    )


def client(emulator: Emulator, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def wait_active(eks: Any, nodegroup: str = "user") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        found = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=nodegroup)["nodegroup"]
        if found["status"] == "ACTIVE" or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def cluster(emulator: Emulator) -> Iterator[Any]:
    eks = client(emulator, "eks")
    eks.create_cluster(
        name=CLUSTER,
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
    )
    deadline = time.monotonic() + 60
    while eks.describe_cluster(name=CLUSTER)["cluster"]["status"] != "ACTIVE" and time.monotonic() < deadline:
        time.sleep(0.2)
    eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName="user",
        nodeRole="arn:aws:iam::123456789012:role/node",
        subnets=["subnet-1"],
        scalingConfig={"minSize": 0, "maxSize": 8, "desiredSize": 3},
    )
    wait_active(eks)
    yield eks
    client(emulator, "ssm").delete_parameters(Names=[PARAMETER])
    eks.delete_nodegroup(clusterName=CLUSTER, nodegroupName="user")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not eks.list_nodegroups(clusterName=CLUSTER)["nodegroups"]:
            break
        time.sleep(0.2)
    eks.delete_cluster(name=CLUSTER)


def sizes(eks: Any) -> dict[str, int]:
    return wait_active(eks)["scalingConfig"]


def test_engage_holds_the_floor_and_lift_restores(emulator: Emulator, site: Site, cluster: Any) -> None:
    ssm = client(emulator, "ssm")
    assert cost_cap.state(site) == {"engaged": False}

    engaged = cost_cap.engage(site, "budget hard threshold (test)", sleep=lambda _: time.sleep(0.1))

    assert engaged["changed"] is True
    assert sizes(cluster) == {"minSize": 0, "maxSize": 1, "desiredSize": 0}
    record = json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    assert record["engaged"] is True
    assert record["reason"] == "budget hard threshold (test)"
    assert record["previous"] == {"minSize": 0, "maxSize": 8, "desiredSize": 3}
    assert record["when"].endswith("+00:00")
    assert cost_cap.state(site)["engaged"] is True
    assert "ENGAGED" in cost_cap.describe(cost_cap.state(site))

    again = cost_cap.engage(site, "second time")
    assert again["changed"] is False
    assert (
        json.loads(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])["reason"]
        == "budget hard threshold (test)"
    )

    lifted = cost_cap.lift(site, sleep=lambda _: time.sleep(0.1))

    assert lifted["changed"] is True
    assert sizes(cluster) == {"minSize": 0, "maxSize": 8, "desiredSize": 3}
    assert ssm.get_parameters(Names=[PARAMETER])["InvalidParameters"] == [PARAMETER]
    assert cost_cap.state(site) == {"engaged": False}
    assert cost_cap.lift(site)["changed"] is False


def test_a_site_without_a_user_node_group_is_refused(site: Site) -> None:
    bare = Site(
        name=site.name,
        inventory=site.inventory,
        region=site.region,
        tags=site.tags,
        hostvars={
            "eks_cluster_name": CLUSTER,
            "eks_cluster_node_groups": [{"name": "core", "purpose": "core"}],
        },
        resolve=site.resolve,
    )
    with pytest.raises(cost_cap.CostCapError, match="no user node group"):
        cost_cap.engage(bare)

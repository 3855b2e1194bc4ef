"""Shapes the inventory no longer lists (issue 19, `prune`): the local site's network and cluster are
converged with NAT gateways per zone and two node groups, then with one NAT gateway and the `core` group
only. Without `aws_network_prune` / `eks_cluster_prune` the extra NAT gateways and node group stay, each
named in a warning, and a second converge changes nothing; check mode with prune on deletes nothing; a
converge with prune on deletes them (the NAT gateways' Elastic IPs released) and the next changes nothing.
The emulated account is read back with boto3 after each run.

The cluster runs against EKS records only (no Kubernetes behind them): EKS deletes a node group the same
way, and nothing here needs nodes.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from ansible_run import WITHOUT_KUBERNETES, PlaybookRun, run_playbook

from emulator.launcher import Emulator
from runbooks.site import load_site

pytestmark = pytest.mark.e2e

LOCAL = load_site("local")
SITE = LOCAL.var("site_name")
REGION = LOCAL.var("site_region")
CLUSTER = f"{SITE}-hub"
# The local site has a NAT gateway per zone and the node groups core and user.
CORE_ONLY = [g for g in LOCAL.var("eks_cluster_node_groups") if g["name"] == "core"]
SMALLER = {"aws_network_nat_gateway_mode": "single", "eks_cluster_node_groups": CORE_ONLY}
PRUNE = {"aws_network_prune": True, "eks_cluster_prune": "yes"}  # a string, as -e gives it


def converge(emulator: Emulator, *args: str, **extra_vars: Any) -> PlaybookRun:
    """The network and cluster stages, in one ansible-playbook run (each validates its inputs first)."""
    return run_playbook(
        "network.yml",
        state_dir=emulator.state_dir,
        extra_vars={**WITHOUT_KUBERNETES, **extra_vars},
        args=("playbooks/cluster.yml", *args),
    )


def client(emulator: Emulator, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def shape(emulator: Emulator) -> dict[str, Any]:
    """The site's NAT gateways (Name: ID), their Elastic IPs, private routes' targets, node groups."""
    ec2 = client(emulator, "ec2")
    tagged = [{"Name": "tag:Site", "Values": [SITE]}]
    nats = {
        tags(n)["Name"]: n["NatGatewayId"]
        for n in ec2.describe_nat_gateways()["NatGateways"]
        if n["State"] in ("pending", "available") and tags(n).get("Site") == SITE
    }
    routes = {
        next(t["Value"] for t in table["Tags"] if t["Key"] == "Name"): route.get("NatGatewayId")
        for table in ec2.describe_route_tables(Filters=tagged)["RouteTables"]
        for route in table["Routes"]
        if route.get("DestinationCidrBlock") == "0.0.0.0/0"
    }
    addresses = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [f"{SITE}-nat-*"]}])[
        "Addresses"
    ]
    return {
        "nat_gateways": nats,
        "addresses": sorted(a["PublicIp"] for a in addresses),
        "private_routes": {name: target for name, target in routes.items() if "-private-" in name},
        "node_groups": sorted(client(emulator, "eks").list_nodegroups(clusterName=CLUSTER)["nodegroups"]),
    }


def add_foreign_resources(emulator: Emulator, site_nat: str) -> str:
    """Another tool's NAT gateway in the site's public subnet and node group in its cluster, without the
    site's tags: the NAT gateway's ID."""
    ec2, eks = client(emulator, "ec2"), client(emulator, "eks")
    subnet = ec2.describe_nat_gateways(NatGatewayIds=[site_nat])["NatGateways"][0]["SubnetId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(
        SubnetId=subnet,
        AllocationId=address,
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "batch-nat"}]}],
    )["NatGateway"]["NatGatewayId"]
    site_group = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="core")["nodegroup"]
    eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName="batch",
        nodeRole=site_group["nodeRole"],
        subnets=site_group["subnets"],
        scalingConfig={"minSize": 0, "maxSize": 1, "desiredSize": 0},
        tags={"Site": "batch"},
    )
    return nat


def nat_state(emulator: Emulator, nat: str) -> str:
    return client(emulator, "ec2").describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"]


def warnings(run: PlaybookRun) -> list[str]:
    return [line.strip() for line in run.output.splitlines() if "_prune: true to" in line]


def test_extra_nat_gateways_and_node_group_are_reported_then_pruned_only_when_asked(
    emulator: Emulator,
) -> None:
    first = converge(emulator)
    assert first.returncode == 0, first.output[-3000:]
    before = shape(emulator)
    assert len(before["nat_gateways"]) == 3 and len(before["addresses"]) == 3, before
    assert before["node_groups"] == ["core", "user"]
    zones = sorted(before["nat_gateways"])
    kept, extra = zones[0], zones[1:]
    foreign = add_foreign_resources(emulator, before["nat_gateways"][extra[0]])
    before["node_groups"] = ["batch", "core", "user"]

    # Prune off: the routes move to the one NAT gateway wanted; nothing is deleted, each extra is named.
    smaller = converge(emulator, **SMALLER)
    assert smaller.returncode == 0, smaller.output[-3000:]
    after = shape(emulator)
    assert after["nat_gateways"] == before["nat_gateways"]
    assert after["addresses"] == before["addresses"]
    assert set(after["private_routes"].values()) == {before["nat_gateways"][kept]}
    assert after["node_groups"] == ["batch", "core", "user"]
    lines = warnings(smaller)
    assert len(lines) == 3, "\n".join(lines)
    for name in extra:
        assert any(
            before["nat_gateways"][name] in line and "set aws_network_prune: true" in line.lower()
            for line in lines
        )
    assert any("Extra node group user" in line and "eks_cluster_prune: true" in line for line in lines)

    again = converge(emulator, **SMALLER)
    assert again.returncode == 0 and again.changed == 0, again.changed_tasks_by_role
    assert len(warnings(again)) == 3

    # Check mode with prune on: the deletions are reported (the node group's with a diff), none is made.
    check = converge(emulator, "--check", "--diff", **SMALLER, **PRUNE)
    assert check.returncode == 0, check.output[-3000:]
    planned = check.changed_tasks_by_role
    assert "Delete the extra NAT gateways, without waiting." in planned["aws_network"], planned
    assert (
        "Start deleting the node groups the inventory no longer lists (EKS drains their nodes)."
        in planned["eks_cluster"]
    ), planned
    deletion = check.output.split("Start deleting the node groups the inventory no longer lists")[1].split(
        "TASK ["
    )[0]
    assert "-    capacity_type: SPOT" in deletion and "+    {}" in deletion, (
        deletion
    )  # the diff: the group, then nothing
    assert shape(emulator) == after

    pruned = converge(emulator, **SMALLER, **PRUNE)
    assert pruned.returncode == 0, pruned.output[-3000:]
    gone = shape(emulator)
    assert gone["nat_gateways"] == {kept: before["nat_gateways"][kept]}
    assert len(gone["addresses"]) == 1
    assert gone["node_groups"] == ["batch", "core"]
    # What is not tagged as the site's is left alone, and never named.
    assert nat_state(emulator, foreign) == "available"
    assert "batch" not in smaller.output and foreign not in smaller.output
    assert not warnings(pruned)

    final = converge(emulator, **SMALLER, **PRUNE)
    assert final.returncode == 0 and final.changed == 0, final.changed_tasks_by_role
    assert shape(emulator) == gone

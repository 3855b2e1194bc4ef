"""Shapes the inventory no longer lists (issue 19, `prune`): the local site's network and cluster are
converged with NAT gateways per zone and two node groups, then with one NAT gateway and the `core` group
only. Without `aws_network_prune` / `eks_cluster_prune` the extra NAT gateways and node group stay, each
named in a warning, and a second converge changes nothing; check mode with prune on deletes nothing; a
converge with prune on deletes them (the NAT gateways' Elastic IPs released) and the next changes nothing.
The emulated account is read back with boto3 after each run.

The cluster runs against EKS records only (no Kubernetes behind them): EKS deletes a node group the same
way, and nothing here needs nodes.

The second test drops a zone from the network (aws_network_az_count 3 to 2): its subnets and private route
table are reported, then with `aws_network_prune` removed, except a subnet that still holds another
tool's network interface, which is refused by name until the interface is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_run import TEST_TIME_SCALE, WITHOUT_KUBERNETES, PlaybookRun, run_playbook

from emulator.launcher import Emulator, running_emulator
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


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """Each test's own account."""
    with running_emulator(tmp_path, time_scale=TEST_TIME_SCALE, kubernetes=False) as emu:
        yield emu


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
    assert any(
        "Extra node group user" in line and "as the site's but" in line and "eks_cluster_prune: true" in line
        for line in lines
    )

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


def converge_network(emulator: Emulator, *args: str, **extra_vars: Any) -> PlaybookRun:
    return run_playbook("network.yml", state_dir=emulator.state_dir, extra_vars=extra_vars, args=args)


def zone_resources(emulator: Emulator) -> dict[str, str]:
    """The site's subnets and route tables, Name: ID."""
    ec2 = client(emulator, "ec2")
    tagged = [{"Name": "tag:Site", "Values": [SITE]}]
    subnets = {tags(s)["Name"]: s["SubnetId"] for s in ec2.describe_subnets(Filters=tagged)["Subnets"]}
    tables = ec2.describe_route_tables(Filters=tagged)["RouteTables"]
    return {**subnets, **{tags(t)["Name"]: t["RouteTableId"] for t in tables}}


def test_a_dropped_zones_subnets_and_route_tables_are_reported_then_pruned_only_when_asked(
    emulator: Emulator,
) -> None:
    first = converge_network(emulator)
    assert first.returncode == 0, first.output[-3000:]
    before = zone_resources(emulator)
    ec2 = client(emulator, "ec2")
    zones = sorted(
        {
            s["AvailabilityZone"]
            for s in ec2.describe_subnets(SubnetIds=[before[n] for n in before if not n.endswith("-rt")])[
                "Subnets"
            ]
        }
    )
    assert len(zones) == 3, before
    dropped = zones[-1]
    public, private, table = (
        f"{SITE}-public-{dropped}",
        f"{SITE}-private-{dropped}",
        f"{SITE}-private-{dropped}-rt",
    )
    assert {public, private, table} <= before.keys()
    nat = next(
        n["NatGatewayId"]
        for n in ec2.describe_nat_gateways()["NatGateways"]
        if tags(n).get("Name") == f"{SITE}-nat-{dropped}"
    )
    # Another tool's interface in the dropped zone's public subnet: that subnet must outlive a prune.
    interface = ec2.create_network_interface(SubnetId=before[public], Description="batch job interface")[
        "NetworkInterface"
    ]["NetworkInterfaceId"]
    two = {"aws_network_az_count": 2}

    # Prune off: each extra resource is named in one line, nothing changes.
    smaller = converge_network(emulator, **two)
    assert smaller.returncode == 0, smaller.output[-3000:]
    assert smaller.changed == 0, smaller.changed_tasks_by_role
    assert zone_resources(emulator) == before
    lines = warnings(smaller)
    assert len(lines) == 4, "\n".join(lines)
    for name in (public, private, table):
        assert any(
            before[name] in line
            and name in line
            and "the site's" in line
            and f"zone {dropped}" in line
            and line.endswith("Set aws_network_prune: true to remove it.")
            for line in lines
        ), (name, lines)
    assert any(nat in line for line in lines), lines
    assert any(
        interface in line and "batch job interface" in line for line in lines if before[public] in line
    )

    again = converge_network(emulator, **two)
    assert again.returncode == 0 and again.changed == 0, again.changed_tasks_by_role
    assert warnings(again) == lines

    # Check mode with prune on: the deletions are reported, none is made.
    check = converge_network(emulator, "--check", aws_network_prune=True, **two)
    assert check.returncode == 0, check.output[-3000:]
    planned = check.changed_tasks_by_role["aws_network"]
    assert planned == [
        "Delete the route tables of zones the inventory no longer lists (their subnets disassociated first).",
        "Delete the extra NAT gateways, without waiting.",
        "Release the Elastic IPs of the deleted NAT gateways and the free ones the inventory no longer "
        "wants.",
        "Delete the subnets of zones the inventory no longer lists.",
    ], planned
    assert zone_resources(emulator) == before
    assert nat_state(emulator, nat) == "available"

    # Prune on: the zone's route table, NAT gateway and private subnet go; the public subnet is refused.
    pruned = converge_network(emulator, aws_network_prune=True, **two)
    assert pruned.returncode == 0, pruned.output[-3000:]
    kept = {name: resource for name, resource in before.items() if dropped not in name}
    assert zone_resources(emulator) == {**kept, public: before[public]}
    assert nat_state(emulator, nat) == "deleted"
    refusals = [line for line in pruned.output.splitlines() if "[WARNING]" in line and before[public] in line]
    assert len(refusals) == 1 and interface in refusals[0] and "batch job interface" in refusals[0], refusals
    assert not warnings(pruned)

    again = converge_network(emulator, aws_network_prune=True, **two)
    assert again.returncode == 0 and again.changed == 0, again.changed_tasks_by_role

    # Once the interface is gone, the next converge finishes the job, and the one after changes nothing.
    ec2.delete_network_interface(NetworkInterfaceId=interface)
    done = converge_network(emulator, aws_network_prune=True, **two)
    assert done.returncode == 0, done.output[-3000:]
    assert zone_resources(emulator) == kept
    final = converge_network(emulator, aws_network_prune=True, **two)
    assert final.returncode == 0 and final.changed == 0, final.changed_tasks_by_role

"""Drift made by hand (issue 18): someone removes the tags that identify the site's VPC, a route table
and a subnet, and turns a VPC setting off in the console. `--check --diff` reports what it would put
back without failing and creates nothing; a converge repairs it in place, with no second VPC, route
table or subnet; the next converge has nothing left to change."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from ansible_run import run_playbook

from emulator.launcher import Emulator

pytestmark = pytest.mark.e2e
REGION = "us-east-1"


def ec2_client(emulator: Emulator) -> Any:
    return boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def network(ec2: Any) -> dict[str, Any]:
    """The site's network as the account has it (the default VPC left out)."""
    vpcs = [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    ids = [v["VpcId"] for v in vpcs]
    in_site = [{"Name": "vpc-id", "Values": ids}]
    return {
        "vpcs": vpcs,
        "subnets": ec2.describe_subnets(Filters=in_site)["Subnets"],
        "route_tables": ec2.describe_route_tables(Filters=in_site)["RouteTables"],
        "nat_gateways": [
            n
            for n in ec2.describe_nat_gateways(Filters=in_site)["NatGateways"]
            if n["State"] in ("pending", "available")
        ],
    }


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_tags_removed_by_hand_are_reported_then_repaired_without_duplicates(site_emulator: Emulator) -> None:
    site_emulator.reset()
    extra_vars = {"site_aws_environment": site_emulator.client_env()}

    def converge(*args: str):
        return run_playbook(
            "network.yml", state_dir=site_emulator.state_dir, extra_vars=extra_vars, args=args
        )

    first = converge()
    assert first.returncode == 0, first.output[-4000:]
    ec2 = ec2_client(site_emulator)
    built = network(ec2)
    assert len(built["vpcs"]) == 1
    vpc = built["vpcs"][0]
    vpc_tags = tags(vpc)
    table = next(t for t in built["route_tables"] if "private" in tags(t).get("Name", ""))
    subnet = next(s for s in built["subnets"] if "public" in tags(s).get("Name", ""))

    # By hand: every tag off the VPC, a private route table and a public subnet; DNS hostnames off.
    for resource_id, resource in (
        (vpc["VpcId"], vpc),
        (table["RouteTableId"], table),
        (subnet["SubnetId"], subnet),
    ):
        ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in tags(resource)])
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": False})

    check = converge("--check", "--diff")
    assert check.returncode == 0, check.output[-4000:]
    assert check.recap["localhost"]["failed"] == 0
    assert f"The VPC {vpc['VpcId']} has lost its Name tag" in check.output
    assert check.changed > 0
    # What it would put back: the VPC (tags, DNS hostnames), that subnet and that route table, by name.
    assert "TASK [aws_network : Create or update the VPC.] ***" in check.output
    assert re.search(r"Create or update the VPC\.\] \*+\nchanged: \[localhost\]", check.output)
    assert f"changed: [localhost] => (item={tags(subnet)['Name']})" in check.output
    assert f"changed: [localhost] => (item={tags(table)['Name']})" in check.output
    untouched = network(ec2)
    assert len(untouched["vpcs"]) == 1 and not tags(untouched["vpcs"][0])

    repair = converge()
    assert repair.returncode == 0, repair.output[-4000:]
    repaired = network(ec2)
    for kind in ("vpcs", "subnets", "route_tables", "nat_gateways"):
        assert len(repaired[kind]) == len(built[kind]), (
            f"{kind}: {len(built[kind])} before, {len(repaired[kind])} after"
        )
    assert repaired["vpcs"][0]["VpcId"] == vpc["VpcId"]
    assert tags(repaired["vpcs"][0]) == vpc_tags
    by_id = {t["RouteTableId"]: t for t in repaired["route_tables"]}
    assert tags(by_id[table["RouteTableId"]]) == tags(table)
    assert tags(next(s for s in repaired["subnets"] if s["SubnetId"] == subnet["SubnetId"])) == tags(subnet)
    dns = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
    assert dns["EnableDnsHostnames"]["Value"] is True

    again = converge()
    assert again.returncode == 0, again.output[-4000:]
    assert again.changed == 0, again.output[-4000:]
    # A VPC as the module would leave it is not passed to the module again (its reads are the role's one).
    assert re.search(r"Create or update the VPC\.\] \*+\nskipping: \[localhost\]", again.output)

    # A setting turned off by hand with the tags kept is seen in that read and put back.
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": False})
    hostnames = converge()
    assert hostnames.returncode == 0, hostnames.output[-4000:]
    assert re.search(r"Create or update the VPC\.\] \*+\nchanged: \[localhost\]", hostnames.output)
    dns = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
    assert dns["EnableDnsHostnames"]["Value"] is True


def test_a_second_vpc_with_the_sites_name_is_refused_naming_both(site_emulator: Emulator) -> None:
    site_emulator.reset()
    extra_vars = {"site_aws_environment": site_emulator.client_env()}
    first = run_playbook("network.yml", state_dir=site_emulator.state_dir, extra_vars=extra_vars)
    assert first.returncode == 0, first.output[-4000:]
    ec2 = ec2_client(site_emulator)
    [vpc] = network(ec2)["vpcs"]
    # By hand: another VPC with the same CIDR and the site's Name tag.
    copy = ec2.create_vpc(CidrBlock=vpc["CidrBlock"])["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[copy], Tags=[{"Key": "Name", "Value": tags(vpc)["Name"]}])
    before = network(ec2)

    check = run_playbook(
        "network.yml", state_dir=site_emulator.state_dir, extra_vars=extra_vars, args=("--check",)
    )
    assert check.returncode != 0
    assert f"Found 2 VPCs named '{tags(vpc)['Name']}'" in check.output
    assert vpc["VpcId"] in check.output and copy in check.output
    assert network(ec2) == before

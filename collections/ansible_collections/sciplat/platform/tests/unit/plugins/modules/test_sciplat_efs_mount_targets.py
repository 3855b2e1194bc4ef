"""sciplat.platform.efs_mount_targets against moto in-process, and Stubber for waits.

moto's mount targets are available at once (and its EFS has no creating file systems), so the waits
run against stubbed answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.sciplat.platform.plugins.modules import efs_mount_targets
from moto import mock_aws


@pytest.fixture
def site() -> Iterator[dict[str, Any]]:
    """A file system, a VPC with subnets in three AZs (and a second one in us-east-1a), two groups."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        efs = boto3.client("efs", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = {}
        for index, zone in enumerate(("us-east-1a", "us-east-1b", "us-east-1c")):
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=zone)
            subnets[zone] = subnet["Subnet"]["SubnetId"]
        spare = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.9.0/24", AvailabilityZone="us-east-1a")
        nfs = ec2.create_security_group(GroupName="sciplat-nfs", Description="nfs", VpcId=vpc)["GroupId"]
        other = ec2.create_security_group(GroupName="sciplat-other", Description="other", VpcId=vpc)[
            "GroupId"
        ]
        fs_id = efs.create_file_system(CreationToken="homes", Encrypted=True)["FileSystemId"]
        yield {
            "ec2": ec2,
            "efs": efs,
            "vpc": vpc,
            "subnets": subnets,
            "spare": spare["Subnet"]["SubnetId"],
            "nfs": nfs,
            "other": other,
            "fs": fs_id,
        }


def targets(site: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stored mount targets by subnet, with their security groups."""
    efs = site["efs"]
    found = efs.describe_mount_targets(FileSystemId=site["fs"])["MountTargets"]
    return {
        mt["SubnetId"]: {
            **mt,
            "SecurityGroups": efs.describe_mount_target_security_groups(MountTargetId=mt["MountTargetId"])[
                "SecurityGroups"
            ],
        }
        for mt in found
    }


def args(site: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "file_system_id": site["fs"],
        "subnets": list(site["subnets"].values()),
        "security_groups": [site["nfs"]],
        **extra,
    }


# --- moto in-process ---------------------------------------------------------------------------


def test_one_mount_target_per_subnet(run_module, site) -> None:
    out = run_module(efs_mount_targets, args(site), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    rows = out.result["mount_targets"]
    assert [r["availability_zone_name"] for r in rows] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert [r["subnet_id"] for r in rows] == list(site["subnets"].values())
    for row in rows:
        assert row["mount_target_id"].startswith("fsmt-")
        assert row["ip_address"].startswith("10.0.")
        assert row["life_cycle_state"] == "available"
        assert row["security_groups"] == [site["nfs"]]
        assert row["vpc_id"] == site["vpc"]
    assert out.result["diff"]["before"] == {}
    assert set(out.result["diff"]["after"]) == set(site["subnets"].values())
    stored = targets(site)
    assert set(stored) == set(site["subnets"].values())
    assert all(mt["SecurityGroups"] == [site["nfs"]] for mt in stored.values())


def test_second_run_changes_nothing(run_module, site, clock) -> None:
    run_module(efs_mount_targets, args(site))

    out = run_module(efs_mount_targets, args(site), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["diff"]["before"] == out.result["diff"]["after"]
    assert len(out.result["mount_targets"]) == 3
    assert clock.sleeps == []


def test_security_groups_are_changed_in_place(run_module, site) -> None:
    first = run_module(efs_mount_targets, args(site))
    ids = {r["subnet_id"]: r["mount_target_id"] for r in first.result["mount_targets"]}

    out = run_module(efs_mount_targets, args(site, security_groups=[site["other"], site["nfs"]]), diff=True)

    assert not out.failed, out.result

    assert out.result["changed"] is True
    wanted = sorted([site["nfs"], site["other"]])
    assert all(r["security_groups"] == wanted for r in out.result["mount_targets"])
    subnet = site["subnets"]["us-east-1a"]
    assert out.result["diff"]["before"][subnet]["security_groups"] == [site["nfs"]]
    assert out.result["diff"]["after"][subnet]["security_groups"] == wanted
    stored = targets(site)
    assert {s: mt["MountTargetId"] for s, mt in stored.items()} == ids  # same mount targets
    assert all(sorted(mt["SecurityGroups"]) == wanted for mt in stored.values())


def test_security_groups_omitted_are_left_alone(run_module, site) -> None:
    run_module(efs_mount_targets, args(site))

    out = run_module(efs_mount_targets, args(site, security_groups=None))

    assert not out.failed, out.result

    assert out.result["changed"] is False
    assert all(r["security_groups"] == [site["nfs"]] for r in out.result["mount_targets"])


def test_security_groups_by_name(run_module, site) -> None:
    out = run_module(efs_mount_targets, args(site, security_groups=["sciplat-nfs"]))

    assert not out.failed, out.result
    assert all(r["security_groups"] == [site["nfs"]] for r in out.result["mount_targets"])
    again = run_module(efs_mount_targets, args(site, security_groups=["sciplat-nfs"]))
    assert again.result["changed"] is False


def test_unlisted_mount_targets_stay_unless_purge(run_module, site) -> None:
    run_module(efs_mount_targets, args(site))
    two = [site["subnets"]["us-east-1a"], site["subnets"]["us-east-1b"]]

    kept = run_module(efs_mount_targets, args(site, subnets=two))
    assert not kept.failed, kept.result
    assert kept.result["changed"] is False
    assert len(targets(site)) == 3

    check = run_module(efs_mount_targets, args(site, subnets=two, purge=True), check_mode=True, diff=True)
    assert check.result["changed"] is True
    assert site["subnets"]["us-east-1c"] in check.result["diff"]["before"]
    assert site["subnets"]["us-east-1c"] not in check.result["diff"]["after"]
    assert len(targets(site)) == 3

    purged = run_module(efs_mount_targets, args(site, subnets=two, purge=True))
    assert not purged.failed, purged.result
    assert purged.result["changed"] is True
    assert [r["subnet_id"] for r in purged.result["mount_targets"]] == two
    assert set(targets(site)) == set(two)


def test_purge_replaces_a_mount_target_in_the_same_zone(run_module, site) -> None:
    run_module(efs_mount_targets, args(site))
    subnets = [site["spare"], site["subnets"]["us-east-1b"], site["subnets"]["us-east-1c"]]

    refused = run_module(efs_mount_targets, args(site, subnets=subnets))
    assert refused.failed
    assert refused.result["msg"] == (
        f"subnets: {site['spare']} is in us-east-1a, where file system {site['fs']} has a mount target in"
        f" {site['subnets']['us-east-1a']} (not listed); EFS allows one per Availability Zone - list"
        f" {site['subnets']['us-east-1a']} instead, or set purge: true to replace that mount target"
    )

    out = run_module(efs_mount_targets, args(site, subnets=subnets, purge=True))
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert set(targets(site)) == set(subnets)


def test_all_mount_targets_removed(run_module, site) -> None:
    run_module(efs_mount_targets, args(site))

    out = run_module(efs_mount_targets, args(site, subnets=[], purge=True))

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["mount_targets"] == []
    assert targets(site) == {}


def test_check_mode_creates_nothing(run_module, site) -> None:
    out = run_module(efs_mount_targets, args(site), check_mode=True, diff=True)

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert [r["life_cycle_state"] for r in out.result["mount_targets"]] == ["creating"] * 3
    assert all("mount_target_id" not in r for r in out.result["mount_targets"])
    assert out.result["diff"]["after"][site["subnets"]["us-east-1b"]] == {
        "availability_zone_name": "us-east-1b",
        "security_groups": [site["nfs"]],
    }
    assert targets(site) == {}


def test_check_mode_change_of_groups_changes_nothing(run_module, site) -> None:
    run_module(efs_mount_targets, args(site))

    out = run_module(efs_mount_targets, args(site, security_groups=[site["other"]]), check_mode=True)

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert all(mt["SecurityGroups"] == [site["nfs"]] for mt in targets(site).values())


def test_check_mode_before_the_file_system_exists(run_module, site) -> None:
    out = run_module(efs_mount_targets, args(site, file_system_id="fs-00000000"), check_mode=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert len(out.result["mount_targets"]) == 3


def test_missing_file_system_fails(run_module, site) -> None:
    out = run_module(efs_mount_targets, args(site, file_system_id="fs-00000000"))

    assert out.failed
    assert out.result["msg"] == "file_system_id: there is no EFS file system fs-00000000 in us-east-1"


def test_two_subnets_in_one_zone_fail(run_module, site) -> None:
    subnets = [site["subnets"]["us-east-1a"], site["spare"]]

    out = run_module(efs_mount_targets, args(site, subnets=subnets))

    assert out.failed
    assert out.result["msg"] == (
        f"subnets: {subnets[0]} and {subnets[1]} are both in us-east-1a; EFS allows one mount target per"
        " Availability Zone - list one subnet per zone"
    )
    assert targets(site) == {}


def test_subnets_of_two_vpcs_fail(run_module, site) -> None:
    ec2 = site["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    far = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24", AvailabilityZone="us-east-1d")["Subnet"]
    subnets = [site["subnets"]["us-east-1a"], far["SubnetId"]]

    out = run_module(efs_mount_targets, args(site, subnets=subnets))

    assert out.failed
    assert out.result["msg"].startswith("subnets: the mount targets of a file system must all be in one VPC")
    assert targets(site) == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"subnets": ["subnet-0000000000000000a"]}, "subnets: "),
        ({"subnets": ["s", "s"]}, "subnets: listed more than once: s"),
        (
            {"security_groups": [f"sg-{i:017x}" for i in range(6)]},
            "security_groups: a mount target takes 1 to 5",
        ),
        ({"security_groups": []}, "security_groups: a mount target takes 1 to 5 security groups, got 0"),
        ({"wait_timeout": -1}, "wait_timeout is -1: it accepts 0 or more seconds"),
    ],
)
def test_bad_input_fails_naming_the_parameter(run_module, site, extra, message) -> None:
    out = run_module(efs_mount_targets, args(site, **extra))

    assert out.failed
    assert out.result["msg"].startswith(message), out.result["msg"]
    assert targets(site) == {}


# --- Stubber: waits ----------------------------------------------------------------------------

FS = "fs-0123456789abcdef0"
SUBNETS = ["subnet-0000000000000001", "subnet-0000000000000002"]
ZONES = ["us-east-1a", "us-east-1b"]
GROUP = "sg-0000000000000003"
BY_FS = {"FileSystemId": FS}


def file_system(state: str = "available") -> dict[str, Any]:
    return {
        "FileSystems": [
            {
                "OwnerId": "123456789012",
                "CreationToken": "homes",
                "FileSystemId": FS,
                "CreationTime": "2026-11-25T10:00:00Z",
                "LifeCycleState": state,
                "NumberOfMountTargets": 0,
                "SizeInBytes": {"Value": 0},
                "PerformanceMode": "generalPurpose",
                "Tags": [],
            }
        ]
    }


def mt(index: int, state: str) -> dict[str, Any]:
    return {
        "MountTargetId": f"fsmt-000000000000000{index}",
        "FileSystemId": FS,
        "SubnetId": SUBNETS[index],
        "AvailabilityZoneName": ZONES[index],
        "LifeCycleState": state,
        "IpAddress": f"10.0.{index}.10",
        "VpcId": "vpc-0000000000000009",
    }


def subnets_described(stubs: Any, indexes: list[int], zones: list[str] | None = None) -> None:
    stubs.add(
        "ec2",
        "describe_subnets",
        {
            "Subnets": [
                {
                    "SubnetId": SUBNETS[i],
                    "AvailabilityZone": (zones or ZONES)[i],
                    "VpcId": "vpc-0000000000000009",
                }
                for i in indexes
            ]
        },
        {"SubnetIds": [SUBNETS[i] for i in indexes]},
    )


def listed(stubs: Any, *targets: dict[str, Any]) -> None:
    stubs.add("efs", "describe_mount_targets", {"MountTargets": list(targets)}, BY_FS)


def test_new_mount_targets_are_created_together_then_waited_for(run_module, stubs, clock) -> None:
    stubs.add("efs", "describe_file_systems", file_system(), BY_FS)
    listed(stubs)
    subnets_described(stubs, [0, 1])
    for index in (0, 1):
        stubs.add(
            "efs",
            "create_mount_target",
            mt(index, "creating"),
            {"FileSystemId": FS, "SubnetId": SUBNETS[index], "SecurityGroups": [GROUP]},
        )
    listed(stubs, mt(0, "creating"), mt(1, "creating"))
    listed(stubs, mt(0, "available"), mt(1, "creating"))
    listed(stubs, mt(0, "available"), mt(1, "available"))

    out = run_module(
        efs_mount_targets, {"file_system_id": FS, "subnets": SUBNETS, "security_groups": [GROUP]}
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert [r["life_cycle_state"] for r in out.result["mount_targets"]] == ["available", "available"]
    assert [r["security_groups"] for r in out.result["mount_targets"]] == [[GROUP], [GROUP]]
    assert clock.sleeps == [2.0, 3.0]
    stubs.assert_done()


def test_wait_times_out_naming_the_pending_mount_targets(run_module, stubs, clock) -> None:
    stubs.add("efs", "describe_file_systems", file_system(), BY_FS)
    listed(stubs)
    subnets_described(stubs, [0])
    stubs.add("efs", "create_mount_target", mt(0, "creating"))
    for _ in range(20):
        listed(stubs, mt(0, "creating"))

    out = run_module(efs_mount_targets, {"file_system_id": FS, "subnets": SUBNETS[:1], "wait_timeout": 20})

    assert out.failed
    assert out.result["msg"].startswith(
        f"Mount targets of {FS} still fsmt-0000000000000000 in {SUBNETS[0]} creating after 20 s"
    )
    assert out.result["changed"] is True
    assert out.result["mount_targets"][0]["life_cycle_state"] == "creating"
    assert sum(clock.sleeps) == pytest.approx(20)


def test_error_state_stops_the_wait(run_module, stubs, clock) -> None:
    stubs.add("efs", "describe_file_systems", file_system(), BY_FS)
    listed(stubs)
    subnets_described(stubs, [0])
    stubs.add("efs", "create_mount_target", mt(0, "creating"))
    listed(stubs, mt(0, "error"))

    out = run_module(efs_mount_targets, {"file_system_id": FS, "subnets": SUBNETS[:1]})

    assert out.failed
    assert (
        out.result["msg"]
        == f"Mount targets of {FS} reached status error (fsmt-0000000000000000 in {SUBNETS[0]})"
    )
    assert clock.sleeps == []


def test_a_file_system_being_created_is_waited_for_first(run_module, stubs, clock) -> None:
    stubs.add("efs", "describe_file_systems", file_system("creating"), BY_FS)
    listed(stubs)
    subnets_described(stubs, [0])
    stubs.add("efs", "describe_file_systems", file_system("creating"), BY_FS)
    stubs.add("efs", "describe_file_systems", file_system("available"), BY_FS)
    stubs.add("efs", "create_mount_target", mt(0, "creating"), {"FileSystemId": FS, "SubnetId": SUBNETS[0]})
    listed(stubs, mt(0, "creating"))

    out = run_module(efs_mount_targets, {"file_system_id": FS, "subnets": SUBNETS[:1], "wait": False})

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_replacement_in_a_zone_waits_for_the_deletion(run_module, stubs, clock) -> None:
    old = {**mt(0, "available"), "SubnetId": "subnet-00000000000000aa"}
    stubs.add("efs", "describe_file_systems", file_system(), BY_FS)
    listed(stubs, old)
    stubs.add("efs", "describe_mount_target_security_groups", {"SecurityGroups": [GROUP]})
    subnets_described(stubs, [0])
    stubs.add("efs", "delete_mount_target", {}, {"MountTargetId": old["MountTargetId"]})
    listed(stubs, {**old, "LifeCycleState": "deleting"})
    listed(stubs)
    stubs.add("efs", "create_mount_target", mt(0, "creating"), {"FileSystemId": FS, "SubnetId": SUBNETS[0]})
    listed(stubs, mt(0, "creating"))

    out = run_module(
        efs_mount_targets, {"file_system_id": FS, "subnets": SUBNETS[:1], "purge": True, "wait": False}
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert [r["subnet_id"] for r in out.result["mount_targets"]] == [SUBNETS[0]]
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_a_creating_mount_target_is_waited_for_before_its_groups_change(run_module, stubs) -> None:
    stubs.add("efs", "describe_file_systems", file_system(), BY_FS)
    listed(stubs, mt(0, "creating"))
    listed(stubs, mt(0, "available"))
    stubs.add("efs", "describe_mount_target_security_groups", {"SecurityGroups": ["sg-0000000000000004"]})
    stubs.add(
        "efs",
        "modify_mount_target_security_groups",
        {},
        {"MountTargetId": mt(0, "x")["MountTargetId"], "SecurityGroups": [GROUP]},
    )
    listed(stubs, mt(0, "available"))

    out = run_module(
        efs_mount_targets,
        {"file_system_id": FS, "subnets": SUBNETS[:1], "security_groups": [GROUP], "wait": False},
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["mount_targets"][0]["security_groups"] == [GROUP]
    stubs.assert_done()

"""Provisioning takes (scaled) real time, waiters see it, and every wait lands in the lifecycle log."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from botocore.exceptions import ClientError, WaiterError
from fidelity_support import ROLE_ARN, TIME_SCALE, Client, fast, scaled, transition

from emulator.launcher import Emulator

pytestmark = pytest.mark.emulator


Names = Callable[[str], str]
Slowed = Callable[..., AbstractContextManager[None]]  # (model, seconds=1.0)


def test_cluster_is_creating_until_the_scaled_duration_then_active(
    aws: Client, subnets: list[str], unique: Names
) -> None:
    eks, name = aws("eks"), unique("c")
    started = time.time()
    created = eks.create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    assert created["cluster"]["status"] == "CREATING"

    # A waiter that gives up before the cluster's time fails; one that waits long enough succeeds.
    with pytest.raises(WaiterError):
        eks.get_waiter("cluster_active").wait(name=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 2})
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=fast())
    assert time.time() - started >= scaled("eks::cluster.create")
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE"


def test_nodegroup_needs_an_active_cluster_as_on_aws(aws: Client, subnets: list[str], unique: Names) -> None:
    eks, name = aws("eks"), unique("c")
    eks.create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    with pytest.raises(ClientError) as refused:
        eks.create_nodegroup(clusterName=name, nodegroupName="ng", nodeRole=ROLE_ARN, subnets=subnets)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "is not in ACTIVE status" in refused.value.response["Error"]["Message"]


def test_nodegroup_creates_updates_and_deletes_over_time(
    aws: Client, cluster: str, subnets: list[str], slowed: Slowed
) -> None:
    eks = aws("eks")
    created = eks.create_nodegroup(
        clusterName=cluster, nodegroupName="ng", nodeRole=ROLE_ARN, subnets=subnets
    )
    assert created["nodegroup"]["status"] == "CREATING"
    eks.get_waiter("nodegroup_active").wait(clusterName=cluster, nodegroupName="ng", WaiterConfig=fast())

    with slowed("eks::nodegroup.update"):
        update = eks.update_nodegroup_config(
            clusterName=cluster, nodegroupName="ng", scalingConfig={"desiredSize": 1}
        )
    assert update["update"]["status"] == "InProgress"
    assert (
        eks.describe_nodegroup(clusterName=cluster, nodegroupName="ng")["nodegroup"]["status"] == "UPDATING"
    )
    eks.get_waiter("nodegroup_active").wait(clusterName=cluster, nodegroupName="ng", WaiterConfig=fast())
    described = eks.describe_update(name=cluster, updateId=update["update"]["id"], nodegroupName="ng")
    assert described["update"]["status"] == "Successful"

    # At the test scale a deletion takes 0.3 s, too short to observe while other tests run clusters.
    with slowed("eks::nodegroup.delete", 5.0):
        deleted = eks.delete_nodegroup(clusterName=cluster, nodegroupName="ng")
    assert deleted["nodegroup"]["status"] == "DELETING"
    assert eks.list_nodegroups(clusterName=cluster)["nodegroups"] == ["ng"]
    eks.get_waiter("nodegroup_deleted").wait(clusterName=cluster, nodegroupName="ng", WaiterConfig=fast(400))
    assert eks.list_nodegroups(clusterName=cluster)["nodegroups"] == []


def test_cluster_with_nodegroups_cannot_be_deleted_and_a_deleted_one_goes_away(
    aws: Client, cluster: str, nodegroup: str
) -> None:
    eks = aws("eks")
    with pytest.raises(ClientError) as refused:
        eks.delete_cluster(name=cluster)
    assert refused.value.response["Error"]["Code"] == "ResourceInUseException"

    eks.delete_nodegroup(clusterName=cluster, nodegroupName=nodegroup)
    eks.get_waiter("nodegroup_deleted").wait(
        clusterName=cluster, nodegroupName=nodegroup, WaiterConfig=fast()
    )
    assert eks.delete_cluster(name=cluster)["cluster"]["status"] == "DELETING"
    assert eks.describe_cluster(name=cluster)["cluster"]["status"] == "DELETING"
    eks.get_waiter("cluster_deleted").wait(name=cluster, WaiterConfig=fast())
    assert cluster not in eks.list_clusters()["clusters"]


def test_nat_gateway_is_pending_then_available_then_deleting_then_deleted(
    aws: Client, subnets: list[str], slowed: Slowed
) -> None:
    ec2 = aws("ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=allocation)["NatGateway"]
    assert gateway["State"] == "pending"
    ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[gateway["NatGatewayId"]], WaiterConfig=fast())

    with slowed("ec2::nat-gateway.delete"):
        ec2.delete_nat_gateway(NatGatewayId=gateway["NatGatewayId"])
    [described] = ec2.describe_nat_gateways(NatGatewayIds=[gateway["NatGatewayId"]])["NatGateways"]
    assert described["State"] == "deleting"
    ec2.get_waiter("nat_gateway_deleted").wait(NatGatewayIds=[gateway["NatGatewayId"]], WaiterConfig=fast())
    with pytest.raises(ClientError) as unknown:
        ec2.delete_nat_gateway(NatGatewayId="nat-0123456789abcdef0")
    assert unknown.value.response["Error"]["Code"] == "NatGatewayNotFound"


def test_efs_file_system_and_mount_target_are_creating_then_available(
    aws: Client, subnets: list[str], unique: Names
) -> None:
    efs = aws("efs")
    file_system = efs.create_file_system(CreationToken=unique("homes"), Encrypted=True)
    assert file_system["LifeCycleState"] == "creating"
    time.sleep(scaled("efs::file-system.create"))

    target = efs.create_mount_target(FileSystemId=file_system["FileSystemId"], SubnetId=subnets[0])
    assert target["LifeCycleState"] == "creating"
    time.sleep(scaled("efs::mount-target.create"))
    [described] = efs.describe_mount_targets(MountTargetId=target["MountTargetId"])["MountTargets"]
    assert described["LifeCycleState"] == "available"


def test_ami_is_pending_then_available_for_create_register_and_copy(
    aws: Client, slowed: Slowed, unique: Names
) -> None:
    ec2, name = aws("ec2"), unique("demo")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    # At the test scale an image is ready in 0.05-1 s: a busy machine could read it after that.
    with slowed("ec2::image.create", 3), slowed("ec2::image.register", 3), slowed("ec2::image.copy", 3):
        created = ec2.create_image(InstanceId=instance, Name=name)["ImageId"]
        registered = ec2.register_image(Name=f"{name}-registered")["ImageId"]
        copy = ec2.copy_image(SourceImageId=created, SourceRegion="us-east-1", Name=f"{name}-copy")
    copied = copy["ImageId"]
    images = {
        i["ImageId"]: i["State"]
        for i in ec2.describe_images(ImageIds=[created, registered, copied])["Images"]
    }
    assert images == {created: "pending", registered: "pending", copied: "pending"}
    ec2.get_waiter("image_available").wait(ImageIds=[created, registered, copied], WaiterConfig=fast(400))


def test_lifecycle_log_records_each_wait(
    aws: Client, fidelity_emulator: Emulator, cluster: str, nodegroup: str
) -> None:
    log = {(entry["resource_type"], entry["id"]): entry for entry in fidelity_emulator.lifecycle()}
    cluster_entry, nodegroup_entry = log["cluster", cluster], log["nodegroup", f"{cluster}/{nodegroup}"]
    assert cluster_entry["service"] == "eks"
    assert cluster_entry["ready_at"] - cluster_entry["created_at"] == pytest.approx(
        scaled("eks::cluster.create"), abs=0.01
    )
    assert nodegroup_entry["created_at"] >= cluster_entry["ready_at"]
    assert nodegroup_entry["deleted_at"] is None


def test_reset_empties_the_lifecycle_log(aws: Client, fidelity_emulator: Emulator, unique: Names) -> None:
    aws("efs").create_file_system(CreationToken=unique("fs"))
    assert fidelity_emulator.lifecycle()
    fidelity_emulator.reset()
    assert fidelity_emulator.lifecycle() == []


def test_config_reports_the_time_scale_and_real_durations(fidelity_emulator: Emulator) -> None:
    with urllib.request.urlopen(f"{fidelity_emulator.endpoint}/_emulator/config") as response:
        config = json.load(response)
    assert config["time_scale"] == TIME_SCALE
    assert config["durations"]["eks::cluster.create"] == 600


def test_state_manager_can_make_a_transition_immediate(
    aws: Client, fidelity_emulator: Emulator, subnets: list[str], unique: Names
) -> None:
    eks, name = aws("eks"), unique("now")
    with transition(fidelity_emulator.endpoint, "eks::cluster.create", {"progression": "immediate"}):
        eks.create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    assert eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE"

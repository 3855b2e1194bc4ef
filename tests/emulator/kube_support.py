"""Helpers for the tests of the emulated clusters' real Kubernetes (fixture ``kube_emulator`` in conftest)."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

from emulator.launcher import CLIENT_ENV, Emulator

ROLE_ARN = "arn:aws:iam::123456789012:role/eks"
TIME_SCALE = 120.0


def client(emulator: Emulator, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def subnets(emulator: Emulator) -> list[str]:
    ec2 = client(emulator, "ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate("ab")
    ]


def create_cluster(emulator: Emulator, name: str, subnet_ids: list[str]) -> dict[str, Any]:
    eks = client(emulator, "eks")
    eks.create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnet_ids})
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})
    return dict(eks.describe_cluster(name=name)["cluster"])


def delete_in_background(emulator: Emulator, names: Iterable[str]) -> None:
    """Delete the clusters, their node groups first as EKS requires, without waiting for it: an idle
    control plane and its nodes still take CPU and inotify instances, and the session's kube_emulator
    lives as long as the run."""
    names = sorted(names)
    if not names:
        return

    def delete() -> None:
        # Quiet if the run ends first: stopping the emulator stops every cluster it ran.
        with contextlib.suppress(EndpointConnectionError):
            delete_each(client(emulator, "eks"))

    def delete_each(eks: Any) -> None:
        for name in names:
            groups = eks.list_nodegroups(clusterName=name)["nodegroups"]
            for group in groups:
                try:
                    eks.delete_nodegroup(clusterName=name, nodegroupName=group)
                except ClientError as error:  # already being deleted by the test
                    if error.response["Error"]["Code"] != "ResourceInUseException":
                        raise
            for group in groups:
                eks.get_waiter("nodegroup_deleted").wait(
                    clusterName=name, nodegroupName=group, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
                )
            eks.delete_cluster(name=name)

    threading.Thread(target=delete, name=f"delete clusters {', '.join(names)}", daemon=True).start()


def one_node_group(
    emulator: Emulator, cluster: str, group: str, subnet_ids: list[str], *, wait: bool = True
) -> None:
    """A node group of one node (the first nodes of a cluster are real), ACTIVE unless ``wait`` is false."""
    eks = client(emulator, "eks")
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName=group,
        nodeRole=ROLE_ARN,
        subnets=subnet_ids,
        scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1},
    )
    if wait:
        eks.get_waiter("nodegroup_active").wait(
            clusterName=cluster, nodegroupName=group, WaiterConfig={"Delay": 0.5, "MaxAttempts": 400}
        )


def admin_api(emulator: Emulator, name: str) -> Any:
    """The emulator's own admin access (operators use EKS tokens; see test_eks_access)."""
    from kubernetes import client as k8s
    from kubernetes import config

    kubeconfig = emulator.state_dir / "kube" / "123456789012" / "us-east-1" / name / "admin.kubeconfig"
    return k8s.CoreV1Api(config.new_client_from_config(str(kubeconfig)))


def processes(marker: Path | str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", str(marker)], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")

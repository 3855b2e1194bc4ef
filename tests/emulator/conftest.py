"""One fidelity-layer emulator for all emulator tests.

It is not reset between tests (a reset makes the next request rebuild IAM's managed policies and
EC2's defaults, about 2 s): each test names its resources uniquely instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import boto3
import pytest
from fidelity_support import ROLE_ARN, TIME_SCALE, Client, fast, transition
from kube_support import client as kube_client
from kube_support import delete_in_background

from emulator.kube.control_plane import ControlPlane
from emulator.launcher import CLIENT_ENV, Emulator, running_emulator

_counter = itertools.count()


@pytest.fixture(scope="session")
def fidelity_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    # The API's shapes and timings only: the clusters' real Kubernetes has tests of its own
    # (test_eks_kubernetes.py); dozens of control planes here would only cost time.
    with running_emulator(
        tmp_path_factory.mktemp("fidelity"), time_scale=TIME_SCALE, kubernetes=False
    ) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def kube_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator whose EKS clusters are real Kubernetes clusters (test_eks_kubernetes, test_eks_access)."""
    from kube_support import TIME_SCALE

    with running_emulator(tmp_path_factory.mktemp("kube"), time_scale=TIME_SCALE) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clusters_deleted_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """The clusters a test makes on ``kube_emulator`` are deleted when it ends (in the background)."""
    if "kube_emulator" not in request.fixturenames:
        yield
        return
    emulator = request.getfixturevalue("kube_emulator")
    eks = kube_client(emulator, "eks")
    before = set(eks.list_clusters()["clusters"])
    yield
    delete_in_background(emulator, set(eks.list_clusters()["clusters"]) - before)


@pytest.fixture(scope="session")
def aws(fidelity_emulator: Emulator) -> Client:
    """``aws("eks")``: a boto3 client for the emulator."""

    def client(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(
            service,
            endpoint_url=fidelity_emulator.endpoint,
            region_name=region,
            aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    return client


@pytest.fixture
def slowed(fidelity_emulator: Emulator) -> Callable[[str], AbstractContextManager[None]]:
    """``with slowed("eks::addon.update"):``: such transitions started inside take 1 s (or ``seconds``),
    long enough to observe the in-between state on a busy machine (at the test scale some take 0.1 s)."""
    return lambda model, seconds=1.0: transition(
        fidelity_emulator.endpoint, model, {"progression": "time", "seconds": seconds}
    )


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("hub")``: a name no other test uses."""
    return lambda prefix: f"{prefix}-{next(_counter)}"


@pytest.fixture
def subnets(aws: Client) -> list[str]:
    """Two subnets in two zones of a new VPC."""
    ec2 = aws("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate("ab")
    ]


@pytest.fixture
def cluster(aws: Client, subnets: list[str], unique: Callable[[str], str]) -> str:
    """An ACTIVE EKS cluster's name."""
    eks, name = aws("eks"), unique("hub")
    eks.create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=fast())
    return name


@pytest.fixture
def nodegroup(aws: Client, cluster: str, subnets: list[str]) -> str:
    """An ACTIVE node group's name, in ``cluster``."""
    eks = aws("eks")
    eks.create_nodegroup(clusterName=cluster, nodegroupName="core", nodeRole=ROLE_ARN, subnets=subnets)
    eks.get_waiter("nodegroup_active").wait(clusterName=cluster, nodegroupName="core", WaiterConfig=fast())
    return "core"


@pytest.fixture
def control_plane(tmp_path: Path) -> Iterator[ControlPlane]:
    """A cluster's real control plane (etcd, API server, controller manager, scheduler), Ready, no nodes."""
    plane = ControlPlane(tmp_path / "kube" / "plane", "plane")
    plane.start("https://127.0.0.1", None)
    try:
        plane.wait_ready()
        yield plane
    finally:
        plane.stop()

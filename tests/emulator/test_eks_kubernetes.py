"""Each emulated EKS cluster is a real Kubernetes cluster (emulator/eks_kubernetes.py).

Checked from outside: the endpoint and CA that DescribeCluster gives are a real API server's; the
cluster is ACTIVE only once it answers; nodes follow node groups with EKS's labels and taints;
shrinking a group drains its nodes and waits for disruption budgets; deleting the cluster stops
its processes and forgets its state; an emulator stop leaves no process behind.
"""

from __future__ import annotations

import base64
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kube_support import ROLE_ARN, TIME_SCALE, admin_api, client, create_cluster, processes, subnets, wait_for

from emulator.kube import build
from emulator.launcher import Emulator, running_emulator

pytestmark = pytest.mark.skipif(bool(build.missing()), reason="Kubernetes components not built (make kube)")


def test_describe_cluster_gives_a_real_api_server_with_its_own_ca(
    kube_emulator: Emulator, tmp_path: Path
) -> None:
    cluster = create_cluster(kube_emulator, "real-api", subnets(kube_emulator))

    assert cluster["status"] == "ACTIVE"
    assert cluster["endpoint"].startswith("https://127.0.0.1:")
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificateAuthority"]["data"]))
    context = ssl.create_default_context(cafile=str(ca))  # verifies the server against the cluster's CA
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{cluster['endpoint']}/version", context=context, timeout=10)
    assert anonymous.value.code == 401, "anonymous requests must be refused"

    from kubernetes import client as k8s

    version = k8s.VersionApi(admin_api(kube_emulator, "real-api").api_client).get_code()
    assert version.git_version == build.KUBERNETES_VERSION
    assert f"{version.major}.{version.minor}" == cluster["version"]


def test_node_groups_become_labelled_and_tainted_nodes_and_shrinking_drains(kube_emulator: Emulator) -> None:
    subnet_ids = subnets(kube_emulator)
    create_cluster(kube_emulator, "nodes", subnet_ids)
    eks, api = client(kube_emulator, "eks"), admin_api(kube_emulator, "nodes")
    eks.create_nodegroup(
        clusterName="nodes",
        nodegroupName="user",
        nodeRole=ROLE_ARN,
        subnets=subnet_ids,
        capacityType="SPOT",
        instanceTypes=["m6i.xlarge"],
        scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 2},
        labels={"hub.jupyter.org/node-purpose": "user"},
        taints=[{"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NO_SCHEDULE"}],
    )
    eks.get_waiter("nodegroup_active").wait(
        clusterName="nodes", nodegroupName="user", WaiterConfig={"Delay": 0.5, "MaxAttempts": 240}
    )

    nodes = api.list_node(label_selector="eks.amazonaws.com/nodegroup=user").items
    assert len(nodes) == 2
    for node in nodes:
        labels = node.metadata.labels
        assert labels["eks.amazonaws.com/capacityType"] == "SPOT"
        assert labels["node.kubernetes.io/instance-type"] == "m6i.xlarge"
        assert labels["topology.kubernetes.io/zone"] in ("us-east-1a", "us-east-1b")
        assert labels["hub.jupyter.org/node-purpose"] == "user"
        assert node.metadata.name.startswith("ip-10-0-") and node.metadata.name.endswith(".ec2.internal")
        taints = {(t.key, t.value, t.effect) for t in node.spec.taints}
        assert ("hub.jupyter.org/dedicated", "user", "NoSchedule") in taints
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"

    # A pod on the newest node, guarded by a budget that allows no disruption: the drain must wait.
    newest = sorted(node.metadata.name for node in nodes)[-1]
    pod = {
        "metadata": {"name": "guarded", "labels": {"app": "guarded"}},
        "spec": {
            "nodeName": newest,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "c", "image": "docker.io/library/python:3.12-slim"}],
        },
    }
    api.create_namespaced_pod("default", pod)
    # Simulated nodes run no kubelet: report the pod running and ready as a kubelet would (the
    # eviction API lets a Pending pod go whatever its budget says).
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": now}
    api.patch_namespaced_pod_status(
        "guarded", "default", {"status": {"phase": "Running", "conditions": [ready]}}
    )
    from kubernetes import client as k8s

    policy = k8s.PolicyV1Api(api.api_client)
    policy.create_namespaced_pod_disruption_budget(
        "default",
        {
            "metadata": {"name": "guarded"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
        },
    )
    eks.update_nodegroup_config(
        clusterName="nodes",
        nodegroupName="user",
        scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 1},
    )
    wait_for(lambda: api.read_node(newest).spec.unschedulable, 30, f"{newest} cordoned")
    time.sleep(2)
    assert api.read_namespaced_pod("guarded", "default").metadata.deletion_timestamp is None, (
        "the drain evicted a pod its disruption budget protects"
    )
    policy.delete_namespaced_pod_disruption_budget("guarded", "default")
    wait_for(
        lambda: (
            [n.metadata.name for n in api.list_node(label_selector="eks.amazonaws.com/nodegroup=user").items]
            == [sorted(node.metadata.name for node in nodes)[0]]
        ),
        60,
        "the newest node to be drained and removed",
    )


def test_deleting_the_cluster_stops_it_and_a_new_one_starts_empty(kube_emulator: Emulator) -> None:
    subnet_ids = subnets(kube_emulator)
    create_cluster(kube_emulator, "again", subnet_ids)
    directory = kube_emulator.state_dir / "kube" / "123456789012" / "us-east-1" / "again"
    admin_api(kube_emulator, "again").create_namespace({"metadata": {"name": "left-behind"}})
    assert len(processes(directory)) == 4  # etcd, API server, controller manager, scheduler

    eks = client(kube_emulator, "eks")
    eks.delete_cluster(name="again")
    eks.get_waiter("cluster_deleted").wait(name="again", WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})
    wait_for(lambda: not processes(directory) and not directory.exists(), 30, "the control plane to stop")

    create_cluster(kube_emulator, "again", subnet_ids)
    names = [ns.metadata.name for ns in admin_api(kube_emulator, "again").list_namespace().items]
    assert "left-behind" not in names and "kube-system" in names


def test_a_cluster_that_cannot_start_is_failed_with_the_reason(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path / "emulator", TIME_SCALE)
    import os

    os.environ["SCIPLAT_CACHE"] = str(tmp_path / "empty-cache")
    try:
        emulator.start()
    finally:
        del os.environ["SCIPLAT_CACHE"]
    try:
        client(emulator, "eks").create_cluster(
            name="unbuilt", roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets(emulator)}
        )
        wait_for(
            lambda: client(emulator, "eks").describe_cluster(name="unbuilt")["cluster"]["status"] == "FAILED",
            30,
            "FAILED",
        )
        log = emulator.log_file.read_text()
    finally:
        emulator.stop()
    assert "Kubernetes components not built" in log and "make kube" in log


def test_stopping_the_emulator_stops_every_cluster(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "emulator", time_scale=TIME_SCALE) as emulator:
        create_cluster(emulator, "short-lived", subnets(emulator))
        assert processes(tmp_path / "emulator" / "kube")
    assert not processes(tmp_path / "emulator" / "kube")
    assert not (tmp_path / "emulator" / "kube").exists()

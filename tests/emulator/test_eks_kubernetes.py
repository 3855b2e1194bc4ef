"""Each emulated EKS cluster is a real Kubernetes cluster (emulator/eks_kubernetes.py).

Checked from outside: the endpoint and CA that DescribeCluster gives are a real API server's; the
cluster is ACTIVE only once it answers; nodes follow node groups with EKS's labels and taints;
shrinking a group drains its nodes and waits for disruption budgets; deleting the cluster stops
its processes and forgets its state; an emulator stop leaves no process behind.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from kube_support import (
    ROLE_ARN,
    TIME_SCALE,
    admin_api,
    client,
    create_cluster,
    one_node_group,
    processes,
    subnets,
    wait_for,
)

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

    # Its controller manager, exiting once the cluster is ACTIVE, is started again (as a kubelet does).
    cluster_dir = kube_emulator.state_dir / "kube" / "123456789012" / "us-east-1" / "real-api"
    pid_file = cluster_dir / "pids" / "kube-controller-manager.pid"
    old = int(pid_file.read_text())
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while int(pid_file.read_text()) == old and time.monotonic() < deadline:
        time.sleep(0.2)
    assert int(pid_file.read_text()) != old
    assert client(kube_emulator, "eks").describe_cluster(name="real-api")["cluster"]["status"] == "ACTIVE"


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
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "c",
                    "image": "docker.io/library/python:3.12-slim",
                    "command": ["python3", "-c", "import time; time.sleep(3600)"],
                }
            ],
        },
    }
    api.create_namespaced_pod("default", pod)
    wait_for(
        lambda: api.read_namespaced_pod("guarded", "default").status.phase == "Running", 120, "the pod to run"
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


def test_a_version_update_replaces_the_nodes_one_at_a_time_new_before_old(kube_emulator: Emulator) -> None:
    subnet_ids = subnets(kube_emulator)
    eks = client(kube_emulator, "eks")
    eks.create_cluster(
        name="rolled", version="1.32", roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnet_ids}
    )
    eks.get_waiter("cluster_active").wait(name="rolled", WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})
    one_node_group(kube_emulator, "rolled", "core", subnet_ids)
    api = admin_api(kube_emulator, "rolled")
    (old,) = [n.metadata.name for n in api.list_node().items]
    eks.update_cluster_version(name="rolled", version="1.33")
    eks.get_waiter("cluster_active").wait(name="rolled", WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})

    update = eks.update_nodegroup_version(clusterName="rolled", nodegroupName="core")["update"]
    wait_for(lambda: len(api.list_node().items) == 2, 180, "a new node beside the old one")
    group = eks.describe_nodegroup(clusterName="rolled", nodegroupName="core")["nodegroup"]
    assert (group["status"], group["version"]) == ("UPDATING", "1.32"), "reported done before its nodes"
    wait_for(lambda: old not in [n.metadata.name for n in api.list_node().items], 120, f"{old} removed")

    (new,) = api.list_node().items
    assert {c.type: c.status for c in new.status.conditions}["Ready"] == "True"
    assert new.metadata.labels["eks.amazonaws.com/nodegroup-image"] == "ami-1330-20250704"
    eks.get_waiter("nodegroup_active").wait(
        clusterName="rolled", nodegroupName="core", WaiterConfig={"Delay": 0.5, "MaxAttempts": 240}
    )
    group = eks.describe_nodegroup(clusterName="rolled", nodegroupName="core")["nodegroup"]
    assert (group["version"], group["releaseVersion"]) == ("1.33", "1.33.0-20250704")
    found = eks.describe_update(name="rolled", updateId=update["id"], nodegroupName="core")["update"]
    assert found["status"] == "Successful"
    eks.delete_nodegroup(clusterName="rolled", nodegroupName="core")


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


def test_a_stop_run_again_after_the_server_is_gone_stops_the_clusters_it_left(tmp_path: Path) -> None:
    """`make down` interrupted after the server went (or a crashed server without its pid file): the
    next stop still finds the clusters by their own pid files."""
    with running_emulator(tmp_path / "emulator", time_scale=TIME_SCALE) as emulator:
        create_cluster(emulator, "orphaned", subnets(emulator))
        os.kill(int(emulator.pid_file.read_text()), signal.SIGKILL)
        emulator.pid_file.unlink()
        assert processes(tmp_path / "emulator" / "kube")
    assert not processes(tmp_path / "emulator" / "kube")
    assert not (tmp_path / "emulator" / "kube").exists()


def test_a_real_node_runs_a_pod_that_writes_to_the_emulated_efs(kube_emulator: Emulator) -> None:
    """The first nodes are real: kubelet + containerd + runc, the locally built image, the CNI bridge,
    and the emulated EFS CSI driver mounting the file system a static PersistentVolume names."""
    import json
    import urllib.request

    subnet_ids = subnets(kube_emulator)
    create_cluster(kube_emulator, "real-node", subnet_ids)
    eks, api = client(kube_emulator, "eks"), admin_api(kube_emulator, "real-node")
    efs = client(kube_emulator, "efs")
    file_system = efs.create_file_system(CreationToken="real-node-homes")["FileSystemId"]
    one_node_group(kube_emulator, "real-node", "core", subnet_ids)
    (node,) = api.list_node().items
    assert "emulator.sciplat.local/simulated" not in node.metadata.labels
    assert [d.name for d in k8s_storage(api).read_csi_node(node.metadata.name).spec.drivers] == [
        "efs.csi.aws.com"
    ]

    api.create_persistent_volume(
        {
            "metadata": {"name": "homes"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "efs",
                "csi": {"driver": "efs.csi.aws.com", "volumeHandle": file_system},
            },
        }
    )
    api.create_namespaced_persistent_volume_claim(
        "default",
        {
            "metadata": {"name": "homes"},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "efs",
                "volumeName": "homes",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    wait_for(
        lambda: api.read_namespaced_persistent_volume_claim("homes", "default").status.phase == "Bound",
        60,
        "the claim to bind",
    )
    wait_for(
        lambda: bool(api.list_namespaced_service_account("default").items), 30, "the default service account"
    )
    api.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "writer"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "writer",
                        "image": "docker.io/library/python:3.12-slim",
                        "command": [
                            "python3",
                            "-c",
                            "import socket; open('/homes/astro1/hello', 'w').write(socket.gethostname())",
                        ],
                        "volumeMounts": [
                            {"name": "homes", "mountPath": "/homes/astro1", "subPath": "astro1"}
                        ],
                    }
                ],
                "volumes": [{"name": "homes", "persistentVolumeClaim": {"claimName": "homes"}}],
            },
        },
    )
    wait_for(
        lambda: api.read_namespaced_pod("writer", "default").status.phase in ("Succeeded", "Failed"),
        120,
        "the pod to finish",
    )
    pod = api.read_namespaced_pod("writer", "default")
    assert pod.status.phase == "Succeeded"
    assert pod.status.pod_ip and pod.status.pod_ip.startswith("10.244.")
    with urllib.request.urlopen(f"{kube_emulator.endpoint}/_emulator/efs/{file_system}") as response:
        data_dir = Path(json.load(response)["path"])
    assert (data_dir / "astro1" / "hello").read_text() == "writer"

    node_dir = (
        kube_emulator.state_dir
        / "kube"
        / "123456789012"
        / "us-east-1"
        / "real-node"
        / "nodes"
        / node.metadata.name
    )
    assert processes(node_dir), "the node's kubelet and containerd run"
    eks.delete_nodegroup(clusterName="real-node", nodegroupName="core")
    wait_for(lambda: not api.list_node().items, 120, "the node to be drained and removed")
    wait_for(lambda: not processes(node_dir), 30, "the node's processes to stop")
    assert (data_dir / "astro1" / "hello").exists(), "removing the node must not touch the file system"


def k8s_storage(api: Any) -> Any:
    from kubernetes import client as k8s

    return k8s.StorageV1Api(api.api_client)


def _nodegroup(emulator: Emulator, cluster: str, name: str) -> dict[str, Any] | None:
    eks = client(emulator, "eks")
    try:
        return dict(eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"])
    except eks.exceptions.ResourceNotFoundException:
        return None


def _status(emulator: Emulator, cluster: str, name: str) -> str | None:
    group = _nodegroup(emulator, cluster, name)
    return group["status"] if group else None


def _started_kubelet(cluster_dir: Path) -> tuple[Path, int]:
    """The first node's directory and its kubelet's PID, as soon as that process is the kubelet
    (long before it could register)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for pid_file in cluster_dir.glob("nodes/*/pids/kubelet.pid"):
            pid = int(pid_file.read_text())
            with contextlib.suppress(OSError):
                if b"kubelet" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                    return pid_file.parent.parent, pid
        time.sleep(0.02)
    raise AssertionError("the kubelet never started")


def test_a_node_whose_kubelet_dies_fails_its_group_with_the_reason_and_deleting_the_group_cleans_up(
    kube_emulator: Emulator,
) -> None:
    """As on EKS, a node that never joins makes the new group CREATE_FAILED with a NodeCreationFailure
    health issue; here it names the node, the process that ended and its log, and says what to do."""
    import os
    import signal

    from emulator.kube import node

    subnet_ids = subnets(kube_emulator)
    create_cluster(kube_emulator, "kubelet-dies", subnet_ids)
    eks = client(kube_emulator, "eks")
    one_node_group(kube_emulator, "kubelet-dies", "broken", subnet_ids, wait=False)
    cluster_dir = kube_emulator.state_dir / "kube" / "123456789012" / "us-east-1" / "kubelet-dies"
    node_dir, kubelet = _started_kubelet(cluster_dir)
    os.kill(kubelet, signal.SIGKILL)

    wait_for(lambda: _status(kube_emulator, "kubelet-dies", "broken") == "CREATE_FAILED", 60, "CREATE_FAILED")
    group = _nodegroup(kube_emulator, "kubelet-dies", "broken")
    assert group is not None
    (issue,) = group["health"]["issues"]
    assert issue["code"] == "NodeCreationFailure"
    assert issue["resourceIds"] == [node_dir.name]
    log = node_dir / "logs" / "kubelet.log"
    assert issue["message"].startswith(
        "Instances failed to join the kubernetes cluster: cluster kubelet-dies"
    )
    assert f"node {node_dir.name}: its kubelet exited; see {log}" in issue["message"]
    assert "Delete the node group and create it again" in issue["message"]
    assert log.exists(), "the failed node's log stays for its message"
    runtime = node.runtime_dir(cluster_dir, node_dir.name)
    assert not processes(node_dir) and not processes(runtime), "the failed node's processes are stopped"
    time.sleep(2)
    assert _status(kube_emulator, "kubelet-dies", "broken") == "CREATE_FAILED", "CREATE_FAILED is final"

    eks.delete_nodegroup(clusterName="kubelet-dies", nodegroupName="broken")
    wait_for(lambda: _nodegroup(kube_emulator, "kubelet-dies", "broken") is None, 60, "the group to go")
    wait_for(lambda: not node_dir.exists(), 30, "the failed node's directory to go")
    assert not processes(node_dir) and not processes(runtime)
    assert not admin_api(kube_emulator, "kubelet-dies").list_node().items


def test_a_node_not_ready_by_the_join_deadline_fails_its_group_and_stop_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join deadline is EKS's 900 s divided by the time scale (at least the node start allowance,
    0 here): at time scale 90 a node whose kubelet hangs (SIGSTOP) fails 10 s after it was added."""
    import os
    import signal

    monkeypatch.setenv("EMULATOR_KUBE_NODE_START_SECONDS", "0")
    kube = tmp_path / "emulator" / "kube"
    with running_emulator(tmp_path / "emulator", time_scale=90.0) as emulator:
        subnet_ids = subnets(emulator)
        create_cluster(emulator, "late", subnet_ids)
        created = time.monotonic()
        one_node_group(emulator, "late", "slow", subnet_ids, wait=False)
        node_dir, kubelet = _started_kubelet(kube / "123456789012" / "us-east-1" / "late")
        os.kill(kubelet, signal.SIGSTOP)
        wait_for(lambda: _status(emulator, "late", "slow") == "CREATE_FAILED", 60, "CREATE_FAILED")
        assert time.monotonic() - created >= 10, "failed before its join deadline"
        group = _nodegroup(emulator, "late", "slow")
        assert group is not None
        (issue,) = group["health"]["issues"]
        assert issue["code"] == "NodeCreationFailure"
        assert "its kubelet did not make the node Ready within 10 s" in issue["message"]
        assert "divided by the time scale 90" in issue["message"]
        assert not processes(node_dir), "the late node's processes are stopped, the hung kubelet too"
        assert len(processes(kube)) == 4, "only the control plane runs"
        assert "Instances failed to join the kubernetes cluster" in emulator.log_file.read_text()
    assert not processes(kube)
    assert not kube.exists()


def test_an_active_group_whose_node_loses_its_kubelet_stays_active_and_deletes_clean(
    kube_emulator: Emulator,
) -> None:
    """EKS does not watch a joined node's processes: the group stays ACTIVE without a health issue;
    the emulator logs the loss, and the group's deletion does not wait for the missing kubelet."""
    import os
    import signal

    subnet_ids = subnets(kube_emulator)
    create_cluster(kube_emulator, "kubelet-lost", subnet_ids)
    eks = client(kube_emulator, "eks")
    one_node_group(kube_emulator, "kubelet-lost", "core", subnet_ids)
    cluster_dir = kube_emulator.state_dir / "kube" / "123456789012" / "us-east-1" / "kubelet-lost"
    (pid_file,) = cluster_dir.glob("nodes/*/pids/kubelet.pid")
    node_dir = pid_file.parent.parent
    os.kill(int(pid_file.read_text()), signal.SIGKILL)

    wait_for(
        lambda: (
            f"node {node_dir.name} of node group core (cluster kubelet-lost): its kubelet has ended"
            in kube_emulator.log_file.read_text()
        ),
        30,
        "the lost kubelet in the log",
    )
    group = _nodegroup(kube_emulator, "kubelet-lost", "core")
    assert group is not None and group["status"] == "ACTIVE"
    assert group["health"]["issues"] == []

    eks.delete_nodegroup(clusterName="kubelet-lost", nodegroupName="core")
    wait_for(lambda: _nodegroup(kube_emulator, "kubelet-lost", "core") is None, 60, "the group to go")
    wait_for(lambda: not node_dir.exists() and not processes(node_dir), 60, "the node to be removed")

"""Each emulated EKS cluster is a real Kubernetes cluster: control plane, nodes per node group.

CreateCluster starts the cluster's control plane (``emulator.kube.control_plane``) and answers with
its endpoint and certificate authority; the cluster reports ACTIVE only once its API server is ready
(and FAILED, with a health issue, if it cannot start). Every node group's desired size is matched by
nodes carrying the labels and taints EKS gives them: real nodes (kubelet + containerd,
``emulator.kube.node``) up to ``EMULATOR_KUBE_REAL_NODES`` per cluster, simulated Node objects past
it (tainted so nothing is scheduled on them). A node group reports ACTIVE once its nodes are Ready;
a real node whose kubelet or containerd ends, or that is not Ready by EKS's join deadline, is stopped
and makes the group CREATE_FAILED with a NodeCreationFailure health issue naming the node, the
process and its log (a node lost after the group was ACTIVE leaves it ACTIVE, as on EKS).
Shrinking or deleting a group drains its nodes (evictions, which honour PodDisruptionBudgets) first.
A version update (UpdateNodegroupVersion) replaces the group's nodes one at a time, as EKS's rolling
update does: a node of the new generation up and Ready, then an old one drained and removed.
Deleting the cluster stops everything and removes its state: a new cluster of that name starts empty.

A thread reconciles every second; requests never wait for processes. ``EMULATOR_KUBERNETES=off``
turns all of this off (clusters are records only, as in plain moto).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.kube import POD_NETWORK, images, pki
from emulator.kube.control_plane import ControlPlane

LOG = logging.getLogger("emulator.eks_kubernetes")
LABEL_SIMULATED = "emulator.sciplat.local/simulated"
# EKS's taint effects in its API's spelling -> Kubernetes's.
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# What EKS allows a node group drain before it stops honouring disruption budgets (seconds, real).
DRAIN_SECONDS = 900.0
# How long EKS waits for a new instance to join the cluster before it gives up (seconds, real)...
JOIN_SECONDS = 900.0
# ...divided by the time scale, but never shorter than a local node may take to start: its processes
# do not start faster at a higher time scale (10-20 s measured). EMULATOR_KUBE_NODE_START_SECONDS.
NODE_START_SECONDS = 120.0
# What EKS says when instances do not join (the health issue's message, then the emulator's details).
JOIN_FAILURE = "Instances failed to join the kubernetes cluster"
# EKS's bindings for the access policies' groups (see emulator/eks_access.py).
POLICY_GROUP_ROLES = {"eks:admin": "admin", "eks:edit": "edit", "eks:view": "view"}

_root: Path | None = None
_webhook_base: str | None = None
_time_scale = 1.0
_clusters: dict[tuple[str, str, str], ClusterState] = {}
_lock = threading.RLock()
_thread: threading.Thread | None = None


def enabled() -> bool:
    return os.environ.get("EMULATOR_KUBERNETES", "on") != "off"


def real_node_cap() -> int:
    return int(os.environ.get("EMULATOR_KUBE_REAL_NODES", "2"))


def join_timeout() -> float:
    """Real seconds a new real node has to become Ready: EKS's join deadline on the emulator's clock,
    at least ``EMULATOR_KUBE_NODE_START_SECONDS`` (default 120)."""
    floor = float(os.environ.get("EMULATOR_KUBE_NODE_START_SECONDS", NODE_START_SECONDS))
    return max(JOIN_SECONDS / _time_scale, floor)


@dataclass
class NodeRecord:
    name: str
    group: str
    real: bool
    pod_cidr: str
    ready: bool = False
    failure: str | None = None  # why it never joined (its processes are stopped)
    lost: str | None = None  # which process ended after it had joined
    join_deadline: float = 0.0  # time.monotonic()
    generation: int = 0  # the group's node_generation when the node was made (version updates count)
    # The group by its ARN, not its name: a group deleted and made again under the same name is another
    # group, whose nodes are new (the old ones may still be draining when it is made).
    group_arn: str = ""


@dataclass
class ClusterState:
    key: tuple[str, str, str]
    control_plane: ControlPlane
    issuer: str
    ready: bool = False
    failure: str | None = None
    degraded: str | None = None  # a component exited too often after the cluster was ready (logged once)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    next_index: int = 0
    active_groups: set[str] = field(default_factory=set)  # ARNs of the node groups that have been ACTIVE
    api: Any = None

    @property
    def name(self) -> str:
        return self.key[2]


def configure(state_dir: Path, endpoint: str | None, time_scale: float) -> None:
    """Where clusters live, and the emulator's own URL (the API servers' authentication webhook)."""
    global _root, _webhook_base, _time_scale
    _root = state_dir.resolve() / "kube"
    _webhook_base = endpoint
    _time_scale = time_scale
    destroy_all(_root)  # left over from an emulator that was killed: its AWS state is gone too


def cluster_dir(account: str, region: str, name: str) -> Path:
    if _root is None:
        raise RuntimeError("emulator.eks_kubernetes is not configured")
    return _root / account / region / name


def destroy_all(root: Path) -> None:
    """Stop every cluster (nodes, then control plane) under ``root`` and remove its state."""
    if not root.exists():
        return
    for ports in root.glob("*/*/*/ports.json"):
        _destroy_dir(ports.parent)
    shutil.rmtree(root, ignore_errors=True)


def _destroy_dir(directory: Path) -> None:
    node_module = _node_module()
    if node_module is not None:
        for name in node_module.running_nodes(directory):
            node_module.stop_node(directory, name)
    ControlPlane(directory, directory.name).destroy()


def _node_module() -> Any:
    try:
        from emulator.kube import node
    except ImportError:
        return None
    return node


# -- what the EKS backend calls ---------------------------------------------------------------------


def on_create_cluster(account: str, region: str, cluster: Any) -> None:
    """Start the control plane and put its endpoint and CA on the cluster record."""
    if not enabled():
        return
    key = (account, region, cluster.name)
    directory = cluster_dir(*key)
    shutil.rmtree(directory, ignore_errors=True)
    control_plane = ControlPlane(directory, cluster.name)
    state = ClusterState(key, control_plane, cluster.identity["oidc"]["issuer"])
    control_plane.prepare()
    cluster.endpoint = control_plane.endpoint
    cluster.certificate_authority = {"data": pki.ca_data(control_plane.pki)}
    webhook = (
        f"{_webhook_base}/_emulator/eks/{account}/{region}/{cluster.name}/authenticate"
        if _webhook_base
        else None
    )
    try:
        control_plane.start(state.issuer, webhook)
    except RuntimeError as error:
        state.failure = str(error)
        LOG.warning("EKS cluster %s FAILED: %s", cluster.name, error)
    with _lock:
        _clusters[key] = state
    _ensure_thread()


def cluster_status(account: str, region: str, name: str, timed: str | None) -> str | None:
    """The cluster's status as EKS would report it: ACTIVE only with a ready API server."""
    if timed not in ("ACTIVE", "CREATING") or not enabled():
        return timed
    state = _clusters.get((account, region, name))
    if state is None:
        return timed
    if state.failure:
        return "FAILED"
    return timed if state.ready else "CREATING"


def nodegroup_status(account: str, region: str, nodegroup: Any, timed: str | None) -> str | None:
    """ACTIVE only once the group's nodes (its desired size) are Ready."""
    if timed != "ACTIVE" or not enabled():
        return timed
    state = _clusters.get((account, region, nodegroup.cluster_name))
    if state is None or state.failure:
        return timed
    desired = int(nodegroup.scaling_config.get("desiredSize", 0))
    members = _members(state, nodegroup)
    if any(n.failure for n in members):
        # EKS: instances that never join make a new group fail (for good: delete it and create it
        # again); a group that was ACTIVE stays so, with the health issue.
        return "ACTIVE" if nodegroup.arn in state.active_groups else "CREATE_FAILED"
    ready = [n for n in members if n.ready]
    if state.ready and len(ready) >= desired:
        state.active_groups.add(nodegroup.arn)
        return "ACTIVE"
    return "CREATING"


def load_image(account: str | None, region: str | None, archive: Path) -> list[str]:
    """Import an image into every running real node of the clusters in that account and region (of
    every cluster when both are None: a public image)."""
    node_module = _node_module()
    with _lock:
        states = [s for s in _clusters.values() if account is None or s.key[:2] == (account, region)]
    loaded = []
    for state in states:
        for record in list(state.nodes.values()):
            if node_module is None or not record.real or record.failure:
                continue
            socket = node_module.runtime_dir(state.control_plane.cluster_dir, record.name) / "containerd.sock"
            if socket.exists():
                images.import_archive(socket, archive)
                loaded.append(record.name)
    return loaded


def forget(account: str, region: str, name: str) -> None:
    """The cluster is being deleted: stop it and remove its state (in the background)."""
    with _lock:
        state = _clusters.pop((account, region, name), None)
    if state is not None:
        threading.Thread(target=_destroy_dir, args=(state.control_plane.cluster_dir,), daemon=True).start()


def reset() -> None:
    with _lock:
        states = list(_clusters.values())
        _clusters.clear()
    for state in states:
        _destroy_dir(state.control_plane.cluster_dir)


# -- the reconciler ---------------------------------------------------------------------------------


def _ensure_thread() -> None:
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="eks-kubernetes", daemon=True)
            _thread.start()


def _loop() -> None:
    while True:
        with _lock:
            states = list(_clusters.values())
        for state in states:
            try:
                _reconcile(state)
            except Exception as error:  # one cluster's trouble must not stop the others
                LOG.warning("cluster %s: %s", state.name, error)
        time.sleep(1.0)


def _backend_cluster(state: ClusterState) -> Any:
    from moto.eks.models import eks_backends

    account, region, name = state.key
    return eks_backends[account][region]._clusters.get(name)


def _reconcile(state: ClusterState) -> None:
    cluster = _backend_cluster(state)
    if cluster is None or cluster.status in (None, "DELETING"):
        forget(*state.key)
        return
    if state.failure:
        return
    if not state.ready:
        if not state.control_plane.ready():
            state.failure = state.control_plane.failure()
            if state.failure:
                LOG.warning("EKS cluster %s FAILED: %s", state.name, state.failure)
            return
        _bootstrap(state)
        state.ready = True
    else:
        # As a kubelet restarts static pods at any time: a controller manager or scheduler that exits once
        # the API server answers (its own start-up outlasts the API server's on a busy machine) is started
        # again; without it a claim never binds and no pod is scheduled. EKS keeps such a cluster ACTIVE.
        degraded = state.control_plane.failure()
        if degraded and degraded != state.degraded:
            LOG.warning("EKS cluster %s: %s", state.name, degraded)
        state.degraded = degraded
    # The nodes of deleted groups go first: a group made again under the same name then counts only its own.
    groups = {group.arn for group in cluster.nodegroups.values() if group.status not in (None, "DELETING")}
    state.active_groups &= groups
    for record in [n for n in state.nodes.values() if n.group_arn not in groups]:
        _remove_node(state, record)
    for nodegroup in list(cluster.nodegroups.values()):
        _reconcile_group(state, cluster, nodegroup)


def _client(state: ClusterState) -> Any:
    if state.api is None:
        from kubernetes import config

        state.api = config.new_client_from_config(str(state.control_plane.admin_kubeconfig))
    return state.api


def _bootstrap(state: ClusterState) -> None:
    """What EKS sets up in a new cluster: the access policies' bindings, the EFS CSI driver object."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    rbac = client.RbacAuthorizationV1Api(_client(state))
    for group, role in POLICY_GROUP_ROLES.items():
        body = {
            "metadata": {"name": f"eks-access-policy:{role}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
        }
        with contextlib.suppress(ApiException):
            rbac.create_cluster_role_binding(body)
    from emulator.kube import efs_csi

    with contextlib.suppress(ApiException):  # the aws-efs-csi-driver add-on's driver, served on every node
        client.StorageV1Api(_client(state)).create_csi_driver(efs_csi.csidriver_manifest())


# -- nodes ------------------------------------------------------------------------------------------


def _node_identity(state: ClusterState, nodegroup: Any, index: int) -> tuple[str, str]:
    """An EKS-like node name (``ip-10-0-1-12.ec2.internal``) and its zone, from the group's subnets."""
    from moto.ec2.models import ec2_backends

    account, region, _ = state.key
    subnets = list(nodegroup.subnets or [])
    with contextlib.suppress(Exception):
        subnet = ec2_backends[account][region].get_subnet(subnets[index % len(subnets)])
        network = ipaddress.ip_network(subnet.cidr_block)
        address = network.network_address + 10 + index
        domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
        return f"ip-{str(address).replace('.', '-')}.{domain}", subnet.availability_zone
    return f"{nodegroup.nodegroup_name}-{index}", f"{region}a"


def node_labels(nodegroup: Any, zone: str, region: str, simulated: bool) -> dict[str, str]:
    """The labels EKS puts on a managed node group's nodes, then the group's own."""
    labels = {
        "eks.amazonaws.com/nodegroup": nodegroup.nodegroup_name,
        "eks.amazonaws.com/capacityType": nodegroup.capacity_type,
        "eks.amazonaws.com/nodegroup-image": f"ami-{_target_release(nodegroup).replace('.', '')[:17]}",
        "node.kubernetes.io/instance-type": (nodegroup.instance_types or ["m5.large"])[0],
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": region,
        **(nodegroup.labels or {}),
    }
    if simulated:
        labels[LABEL_SIMULATED] = "true"
    return labels


def _target_release(nodegroup: Any) -> str:
    """The AMI release new nodes get: a version update's, before the group reports it."""
    return str(getattr(nodegroup, "target_release", None) or nodegroup.release_version)


def _members(state: ClusterState, nodegroup: Any) -> list[NodeRecord]:
    """The group's nodes (of this group: not of an earlier one of the same name)."""
    return [n for n in state.nodes.values() if n.group_arn == nodegroup.arn]


def _generation(nodegroup: Any) -> int:
    return int(getattr(nodegroup, "node_generation", 0))


def nodes_rolled(account: str, region: str, nodegroup: Any) -> bool:
    """Every node of the group is of its current generation and Ready (True without Kubernetes)."""
    state = _clusters.get((account, region, nodegroup.cluster_name))
    if not enabled() or state is None or state.failure:
        return True
    members = _members(state, nodegroup)
    desired = int(nodegroup.scaling_config.get("desiredSize", 0))
    return len(members) == desired and all(
        n.ready and n.generation == _generation(nodegroup) for n in members
    )


def node_taints(nodegroup: Any, simulated: bool) -> list[dict[str, str]]:
    taints = [
        {"key": t["key"], "value": t.get("value", ""), "effect": EFFECTS.get(t["effect"], t["effect"])}
        for t in (nodegroup.taints or [])
    ]
    if simulated:
        taints.append({"key": LABEL_SIMULATED, "value": "true", "effect": "NoSchedule"})
    return taints


def _reconcile_group(state: ClusterState, cluster: Any, nodegroup: Any) -> None:
    status = nodegroup.status  # read every second: a group whose nodes are Ready is remembered as ACTIVE
    if status in (None, "DELETING"):
        return
    desired = int(nodegroup.scaling_config.get("desiredSize", 0))
    current = sorted(_members(state, nodegroup), key=lambda n: n.name)
    fresh = [n for n in current if n.generation == _generation(nodegroup)]
    if desired and len(fresh) < len(current):
        # A version update: one node at a time (EKS's default maxUnavailable 1), new before old.
        # A new node still starting, or failed (reported on the group's health): the roll waits.
        if not all(n.ready for n in fresh):
            pass
        elif len(current) <= desired:
            _add_node(state, cluster, nodegroup)
        else:
            _remove_node(state, next(n for n in current if n not in fresh))
    else:
        for record in current[desired:][::-1]:
            _remove_node(state, record)
        for _ in range(desired - len(current)):
            _add_node(state, cluster, nodegroup)
    for record in list(state.nodes.values()):
        if record.failure or record.group_arn != nodegroup.arn:
            continue
        if record.real:
            _check_real_node(state, nodegroup, record)
        else:
            record.ready = _node_ready(state, record.name)


def _add_node(state: ClusterState, cluster: Any, nodegroup: Any) -> None:
    index = state.next_index
    state.next_index += 1
    name, zone = _node_identity(state, nodegroup, index)
    real_count = sum(1 for n in state.nodes.values() if n.real)
    node_module = _node_module()
    real = node_module is not None and real_count < real_node_cap()
    _account, region, _ = state.key
    labels = node_labels(nodegroup, zone, region, simulated=not real)
    taints = node_taints(nodegroup, simulated=not real)
    pod_cidr = pod_cidrs.claim(f"{state.control_plane.cluster_dir}:{name}")
    generation = _generation(nodegroup)
    record = NodeRecord(
        name, nodegroup.nodegroup_name, real, pod_cidr, generation=generation, group_arn=nodegroup.arn
    )
    state.nodes[name] = record
    if real:
        # Here, not at the top: `python -m emulator stop` imports this module, and ecr_images imports moto
        # (a stop took 0.43 s with it, 0.15 s without).
        from emulator import ecr_images

        spec = node_module.NodeSpec(
            name=name,
            labels=labels,
            taints=taints,
            pod_cidr=pod_cidr,
            archives=tuple(ecr_images.archives(_account, region)),
        )
        try:
            node_module.launch_node(
                state.control_plane.cluster_dir, spec, state.control_plane.endpoint, _webhook_base or ""
            )
        except (RuntimeError, OSError) as error:
            _fail_node(state, nodegroup, record, str(error))
            return
        # From the kubelet's start: loading the images before it takes as long as the host is busy.
        record.join_deadline = time.monotonic() + join_timeout()
        _check_real_node(state, nodegroup, record)
    else:
        _create_simulated_node(state, name, labels, taints, pod_cidr)
        record.ready = _node_ready(state, name)


def _check_real_node(state: ClusterState, nodegroup: Any, record: NodeRecord) -> None:
    """Ready yet? A node whose kubelet or containerd has ended, or that is past its join deadline,
    failed; one that had joined is only reported (EKS does not watch a node's processes)."""
    node_module = _node_module()
    cluster_dir = state.control_plane.cluster_dir
    directory = node_module.node_dir(cluster_dir, record.name)
    if record.ready:
        component = None if record.lost else node_module.exited_component(directory)
        if component:
            record.lost = component
            LOG.warning(
                "node %s of node group %s (cluster %s): its %s has ended; the node goes NotReady and the "
                "group stays ACTIVE, as on EKS. See %s. To replace the node, delete the node group and "
                "create it again.",
                record.name,
                nodegroup.nodegroup_name,
                state.name,
                component,
                directory / "logs" / f"{component}.log",
            )
        return
    try:
        record.ready = node_module.node_ready(cluster_dir, record.name, record.pod_cidr, _client(state))
        if not record.ready and time.monotonic() > record.join_deadline:
            raise node_module.NodeFailure(
                directory,
                "kubelet",
                f"did not make the node Ready within {join_timeout():.3g} s (the join deadline: EKS's "
                f"{JOIN_SECONDS:.0f} s divided by the time scale {_time_scale:g}, at least "
                "EMULATOR_KUBE_NODE_START_SECONDS)",
            )
    except node_module.NodeFailure as error:
        _fail_node(state, nodegroup, record, str(error))


def _fail_node(state: ClusterState, nodegroup: Any, record: NodeRecord, reason: str) -> None:
    """The node never joins: stop what it started (its logs stay), then report it on the group (so a
    group is CREATE_FAILED only once nothing of the node runs)."""
    node_module = _node_module()
    try:
        node_module.stop_node(state.control_plane.cluster_dir, record.name, keep_logs=True)
    except Exception as error:  # whatever happens, the failure is reported
        reason += f" (stopping the node: {error})"
    failed = [n for n in state.nodes.values() if n.group_arn == record.group_arn and n.failure] + [record]
    message = (
        f"{JOIN_FAILURE}: cluster {state.name}, node group {nodegroup.nodegroup_name}: "
        + "; ".join(n.failure or reason for n in failed)
        + ". The failed nodes' processes are stopped. Delete the node group and create it again"
        + (
            "."
            if record.group_arn in state.active_groups
            else " (a node group that failed to create does not recover)."
        )
    )
    nodegroup.health = {
        "issues": [
            {"code": "NodeCreationFailure", "message": message, "resourceIds": [n.name for n in failed]}
        ]
    }
    record.ready = False
    record.failure = reason
    LOG.warning("EKS node group %s of cluster %s: %s", nodegroup.nodegroup_name, state.name, message)


def _create_simulated_node(
    state: ClusterState, name: str, labels: dict[str, str], taints: list[dict[str, str]], pod_cidr: str
) -> None:
    from kubernetes import client

    api = client.CoreV1Api(_client(state))
    body = {
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints, "podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
    }
    api.create_node(body)
    _heartbeat(state, name)


def _heartbeat(state: ClusterState, name: str) -> None:
    """A simulated node reports Ready, as a kubelet would (status and lease)."""
    from kubernetes import client

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    condition = {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "simulated node (emulator): no kubelet runs pods here",
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }
    client.CoreV1Api(_client(state)).patch_node_status(name, {"status": {"conditions": [condition]}})


def _node_ready(state: ClusterState, name: str) -> bool:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        node = client.CoreV1Api(_client(state)).read_node(name)
    except ApiException:
        return False
    if node.metadata.labels.get(LABEL_SIMULATED):
        _heartbeat(state, name)  # every reconcile: well within the node monitor's grace period
        return True
    conditions = {c.type: c.status for c in (node.status.conditions or [])}
    return conditions.get("Ready") == "True"


def drain(state: ClusterState, name: str, timeout: float, simulated: bool) -> None:
    """Cordon the node and evict its pods; a PodDisruptionBudget holds an eviction until ``timeout``.

    On a simulated node (or a real one whose kubelet has ended) no kubelet finishes a pod's deletion:
    an evicted pod is removed at once.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.CoreV1Api(_client(state))
    with contextlib.suppress(ApiException):
        api.patch_node(name, {"spec": {"unschedulable": True}})
    deadline = time.monotonic() + timeout
    while True:
        pods = [
            pod
            for pod in api.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}").items
            if not any(ref.kind == "DaemonSet" for ref in pod.metadata.owner_references or [])
        ]
        if not pods:
            return
        for pod in pods:
            if pod.metadata.deletion_timestamp is not None:
                if simulated:
                    with contextlib.suppress(ApiException):
                        api.delete_namespaced_pod(
                            pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0
                        )
                continue
            eviction = {"metadata": {"name": pod.metadata.name, "namespace": pod.metadata.namespace}}
            try:
                api.create_namespaced_pod_eviction(pod.metadata.name, pod.metadata.namespace, eviction)
            except ApiException as error:
                if error.status == 429 and time.monotonic() < deadline:
                    continue  # a disruption budget says not yet
                if error.status == 429:  # past the drain timeout EKS deletes anyway
                    with contextlib.suppress(ApiException):
                        api.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        time.sleep(1.0)


def _remove_node(state: ClusterState, record: NodeRecord) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    kubelet = record.real and record.failure is None and record.lost is None
    drain(state, record.name, DRAIN_SECONDS / _time_scale, simulated=not kubelet)
    node_module = _node_module()
    if record.real and node_module is not None:
        node_module.stop_node(state.control_plane.cluster_dir, record.name)
    with contextlib.suppress(ApiException):
        client.CoreV1Api(_client(state)).delete_node(record.name)
    pod_cidrs.release(f"{state.control_plane.cluster_dir}:{record.name}")
    state.nodes.pop(record.name, None)


class PodCidrs:
    """Pod address ranges (/24s of POD_NETWORK), unique on this host across clusters and emulators.

    Every node's bridge routes its range on the host, so two nodes must never share one. A claim is a
    file created exclusively in a host-wide directory and names its owner; a claim whose owner's
    directory is gone is taken over.
    """

    def __init__(self, directory: Path = Path("/run/sciplat-kube/pod-cidrs")) -> None:
        self.directory = directory

    def claim(self, owner: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        for index in range(1, 255):
            path = self.directory / str(index)
            try:
                with path.open("x") as file:
                    file.write(owner)
            except FileExistsError:
                holder = path.read_text()
                if holder == owner or not Path(holder.split(":", 1)[0]).exists():
                    path.write_text(owner)
                else:
                    continue
            return str(list(ipaddress.ip_network(POD_NETWORK).subnets(new_prefix=24))[index])
        raise RuntimeError(f"no free pod address range left in {self.directory}")

    def release(self, owner: str) -> None:
        for path in self.directory.glob("*"):
            with contextlib.suppress(OSError):
                if path.read_text() == owner:
                    path.unlink()


pod_cidrs = PodCidrs()

"""replace-node-group: a node group is broken (failed health, bad launch template, stuck update);
drain its nodes, delete it and let the cluster stage create it again as the inventory describes it.

The drain is kubectl drain's: the group's nodes are cordoned, then every pod on them (but DaemonSet
and static pods) is evicted through the Eviction API, which honours PodDisruptionBudgets: a pod
whose budget allows no disruption now is asked again until --drain-timeout, then the step fails,
naming it, before anything is deleted.
"""

from __future__ import annotations

import time
from typing import Any

from runbooks import aws, kube
from runbooks.engine import Context, Refused, Step, StepFailed, wait_until
from runbooks.procedures import Param
from runbooks.procedures.common import cluster_problem, converge, kubernetes_skip, kubernetes_step, timeout

NAME = "replace-node-group"
SUMMARY = "Delete a node group and re-create it from the inventory through the cluster stage."
WHEN = "A node group is DEGRADED or CREATE_FAILED, or its nodes must all be replaced at once."
PARAMS = {
    "group": Param("the node group's name (eks_cluster_node_groups[].name)", required=True),
    "drain-timeout": Param(
        "seconds to keep asking evictions that a disruption budget refuses", default="600"
    ),
}
NODE_GROUP_LABEL = "eks.amazonaws.com/nodegroup"


def _check(ctx: Context) -> None:
    _drain_timeout(ctx)
    names = [g["name"] for g in aws.node_groups(ctx.site)]
    group = ctx.params["group"]
    if group not in names:
        raise Refused(f"unknown node group {group!r}: the inventory has {', '.join(names) or 'none'}")
    if aws.describe_cluster(ctx.site) is None:
        raise Refused(f"cluster {aws.cluster_name(ctx.site)} does not exist: use rebuild-cluster")
    eks = aws.client(ctx.site, "eks")
    try:
        ng = eks.describe_nodegroup(clusterName=aws.cluster_name(ctx.site), nodegroupName=group)["nodegroup"]
        ctx.data.setdefault("before", {"status": ng["status"], "arn": ng["nodegroupArn"]})
    except eks.exceptions.ResourceNotFoundException:
        ctx.data.setdefault("before", {"status": "absent"})


def _drain_timeout(ctx: Context) -> float:
    try:
        seconds = float(ctx.params.get("drain-timeout") or 600)
    except ValueError:
        seconds = -1
    if seconds <= 0:
        raise Refused(
            f"--drain-timeout must be a number of seconds above 0; it is {ctx.params['drain-timeout']!r}"
        )
    return seconds


def _evictable(pod: Any) -> bool:
    """Not a DaemonSet's pod (it would come back on the node), not a static pod, not finished."""
    owners = pod.metadata.owner_references or []
    if any(o.kind == "DaemonSet" for o in owners) or any(o.kind == "Node" for o in owners):
        return False
    if "kubernetes.io/config.mirror" in (pod.metadata.annotations or {}):
        return False
    return pod.status.phase not in ("Succeeded", "Failed")


def _drain(ctx: Context) -> str:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    group = ctx.params["group"]
    deadline = time.monotonic() + _drain_timeout(ctx)
    core = kube.core(ctx.site, str(ctx.site.resolve("eks_cluster_kubeconfig_path", "")))
    with ctx.site.aws():
        nodes = [n.metadata.name for n in core.list_node(label_selector=f"{NODE_GROUP_LABEL}={group}").items]
        ctx.data["drained_nodes"] = sorted(set(ctx.data.get("drained_nodes", [])) | set(nodes))
        for node in nodes:
            core.patch_node(node, {"spec": {"unschedulable": True}})
        pods = [
            pod
            for node in nodes
            for pod in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
            if _evictable(pod)
        ]
        waiting = {(p.metadata.namespace, p.metadata.name): p.metadata.uid for p in pods}
        blocked: dict[tuple[str, str], str] = {}
        accepted: set[tuple[str, str]] = set()
        while True:
            for namespace, name in sorted(set(waiting) - accepted):
                body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))
                try:
                    core.create_namespaced_pod_eviction(name, namespace, body)
                    accepted.add((namespace, name))
                    blocked.pop((namespace, name), None)
                except ApiException as error:
                    if error.status == 404:
                        accepted.add((namespace, name))
                        blocked.pop((namespace, name), None)
                    elif error.status == 429:  # its disruption budget allows no disruption now
                        blocked[(namespace, name)] = kube.reason(error)
                    else:
                        raise StepFailed(f"evicting {namespace}/{name}: {kube.reason(error)}") from error
            left = {}
            for (namespace, name), uid in waiting.items():
                try:
                    if core.read_namespaced_pod(name, namespace).metadata.uid == uid:
                        left[(namespace, name)] = uid
                except ApiException as error:
                    if error.status != 404:
                        raise
            waiting = left
            if not waiting:
                break
            if time.monotonic() > deadline:
                held = [
                    f"{ns}/{name}: {blocked[(ns, name)]}" for ns, name in waiting if (ns, name) in blocked
                ]
                rest = [f"{ns}/{name}" for ns, name in waiting if (ns, name) not in blocked]
                raise StepFailed(
                    f"{len(waiting)} pods still on node group {group} after --drain-timeout: "
                    + "; ".join([*held, f"{', '.join(rest)} not gone yet"] if rest else held)
                    + " (the nodes stay cordoned: resolve it, then --resume the run)"
                )
            time.sleep(2)
    names = sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(nodes)} nodes cordoned, {len(names)} pods evicted" + (f" ({shown})" if names else "")


def _delete(ctx: Context) -> str:
    eks = aws.client(ctx.site, "eks")
    cluster, group = aws.cluster_name(ctx.site), ctx.params["group"]
    if ctx.data["before"]["status"] == "absent":
        return f"{group} was already absent"
    try:
        eks.delete_nodegroup(clusterName=cluster, nodegroupName=group)
    except eks.exceptions.ResourceNotFoundException:
        return f"{group} was already gone"

    def gone() -> bool | None:
        try:
            eks.describe_nodegroup(clusterName=cluster, nodegroupName=group)
        except eks.exceptions.ResourceNotFoundException:
            return True
        return None

    wait_until(f"node group {group} to be deleted", gone, timeout=timeout(ctx), interval=2)
    return f"{group} deleted"


def _verify_new(ctx: Context) -> str | None:
    problem = cluster_problem(ctx)
    if problem:
        return problem
    eks = aws.client(ctx.site, "eks")
    ng = eks.describe_nodegroup(clusterName=aws.cluster_name(ctx.site), nodegroupName=ctx.params["group"])
    arn = ng["nodegroup"]["nodegroupArn"]
    ctx.data["after"] = {"arn": arn}
    if arn == ctx.data["before"].get("arn"):
        return "the node group was not replaced (same ARN)"
    return None


def _new_nodes_ready(ctx: Context) -> str:
    """The group's nodes as the Kubernetes API sees them: the drained ones gone, every new one Ready and
    schedulable (EKS reports the group ACTIVE from its instances, before their kubelets may answer)."""
    group = ctx.params["group"]
    old = set(ctx.data.get("drained_nodes", []))
    eks = aws.client(ctx.site, "eks")
    scaling = eks.describe_nodegroup(clusterName=aws.cluster_name(ctx.site), nodegroupName=group)
    desired = int(scaling["nodegroup"].get("scalingConfig", {}).get("desiredSize", 0))
    core = kube.core(ctx.site, str(ctx.site.resolve("eks_cluster_kubeconfig_path", "")))
    waiting: list[str] = []

    def ready() -> str | None:
        with ctx.site.aws():
            nodes = core.list_node(label_selector=f"{NODE_GROUP_LABEL}={group}", _request_timeout=10).items
        waiting[:] = []
        for node in nodes:
            name = node.metadata.name
            conditions = {c.type: c.status for c in node.status.conditions or []}
            if name in old:
                waiting.append(f"{name} (drained, not gone yet)")
            elif conditions.get("Ready") != "True":
                waiting.append(f"{name} (not Ready)")
            elif node.spec.unschedulable:
                waiting.append(f"{name} (cordoned)")
        if waiting or len(nodes) < desired:
            return None
        if not nodes:
            return f"{group} has no nodes (desired size 0); the drained ones are gone"
        names = ", ".join(sorted(n.metadata.name for n in nodes))
        return f"{len(nodes)} new nodes Ready and schedulable ({names})"

    try:
        return wait_until(f"node group {group}'s new nodes", ready, timeout=timeout(ctx), interval=3)
    except StepFailed as failed:
        left = "; ".join(waiting) or f"{desired} nodes wanted, fewer joined"
        raise StepFailed(f"{failed}: {left}") from None


def steps(ctx: Context) -> list[Step]:
    group = ctx.params["group"]
    recreate = converge("cluster.yml", "cluster stage")
    recreate.verify = _verify_new
    # The node alarms watch the group's Auto Scaling group, which the new group replaces.
    alarms = converge("monitoring.yml", "monitoring stage: the node group's alarms")
    return [
        Step(
            "check-inputs",
            lambda c: (
                f"check that {group} is in the inventory and note its state ({c.data.get('before', {})})"
            ),
            lambda c: f"{group} is {c.data['before']['status']}",
            precondition=_check,
        ),
        Step(
            "drain-nodes",
            lambda c: (
                f"cordon {group}'s nodes and evict their pods (DaemonSets' excepted), honouring "
                f"disruption budgets for at most {c.params.get('drain-timeout') or 600} s"
            ),
            _drain,
            skip=lambda c: (
                kubernetes_skip(c)
                or (
                    "the node group is absent: nothing to drain"
                    if c.data["before"]["status"] == "absent"
                    else None
                )
            ),
            destructive=True,
        ),
        Step(
            "delete-node-group",
            lambda c: (
                f"DELETE node group {group} (its nodes go; pods on them are rescheduled or lost) and wait"
            ),
            _delete,
            destructive=True,
        ),
        recreate,
        Step(
            "check-new-nodes",
            lambda c: f"wait for {group}'s new nodes to be Ready and schedulable, and its drained ones gone",
            _new_nodes_ready,
            skip=kubernetes_skip,
        ),
        alarms,
        kubernetes_step(),
    ]

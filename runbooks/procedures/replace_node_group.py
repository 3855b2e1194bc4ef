"""replace-node-group: a node group is broken (failed health, bad launch template, stuck update);
delete it and let the cluster stage create it again as the inventory describes it."""

from __future__ import annotations

from runbooks import aws
from runbooks.engine import Context, Refused, Step, wait_until
from runbooks.procedures import Param
from runbooks.procedures.common import cluster_problem, converge, kubernetes_step, timeout

NAME = "replace-node-group"
SUMMARY = "Delete a node group and re-create it from the inventory through the cluster stage."
WHEN = "A node group is DEGRADED or CREATE_FAILED, or its nodes must all be replaced at once."
PARAMS = {"group": Param("the node group's name (eks_cluster_node_groups[].name)", required=True)}


def _check(ctx: Context) -> None:
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


def steps(ctx: Context) -> list[Step]:
    group = ctx.params["group"]
    recreate = converge("cluster.yml", "cluster stage")
    recreate.verify = _verify_new
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
            "delete-node-group",
            lambda c: (
                f"DELETE node group {group} (its nodes go; pods on them are rescheduled or lost) and wait"
            ),
            _delete,
            destructive=True,
        ),
        recreate,
        kubernetes_step(),
    ]

"""rebuild-cluster: the EKS cluster is lost (deleted, broken beyond repair); build it again from the
inventory, re-attach the existing home file system, and check what can be checked."""

from __future__ import annotations

from runbooks import aws
from runbooks.engine import Context, Refused, Step
from runbooks.procedures import Param
from runbooks.procedures.common import (
    cluster_problem,
    converge,
    home_attached_problem,
    hub_check_steps,
    hub_converge,
    kubernetes_step,
)

NAME = "rebuild-cluster"
SUMMARY = "Re-create the EKS cluster from the inventory and re-attach the existing home file system."
WHEN = "The cluster is gone or unusable; the home file system and the backups are fine."
PARAMS: dict[str, Param] = {}


def _check(ctx: Context) -> None:
    fs = aws.find_home_fs(ctx.site)
    if fs is None:
        raise Refused(
            f"site {ctx.site.name} has no home file system {aws.home_fs_name(ctx.site)} to re-attach: "
            "run restore-filesystem first"
        )
    cluster = aws.describe_cluster(ctx.site)
    ctx.data.setdefault("file_system_id", fs["FileSystemId"])
    ctx.data.setdefault("cluster_before", cluster["status"] if cluster else "absent")


def _drop_stale_rules(ctx: Context) -> str:
    """Revoke the NFS rules that admit a security group which no longer exists (the lost cluster's):
    the storage stage then writes the rule for the new cluster's group. By rule id, which works for
    a rule whose group is gone."""
    efs, ec2 = aws.client(ctx.site, "efs"), aws.client(ctx.site, "ec2")
    targets = efs.describe_mount_targets(FileSystemId=ctx.data["file_system_id"])["MountTargets"]
    groups = {
        g
        for t in targets
        for g in efs.describe_mount_target_security_groups(MountTargetId=t["MountTargetId"])["SecurityGroups"]
    }
    revoked = []
    for group in sorted(groups):
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])[
            "SecurityGroupRules"
        ]
        for rule in rules:
            referenced = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
            if rule["IsEgress"] or not referenced:
                continue
            found = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [referenced]}])
            if not found["SecurityGroups"]:
                ec2.revoke_security_group_ingress(
                    GroupId=group, SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]]
                )
                revoked.append(f"{group} <- {referenced}")
    return f"revoked {len(revoked)} rules admitting deleted groups" + (
        f": {', '.join(revoked)}" if revoked else ""
    )


def steps(ctx: Context) -> list[Step]:
    def describe(c: Context) -> str:
        return (
            f"note the home file system ({c.data.get('file_system_id', '?')}) and the cluster "
            f"{aws.cluster_name(c.site)} ({c.data.get('cluster_before', '?')})"
        )

    cluster = converge("cluster.yml", "cluster stage")
    cluster.verify = cluster_problem
    storage = converge("storage.yml", "storage stage")
    storage.name = "reattach-home-filesystem"
    storage.verify = lambda c: home_attached_problem(c, c.data["file_system_id"])
    return [
        Step("check-inputs", describe, describe, precondition=_check),
        cluster,
        Step(
            "drop-stale-nfs-rules",
            lambda c: (
                "revoke the home file system's NFS rules that admit security groups which no longer exist"
            ),
            _drop_stale_rules,
        ),
        storage,
        # The node alarms watch the node groups' Auto Scaling groups, which the new cluster replaces.
        converge("monitoring.yml", "monitoring stage: the node groups' alarms"),
        hub_converge(),
        *hub_check_steps(),
        kubernetes_step(),
    ]

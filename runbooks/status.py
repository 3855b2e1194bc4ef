"""What exists for a site, read back from AWS (or the emulator): the summary `make demo` ends with."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from runbooks import kube
from runbooks.site import Site


@dataclass
class Line:
    part: str
    name: str
    detail: str
    state: str


def _tag(resource: dict[str, Any], key: str) -> str:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == key), "")


def network_lines(site: Site, ec2: Any) -> list[Line]:
    site_filter = [{"Name": f"tag:{k}", "Values": [v]} for k, v in site.tags.items()]
    lines: list[Line] = []
    vpcs = ec2.describe_vpcs(Filters=site_filter)["Vpcs"]
    for vpc in vpcs:
        lines.append(
            Line("vpc", _tag(vpc, "Name") or vpc["VpcId"], f"{vpc['VpcId']} {vpc['CidrBlock']}", vpc["State"])
        )
        in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
        subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
        for tier, tag in (
            ("public", "kubernetes.io/role/elb"),
            ("private", "kubernetes.io/role/internal-elb"),
        ):
            chosen = sorted((s for s in subnets if _tag(s, tag)), key=lambda s: s["AvailabilityZone"])
            if chosen:
                zones = ", ".join(f"{s['AvailabilityZone']} {s['CidrBlock']}" for s in chosen)
                lines.append(Line("subnets", f"{tier} x{len(chosen)}", zones, "available"))
        for nat in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]:
            if nat["State"] not in ("deleted", "deleting"):
                lines.append(Line("nat", nat["NatGatewayId"], nat["SubnetId"], nat["State"]))
        for endpoint in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]:
            routes = len(endpoint.get("RouteTableIds", []))
            lines.append(
                Line("endpoint", endpoint["ServiceName"], f"{routes} route tables", endpoint["State"])
            )
    return lines


def cluster_lines(site: Site, eks: Any, iam: Any) -> list[Line]:
    name = site.var("eks_cluster_name")
    if not isinstance(name, str) or not name:
        return []
    try:
        cluster = eks.describe_cluster(name=name)["cluster"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return [Line("cluster", name, "not created", "absent")]
        raise
    logging = [
        t
        for entry in cluster.get("logging", {}).get("clusterLogging", [])
        if entry.get("enabled")
        for t in entry.get("types", [])
    ]
    lines = [
        Line(
            "cluster",
            name,
            f"Kubernetes {cluster['version']}, logs: {', '.join(logging) or 'none'}",
            cluster["status"],
        )
    ]
    for group in eks.list_nodegroups(clusterName=name)["nodegroups"]:
        ng = eks.describe_nodegroup(clusterName=name, nodegroupName=group)["nodegroup"]
        scaling = ng.get("scalingConfig", {})
        lines.append(
            Line(
                "node group",
                group,
                f"{ng.get('capacityType', '?')} {','.join(ng.get('instanceTypes', []))} "
                f"{scaling.get('minSize')}..{scaling.get('maxSize')} (now {scaling.get('desiredSize')})",
                ng["status"],
            )
        )
    try:
        addons = eks.list_addons(clusterName=name)["addons"]
    except ClientError:
        addons = []
    for addon_name in addons:
        addon = eks.describe_addon(clusterName=name, addonName=addon_name)["addon"]
        role = " IRSA" if addon.get("serviceAccountRoleArn") else ""
        lines.append(Line("add-on", addon_name, f"{addon.get('addonVersion', '')}{role}", addon["status"]))
    issuer = cluster.get("identity", {}).get("oidc", {}).get("issuer", "")
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    host = issuer.removeprefix("https://")
    if host and any(p["Arn"].endswith(host) for p in providers):
        lines.append(Line("oidc", host.split("/")[-1], "IAM identity provider for IRSA", "present"))
    return lines


def kubernetes_lines(site: Site) -> list[Line]:
    """Nodes (with their node group and readiness) and the home claim, through the site's kubeconfig."""
    name = site.var("eks_cluster_name")
    path = site.resolve("eks_cluster_kubeconfig_path", "") if isinstance(name, str) and name else ""
    if not path or not Path(path).exists():
        return []
    from kubernetes.client.exceptions import ApiException

    try:
        api = kube.core(site, str(path))
        nodes = api.list_node(_request_timeout=15).items
    except Exception as error:  # an unreachable API server is a status to show, not a crash
        reason = str(error).strip().splitlines()[0][:120]
        return [
            Line(
                "kubernetes",
                name,
                f"API server not answering ({reason}); if the cluster was re-created, the cluster stage "
                f"rewrites {path}",
                "unreachable",
            )
        ]
    lines = []
    for node in sorted(nodes, key=lambda n: n.metadata.name):
        labels = node.metadata.labels or {}
        ready = {c.type: c.status for c in node.status.conditions or []}.get("Ready") == "True"
        kind = (
            "simulated"
            if labels.get("emulator.sciplat.local/simulated")
            else labels.get("node.kubernetes.io/instance-type", "")
        )
        group = labels.get("eks.amazonaws.com/nodegroup", "?")
        lines.append(
            Line("node", node.metadata.name, f"group {group}, {kind}", "Ready" if ready else "NotReady")
        )
    namespace = site.resolve("efs_storage_kubernetes_namespace", "")
    claim = site.resolve("efs_storage_pvc_name", "")
    if namespace and claim:
        try:
            pvc = api.read_namespaced_persistent_volume_claim(claim, namespace, _request_timeout=15)
            lines.append(
                Line("claim", f"{namespace}/{claim}", f"volume {pvc.spec.volume_name}", pvc.status.phase)
            )
        except ApiException as error:
            if error.status != 404:
                raise
    return lines


def storage_lines(site: Site, efs: Any) -> list[Line]:
    lines: list[Line] = []
    for fs in efs.describe_file_systems()["FileSystems"]:
        tags = {t["Key"]: t["Value"] for t in fs.get("Tags", [])}
        if not site.tags.items() <= tags.items():
            continue
        encrypted = "encrypted" if fs.get("Encrypted") else "NOT encrypted"
        lines.append(
            Line(
                "efs",
                tags.get("Name", fs["FileSystemId"]),
                f"{fs['FileSystemId']} {encrypted}, {fs['ThroughputMode']}, "
                f"{fs['SizeInBytes']['Value']} bytes",
                fs["LifeCycleState"],
            )
        )
        targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
        zones = ", ".join(sorted(t.get("AvailabilityZoneName", t["SubnetId"]) for t in targets))
        states = {t["LifeCycleState"] for t in targets}
        lines.append(Line("mount", f"targets x{len(targets)}", zones, "/".join(sorted(states)) or "none"))
        for point in efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"]:
            owner = point.get("RootDirectory", {}).get("CreationInfo", {})
            lines.append(
                Line(
                    "access pt",
                    point.get("Name") or point["AccessPointId"],
                    f"{point.get('RootDirectory', {}).get('Path', '/')} owner "
                    f"{owner.get('OwnerUid', '?')}:{owner.get('OwnerGid', '?')}",
                    point["LifeCycleState"],
                )
            )
    return lines


def backup_lines(site: Site, backup: Any) -> list[Line]:
    vault_name = site.var("backup_out_vault_name") or site.var("backup_vault_name") or site.var("backup_name")
    if not isinstance(vault_name, str) or not vault_name:
        return []
    lines: list[Line] = []
    try:
        vault = backup.describe_backup_vault(BackupVaultName=vault_name)
    except ClientError:
        return [Line("vault", vault_name, "not created", "absent")]
    lock = "locked" if vault.get("Locked") else "no lock"
    lines.append(
        Line(
            "vault",
            vault_name,
            f"{vault.get('NumberOfRecoveryPoints', 0)} recovery points, {lock}",
            "present",
        )
    )
    for plan in backup.list_backup_plans()["BackupPlansList"]:
        if not plan["BackupPlanName"].startswith(str(site.var("backup_name", site.name))):
            continue
        rules = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]
        for rule in rules:
            keep = rule.get("Lifecycle", {}).get("DeleteAfterDays", "forever")
            copies = " + copy" if rule.get("CopyActions") else ""
            lines.append(
                Line(
                    "plan rule",
                    rule["RuleName"],
                    f"{rule['ScheduleExpression']} keep {keep} d{copies}",
                    "present",
                )
            )
        for selection in backup.list_backup_selections(BackupPlanId=plan["BackupPlanId"])[
            "BackupSelectionsList"
        ]:
            lines.append(
                Line("selection", selection["SelectionName"], f"plan {plan['BackupPlanName']}", "present")
            )
    return lines


def collect(site: Site) -> list[Line]:
    with site.aws():
        session = boto3.session.Session(region_name=site.region)
        return (
            network_lines(site, session.client("ec2"))
            + cluster_lines(site, session.client("eks"), session.client("iam"))
            + kubernetes_lines(site)
            + storage_lines(site, session.client("efs"))
            + backup_lines(site, session.client("backup"))
        )


def as_json(site: Site, lines: list[Line]) -> dict[str, Any]:
    """`runbook status --format json`: the same lines, one object each."""
    return {
        "site": site.name,
        "region": site.region,
        "resources": [dataclasses.asdict(line) for line in lines],
        "endpoint": site.aws_environment.get("AWS_ENDPOINT_URL"),
    }


def render(site: Site, lines: list[Line]) -> str:
    width = max((len(line.name) for line in lines), default=10)
    out = [f"site {site.name} ({site.region})"]
    out += [f"  {line.part:<10} {line.name:<{width}}  {line.state:<10} {line.detail}" for line in lines]
    if not lines:
        out.append("  nothing exists yet: run `make demo` (or playbooks/site.yml)")
    endpoint = site.aws_environment.get("AWS_ENDPOINT_URL")
    if endpoint:
        out.append(f"emulator: {endpoint}")
    return "\n".join(out)

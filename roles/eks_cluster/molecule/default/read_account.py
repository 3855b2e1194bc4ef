"""Print what the emulated account holds for the scenario's cluster, as JSON (for verify.yml).

Reads with boto3 directly, not through the modules under test. Usage: read_account.py CLUSTER REGION
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3


def main(cluster_name: str, region: str) -> dict[str, Any]:
    session = boto3.session.Session(region_name=region)
    eks = session.client("eks")
    iam = session.client("iam")
    kms = session.client("kms")

    cluster = eks.describe_cluster(name=cluster_name)["cluster"]
    nodegroups = {
        name: eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=name)["nodegroup"]
        for name in eks.list_nodegroups(clusterName=cluster_name)["nodegroups"]
    }
    # The updates each node group went through (to count them).
    nodegroup_updates = {
        name: eks.list_updates(name=cluster_name, nodegroupName=name)["updateIds"] for name in nodegroups
    }
    addons = {
        name: eks.describe_addon(clusterName=cluster_name, addonName=name)["addon"]
        for name in eks.list_addons(clusterName=cluster_name)["addons"]
    }
    providers = {}
    for entry in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=entry["Arn"])
        provider.pop("ResponseMetadata", None)
        providers[entry["Arn"]] = provider
    roles = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        if not name.startswith(cluster_name + "-"):
            continue
        inline = {
            policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        roles[name] = {
            "arn": role["Arn"],
            "trust": role["AssumeRolePolicyDocument"],
            "managed_policies": sorted(p["PolicyArn"] for p in attached),
            "inline_policies": inline,
        }
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    keys = {}
    for alias, key_id in aliases.items():
        if key_id and alias.startswith(f"alias/{cluster_name}-"):
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            keys[alias] = {
                "arn": meta["Arn"],
                "rotation": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
                "policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
            }
    # The node groups' launch templates (<cluster>-<group>): the data of each one's latest version.
    ec2 = session.client("ec2")
    launch_templates = {}
    for template in ec2.describe_launch_templates()["LaunchTemplates"]:
        if template["LaunchTemplateName"].startswith(cluster_name + "-"):
            [latest] = ec2.describe_launch_template_versions(
                LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Latest"]
            )["LaunchTemplateVersions"]
            launch_templates[template["LaunchTemplateName"]] = {
                "id": template["LaunchTemplateId"],
                "latest": str(template["LatestVersionNumber"]),
                "default": str(template["DefaultVersionNumber"]),
                "data": latest["LaunchTemplateData"],
            }
    logs = boto3.client("logs", region_name=region)
    log_groups = {
        group["logGroupName"]: group
        for group in logs.describe_log_groups(logGroupNamePrefix=f"/aws/eks/{cluster_name}/")["logGroups"]
    }
    ebs_defaults = {
        "enabled": ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
        "kms_key_id": ec2.get_ebs_default_kms_key_id()["KmsKeyId"],
    }
    return {
        "ebs_defaults": ebs_defaults,
        "log_groups": log_groups,
        "cluster": cluster,
        "nodegroups": nodegroups,
        "nodegroup_updates": nodegroup_updates,
        "addons": addons,
        "oidc_providers": providers,
        "roles": roles,
        "kms_keys": keys,
        "launch_templates": launch_templates,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2]), default=str))

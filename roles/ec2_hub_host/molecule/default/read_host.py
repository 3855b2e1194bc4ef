"""Print what the emulated account holds for the scenario's hub host, as JSON (for verify.yml).

Reads with boto3 directly, not through the modules under test: DescribeInstances, DescribeVolumes,
DescribeSecurityGroups, and IAM's role, instance profile and inline policy.
Usage: read_host.py NAME REGION
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3


def read(name: str, region: str) -> dict[str, Any]:
    ec2, iam = boto3.client("ec2", region_name=region), boto3.client("iam", region_name=region)
    reservations = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    )["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    volume_ids = [
        m["Ebs"]["VolumeId"] for i in instances for m in i.get("BlockDeviceMappings", []) if "Ebs" in m
    ]
    volumes = ec2.describe_volumes(VolumeIds=volume_ids)["Volumes"] if volume_ids else []
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{name}-hub"]}])[
        "SecurityGroups"
    ]
    role_name = f"{name}-hub-host"
    role = iam.get_role(RoleName=role_name)["Role"]
    policies = {
        p: iam.get_role_policy(RoleName=role_name, PolicyName=p)["PolicyDocument"]
        for p in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    }
    profile = iam.get_instance_profile(InstanceProfileName=role_name)["InstanceProfile"]
    return {
        "instances": [
            {
                "id": i["InstanceId"],
                "type": i["InstanceType"],
                "ebs_optimized": i.get("EbsOptimized"),
                "key_name": i.get("KeyName"),
                "subnet_id": i["SubnetId"],
                "private_ip": i.get("PrivateIpAddress"),
                "public_ip": i.get("PublicIpAddress"),
                "metadata": i.get("MetadataOptions", {}),
                "profile_arn": i.get("IamInstanceProfile", {}).get("Arn"),
                "groups": [g["GroupId"] for g in i["SecurityGroups"]],
                "root_device": i.get("RootDeviceName"),
                "devices": [m["DeviceName"] for m in i.get("BlockDeviceMappings", [])],
                "tags": {t["Key"]: t["Value"] for t in i.get("Tags", [])},
            }
            for i in instances
        ],
        "volumes": [
            {"size": v["Size"], "type": v["VolumeType"], "encrypted": v["Encrypted"]} for v in volumes
        ],
        "security_groups": [
            {
                "id": g["GroupId"],
                "vpc_id": g["VpcId"],
                "ingress": sorted(
                    [p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"]]
                    for p in g["IpPermissions"]
                    for r in p.get("IpRanges", [])
                ),
                "ingress_from_groups": [p for p in g["IpPermissions"] if p.get("UserIdGroupPairs")],
                "egress": sorted(
                    [p["IpProtocol"], r["CidrIp"]]
                    for p in g["IpPermissionsEgress"]
                    for r in p.get("IpRanges", [])
                ),
            }
            for g in groups
        ],
        "role": {
            "arn": role["Arn"],
            "trust": role["AssumeRolePolicyDocument"],
            "attached": iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"],
            "policies": policies,
        },
        "profile": {"arn": profile["Arn"], "roles": [r["RoleName"] for r in profile["Roles"]]},
    }


if __name__ == "__main__":
    print(json.dumps(read(sys.argv[1], sys.argv[2]), default=str))

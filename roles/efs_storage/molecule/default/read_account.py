"""Print what the emulated account holds for the scenario's file systems, as JSON (for verify.yml).

Reads with boto3 directly, not through the modules under test. Usage: read_account.py REGION VPC_ID
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3
import botocore.exceptions


def optional(call: Any, key: str, **kwargs: Any) -> Any:
    """The answer's ``key``, or None when AWS says there is none (PolicyNotFound and the like)."""
    try:
        return call(**kwargs).get(key)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in {"PolicyNotFound", "FileSystemNotFound"}:
            return None
        raise


def main(region: str, vpc_id: str) -> dict[str, Any]:
    session = boto3.session.Session(region_name=region)
    efs = session.client("efs")
    ec2 = session.client("ec2")
    kms = session.client("kms")

    file_systems: dict[str, Any] = {}
    for fs in efs.describe_file_systems()["FileSystems"]:
        fs_id = fs["FileSystemId"]
        mount_targets = efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
        for mt in mount_targets:
            mt["SecurityGroups"] = efs.describe_mount_target_security_groups(
                MountTargetId=mt["MountTargetId"]
            )["SecurityGroups"]
        policy = optional(efs.describe_file_system_policy, "Policy", FileSystemId=fs_id)
        file_systems[fs.get("Name") or fs_id] = {
            "file_system": fs,
            "tags": {t["Key"]: t["Value"] for t in fs.get("Tags", [])},
            "lifecycle": efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"],
            "policy": json.loads(policy) if policy else None,
            "backup_policy": optional(efs.describe_backup_policy, "BackupPolicy", FileSystemId=fs_id),
            "mount_targets": mount_targets,
            "access_points": {
                ap.get("Name", ap["AccessPointId"]): ap
                for ap in efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
            },
        }
    groups = {
        sg["GroupName"]: sg
        for sg in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
            "SecurityGroups"
        ]
    }
    subnets = {
        s["SubnetId"]: s["AvailabilityZone"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    }
    keys = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    return {"file_systems": file_systems, "security_groups": groups, "subnets": subnets, "kms_aliases": keys}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2]), default=str))

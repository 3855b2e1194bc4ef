"""Print what the emulated account holds for the scenario's backups, as JSON (for verify.yml).

Reads with boto3 directly, not through the modules under test.
Usage: read_account.py NAME REGION COPY_REGION
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3
import botocore.exceptions


def vault(backup: Any, name: str) -> dict[str, Any] | None:
    try:
        found = backup.describe_backup_vault(BackupVaultName=name)
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in {"AccessDeniedException", "ResourceNotFoundException"}:
            return None
        raise
    found.pop("ResponseMetadata", None)
    found["Tags"] = backup.list_tags(ResourceArn=found["BackupVaultArn"])["Tags"]
    try:
        notifications = backup.get_backup_vault_notifications(BackupVaultName=name)
        found["Notifications"] = {
            "SNSTopicArn": notifications.get("SNSTopicArn"),
            "BackupVaultEvents": sorted(notifications.get("BackupVaultEvents", [])),
        }
    except botocore.exceptions.ClientError:
        found["Notifications"] = None
    return found


def keys(kms: Any, alias: str) -> dict[str, Any]:
    for entry in kms.list_aliases()["Aliases"]:
        if entry["AliasName"] == alias and entry.get("TargetKeyId"):
            meta = kms.describe_key(KeyId=entry["TargetKeyId"])["KeyMetadata"]
            return {
                "arn": meta["Arn"],
                "rotation": kms.get_key_rotation_status(KeyId=entry["TargetKeyId"])["KeyRotationEnabled"],
                "tags": {
                    t["TagKey"]: t["TagValue"]
                    for t in kms.list_resource_tags(KeyId=entry["TargetKeyId"])["Tags"]
                },
            }
    return {}


def main(name: str, region: str, copy_region: str) -> dict[str, Any]:
    session = boto3.session.Session(region_name=region)
    backup = session.client("backup")
    copy_backup = session.client("backup", region_name=copy_region)
    iam = session.client("iam")

    plans = {}
    for entry in backup.list_backup_plans()["BackupPlansList"]:
        plan = backup.get_backup_plan(BackupPlanId=entry["BackupPlanId"])
        plan.pop("ResponseMetadata", None)
        plan["Tags"] = backup.list_tags(ResourceArn=plan["BackupPlanArn"])["Tags"]
        plan["Selections"] = {}
        for selection in backup.list_backup_selections(BackupPlanId=entry["BackupPlanId"])[
            "BackupSelectionsList"
        ]:
            found = backup.get_backup_selection(
                BackupPlanId=entry["BackupPlanId"], SelectionId=selection["SelectionId"]
            )
            plan["Selections"][selection["SelectionName"]] = {
                **found["BackupSelection"],
                "SelectionId": found["SelectionId"],
            }
        plans[entry["BackupPlanName"]] = plan

    role_name = f"{name}-backup"
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
        role_info = {
            "arn": role["Arn"],
            "trust": role["AssumeRolePolicyDocument"],
            "managed_policies": sorted(
                p["PolicyArn"]
                for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
            ),
            "tags": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role_name)["Tags"]},
        }
    except iam.exceptions.NoSuchEntityException:
        role_info = None

    return {
        "vault": vault(backup, f"{name}-vault"),
        "copy_vault": vault(copy_backup, f"{name}-vault"),
        "key": keys(session.client("kms"), f"alias/{name}-backup"),
        "copy_key": keys(session.client("kms", region_name=copy_region), f"alias/{name}-backup"),
        "plans": plans,
        "role": role_info,
        "vaults": [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3]), default=str))

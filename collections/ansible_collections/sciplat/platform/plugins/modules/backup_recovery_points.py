#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backup_recovery_points
version_added: 0.2.0
short_description: Delete every recovery point of an AWS Backup vault
description:
  - Lists the recovery points of a vault (ListRecoveryPointsByBackupVault) and deletes each one
    (DeleteRecoveryPoint), so that the vault itself can be deleted (AWS Backup refuses to delete a
    vault that holds recovery points). amazon.aws.backup_vault cannot empty a vault.
  - A recovery point still being created cannot be deleted; the module waits for it first (one that
    disappears meanwhile has nothing left to delete).
  - A vault that does not exist has nothing to delete.
  - Destructive, and for good - the backups are gone. A vault lock's minimum retention makes AWS
    refuse the deletion of younger recovery points; the task then fails naming them.
author:
  - Science platform deployment kit maintainers
options:
  vault_name:
    description: Name of the vault.
    type: str
    required: true
  state:
    description: Only V(absent) - the vault ends up with no recovery points.
    type: str
    choices: [absent]
    default: absent
  wait_timeout:
    description: Seconds to wait for recovery points still being created, and for the deletions (more than 0).
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made; the recovery points
    that would be deleted are returned.
"""

EXAMPLES = r"""
- name: Empty the site's vault before deleting it.
  sciplat.platform.backup_recovery_points:
    vault_name: archive-homes
    state: absent
"""

RETURN = r"""
recovery_points:
  description: The recovery points deleted (would be deleted, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    recovery_point_arn:
      description: ARN of the recovery point.
      type: str
    resource_arn:
      description: ARN of the resource it backs up.
      type: str
    creation_date:
      description: When it was created.
      type: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.backup import input_problem
from ansible_collections.sciplat.platform.plugins.module_utils.waiting import (
    GONE,
    Deadline,
    WaitError,
    wait_for_status,
)

# AWS answers a missing vault with AccessDeniedException (some emulators with ResourceNotFoundException).
MISSING_VAULT = ["AccessDeniedException", "ResourceNotFoundException"]
# Statuses of a recovery point that is still being written: wait, then delete.
BUSY = {"CREATING"}


def list_points(client: Any, vault: str) -> list[dict[str, Any]] | None:
    """The vault's recovery points (without those already DELETING), or None when there is no such vault."""
    try:
        pages = client.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault)
        points = [point for page in pages for point in page.get("RecoveryPoints", [])]
    except is_boto3_error_code(MISSING_VAULT):
        return None
    return [point for point in points if point.get("Status") != "DELETING"]


def view(point: dict[str, Any]) -> dict[str, str]:
    created = point.get("CreationDate")
    return {
        "recovery_point_arn": point["RecoveryPointArn"],
        "resource_arn": point.get("ResourceArn", ""),
        "creation_date": created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
    }


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            vault_name=dict(type="str", required=True),
            state=dict(type="str", choices=["absent"], default="absent"),
            wait_timeout=dict(type="int", default=1800),
        ),
        supports_check_mode=True,
    )
    problem = input_problem(module.params)
    if problem:
        module.fail_json(msg=problem)
    vault = module.params["vault_name"]
    deadline = Deadline(module.params["wait_timeout"])
    client = module.client("backup", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    try:
        points = list_points(client, vault) or []
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Couldn't list the recovery points of vault {vault}")
    found = [view(point) for point in points]
    result: dict[str, Any] = {"changed": bool(found), "recovery_points": found}
    if module._diff:
        result["diff"] = {
            "before": {"recovery_points": [p["recovery_point_arn"] for p in found]},
            "after": {},
        }
    if module.check_mode or not found:
        module.exit_json(**result)

    refused: list[str] = []
    for point in points:
        arn = point["RecoveryPointArn"]

        def describe(arn: str = arn) -> dict[str, Any] | None:
            try:
                return client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
            except is_boto3_error_code("ResourceNotFoundException"):
                return None

        try:
            if point.get("Status") in BUSY:
                settled = wait_for_status(
                    describe,
                    want={"COMPLETED", "PARTIAL", "EXPIRED", "AVAILABLE", "STOPPED", GONE},
                    deadline=deadline,
                    what=f"Recovery point {arn}",
                    status_of=lambda p: p.get("Status"),
                    max_delay=30.0,
                )
                if settled is None:
                    continue
            client.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
        except WaitError as e:
            module.fail_json(msg=str(e), **result)
        except is_boto3_error_code("ResourceNotFoundException"):
            continue
        except botocore.exceptions.ClientError as e:  # pylint: disable=duplicate-except
            # A vault lock's minimum retention, for example: name every point AWS keeps, then fail.
            error = e.response.get("Error", {})
            refused.append(f"{arn} ({error.get('Code', '?')}: {error.get('Message', '')})")
        except botocore.exceptions.BotoCoreError as e:
            module.fail_json_aws(e, msg=f"Couldn't delete recovery point {arn} of vault {vault}")
    if refused:
        listed = "; ".join(refused)
        module.fail_json(
            msg=f"AWS refused to delete {len(refused)} recovery point(s) of vault {vault}: {listed}", **result
        )
    try:
        wait_for_status(
            lambda: list_points(client, vault) or None,
            want={GONE},
            deadline=deadline,
            what=f"The recovery points of vault {vault}",
            status_of=lambda points: "DELETING",
            max_delay=15.0,
        )
    except WaitError as e:
        module.fail_json(msg=str(e), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

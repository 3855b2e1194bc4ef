#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backup_job
version_added: 0.2.0
short_description: Take an on-demand AWS Backup of one resource and wait for its recovery point
description:
  - Starts an on-demand backup job (StartBackupJob) of one resource into a vault and, by default,
    waits until the job is C(COMPLETED), returning its recovery point.
  - amazon.aws has modules for vaults, plans and selections but none that starts a backup job.
  - Every run starts a new job, so the task always reports a change; the caller decides when a
    backup is due (playbooks/teardown.yml takes one only while the file system still has mount
    targets, that is while it can still be written to).
author:
  - Science platform deployment kit maintainers
options:
  vault_name:
    description:
      - Name of the vault the recovery point goes to (2 to 50 letters, digits, hyphens or underscores).
    type: str
    required: true
  resource_arn:
    description: ARN of the resource to back up, for example an EFS file system's.
    type: str
    required: true
  iam_role_arn:
    description: ARN of the IAM role AWS Backup assumes to make the backup.
    type: str
    required: true
  wait:
    description:
      - Wait until the job is C(COMPLETED).
      - A job that ends C(FAILED), C(ABORTED) or C(EXPIRED) fails the task.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the job (more than 0).
    type: int
    default: 3600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode nothing is started and the task reports the
    backup it would take.
  - The arguments are checked before any call (the vault's name, both ARNs, O(wait_timeout)), also in
    check mode; a bad one fails the task naming it.
"""

EXAMPLES = r"""
- name: Take a final backup of the home file system.
  sciplat.platform.backup_job:
    vault_name: archive-homes
    resource_arn: arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0
    iam_role_arn: arn:aws:iam::123456789012:role/archive-backup
  register: final_backup
"""

RETURN = r"""
backup_job_id:
  description: ID of the job (not returned in check mode).
  returned: when a job was started
  type: str
state:
  description: The job's last state seen (C(CREATED), C(RUNNING), C(COMPLETED), ...).
  returned: when a job was started
  type: str
recovery_point_arn:
  description: ARN of the job's recovery point.
  returned: when a job was started
  type: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.backup import input_problem
from ansible_collections.sciplat.platform.plugins.module_utils.waiting import (
    Deadline,
    WaitError,
    wait_for_status,
    waiting_argument_spec,
)

DONE = {"COMPLETED"}
FAILED = {"FAILED", "ABORTED", "EXPIRED"}


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            vault_name=dict(type="str", required=True),
            resource_arn=dict(type="str", required=True),
            iam_role_arn=dict(type="str", required=True),
            **waiting_argument_spec(3600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problem = input_problem(params)
    if problem:
        module.fail_json(msg=problem)
    what = f"a backup of {params['resource_arn']} into vault {params['vault_name']}"
    result: dict[str, Any] = {"changed": True}
    if module._diff:
        result["diff"] = {"before": {}, "after": {"backup": what}}
    if module.check_mode:
        module.exit_json(**result)

    client = module.client("backup", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    try:
        started = client.start_backup_job(
            BackupVaultName=params["vault_name"],
            ResourceArn=params["resource_arn"],
            IamRoleArn=params["iam_role_arn"],
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Couldn't start {what}")
    job_id = started["BackupJobId"]
    result.update(
        backup_job_id=job_id, recovery_point_arn=started.get("RecoveryPointArn", ""), state="CREATED"
    )

    def describe() -> dict[str, Any]:
        return client.describe_backup_job(BackupJobId=job_id)

    if params["wait"]:
        try:
            job = wait_for_status(
                describe,
                want=DONE,
                fail_on=FAILED,
                deadline=Deadline(params["wait_timeout"]),
                what=f"Backup job {job_id} ({what})",
                status_of=lambda job: job.get("State"),
                max_delay=30.0,
            )
        except WaitError as e:
            job = e.resource or {}
            module.fail_json(
                msg=f"{e}: {job.get('StatusMessage', '')}".rstrip(": "),
                **{**result, "state": e.status},
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Couldn't read backup job {job_id}")
        result.update(state=job.get("State", ""), recovery_point_arn=job.get("RecoveryPointArn", ""))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

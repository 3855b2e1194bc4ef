"""AWS Backup: a missing vault is AccessDenied (not ResourceNotFound), vaults have notifications
and access policies, and the selection, job, recovery point and restore operations exist
(their models are in emulator.backup_jobs).

AWS answers DescribeBackupVault on a vault that does not exist with HTTP 403
``AccessDeniedException: Insufficient privileges to perform this action.``, even for an
administrator (aws/aws-sdk-js#2625; amazon.aws.backup_vault catches exactly that to mean "absent").
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import parse_qs

from moto.backup import urls as backup_urls
from moto.backup.models import backup_backends
from moto.backup.responses import BackupResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult

from emulator import backup_jobs
from emulator.backup_jobs import AccessDeniedException, EmulatedBackupBackend, page
from emulator.patching import route


class ResourceNotFoundException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


class EmulatedBackupResponse(BackupResponse):
    @property
    def backup_backend(self) -> EmulatedBackupBackend:
        return cast(EmulatedBackupBackend, backup_backends[self.current_account][self.region])

    def _body(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    def _query(self) -> dict[str, str]:
        """The query string's parameters by their wire names (``state``, ``maxResults``, ...)."""
        return {key: values[0] for key, values in parse_qs(self.parsed_url.query).items()}

    def _page(self, items: list[Any]) -> tuple[list[Any], str | None]:
        query = self._query()
        max_results = int(query["maxResults"]) if "maxResults" in query else None
        return page(items, max_results, query.get("nextToken"))

    def _vault(self) -> Any:
        name = self.uri_match.get("backupVaultName") or self.path.split("/")[2]
        vault = self.backup_backend.vaults.get(name)
        if vault is None:
            raise AccessDeniedException()
        return vault

    def describe_backup_vault(self) -> ActionResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupVault.html"""
        return ActionResult(result=self._vault())

    def put_backup_vault_notifications(self) -> EmptyResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultNotifications.html"""
        body = json.loads(self.body)
        self._vault().notifications = {
            "SNSTopicArn": body["SNSTopicArn"],
            "BackupVaultEvents": body["BackupVaultEvents"],
        }
        return EmptyResult()

    def get_backup_vault_notifications(self) -> ActionResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetBackupVaultNotifications.html"""
        vault = self._vault()
        notifications = getattr(vault, "notifications", None)
        if not notifications:
            raise ResourceNotFoundException(
                f"Backup vault {vault.backup_vault_name} has no notification configuration"
            )
        return ActionResult(
            {
                "BackupVaultName": vault.backup_vault_name,
                "BackupVaultArn": vault.backup_vault_arn,
                **notifications,
            }
        )

    def delete_backup_vault_notifications(self) -> EmptyResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVaultNotifications.html"""
        self._vault().notifications = None
        return EmptyResult()

    def put_backup_vault_access_policy(self) -> EmptyResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultAccessPolicy.html"""
        self._vault().access_policy = json.loads(self.body)["Policy"]
        return EmptyResult()

    def get_backup_vault_access_policy(self) -> ActionResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetBackupVaultAccessPolicy.html"""
        vault = self._vault()
        policy = getattr(vault, "access_policy", None)
        if not policy:
            raise ResourceNotFoundException(f"Backup vault {vault.backup_vault_name} has no access policy")
        return ActionResult(
            {
                "BackupVaultName": vault.backup_vault_name,
                "BackupVaultArn": vault.backup_vault_arn,
                "Policy": policy,
            }
        )

    def delete_backup_vault_access_policy(self) -> EmptyResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVaultAccessPolicy.html"""
        self._vault().access_policy = None
        return EmptyResult()

    # -- selections (paths under /backup/plans/, which moto already routes here) -----------------

    def create_backup_selection(self) -> ActionResult:
        body = self._body()
        selection = self.backup_backend.create_backup_selection(
            self.uri_match["backupPlanId"], body.get("BackupSelection") or {}, body.get("CreatorRequestId")
        )
        return ActionResult(
            {
                "SelectionId": selection.selection_id,
                "BackupPlanId": selection.backup_plan_id,
                "CreationDate": selection.creation_date,
            }
        )

    def get_backup_selection(self) -> ActionResult:
        selection = self.backup_backend.get_backup_selection(
            self.uri_match["backupPlanId"], self.uri_match["selectionId"]
        )
        return ActionResult(selection.result())

    def delete_backup_selection(self) -> EmptyResult:
        self.backup_backend.delete_backup_selection(
            self.uri_match["backupPlanId"], self.uri_match["selectionId"]
        )
        return EmptyResult()

    def list_backup_selections(self) -> ActionResult:
        selections, token = self._page(
            self.backup_backend.list_backup_selections(self.uri_match["backupPlanId"])
        )
        return ActionResult(
            {
                "BackupSelectionsList": [selection.list_member() for selection in selections],
                "NextToken": token,
            }
        )

    # -- backup jobs -------------------------------------------------------------------------------

    def start_backup_job(self) -> ActionResult:
        body = self._body()
        job = self.backup_backend.start_backup_job(
            vault_name=body.get("BackupVaultName", ""),
            resource_arn=body.get("ResourceArn", ""),
            iam_role_arn=body.get("IamRoleArn", ""),
            idempotency_token=body.get("IdempotencyToken"),
            start_window_minutes=body.get("StartWindowMinutes"),
            lifecycle=body.get("Lifecycle"),
            recovery_point_tags=body.get("RecoveryPointTags"),
        )
        return ActionResult(
            {
                "BackupJobId": job.backup_job_id,
                "RecoveryPointArn": job.recovery_point.arn if job.recovery_point else None,
                "CreationDate": job.result()["CreationDate"],
                "IsParent": False,
            }
        )

    def describe_backup_job(self) -> ActionResult:
        return ActionResult(self.backup_backend.describe_backup_job(self.uri_match["backupJobId"]).result())

    def stop_backup_job(self) -> EmptyResult:
        self.backup_backend.stop_backup_job(self.uri_match["backupJobId"])
        return EmptyResult()

    def list_backup_jobs(self) -> ActionResult:
        jobs, token = self._page(self.backup_backend.list_backup_jobs(self._query()))
        return ActionResult({"BackupJobs": [job.result() for job in jobs], "NextToken": token})

    # -- recovery points ---------------------------------------------------------------------------

    def _recovery_point(self) -> backup_jobs.RecoveryPoint:
        return self.backup_backend.recovery_point(
            self.uri_match["backupVaultName"], self.uri_match["recoveryPointArn"]
        )

    def describe_recovery_point(self) -> ActionResult:
        return ActionResult(self._recovery_point().describe())

    def delete_recovery_point(self) -> EmptyResult:
        self.backup_backend.delete_recovery_point(
            self.uri_match["backupVaultName"], self.uri_match["recoveryPointArn"]
        )
        return EmptyResult()

    def get_recovery_point_restore_metadata(self) -> ActionResult:
        """https://docs.aws.amazon.com/aws-backup/latest/devguide/API_GetRecoveryPointRestoreMetadata.html"""
        point = self._recovery_point()
        return ActionResult(
            {
                "BackupVaultArn": point.vault.backup_vault_arn,
                "RecoveryPointArn": point.arn,
                "RestoreMetadata": point.restore_metadata(),
                "ResourceType": "EFS",
            }
        )

    def list_recovery_points_by_backup_vault(self) -> ActionResult:
        points = self.backup_backend.list_recovery_points_by_backup_vault(
            self.uri_match["backupVaultName"], self._query()
        )
        points, token = self._page(points)
        return ActionResult({"RecoveryPoints": [point.by_vault() for point in points], "NextToken": token})

    def list_recovery_points_by_resource(self) -> ActionResult:
        points, token = self._page(
            self.backup_backend.list_recovery_points_by_resource(self.uri_match["resourceArn"])
        )
        return ActionResult({"RecoveryPoints": [point.by_resource() for point in points], "NextToken": token})

    # -- restore jobs ------------------------------------------------------------------------------

    def start_restore_job(self) -> ActionResult:
        body = self._body()
        job = self.backup_backend.start_restore_job(
            recovery_point_arn=body.get("RecoveryPointArn", ""),
            metadata=body.get("Metadata") or {},
            iam_role_arn=body.get("IamRoleArn"),
            resource_type=body.get("ResourceType"),
            idempotency_token=body.get("IdempotencyToken"),
            copy_source_tags=bool(body.get("CopySourceTagsToRestoredResource")),
        )
        return ActionResult({"RestoreJobId": job.restore_job_id})

    def describe_restore_job(self) -> ActionResult:
        return ActionResult(self.backup_backend.describe_restore_job(self.uri_match["restoreJobId"]).result())

    def list_restore_jobs(self) -> ActionResult:
        jobs, token = self._page(self.backup_backend.list_restore_jobs(self._query()))
        return ActionResult({"RestoreJobs": [job.result() for job in jobs], "NextToken": token})


# Paths from botocore's backup model for the operations added here.
NEW_PATHS = (
    "{0}/backup-vaults/(?P<name>[^/]+)/notification-configuration$",
    "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>[^/]+)$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>[^/]+)/restore-metadata$",
    "{0}/backup-jobs/$",
    "{0}/backup-jobs/(?P<job>[^/]+)$",
    "{0}/restore-jobs/$",
    "{0}/restore-jobs/(?P<job>[^/]+)$",
    "{0}/resources/(?P<arn>.+)/recovery-points/$",
)


def install() -> None:
    backup_jobs.install()
    route(backup_urls, EmulatedBackupResponse, NEW_PATHS)

"""AWS Backup: a missing vault is AccessDenied (not ResourceNotFound), and vaults have notifications
and access policies.

AWS answers DescribeBackupVault on a vault that does not exist with HTTP 403
``AccessDeniedException: Insufficient privileges to perform this action.``, even for an
administrator (aws/aws-sdk-js#2625; amazon.aws.backup_vault catches exactly that to mean "absent").
"""

from __future__ import annotations

import json
from typing import Any

from moto.backup import urls as backup_urls
from moto.backup.models import BackupBackend, backup_backends
from moto.backup.responses import BackupResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult

from emulator.patching import route


class AccessDeniedException(JsonRESTError):
    code = 403

    def __init__(self) -> None:
        super().__init__("AccessDeniedException", "Insufficient privileges to perform this action.")


class ResourceNotFoundException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


class EmulatedBackupResponse(BackupResponse):
    @property
    def backup_backend(self) -> BackupBackend:
        return backup_backends[self.current_account][self.region]

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


NEW_PATHS = (
    "{0}/backup-vaults/(?P<name>[^/]+)/notification-configuration$",
    "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$",
)


def install() -> None:
    route(backup_urls, EmulatedBackupResponse, NEW_PATHS)

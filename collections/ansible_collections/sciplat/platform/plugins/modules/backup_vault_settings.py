#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backup_vault_settings
version_added: 0.1.0
short_description: Manage the vault lock and the notifications of an AWS Backup vault
description:
  - Set, change or remove the AWS Backup Vault Lock and the SNS notifications of an existing backup
    vault (create the vault with M(amazon.aws.backup_vault)); amazon.aws has no module for either.
  - A lock without O(lock.changeable_for_days) is a governance lock, which can be changed or
    removed at any time. With it, the lock becomes a compliance lock once that many days (the
    grace time) have passed, and from then on nobody - the root user and AWS included - can change
    or remove it; recovery points then cannot be deleted before their retention ends. A request to
    change a compliance lock past its grace time fails, saying so.
  - The lock is compared with what DescribeBackupVault reports (C(Locked), C(MinRetentionDays),
    C(MaxRetentionDays), and C(LockDate) for the mode). AWS does not report C(ChangeableForDays) -
    it is sent when the lock is set or changed, and is not compared.
  - Notification events are checked against the values of botocore's service model for
    PutBackupVaultNotifications. AWS Backup still accepts some deprecated events that never send
    anything (C(BACKUP_JOB_FAILED), C(RESTORE_JOB_FAILED), ...); the module warns about them and
    names the event to use instead.
author:
  - Science platform deployment kit maintainers
options:
  name:
    description: Name of the backup vault.
    type: str
    required: true
    aliases: [backup_vault_name]
  lock:
    description:
      - The Vault Lock. When omitted, the lock is not changed.
    type: dict
    suboptions:
      mode:
        description:
          - V(governance) or V(compliance); only a check - the mode follows from
            O(lock.changeable_for_days), and a mismatch fails.
        type: str
        choices: [governance, compliance]
      min_retention_days:
        description:
          - Shortest retention (1 to 36500 days) a backup or copy job may give a recovery point in
            the vault. When omitted, no minimum is enforced.
        type: int
      max_retention_days:
        description:
          - Longest retention (1 to 36500 days), not below O(lock.min_retention_days). When omitted,
            no maximum is enforced.
        type: int
      changeable_for_days:
        description:
          - Grace time in days (at least 3) before the lock becomes an unchangeable compliance lock.
            Omit it for a governance lock.
        type: int
  remove_lock:
    description:
      - Remove the Vault Lock (DeleteBackupVaultLockConfiguration). Fails for a compliance lock
        past its grace time. Cannot be combined with O(lock).
    type: bool
    default: false
  notifications:
    description:
      - The SNS topic and the events the vault reports to it. When omitted, notifications are not
        changed.
      - >-
        For failed backup jobs, use C(BACKUP_JOB_COMPLETED) (AWS Backup sends it for every
        finished job whatever its state) with an SNS subscription filter policy on the message
        attribute C(State), for example C({"State": [{"anything-but": "COMPLETED"}]}) (AWS Knowledge
        Center, "How can I get notifications for AWS Backup jobs that failed?").
    type: dict
    suboptions:
      sns_topic_arn:
        description: ARN of the SNS topic, in the vault's account (AWS Backup cannot notify across accounts).
        type: str
        required: true
      events:
        description:
          - Events to report, for example C(BACKUP_JOB_COMPLETED), C(COPY_JOB_FAILED),
            C(RESTORE_JOB_COMPLETED), C(S3_BACKUP_OBJECT_FAILED). Order does not matter.
          - Accepted values are those of the installed botocore; an unknown value fails listing them.
        type: list
        elements: str
        required: true
  remove_notifications:
    description:
      - Turn the vault's notifications off (DeleteBackupVaultNotifications). Cannot be combined
        with O(notifications).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - In check mode a vault that does not exist yet (a check run of a new site) is reported as
    getting the requested settings.
  - AWS Backup answers AccessDeniedException, not ResourceNotFoundException, for a vault that does
    not exist; both are reported as a missing vault.
"""

EXAMPLES = r"""
- name: Governance lock and notifications of failed jobs on the site's vault.
  sciplat.platform.backup_vault_settings:
    name: sciplat-homes
    lock:
      min_retention_days: 7
      max_retention_days: 400
    notifications:
      sns_topic_arn: arn:aws:sns:us-east-1:123456789012:sciplat-alarms
      events: [BACKUP_JOB_COMPLETED, COPY_JOB_FAILED, RESTORE_JOB_COMPLETED]

- name: Compliance lock, fixed after a 7-day grace time.
  sciplat.platform.backup_vault_settings:
    name: sciplat-homes-dr
    lock:
      mode: compliance
      min_retention_days: 35
      max_retention_days: 400
      changeable_for_days: 7

- name: Remove a governance lock and the notifications.
  sciplat.platform.backup_vault_settings:
    name: sciplat-scratch
    remove_lock: true
    remove_notifications: true
"""

RETURN = r"""
backup_vault_name:
  description: Name of the vault.
  returned: always
  type: str
  sample: sciplat-homes
backup_vault_arn:
  description: ARN of the vault.
  returned: when the vault exists
  type: str
  sample: arn:aws:backup:us-east-1:123456789012:backup-vault:sciplat-homes
lock:
  description: The vault's lock.
  returned: always
  type: dict
  contains:
    locked:
      description: Whether the vault has a lock.
      type: bool
    mode:
      description: C(governance) or C(compliance); null without a lock.
      type: str
    min_retention_days:
      description: Minimum retention enforced.
      type: int
    max_retention_days:
      description: Maximum retention enforced.
      type: int
    lock_date:
      description: When a compliance lock becomes (or became) unchangeable.
      type: str
  sample: {"locked": true, "mode": "governance", "min_retention_days": 7, "max_retention_days": 400,
           "lock_date": null}
notifications:
  description: The vault's notifications; null when there are none.
  returned: when O(notifications) or O(remove_notifications) is given
  type: dict
  contains:
    sns_topic_arn:
      description: The SNS topic.
      type: str
    events:
      description: The events reported, sorted.
      type: list
      elements: str
  sample: {"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:sciplat-alarms",
           "events": ["BACKUP_JOB_COMPLETED"]}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.backup import (
    DEPRECATED_EVENTS,
    lock_problem,
    lock_state,
    lock_view,
    vault_events,
    wanted_mode,
)

# AWS Backup answers AccessDeniedException for a vault that does not exist.
MISSING_VAULT = ["ResourceNotFoundException", "AccessDeniedException"]


def validate(module: AnsibleAWSModule, client: Any) -> None:
    """Fail, naming the parameter, on requests AWS Backup would refuse; warn on deprecated events."""
    params = module.params
    if params["lock"] is not None and params["remove_lock"]:
        module.fail_json(msg="lock and remove_lock: true cannot be combined")
    if params["notifications"] is not None and params["remove_notifications"]:
        module.fail_json(msg="notifications and remove_notifications: true cannot be combined")
    if params["lock"] is not None:
        problem = lock_problem(params["lock"])
        if problem:
            module.fail_json(msg=problem)
    notifications = params["notifications"]
    if notifications is None:
        return
    topic = notifications["sns_topic_arn"]
    parts = topic.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        module.fail_json(
            msg=f"notifications.sns_topic_arn must be an SNS topic ARN (arn:aws:sns:...), got {topic!r}"
        )
    events = notifications["events"]
    if not events:
        module.fail_json(
            msg="notifications.events must list at least one event; use remove_notifications: true to turn"
            " notifications off"
        )
    accepted = vault_events(client)
    unknown = sorted({e for e in events if e not in accepted})
    if unknown:
        module.fail_json(
            msg=f"notifications.events: unknown event(s) {', '.join(unknown)}; AWS Backup accepts"
            f" {', '.join(accepted)}"
        )
    for event in sorted(set(events) & set(DEPRECATED_EVENTS)):
        instead = DEPRECATED_EVENTS[event]
        hint = f"; use {instead} instead" if instead else ""
        if event.endswith("_FAILED"):
            hint += (
                " with an SNS subscription filter policy on State"
                ' (e.g. {"State": [{"anything-but": "COMPLETED"}]})'
            )
        module.warn(
            f"notifications.events: AWS Backup deprecated {event} and sends no notification for it{hint}"
        )


class VaultSettingsManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.name: str = module.params["name"]
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    def fail_aws(self, e: Exception, action: str) -> None:
        self.module.fail_json_aws(
            e, msg=f"Couldn't {action} of backup vault {self.name}", changed=self.changed
        )

    # --- reads -------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any] | None:
        try:
            return self.client.describe_backup_vault(aws_retry=True, BackupVaultName=self.name)
        except is_boto3_error_code(MISSING_VAULT):
            return None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe backup vault {self.name}")

    def notifications(self) -> dict[str, Any] | None:
        try:
            answer = self.client.get_backup_vault_notifications(aws_retry=True, BackupVaultName=self.name)
        except is_boto3_error_code("ResourceNotFoundException"):
            return None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "read the notifications")
        if not answer.get("SNSTopicArn"):
            return None
        return {
            "sns_topic_arn": answer["SNSTopicArn"],
            "events": sorted(set(answer.get("BackupVaultEvents") or [])),
        }

    # --- lock --------------------------------------------------------------------------------

    def plan_lock(self, current: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """(action, lock after): action is None, "put" or "delete"."""
        if self.params["remove_lock"]:
            if not current["locked"]:
                return None, current
            if current["fixed"]:
                self.module.fail_json(
                    msg=f"remove_lock: backup vault {self.name} has a compliance lock that became"
                    f" unchangeable on {current['lock_date']}; nobody can remove it"
                )
            return "delete", lock_state(None)
        lock = self.params["lock"]
        if lock is None:
            return None, current
        mode = wanted_mode(lock)
        after = {
            "locked": True,
            "mode": mode,
            "min_retention_days": lock["min_retention_days"],
            "max_retention_days": lock["max_retention_days"],
            "lock_date": current["lock_date"]
            if mode == "compliance" and current["mode"] == "compliance"
            else None,
            "fixed": False,
        }
        same_numbers = (lock["min_retention_days"], lock["max_retention_days"]) == (
            current["min_retention_days"],
            current["max_retention_days"],
        )
        if current["locked"] and current["mode"] == mode and same_numbers:
            return None, current
        if current["fixed"]:
            self.module.fail_json(
                msg=f"lock: backup vault {self.name} has a compliance lock that became unchangeable on"
                f" {current['lock_date']} (min {current['min_retention_days']}, max"
                f" {current['max_retention_days']} days); it cannot be changed to {mode} with min"
                f" {lock['min_retention_days']}, max {lock['max_retention_days']} days"
            )
        if mode == "compliance" and current["mode"] == "compliance":
            self.module.warn(
                f"lock: the compliance lock of backup vault {self.name} is set again, which starts a new"
                f" grace time of {lock['changeable_for_days']} days (it was to end on {current['lock_date']})"
            )
        return "put", after

    def apply_lock(self, action: str | None) -> None:
        if action is None or self.module.check_mode:
            return
        try:
            if action == "delete":
                self.client.delete_backup_vault_lock_configuration(aws_retry=True, BackupVaultName=self.name)
                return
            lock = self.params["lock"]
            request: dict[str, Any] = {"BackupVaultName": self.name}
            for option, key in (
                ("min_retention_days", "MinRetentionDays"),
                ("max_retention_days", "MaxRetentionDays"),
                ("changeable_for_days", "ChangeableForDays"),
            ):
                if lock[option] is not None:
                    request[key] = lock[option]
            self.client.put_backup_vault_lock_configuration(aws_retry=True, **request)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "set the lock" if action == "put" else "remove the lock")

    # --- notifications -----------------------------------------------------------------------

    def plan_notifications(self, current: dict[str, Any] | None) -> tuple[str | None, dict[str, Any] | None]:
        if self.params["remove_notifications"]:
            return ("delete", None) if current else (None, None)
        wanted = self.params["notifications"]
        if wanted is None:
            return None, current
        after = {"sns_topic_arn": wanted["sns_topic_arn"], "events": sorted(set(wanted["events"]))}
        return (None, current) if after == current else ("put", after)

    def apply_notifications(self, action: str | None, after: dict[str, Any] | None) -> None:
        if action is None or self.module.check_mode:
            return
        try:
            if action == "delete":
                self.client.delete_backup_vault_notifications(aws_retry=True, BackupVaultName=self.name)
            else:
                assert after is not None
                self.client.put_backup_vault_notifications(
                    aws_retry=True,
                    BackupVaultName=self.name,
                    SNSTopicArn=after["sns_topic_arn"],
                    BackupVaultEvents=after["events"],
                )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "set the notifications" if action == "put" else "remove the notifications")

    # --- the whole -------------------------------------------------------------------------------

    def ensure(self) -> dict[str, Any]:
        manage_notifications = self.params["notifications"] is not None or self.params["remove_notifications"]
        vault = self.describe()
        if vault is None:
            if not self.module.check_mode:
                self.module.fail_json(
                    msg=f"name: there is no backup vault called {self.name} in {self.client.meta.region_name}"
                    " (or no permission to read it); create it first, e.g. with amazon.aws.backup_vault"
                )
            current_lock, current_notifications = lock_state(None), None
        else:
            current_lock = lock_state(vault)
            current_notifications = self.notifications() if manage_notifications else None
            self.check_topic_account(vault)

        lock_action, lock_after = self.plan_lock(current_lock)
        notify_action, notify_after = self.plan_notifications(current_notifications)
        before: dict[str, Any] = {"lock": lock_view(current_lock)}
        after: dict[str, Any] = {"lock": lock_view(lock_after)}
        if manage_notifications:
            before["notifications"] = current_notifications
            after["notifications"] = notify_after
        self.diff = {"before": before if vault is not None else {}, "after": after}
        self.changed = bool(lock_action or notify_action)

        self.apply_lock(lock_action)
        self.apply_notifications(notify_action, notify_after)

        result: dict[str, Any] = {"backup_vault_name": self.name}
        if vault is not None:
            result["backup_vault_arn"] = vault.get("BackupVaultArn")
        if lock_action and not self.module.check_mode:
            lock_after = lock_state(self.describe())
        result["lock"] = lock_view(lock_after)
        if manage_notifications:
            result["notifications"] = notify_after
        return result

    def check_topic_account(self, vault: dict[str, Any]) -> None:
        wanted = self.params["notifications"]
        arn = vault.get("BackupVaultArn") or ""
        if wanted is None or arn.count(":") < 5:
            return
        vault_account = arn.split(":")[4]
        topic_account = wanted["sns_topic_arn"].split(":")[4]
        if topic_account != vault_account:
            self.module.fail_json(
                msg=f"notifications.sns_topic_arn: the topic is in account {topic_account}, the vault in"
                f" {vault_account}; AWS Backup cannot notify a topic of another account"
            )


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["backup_vault_name"]),
        lock=dict(
            type="dict",
            options=dict(
                mode=dict(type="str", choices=["governance", "compliance"]),
                min_retention_days=dict(type="int"),
                max_retention_days=dict(type="int"),
                changeable_for_days=dict(type="int"),
            ),
        ),
        remove_lock=dict(type="bool", default=False),
        notifications=dict(
            type="dict",
            options=dict(
                sns_topic_arn=dict(type="str", required=True),
                events=dict(type="list", elements="str", required=True),
            ),
        ),
        remove_notifications=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("backup", retry_decorator=AWSRetry.jittered_backoff())
    validate(module, client)

    manager = VaultSettingsManager(module, client)
    result = manager.ensure()
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()

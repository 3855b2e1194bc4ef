"""sciplat.platform.backup_vault_settings: the lock against moto in-process, notifications stubbed.

moto 5.2.5 serves the vault lock (DescribeBackupVault's Locked / MinRetentionDays / MaxRetentionDays /
LockDate, Put/DeleteBackupVaultLockConfiguration) but has no vault notifications API.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from ansible.module_utils import basic
from ansible_collections.sciplat.platform.plugins.module_utils import backup as backup_utils
from ansible_collections.sciplat.platform.plugins.modules import backup_vault_settings
from moto import mock_aws

VAULT = "sciplat-homes"
VAULT_ARN = f"arn:aws:backup:us-east-1:123456789012:backup-vault:{VAULT}"
TOPIC = "arn:aws:sns:us-east-1:123456789012:sciplat-alarms"
EVENTS = ["BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"]
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def backup() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("backup", region_name="us-east-1")
        client.create_backup_vault(BackupVaultName=VAULT)
        yield client


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    given: list[str] = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **_: given.append(warning))
    return lambda: list(given)


def lock(**values: Any) -> dict[str, Any]:
    return {"min_retention_days": 7, "max_retention_days": 400, **values}


def stored(backup: Any) -> dict[str, Any]:
    vault = backup.describe_backup_vault(BackupVaultName=VAULT)
    return {k: vault.get(k) for k in ("Locked", "MinRetentionDays", "MaxRetentionDays", "LockDate")}


# --- the lock, against moto --------------------------------------------------------------------


def test_governance_lock_is_set(run_module, backup) -> None:
    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock()}, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["backup_vault_arn"] == VAULT_ARN
    assert out.result["lock"] == {
        "locked": True,
        "mode": "governance",
        "min_retention_days": 7,
        "max_retention_days": 400,
        "lock_date": None,
    }
    assert out.result["diff"]["before"]["lock"]["locked"] is False
    assert out.result["diff"]["after"]["lock"]["mode"] == "governance"
    assert "notifications" not in out.result
    assert stored(backup) == {
        "Locked": True,
        "MinRetentionDays": 7,
        "MaxRetentionDays": 400,
        "LockDate": None,
    }


def test_second_run_changes_nothing(run_module, backup) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock(mode="governance")}, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["diff"]["before"] == out.result["diff"]["after"]


def test_governance_lock_retention_is_changed(run_module, backup) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock(max_retention_days=800)}, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["lock"]["max_retention_days"] == 400
    assert out.result["diff"]["after"]["lock"]["max_retention_days"] == 800
    assert stored(backup)["MaxRetentionDays"] == 800


def test_governance_lock_becomes_compliance(run_module, backup, warnings) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock(changeable_for_days=3)})

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["lock"]["mode"] == "compliance"
    assert out.result["lock"]["lock_date"] is not None
    assert stored(backup)["LockDate"] is not None
    assert warnings() == []

    # In its grace time, the same compliance lock is left alone (no new grace time).
    again = run_module(
        backup_vault_settings, {"name": VAULT, "lock": lock(mode="compliance", changeable_for_days=3)}
    )
    assert not again.failed, again.result
    assert again.result["changed"] is False


def test_compliance_lock_in_grace_time_can_change_with_a_warning(run_module, backup, warnings) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock(changeable_for_days=30)})

    out = run_module(
        backup_vault_settings, {"name": VAULT, "lock": lock(min_retention_days=14, changeable_for_days=30)}
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert stored(backup)["MinRetentionDays"] == 14
    [warning] = warnings()
    assert warning.startswith(f"lock: the compliance lock of backup vault {VAULT} is set again")


def test_compliance_lock_past_its_grace_time_cannot_change(run_module, backup, monkeypatch) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock(changeable_for_days=3)})
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10)
    monkeypatch.setattr(backup_utils, "_utcnow", lambda: later)

    same = run_module(backup_vault_settings, {"name": VAULT, "lock": lock(changeable_for_days=3)})
    assert not same.failed, same.result
    assert same.result["changed"] is False

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock(max_retention_days=800)})
    assert out.failed
    assert out.result["msg"].startswith(
        f"lock: backup vault {VAULT} has a compliance lock that became unchangeable on 20"
    )
    assert (
        "(min 7, max 400 days); it cannot be changed to governance with min 7, max 800 days"
        in out.result["msg"]
    )

    removal = run_module(backup_vault_settings, {"name": VAULT, "remove_lock": True})
    assert removal.failed
    assert "has a compliance lock that became unchangeable on" in removal.result["msg"]
    assert removal.result["msg"].endswith("; nobody can remove it")
    assert stored(backup)["MaxRetentionDays"] == 400


def test_governance_lock_is_removed(run_module, backup) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    check = run_module(backup_vault_settings, {"name": VAULT, "remove_lock": True}, check_mode=True)
    assert not check.failed, check.result
    assert check.result["changed"] is True
    assert stored(backup)["Locked"] is True

    out = run_module(backup_vault_settings, {"name": VAULT, "remove_lock": True}, diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["lock"]["locked"] is False
    assert out.result["diff"]["after"]["lock"]["locked"] is False
    assert stored(backup)["Locked"] is False

    again = run_module(backup_vault_settings, {"name": VAULT, "remove_lock": True})
    assert again.result["changed"] is False


def test_check_mode_changes_no_lock(run_module, backup) -> None:
    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock()}, check_mode=True, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["lock"]["locked"] is True
    assert out.result["diff"]["after"]["lock"]["min_retention_days"] == 7
    assert stored(backup)["Locked"] is False


def test_lock_not_given_is_not_managed(run_module, backup) -> None:
    run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    out = run_module(backup_vault_settings, {"name": VAULT})

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["lock"]["locked"] is True


def test_missing_vault_fails_naming_it(run_module, backup) -> None:
    out = run_module(backup_vault_settings, {"name": "nope", "lock": lock()})

    assert out.failed
    assert out.result["msg"] == (
        "name: there is no backup vault called nope in us-east-1 (or no permission to read it);"
        " create it first, e.g. with amazon.aws.backup_vault"
    )


def test_check_mode_before_the_vault_exists(run_module, backup) -> None:
    out = run_module(backup_vault_settings, {"name": "new-vault", "lock": lock()}, check_mode=True, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"] == {}
    assert out.result["lock"]["locked"] is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"lock": lock(min_retention_days=500)},
            "lock.min_retention_days (500) must not be greater than lock.max_retention_days (400)",
        ),
        ({"lock": lock(min_retention_days=0)}, "lock.min_retention_days must be 1 to 36500, got 0"),
        ({"lock": lock(max_retention_days=40000)}, "lock.max_retention_days must be 1 to 36500, got 40000"),
        ({"lock": lock(changeable_for_days=2)}, "lock.changeable_for_days must be 3 to 36500"),
        ({"lock": lock(mode="compliance")}, "lock.changeable_for_days is required for a compliance lock"),
        (
            {"lock": lock(mode="governance", changeable_for_days=3)},
            "lock.changeable_for_days makes a compliance",
        ),
        ({"lock": lock(mode="strict")}, "value of mode must be one of: governance, compliance"),
        ({"lock": lock(), "remove_lock": True}, "lock and remove_lock: true cannot be combined"),
        (
            {"notifications": {"sns_topic_arn": TOPIC, "events": EVENTS}, "remove_notifications": True},
            "notifications and remove_notifications: true cannot be combined",
        ),
        (
            {"notifications": {"sns_topic_arn": "sciplat-alarms", "events": EVENTS}},
            "notifications.sns_topic_arn must be an SNS topic ARN (arn:aws:sns:...), got 'sciplat-alarms'",
        ),
        (
            {"notifications": {"sns_topic_arn": TOPIC, "events": []}},
            "notifications.events must list at least one event; use remove_notifications: true",
        ),
        (
            {"notifications": {"sns_topic_arn": TOPIC, "events": ["BACKUP_JOB_COMPLETED", "JOB_DONE"]}},
            "notifications.events: unknown event(s) JOB_DONE; AWS Backup accepts BACKUP_JOB_STARTED,",
        ),
        (
            {"notifications": {"events": EVENTS}},
            "missing required arguments: sns_topic_arn found in notifications",
        ),
    ],
)
def test_bad_input_fails_before_any_call(run_module, stubs, params, message) -> None:
    out = run_module(backup_vault_settings, {"name": VAULT, **params})

    assert out.failed
    assert message in out.result["msg"], out.result["msg"]
    stubs.assert_done()  # no AWS call was queued, so none was made


# --- notifications and lock edge cases, stubbed -------------------------------------------------

NAME = {"BackupVaultName": VAULT}


def vault(stubs: Any, **lock_fields: Any) -> None:
    body = {"BackupVaultName": VAULT, "BackupVaultArn": VAULT_ARN, "Locked": False, **lock_fields}
    stubs.add("backup", "describe_backup_vault", body, NAME)


def notifications(stubs: Any, topic: str | None = TOPIC, events: list[str] | None = None) -> None:
    if topic is None:
        stubs.error(
            "backup", "get_backup_vault_notifications", "ResourceNotFoundException", "none", 404, NAME
        )
        return
    answer = {"BackupVaultName": VAULT, "BackupVaultArn": VAULT_ARN, "SNSTopicArn": topic}
    answer["BackupVaultEvents"] = events if events is not None else list(reversed(EVENTS))
    stubs.add("backup", "get_backup_vault_notifications", answer, NAME)


def test_notifications_are_set(run_module, stubs) -> None:
    vault(stubs)
    notifications(stubs, topic=None)
    stubs.add(
        "backup",
        "put_backup_vault_notifications",
        {},
        {"BackupVaultName": VAULT, "SNSTopicArn": TOPIC, "BackupVaultEvents": sorted(EVENTS)},
    )

    out = run_module(
        backup_vault_settings,
        {"name": VAULT, "notifications": {"sns_topic_arn": TOPIC, "events": EVENTS}},
        diff=True,
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["notifications"] == {"sns_topic_arn": TOPIC, "events": sorted(EVENTS)}
    assert out.result["diff"]["before"]["notifications"] is None
    assert out.result["diff"]["after"]["notifications"]["events"] == sorted(EVENTS)
    stubs.assert_done()


def test_same_notifications_in_another_order_change_nothing(run_module, stubs) -> None:
    vault(stubs)
    notifications(stubs)

    out = run_module(
        backup_vault_settings, {"name": VAULT, "notifications": {"sns_topic_arn": TOPIC, "events": EVENTS}}
    )

    assert not out.failed, out.result
    assert out.result["changed"] is False
    stubs.assert_done()


def test_notifications_are_changed(run_module, stubs) -> None:
    other = "arn:aws:sns:us-east-1:123456789012:other"
    vault(stubs)
    notifications(stubs, topic=other, events=["BACKUP_JOB_COMPLETED"])
    stubs.add(
        "backup",
        "put_backup_vault_notifications",
        {},
        {"BackupVaultName": VAULT, "SNSTopicArn": TOPIC, "BackupVaultEvents": sorted(EVENTS)},
    )

    out = run_module(
        backup_vault_settings,
        {"name": VAULT, "notifications": {"sns_topic_arn": TOPIC, "events": EVENTS}},
        diff=True,
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["notifications"]["sns_topic_arn"] == other
    stubs.assert_done()


def test_notifications_are_removed(run_module, stubs) -> None:
    vault(stubs)
    notifications(stubs)
    stubs.add("backup", "delete_backup_vault_notifications", {}, NAME)

    out = run_module(backup_vault_settings, {"name": VAULT, "remove_notifications": True})

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["notifications"] is None
    stubs.assert_done()

    vault(stubs)
    notifications(stubs, topic=None)
    again = run_module(backup_vault_settings, {"name": VAULT, "remove_notifications": True})
    assert not again.failed, again.result
    assert again.result["changed"] is False
    stubs.assert_done()


def test_check_mode_sets_no_notifications(run_module, stubs) -> None:
    # Only reads are queued: a Put would fail the test.
    vault(stubs)
    notifications(stubs, topic=None)

    out = run_module(
        backup_vault_settings,
        {"name": VAULT, "lock": lock(), "notifications": {"sns_topic_arn": TOPIC, "events": EVENTS}},
        check_mode=True,
        diff=True,
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["after"]["notifications"] == {"sns_topic_arn": TOPIC, "events": sorted(EVENTS)}
    stubs.assert_done()


def test_deprecated_events_are_accepted_with_a_warning(run_module, stubs, warnings) -> None:
    vault(stubs)
    notifications(stubs, events=["BACKUP_JOB_FAILED"])

    out = run_module(
        backup_vault_settings,
        {"name": VAULT, "notifications": {"sns_topic_arn": TOPIC, "events": ["BACKUP_JOB_FAILED"]}},
    )

    assert not out.failed, out.result
    assert out.result["changed"] is False
    [warning] = warnings()
    assert warning.startswith(
        "notifications.events: AWS Backup deprecated BACKUP_JOB_FAILED and sends no notification for it;"
        " use BACKUP_JOB_COMPLETED instead with an SNS subscription filter policy on State"
    )


def test_topic_of_another_account_fails(run_module, stubs) -> None:
    vault(stubs)
    notifications(stubs, topic=None)
    topic = "arn:aws:sns:us-east-1:999999999999:alarms"

    out = run_module(
        backup_vault_settings, {"name": VAULT, "notifications": {"sns_topic_arn": topic, "events": EVENTS}}
    )

    assert out.failed
    assert out.result["msg"] == (
        "notifications.sns_topic_arn: the topic is in account 999999999999, the vault in 123456789012;"
        " AWS Backup cannot notify a topic of another account"
    )


def test_access_denied_is_a_missing_vault(run_module, stubs) -> None:
    stubs.error(
        "backup", "describe_backup_vault", "AccessDeniedException", "Insufficient privileges", 403, NAME
    )

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    assert out.failed
    assert out.result["msg"].startswith(f"name: there is no backup vault called {VAULT} in us-east-1")


def test_compliance_lock_in_grace_becomes_governance_with_one_put(run_module, stubs, monkeypatch) -> None:
    monkeypatch.setattr(backup_utils, "_utcnow", lambda: NOW)
    in_grace = {"Locked": True, "MinRetentionDays": 7, "MaxRetentionDays": 400}
    vault(stubs, LockDate=NOW + datetime.timedelta(days=2), **in_grace)
    stubs.add(
        "backup",
        "put_backup_vault_lock_configuration",
        {},
        {"BackupVaultName": VAULT, "MinRetentionDays": 7, "MaxRetentionDays": 400},
    )
    vault(stubs, **in_grace)

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock(mode="governance")}, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["lock"]["mode"] == "compliance"
    assert out.result["diff"]["after"]["lock"]["mode"] == "governance"
    assert out.result["lock"] == {
        "locked": True,
        "mode": "governance",
        "min_retention_days": 7,
        "max_retention_days": 400,
        "lock_date": None,
    }
    stubs.assert_done()


def test_fixed_compliance_lock_refuses_governance(run_module, stubs, monkeypatch) -> None:
    monkeypatch.setattr(backup_utils, "_utcnow", lambda: NOW)
    vault(
        stubs,
        Locked=True,
        MinRetentionDays=7,
        MaxRetentionDays=400,
        LockDate=NOW - datetime.timedelta(days=1),
    )

    out = run_module(backup_vault_settings, {"name": VAULT, "lock": lock()})

    assert out.failed
    assert out.result["msg"] == (
        f"lock: backup vault {VAULT} has a compliance lock that became unchangeable on"
        " 2026-11-24T12:00:00+00:00 (min 7, max 400 days);"
        " it cannot be changed to governance with min 7, max 400 days"
    )
    stubs.assert_done()

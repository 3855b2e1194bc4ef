"""sciplat.platform.backup_recovery_points against stubbed AWS Backup answers (moto has none)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from ansible_collections.sciplat.platform.plugins.modules import backup_recovery_points

VAULT = "sciplat-homes"
FS = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0"
OLD = "arn:aws:backup:us-east-1:123456789012:recovery-point:00000000-0000-4000-8000-000000000001"
NEW = "arn:aws:backup:us-east-1:123456789012:recovery-point:00000000-0000-4000-8000-000000000002"
CREATED = datetime.datetime(2026, 11, 25, 5, 0, tzinfo=datetime.UTC)
IN_VAULT = {"BackupVaultName": VAULT}


def point(arn: str, status: str = "COMPLETED") -> dict[str, Any]:
    return {"RecoveryPointArn": arn, "ResourceArn": FS, "Status": status, "CreationDate": CREATED}


def listed(stubs: Any, *points: dict[str, Any]) -> None:
    stubs.add("backup", "list_recovery_points_by_backup_vault", {"RecoveryPoints": list(points)}, IN_VAULT)


def deleted(stubs: Any, arn: str) -> None:
    stubs.add("backup", "delete_recovery_point", {}, {**IN_VAULT, "RecoveryPointArn": arn})


def viewed(arn: str) -> dict[str, str]:
    return {"recovery_point_arn": arn, "resource_arn": FS, "creation_date": CREATED.isoformat()}


def test_deletes_every_point_and_waits_until_the_vault_is_empty(run_module, stubs, clock) -> None:
    listed(stubs, point(OLD), point(NEW))
    deleted(stubs, OLD)
    deleted(stubs, NEW)
    listed(stubs, point(OLD, "DELETING"), point(NEW))  # still there, one already DELETING
    listed(stubs)
    out = run_module(backup_recovery_points, {"vault_name": VAULT}, diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["recovery_points"] == [viewed(OLD), viewed(NEW)]
    assert out.result["diff"] == {"before": {"recovery_points": [OLD, NEW]}, "after": {}}
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_an_empty_vault_changes_nothing(run_module, stubs) -> None:
    """The second run: nothing left, one read, no change."""
    listed(stubs, point(OLD, "DELETING"))
    out = run_module(backup_recovery_points, {"vault_name": VAULT, "state": "absent"})
    assert (out.failed, out.result["changed"], out.result["recovery_points"]) == (False, False, [])
    stubs.assert_done()


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException"])
def test_a_missing_vault_has_nothing_to_delete(run_module, stubs, code: str) -> None:
    """AWS answers a missing vault with AccessDeniedException; moto with ResourceNotFoundException."""
    stubs.error("backup", "list_recovery_points_by_backup_vault", code, "no such vault", expected=IN_VAULT)
    out = run_module(backup_recovery_points, {"vault_name": VAULT})
    assert (out.failed, out.result["changed"]) == (False, False)
    stubs.assert_done()


def test_check_mode_lists_what_would_go_and_deletes_nothing(run_module, stubs) -> None:
    listed(stubs, point(OLD), point(NEW, "CREATING"))
    out = run_module(backup_recovery_points, {"vault_name": VAULT}, check_mode=True, diff=True)
    assert out.result["changed"] is True
    assert [p["recovery_point_arn"] for p in out.result["recovery_points"]] == [OLD, NEW]
    assert out.result["diff"]["before"] == {"recovery_points": [OLD, NEW]}
    stubs.assert_done()  # only the list was queued: a deletion would have failed the test


def test_a_point_being_created_is_waited_for_then_deleted(run_module, stubs, clock) -> None:
    listed(stubs, point(NEW, "CREATING"))
    described = {**IN_VAULT, "RecoveryPointArn": NEW}
    stubs.add("backup", "describe_recovery_point", {"RecoveryPointArn": NEW, "Status": "CREATING"}, described)
    stubs.add(
        "backup", "describe_recovery_point", {"RecoveryPointArn": NEW, "Status": "COMPLETED"}, described
    )
    deleted(stubs, NEW)
    listed(stubs)
    out = run_module(backup_recovery_points, {"vault_name": VAULT})
    assert not out.failed, out.result
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_a_point_that_disappears_while_being_created_is_skipped(run_module, stubs) -> None:
    listed(stubs, point(NEW, "CREATING"))
    stubs.error(
        "backup",
        "describe_recovery_point",
        "ResourceNotFoundException",
        "gone",
        expected={**IN_VAULT, "RecoveryPointArn": NEW},
    )
    listed(stubs)
    out = run_module(backup_recovery_points, {"vault_name": VAULT})
    assert not out.failed, out.result
    stubs.assert_done()  # no DeleteRecoveryPoint for it


def test_points_a_vault_lock_keeps_are_all_named(run_module, stubs) -> None:
    listed(stubs, point(OLD), point(NEW))
    refusal = "Recovery point cannot be deleted: the vault lock's minimum retention has not passed."
    for arn in (OLD, NEW):
        stubs.error(
            "backup",
            "delete_recovery_point",
            "InvalidRequestException",
            refusal,
            expected={**IN_VAULT, "RecoveryPointArn": arn},
        )
    out = run_module(backup_recovery_points, {"vault_name": VAULT})
    assert out.failed
    assert f"AWS refused to delete 2 recovery point(s) of vault {VAULT}" in out.result["msg"]
    assert f"{OLD} (InvalidRequestException: {refusal})" in out.result["msg"]
    assert NEW in out.result["msg"]
    stubs.assert_done()


def test_deletions_not_done_by_the_deadline_fail_naming_the_vault(run_module, stubs, clock) -> None:
    listed(stubs, point(OLD))
    deleted(stubs, OLD)
    for _ in range(5):  # looks at 0, 2, 5, 9.5 and 10 s
        listed(stubs, point(OLD))
    out = run_module(backup_recovery_points, {"vault_name": VAULT, "wait_timeout": 10})
    assert out.failed
    assert f"The recovery points of vault {VAULT} still DELETING after 10 s" in out.result["msg"]
    stubs.assert_done()


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"vault_name": "homes/vault"}, "vault_name must be 2 to 50 letters, digits, hyphens or underscores"),
        ({"vault_name": "v" * 51}, "vault_name must be 2 to 50"),
        ({"wait_timeout": -5}, "wait_timeout must be a number of seconds greater than 0"),
    ],
)
def test_bad_input_is_refused_before_any_call(run_module, stubs, bad: dict[str, Any], words: str) -> None:
    for check_mode in (False, True):
        out = run_module(backup_recovery_points, {"vault_name": VAULT, **bad}, check_mode=check_mode)
        assert out.failed
        assert words in out.result["msg"]
        assert f"got {next(iter(bad.values()))!r}" in out.result["msg"]
    stubs.assert_done()


def test_a_state_other_than_absent_lists_the_choice(run_module, stubs) -> None:
    out = run_module(backup_recovery_points, {"vault_name": VAULT, "state": "present"})
    assert out.failed
    assert "state" in out.result["msg"] and "absent" in out.result["msg"]
    stubs.assert_done()

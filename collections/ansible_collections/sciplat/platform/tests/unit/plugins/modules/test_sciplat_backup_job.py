"""sciplat.platform.backup_job against stubbed AWS Backup answers (moto has no backup jobs)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.sciplat.platform.plugins.modules import backup_job

VAULT = "sciplat-homes"
FS = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0"
ROLE = "arn:aws:iam::123456789012:role/sciplat-backup"
POINT = "arn:aws:backup:us-east-1:123456789012:recovery-point:1EB3B5E7-9EB0-435A-A80B-108B488B0D45"
JOB = "c3f7f3a1-0000-4000-8000-000000000001"
START = {"BackupVaultName": VAULT, "ResourceArn": FS, "IamRoleArn": ROLE}


def args(**extra: Any) -> dict[str, Any]:
    return {"vault_name": VAULT, "resource_arn": FS, "iam_role_arn": ROLE, **extra}


def started(stubs: Any) -> None:
    stubs.add("backup", "start_backup_job", {"BackupJobId": JOB, "RecoveryPointArn": POINT}, START)


def job(stubs: Any, state: str, message: str = "") -> None:
    answer = {"BackupJobId": JOB, "State": state, "RecoveryPointArn": POINT}
    if message:
        answer["StatusMessage"] = message
    stubs.add("backup", "describe_backup_job", answer, {"BackupJobId": JOB})


def test_starts_the_job_and_waits_until_completed(run_module, stubs, clock) -> None:
    started(stubs)
    job(stubs, "CREATED")
    job(stubs, "RUNNING")
    job(stubs, "COMPLETED")
    out = run_module(backup_job, args(), diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert (out.result["backup_job_id"], out.result["state"]) == (JOB, "COMPLETED")
    assert out.result["recovery_point_arn"] == POINT
    assert out.result["diff"] == {"before": {}, "after": {"backup": f"a backup of {FS} into vault {VAULT}"}}
    assert len(clock.sleeps) == 2
    stubs.assert_done()


def test_without_wait_it_only_starts_the_job(run_module, stubs, clock) -> None:
    started(stubs)
    out = run_module(backup_job, args(wait=False))
    assert (out.result["changed"], out.result["state"]) == (True, "CREATED")
    assert clock.sleeps == []
    stubs.assert_done()


def test_every_run_takes_a_new_backup(run_module, stubs) -> None:
    """Not idempotent by design: the caller decides when a backup is due, and each run reports it."""
    for _ in range(2):
        started(stubs)
        job(stubs, "COMPLETED")
        assert run_module(backup_job, args()).result["changed"] is True
    stubs.assert_done()


def test_check_mode_starts_nothing_and_shows_the_backup(run_module, stubs) -> None:
    out = run_module(backup_job, args(), check_mode=True, diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["after"] == {"backup": f"a backup of {FS} into vault {VAULT}"}
    assert "backup_job_id" not in out.result
    stubs.assert_done()  # nothing queued: any call would have failed the test


def test_a_failed_job_fails_the_task_with_aws_message(run_module, stubs) -> None:
    started(stubs)
    job(stubs, "RUNNING")
    job(stubs, "FAILED", "Insufficient privileges to perform this action.")
    out = run_module(backup_job, args())
    assert out.failed
    assert out.result["state"] == "FAILED"
    assert (
        f"Backup job {JOB} (a backup of {FS} into vault {VAULT}) reached status FAILED" in out.result["msg"]
    )
    assert out.result["msg"].endswith(": Insufficient privileges to perform this action.")
    stubs.assert_done()


def test_a_job_still_running_at_the_deadline_says_so(run_module, stubs, clock) -> None:
    started(stubs)
    for _ in range(5):  # looks at 0, 2, 5, 9.5 and 10 s
        job(stubs, "RUNNING")
    out = run_module(backup_job, args(wait_timeout=10))
    assert out.failed
    assert "still RUNNING after 10 s" in out.result["msg"]
    assert (out.result["backup_job_id"], out.result["state"]) == (JOB, "RUNNING")
    assert sum(clock.sleeps) == 10
    stubs.assert_done()


def test_a_missing_vault_is_named(run_module, stubs) -> None:
    stubs.error(
        "backup", "start_backup_job", "AccessDeniedException", "Insufficient privileges", expected=START
    )
    out = run_module(backup_job, args())
    assert out.failed
    assert f"Couldn't start a backup of {FS} into vault {VAULT}" in out.result["msg"]
    stubs.assert_done()


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"vault_name": "homes vault"}, "vault_name must be 2 to 50 letters, digits, hyphens or underscores"),
        ({"vault_name": "x"}, "vault_name must be 2 to 50"),
        ({"resource_arn": "fs-0123456789abcdef0"}, "resource_arn must be the ARN of the resource to back up"),
        ({"iam_role_arn": "sciplat-backup"}, "iam_role_arn must be an IAM role's ARN"),
        ({"iam_role_arn": "arn:aws:iam::123456789012:user/ops"}, "iam_role_arn must be an IAM role's ARN"),
        ({"wait_timeout": 0}, "wait_timeout must be a number of seconds greater than 0"),
    ],
)
def test_bad_input_is_refused_before_any_call(run_module, stubs, bad: dict[str, Any], words: str) -> None:
    for check_mode in (False, True):
        out = run_module(backup_job, args(**bad), check_mode=check_mode)
        assert out.failed
        assert words in out.result["msg"]
        assert f"got {next(iter(bad.values()))!r}" in out.result["msg"]
    stubs.assert_done()

"""AWS Backup for EFS in the emulator: selections, backup and restore jobs over a real data plane,
EFS backup policies and the legacy tag API (none of which plain moto has)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fidelity_support import TIME_SCALE, Client, transition

from emulator.launcher import CLIENT_ENV, Emulator, running_emulator

pytestmark = pytest.mark.emulator

Names = Callable[[str], str]
Slowed = Callable[[str], AbstractContextManager[None]]
BACKUP_ROLE = "arn:aws:iam::123456789012:role/backup"


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def emulator_json(emulator: Emulator, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emulator.endpoint}{path}", data=data)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def data_dir(emulator: Emulator, file_system_id: str) -> Path:
    return Path(emulator_json(emulator, f"/_emulator/efs/{file_system_id}")["path"])


def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root``: file bytes, mode and mtime; directory mode; symlink target."""
    found: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        name = str(path.relative_to(root))
        if stat.S_ISLNK(info.st_mode):
            found[name] = ("link", os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir", stat.S_IMODE(info.st_mode))
        elif not stat.S_ISREG(info.st_mode):
            found[name] = ("special",)
        else:
            found[name] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return found


def write_homes(root: Path) -> int:
    """Two users' homes with varied modes, a symlink and a FIFO (left out of backups); returns the bytes."""
    files = {
        "alice/notebook.ipynb": (b'{"cells": []}\n', 0o644),
        "alice/data/spectrum.fits": (bytes(range(256)) * 40, 0o600),
        "alice/.ssh/id_ed25519": (b"secret\n", 0o400),
        "bob/run.sh": (b"#!/bin/sh\necho hi\n", 0o755),
    }
    for name, (content, mode) in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    (root / "alice/.ssh").chmod(0o700)
    (root / "bob/latest").symlink_to("run.sh")
    os.mkfifo(root / "bob/pipe")
    return sum(len(content) for content, _ in files.values())


@pytest.fixture
def vault(aws: Client, unique: Names) -> str:
    name = unique("vault")
    aws("backup").create_backup_vault(BackupVaultName=name)
    return name


@pytest.fixture
def file_system(aws: Client, unique: Names) -> dict[str, Any]:
    efs = aws("efs")
    created = efs.create_file_system(CreationToken=unique("homes"), Tags=[{"Key": "Name", "Value": "homes"}])
    return dict(created)


def backup(aws: Client, vault: str, file_system: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Start an on-demand backup and wait for it to complete."""
    backup_client = aws("backup")
    started = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=file_system["FileSystemArn"], IamRoleArn=BACKUP_ROLE, **extra
    )
    job = poll(
        lambda: backup_client.describe_backup_job(BackupJobId=started["BackupJobId"]),
        lambda job: job["State"] in ("COMPLETED", "FAILED", "ABORTED"),
    )
    assert job["State"] == "COMPLETED", job
    return dict(job)


def restore(aws: Client, recovery_point_arn: str, metadata: dict[str, str]) -> dict[str, Any]:
    backup_client = aws("backup")
    started = backup_client.start_restore_job(
        RecoveryPointArn=recovery_point_arn, Metadata=metadata, IamRoleArn=BACKUP_ROLE, ResourceType="EFS"
    )
    job = poll(
        lambda: backup_client.describe_restore_job(RestoreJobId=started["RestoreJobId"]),
        lambda job: job["Status"] in ("COMPLETED", "FAILED", "ABORTED"),
    )
    assert job["Status"] == "COMPLETED", job
    return dict(job)


def restore_dirs(root: Path) -> list[Path]:
    return sorted(root.glob("aws-backup-restore_*"))


# -- the data plane -------------------------------------------------------------------------------


def test_every_file_system_has_a_data_directory_until_it_is_deleted(
    aws: Client, fidelity_emulator: Emulator, file_system: dict[str, Any]
) -> None:
    file_system_id = file_system["FileSystemId"]
    path = data_dir(fidelity_emulator, file_system_id)
    assert path.is_dir()
    assert path == fidelity_emulator.state_dir.resolve() / "efs" / file_system_id
    listed = emulator_json(fidelity_emulator, "/_emulator/efs")
    assert {"file_system_id": file_system_id, "path": str(path)}.items() <= next(
        entry for entry in listed if entry["file_system_id"] == file_system_id
    ).items()

    aws("efs").delete_file_system(FileSystemId=file_system_id)
    assert not path.exists()
    with pytest.raises(urllib.error.HTTPError) as missing:
        data_dir(fidelity_emulator, file_system_id)
    assert missing.value.code == 404


# -- backup, recovery point, restore --------------------------------------------------------------


def test_backup_captures_the_directory_and_restores_bring_it_back_byte_for_byte(
    aws: Client, fidelity_emulator: Emulator, vault: str, file_system: dict[str, Any]
) -> None:
    backup_client, efs = aws("backup"), aws("efs")
    root = data_dir(fidelity_emulator, file_system["FileSystemId"])
    total = write_homes(root)
    before = {name: entry for name, entry in tree(root).items() if name != "bob/pipe"}

    started = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=file_system["FileSystemArn"], IamRoleArn=BACKUP_ROLE
    )
    first = backup_client.describe_backup_job(BackupJobId=started["BackupJobId"])
    assert first["State"] == "CREATED"
    assert (first["ResourceType"], first["PercentDone"], first["ResourceName"]) == ("EFS", "0.0", "homes")
    job = poll(
        lambda: backup_client.describe_backup_job(BackupJobId=started["BackupJobId"]),
        lambda job: job["State"] == "COMPLETED",
    )
    assert (job["BackupSizeInBytes"], job["PercentDone"]) == (total, "100.0")

    point_arn = started["RecoveryPointArn"]
    point = backup_client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=point_arn)
    assert point["Status"] == "COMPLETED"
    assert (point["ResourceArn"], point["ResourceType"], point["BackupSizeInBytes"]) == (
        file_system["FileSystemArn"],
        "EFS",
        total,
    )
    assert point["CompletionDate"] >= point["CreationDate"]
    by_vault = backup_client.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in by_vault] == [point_arn]
    by_resource = backup_client.list_recovery_points_by_resource(ResourceArn=file_system["FileSystemArn"])
    assert [(p["RecoveryPointArn"], p["BackupSizeBytes"]) for p in by_resource["RecoveryPoints"]] == [
        (point_arn, total)
    ]
    assert backup_client.describe_backup_vault(BackupVaultName=vault)["NumberOfRecoveryPoints"] == 1
    metered = efs.describe_file_systems(FileSystemId=file_system["FileSystemId"])["FileSystems"][0]
    assert metered["SizeInBytes"]["Value"] == total
    metadata = backup_client.get_recovery_point_restore_metadata(
        BackupVaultName=vault, RecoveryPointArn=point_arn
    )
    assert metadata["RestoreMetadata"]["file-system-id"] == file_system["FileSystemId"]

    # Users change and lose files after the backup.
    (root / "alice/notebook.ipynb").write_bytes(b"overwritten")
    (root / "alice/data/spectrum.fits").unlink()

    # Whole, into a new file system: AWS puts it in a recovery directory there too.
    whole = restore(
        aws,
        point_arn,
        {
            **metadata["RestoreMetadata"],
            "newFileSystem": "true",
            "CreationToken": f"restored-{point_arn[-8:]}",
        },
    )
    new_id = whole["CreatedResourceArn"].rsplit("/", 1)[-1]
    assert new_id != file_system["FileSystemId"]
    assert efs.describe_file_systems(FileSystemId=new_id)["FileSystems"][0]["LifeCycleState"] == "available"
    [recovered] = restore_dirs(data_dir(fidelity_emulator, new_id))
    assert tree(recovered) == before  # bytes, modes, mtimes, the symlink; the FIFO is left out

    # One directory, into the existing file system, under aws-backup-restore_<time>/<its path>.
    restore(
        aws,
        point_arn,
        {
            "file-system-id": file_system["FileSystemId"],
            "newFileSystem": "false",
            "ItemsToRestore": json.dumps(["/alice/data"]),
        },
    )
    [item_level] = restore_dirs(root)
    assert sorted(str(p.relative_to(item_level)) for p in item_level.rglob("*")) == [
        "alice",
        "alice/data",
        "alice/data/spectrum.fits",
    ]
    assert tree(item_level / "alice/data") == {
        name.removeprefix("alice/data/"): entry
        for name, entry in before.items()
        if name.startswith("alice/data/")
    }
    assert (root / "alice/notebook.ipynb").read_bytes() == b"overwritten"  # nothing overwritten in place
    jobs = backup_client.list_restore_jobs(ByStatus="COMPLETED")["RestoreJobs"]
    assert {whole["RestoreJobId"]} <= {j["RestoreJobId"] for j in jobs}

    # The next backup is incremental: only new or changed files count (the restored directory too).
    second = backup(aws, vault, file_system)
    assert second["BackupSizeInBytes"] == len(b"overwritten") + len(before["alice/data/spectrum.fits"][1])
    listed = backup_client.list_backup_jobs(ByResourceArn=file_system["FileSystemArn"], ByState="COMPLETED")
    assert [j["BackupJobId"] for j in listed["BackupJobs"]] == [second["BackupJobId"], started["BackupJobId"]]


def test_backup_and_restore_jobs_take_scaled_time_and_are_logged(
    aws: Client, fidelity_emulator: Emulator, vault: str, file_system: dict[str, Any]
) -> None:
    started_at = time.time()
    job = backup(aws, vault, file_system)
    assert time.time() - started_at >= (60 + 180) / TIME_SCALE
    restored = restore(
        aws,
        job["RecoveryPointArn"],
        {"file-system-id": file_system["FileSystemId"], "newFileSystem": "false"},
    )
    assert restored["ExpectedCompletionTimeMinutes"] >= 1
    assert restored["CreatedResourceArn"] == file_system["FileSystemArn"]
    assert restored["PercentDone"] == "100.00%"
    logged = {(r["resource_type"], r["id"]): r for r in fidelity_emulator.lifecycle()}
    for key in (("backup-job", job["BackupJobId"]), ("restore-job", restored["RestoreJobId"])):
        assert logged[key]["ready_at"] is not None and logged[key]["ready_at"] > logged[key]["created_at"]


def test_a_recovery_point_is_hidden_then_creating_and_a_stopped_job_leaves_none(
    aws: Client, vault: str, file_system: dict[str, Any], slowed: Slowed
) -> None:
    backup_client = aws("backup")
    with slowed("backup::backup-job.start"), slowed("backup::backup-job.run"):
        started = backup_client.start_backup_job(
            BackupVaultName=vault, ResourceArn=file_system["FileSystemArn"], IamRoleArn=BACKUP_ROLE
        )
    arn = started["RecoveryPointArn"]
    with pytest.raises(ClientError) as not_yet:  # as kanister's wait loop expects
        backup_client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    assert error_code(not_yet) == "ResourceNotFoundException"
    running = poll(
        lambda: backup_client.describe_backup_job(BackupJobId=started["BackupJobId"]),
        lambda job: job["State"] == "RUNNING",
    )
    assert running["State"] == "RUNNING"
    point = backup_client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    assert point["Status"] == "CREATING"
    with pytest.raises(ClientError) as too_early:
        backup_client.start_restore_job(
            RecoveryPointArn=arn,
            Metadata={"file-system-id": file_system["FileSystemId"], "newFileSystem": "true"},
        )
    assert error_code(too_early) == "InvalidRequestException"

    backup_client.stop_backup_job(BackupJobId=started["BackupJobId"])
    stopped = backup_client.describe_backup_job(BackupJobId=started["BackupJobId"])
    assert stopped["State"] == "ABORTED"
    assert "RecoveryPointArn" not in stopped
    assert backup_client.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"] == []
    with pytest.raises(ClientError) as twice:
        backup_client.stop_backup_job(BackupJobId=started["BackupJobId"])
    assert error_code(twice) == "InvalidRequestException"


def test_backup_job_errors(aws: Client, vault: str, file_system: dict[str, Any], unique: Names) -> None:
    backup_client, arn = aws("backup"), file_system["FileSystemArn"]
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"BackupVaultName": unique("missing"), "ResourceArn": arn, "IamRoleArn": BACKUP_ROLE},
            "AccessDeniedException",
        ),
        (
            {"BackupVaultName": vault, "ResourceArn": arn, "IamRoleArn": "backup"},
            "InvalidParameterValueException",
        ),
        (
            {"BackupVaultName": vault, "ResourceArn": "arn:aws:s3:::bucket", "IamRoleArn": BACKUP_ROLE},
            "InvalidParameterValueException",
        ),
        (
            {
                "BackupVaultName": vault,
                "ResourceArn": arn,
                "IamRoleArn": BACKUP_ROLE,
                "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 60},
            },
            "InvalidParameterValueException",
        ),
    ]
    for request, code in cases:
        with pytest.raises(ClientError) as refused:
            backup_client.start_backup_job(**request)
        assert error_code(refused) == code, request

    # A file system that does not exist: the job fails, as AWS's does.
    missing = arn.rsplit("/", 1)[0] + "/fs-0123456789abcdef0"
    started = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=missing, IamRoleArn=BACKUP_ROLE
    )
    failed = poll(
        lambda: backup_client.describe_backup_job(BackupJobId=started["BackupJobId"]),
        lambda job: job["State"] == "FAILED",
    )
    assert failed["State"] == "FAILED" and "StatusMessage" in failed
    with pytest.raises(ClientError) as unknown:
        backup_client.describe_backup_job(BackupJobId="0123ABCD-0000-0000-0000-000000000000")
    assert error_code(unknown) == "ResourceNotFoundException"


def test_restore_errors_name_the_bad_metadata(aws: Client, vault: str, file_system: dict[str, Any]) -> None:
    backup_client = aws("backup")
    point_arn = backup(aws, vault, file_system)["RecoveryPointArn"]
    fs_id = file_system["FileSystemId"]
    with pytest.raises(ClientError) as missing_point:
        backup_client.start_restore_job(
            RecoveryPointArn=point_arn.rsplit(":", 1)[0] + ":0123ABCD-0000-0000-0000-000000000000",
            Metadata={"file-system-id": fs_id, "newFileSystem": "true"},
        )
    assert error_code(missing_point) == "ResourceNotFoundException"

    bad: list[tuple[dict[str, str], str]] = [
        ({"newFileSystem": "true"}, "file-system-id"),
        ({"file-system-id": fs_id}, "newFileSystem"),
        ({"file-system-id": fs_id, "newFileSystem": "yes"}, "newFileSystem"),
        ({"file-system-id": fs_id, "newFileSystem": "true", "Colour": "blue"}, "Colour"),
        ({"file-system-id": fs_id, "newFileSystem": "true", "KmsKeyId": "alias/x"}, "KmsKeyId"),
        ({"file-system-id": fs_id, "newFileSystem": "true", "PerformanceMode": "fast"}, "PerformanceMode"),
        ({"file-system-id": fs_id, "newFileSystem": "false", "ItemsToRestore": "/alice"}, "ItemsToRestore"),
        (
            {"file-system-id": fs_id, "newFileSystem": "false", "ItemsToRestore": '["alice"]'},
            "ItemsToRestore",
        ),
        (
            {
                "file-system-id": fs_id,
                "newFileSystem": "false",
                "ItemsToRestore": json.dumps([f"/u{i}" for i in range(6)]),
            },
            "ItemsToRestore",
        ),
        ({"file-system-id": "fs-0123456789abcdef0", "newFileSystem": "false"}, "file-system-id"),
    ]
    for metadata, key in bad:
        with pytest.raises(ClientError) as refused:
            backup_client.start_restore_job(
                RecoveryPointArn=point_arn, Metadata=metadata, IamRoleArn=BACKUP_ROLE
            )
        assert error_code(refused) == "InvalidParameterValueException", metadata
        assert key in refused.value.response["Error"]["Message"], metadata


def test_recovery_points_keep_their_vault_until_deleted(
    aws: Client, fidelity_emulator: Emulator, vault: str, file_system: dict[str, Any]
) -> None:
    backup_client = aws("backup")
    point_arn = backup(aws, vault, file_system)["RecoveryPointArn"]
    with pytest.raises(ClientError) as not_empty:
        backup_client.delete_backup_vault(BackupVaultName=vault)
    assert error_code(not_empty) == "InvalidRequestException"
    copy = fidelity_emulator.state_dir.resolve() / "recovery-points" / point_arn.rsplit(":", 1)[-1]
    assert copy.is_dir()
    backup_client.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=point_arn)
    assert not copy.exists()
    with pytest.raises(ClientError) as gone:
        backup_client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=point_arn)
    assert error_code(gone) == "ResourceNotFoundException"
    backup_client.delete_backup_vault(BackupVaultName=vault)


# -- selections and plans -------------------------------------------------------------------------


def test_backup_selections(aws: Client, vault: str, unique: Names) -> None:
    backup_client = aws("backup")
    plan_id = backup_client.create_backup_plan(
        BackupPlan={
            "BackupPlanName": unique("plan"),
            "Rules": [{"RuleName": "daily", "TargetBackupVaultName": vault}],
        }
    )["BackupPlanId"]
    by_tag = backup_client.create_backup_selection(
        BackupPlanId=plan_id,
        BackupSelection={
            "SelectionName": "homes",
            "IamRoleArn": BACKUP_ROLE,
            "ListOfTags": [
                {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}
            ],
        },
    )
    by_arn = backup_client.create_backup_selection(
        BackupPlanId=plan_id,
        BackupSelection={
            "SelectionName": "hub-db",
            "IamRoleArn": BACKUP_ROLE,
            "Resources": ["arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-01234567"],
        },
    )
    got = backup_client.get_backup_selection(BackupPlanId=plan_id, SelectionId=by_tag["SelectionId"])
    assert got["BackupSelection"]["Conditions"] == {
        "StringEquals": [],
        "StringNotEquals": [],
        "StringLike": [],
        "StringNotLike": [],
    }
    assert got["BackupSelection"]["ListOfTags"][0]["ConditionValue"] == "daily"

    first = backup_client.list_backup_selections(BackupPlanId=plan_id, MaxResults=1)
    second = backup_client.list_backup_selections(BackupPlanId=plan_id, NextToken=first["NextToken"])
    assert [s["SelectionName"] for s in first["BackupSelectionsList"] + second["BackupSelectionsList"]] == [
        "homes",
        "hub-db",
    ]
    assert "NextToken" not in second

    with pytest.raises(ClientError) as bad_role:
        backup_client.create_backup_selection(
            BackupPlanId=plan_id, BackupSelection={"SelectionName": "x", "IamRoleArn": "role"}
        )
    assert error_code(bad_role) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as in_use:
        backup_client.delete_backup_plan(BackupPlanId=plan_id)
    assert error_code(in_use) == "InvalidRequestException"

    for selection in (by_tag, by_arn):
        backup_client.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection["SelectionId"])
    with pytest.raises(ClientError) as gone:
        backup_client.get_backup_selection(BackupPlanId=plan_id, SelectionId=by_tag["SelectionId"])
    assert error_code(gone) == "ResourceNotFoundException"
    backup_client.delete_backup_plan(BackupPlanId=plan_id)


def test_run_plan_backs_up_what_the_selections_pick(
    aws: Client, fidelity_emulator: Emulator, vault: str, unique: Names
) -> None:
    backup_client, efs = aws("backup"), aws("efs")
    tag = unique("site")
    picked = efs.create_file_system(CreationToken=unique("homes"), Tags=[{"Key": "backup", "Value": tag}])
    efs.create_file_system(CreationToken=unique("scratch"), Tags=[{"Key": "backup", "Value": "none"}])
    rule = {
        "RuleName": "daily",
        "TargetBackupVaultName": vault,
        "Lifecycle": {"DeleteAfterDays": 35},
        "RecoveryPointTags": {"rule": "daily"},
    }
    plan_id = backup_client.create_backup_plan(
        BackupPlan={"BackupPlanName": unique("plan"), "Rules": [rule]}
    )["BackupPlanId"]
    backup_client.create_backup_selection(
        BackupPlanId=plan_id,
        BackupSelection={
            "SelectionName": "site",
            "IamRoleArn": BACKUP_ROLE,
            "Resources": ["*"],
            "Conditions": {
                "StringEquals": [{"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": tag}]
            },
        },
    )
    [job_id] = emulator_json(fidelity_emulator, "/_emulator/backup/run-plan", {"BackupPlanId": plan_id})[
        "BackupJobIds"
    ]
    job = backup_client.describe_backup_job(BackupJobId=job_id)
    assert job["ResourceArn"] == picked["FileSystemArn"]
    assert (job["CreatedBy"]["BackupPlanId"], job["CreatedBy"]["BackupRuleName"]) == (plan_id, "daily")
    job = poll(
        lambda: backup_client.describe_backup_job(BackupJobId=job_id), lambda j: j["State"] == "COMPLETED"
    )
    point = backup_client.describe_recovery_point(
        BackupVaultName=vault, RecoveryPointArn=job["RecoveryPointArn"]
    )
    assert point["Lifecycle"] == {"DeleteAfterDays": 35}
    assert (point["CalculatedLifecycle"]["DeleteAt"] - point["CreationDate"]).days == 35
    assert backup_client.list_tags(ResourceArn=point["RecoveryPointArn"])["Tags"]["rule"] == "daily"


def test_backup_selection_and_efs_modules_converge_and_are_idempotent(
    fidelity_emulator: Emulator, tmp_path: Path, vault: str, unique: Names
) -> None:
    """amazon.aws.backup_selection and community.aws.efs (legacy tag API) against the emulator:
    create, re-run unchanged, remove."""
    plan, token = unique("plan"), unique("homes")
    boto3.client(
        "backup",
        endpoint_url=fidelity_emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
    ).create_backup_plan(
        BackupPlan={"BackupPlanName": plan, "Rules": [{"RuleName": "daily", "TargetBackupVaultName": vault}]}
    )
    selection = {
        "backup_plan_name": plan,
        "selection_name": "homes",
        "iam_role_arn": BACKUP_ROLE,
        "list_of_tags": [
            {"condition_type": "STRINGEQUALS", "condition_key": "backup", "condition_value": "daily"}
        ],
    }
    file_system = {
        "name": token,
        "tags": {"Name": token, "backup": "daily"},
        "wait": True,
        "wait_timeout": 30,
    }
    tasks: list[dict[str, Any]] = [
        {"name": "Create the selection.", "amazon.aws.backup_selection": selection, "register": "created"},
        {"name": "Create it again.", "amazon.aws.backup_selection": selection, "register": "again"},
        {
            "name": "Remove the selection.",
            "amazon.aws.backup_selection": {**selection, "state": "absent"},
            "register": "removed",
        },
        {"name": "Create the file system.", "community.aws.efs": file_system, "register": "fs_created"},
        {"name": "Create it again.", "community.aws.efs": file_system, "register": "fs_again"},
        {
            "name": "Remove it.",
            "community.aws.efs": {"name": token, "state": "absent"},
            "register": "fs_removed",
        },
        {
            "name": "Check.",
            "ansible.builtin.assert": {
                "that": [
                    "created is changed",
                    "again is not changed",
                    "removed is changed",
                    "created.backup_selection.selection_name == 'homes'",
                    "fs_created is changed",
                    "fs_again is not changed",
                    "fs_removed is changed",
                ]
            },
        },
    ]
    playbook = tmp_path / "modules.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = {
        **os.environ,
        **fidelity_emulator.client_env(),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    }
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local"]
    # community.aws.efs polls every 5 s: let its file system be available at once.
    with transition(fidelity_emulator.endpoint, "efs::file-system.create", {"progression": "immediate"}):
        completed = subprocess.run(
            [*command, str(playbook)], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert completed.returncode == 0, completed.stdout + completed.stderr


# -- EFS backup policy and the legacy tag API -----------------------------------------------------


def test_efs_backup_policy_is_enabled_and_disabled_over_time(
    aws: Client, file_system: dict[str, Any], slowed: Slowed
) -> None:
    efs, fs_id = aws("efs"), file_system["FileSystemId"]
    with pytest.raises(ClientError) as never_set:
        efs.describe_backup_policy(FileSystemId=fs_id)
    assert error_code(never_set) == "PolicyNotFound"
    poll(
        lambda: efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["LifeCycleState"],
        lambda state: state == "available",
    )
    with slowed("efs::backup-policy.update"):
        enabling = efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "ENABLED"})
    assert enabling["BackupPolicy"]["Status"] == "ENABLING"
    enabled = poll(
        lambda: efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"],
        lambda status: status == "ENABLED",
    )
    assert enabled == "ENABLED"
    with slowed("efs::backup-policy.update"):
        assert efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "DISABLED"})[
            "BackupPolicy"
        ] == {"Status": "DISABLING"}
    assert (
        poll(
            lambda: efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"],
            lambda status: status == "DISABLED",
        )
        == "DISABLED"
    )

    with pytest.raises(ClientError) as bad_status:
        efs.put_backup_policy(FileSystemId=fs_id, BackupPolicy={"Status": "ON"})
    assert error_code(bad_status) == "BadRequest"
    with pytest.raises(ClientError) as missing:
        efs.describe_backup_policy(FileSystemId="fs-0123456789abcdef0")
    assert error_code(missing) == "FileSystemNotFound"


def test_efs_legacy_tag_api(aws: Client, file_system: dict[str, Any]) -> None:
    efs, fs_id = aws("efs"), file_system["FileSystemId"]
    assert efs.describe_tags(FileSystemId=fs_id)["Tags"] == [{"Key": "Name", "Value": "homes"}]
    efs.create_tags(FileSystemId=fs_id, Tags=[{"Key": "site", "Value": "local"}])
    efs.delete_tags(FileSystemId=fs_id, TagKeys=["Name"])
    assert efs.describe_tags(FileSystemId=fs_id)["Tags"] == [{"Key": "site", "Value": "local"}]
    with pytest.raises(ClientError) as missing:
        efs.describe_tags(FileSystemId="fs-0123456789abcdef0")
    assert error_code(missing) == "FileSystemNotFound"


# -- reset ----------------------------------------------------------------------------------------


def test_reset_forgets_jobs_recovery_points_and_data(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "emulator", time_scale=TIME_SCALE) as emulator:

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=emulator.endpoint,
                region_name="us-east-1",
                aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
            )

        client("backup").create_backup_vault(BackupVaultName="vault")
        file_system = dict(client("efs").create_file_system(CreationToken="homes"))
        (data_dir(emulator, file_system["FileSystemId"]) / "file").write_text("data")
        job = backup(client, "vault", file_system)
        assert list((emulator.state_dir / "recovery-points").iterdir())

        emulator.reset()
        # Emptied, not removed: a running hub machine keeps its bind mount of efs/.
        for kind in ("efs", "recovery-points"):
            assert list((emulator.state_dir / kind).iterdir()) == [], kind
        assert client("backup").list_backup_jobs()["BackupJobs"] == []
        with pytest.raises(ClientError) as forgotten:
            client("backup").describe_backup_job(BackupJobId=job["BackupJobId"])
        assert error_code(forgotten) == "ResourceNotFoundException"

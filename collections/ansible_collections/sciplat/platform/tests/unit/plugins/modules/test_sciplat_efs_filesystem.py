"""sciplat.platform.efs_filesystem against moto in-process, and Stubber for what moto lacks.

moto 5.2.5 has no PutBackupPolicy, UpdateFileSystem or DeleteFileSystemPolicy, and its file systems
are available at once; those cases (and every wait) run against stubbed answers.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.sciplat.platform.plugins.modules import efs_filesystem
from moto import mock_aws

TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyWithoutTLS",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def args(**extra: Any) -> dict[str, Any]:
    return {"name": "homes", **extra}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield {
            "efs": boto3.client("efs", region_name="us-east-1"),
            "ec2": boto3.client("ec2", region_name="us-east-1"),
            "kms": boto3.client("kms", region_name="us-east-1"),
        }


def only_file_system(efs: Any) -> dict[str, Any]:
    found = efs.describe_file_systems()["FileSystems"]
    assert len(found) == 1
    return found[0]


# --- moto in-process ---------------------------------------------------------------------------


def test_create_returns_the_file_system(run_module, aws) -> None:
    out = run_module(
        efs_filesystem,
        args(
            transition_to_ia="AFTER_30_DAYS",
            transition_to_primary_storage_class="AFTER_1_ACCESS",
            backup_policy="ENABLED",
            file_system_policy=TLS_ONLY,
            tags={"site": "archive"},
        ),
        diff=True,
    )

    assert not out.failed, out.result
    result = out.result
    fs_id = result["file_system_id"]
    assert result["changed"] is True
    assert result["file_system_arn"].endswith(f":file-system/{fs_id}")
    assert result["dns_name"] == f"{fs_id}.efs.us-east-1.amazonaws.com"
    assert result["life_cycle_state"] == "available"
    assert result["encrypted"] is True
    assert result["creation_token"] == "homes"
    assert result["lifecycle"] == {
        "transition_to_ia": "AFTER_30_DAYS",
        "transition_to_archive": "none",
        "transition_to_primary_storage_class": "AFTER_1_ACCESS",
    }
    assert result["backup_policy"] == "ENABLED"
    assert result["file_system_policy"] == TLS_ONLY
    assert result["tags"] == {"Name": "homes", "site": "archive"}
    assert result["size_in_bytes"]["value"] == 0
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["lifecycle"]["transition_to_ia"] == "AFTER_30_DAYS"
    assert result["diff"]["after"]["file_system_policy"] == TLS_ONLY

    efs = aws["efs"]
    stored = only_file_system(efs)
    assert stored["Encrypted"] is True
    assert efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"] == [
        {"TransitionToIA": "AFTER_30_DAYS"},
        {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"},
    ]
    assert json.loads(efs.describe_file_system_policy(FileSystemId=fs_id)["Policy"]) == TLS_ONLY
    assert efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"] == "ENABLED"


def test_statements_without_resource_get_the_file_systems_arn(run_module, aws, clock) -> None:
    """The ARN exists only once the file system does: a statement naming no Resource gets it, and
    a second run with the same policy changes nothing."""
    policy = json.loads(json.dumps(TLS_ONLY))
    del policy["Statement"][0]["Resource"]
    first = run_module(efs_filesystem, args(file_system_policy=policy))
    assert not first.failed, first.result
    fs_id, arn = first.result["file_system_id"], first.result["file_system_arn"]
    stored = json.loads(aws["efs"].describe_file_system_policy(FileSystemId=fs_id)["Policy"])
    assert stored["Statement"][0]["Resource"] == arn
    assert first.result["file_system_policy"]["Statement"][0]["Resource"] == arn

    again = run_module(efs_filesystem, args(file_system_policy=policy))
    assert not again.failed, again.result
    assert again.result["changed"] is False


def test_second_run_changes_nothing(run_module, aws, clock) -> None:
    settings = dict(transition_to_ia="AFTER_30_DAYS", backup_policy="ENABLED", tags={"site": "archive"})
    first = run_module(efs_filesystem, args(file_system_policy=TLS_ONLY, **settings))
    assert not first.failed, first.result
    assert first.result["changed"] is True

    # The same policy as JSON text, reordered, with a single statement as an object.
    statement = dict(reversed(list(TLS_ONLY["Statement"][0].items())))
    text = json.dumps({"Statement": statement, "Version": "2012-10-17"}, indent=2)
    out = run_module(efs_filesystem, args(file_system_policy=text, **settings), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["diff"]["before"] == out.result["diff"]["after"]
    assert out.result["file_system_id"] == first.result["file_system_id"]
    assert clock.sleeps == []


def test_lifecycle_is_changed_removed_and_left_alone(run_module, aws) -> None:
    first = run_module(
        efs_filesystem,
        args(transition_to_ia="AFTER_30_DAYS", transition_to_primary_storage_class="AFTER_1_ACCESS"),
    )
    fs_id = first.result["file_system_id"]

    out = run_module(
        efs_filesystem,
        args(transition_to_ia="AFTER_90_DAYS", transition_to_primary_storage_class="none"),
        diff=True,
    )

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["lifecycle"]["transition_to_ia"] == "AFTER_30_DAYS"
    assert out.result["diff"]["after"]["lifecycle"] == {
        "transition_to_ia": "AFTER_90_DAYS",
        "transition_to_archive": "none",
        "transition_to_primary_storage_class": "none",
    }
    policies = aws["efs"].describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"]
    assert policies == [{"TransitionToIA": "AFTER_90_DAYS"}]
    untouched = run_module(efs_filesystem, args())
    assert untouched.result["changed"] is False
    assert untouched.result["lifecycle"]["transition_to_ia"] == "AFTER_90_DAYS"


def test_archive_transition_on_an_elastic_file_system(run_module, aws) -> None:
    out = run_module(
        efs_filesystem,
        args(
            throughput_mode="elastic", transition_to_ia="AFTER_30_DAYS", transition_to_archive="AFTER_90_DAYS"
        ),
    )

    assert not out.failed, out.result
    assert out.result["throughput_mode"] == "elastic"
    assert out.result["lifecycle"]["transition_to_archive"] == "AFTER_90_DAYS"


def test_tags_are_set_and_purged_and_the_name_kept(run_module, aws) -> None:
    run_module(efs_filesystem, args(tags={"a": "1", "b": "2"}))

    out = run_module(efs_filesystem, args(tags={"b": "3"}), diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["tags"] == {"Name": "homes", "b": "3"}
    assert out.result["diff"]["before"]["tags"] == {"Name": "homes", "a": "1", "b": "2"}
    stored = only_file_system(aws["efs"])
    assert {t["Key"]: t["Value"] for t in stored["Tags"]} == {"Name": "homes", "b": "3"}

    kept = run_module(efs_filesystem, args(tags={"c": "4"}, purge_tags=False))
    assert kept.result["tags"] == {"Name": "homes", "b": "3", "c": "4"}
    untouched = run_module(efs_filesystem, args())
    assert untouched.result["changed"] is False


def test_found_by_creation_token_and_named(run_module, aws) -> None:
    aws["efs"].create_file_system(CreationToken="sciplat-homes-1", Encrypted=True)

    out = run_module(efs_filesystem, args(creation_token="sciplat-homes-1"))

    assert not out.failed, out.result

    assert out.result["changed"] is True  # the Name tag is added
    assert out.result["creation_token"] == "sciplat-homes-1"
    assert out.result["name"] == "homes"
    assert len(aws["efs"].describe_file_systems()["FileSystems"]) == 1
    by_name = run_module(efs_filesystem, args())
    assert by_name.result["changed"] is False
    assert by_name.result["file_system_id"] == out.result["file_system_id"]


def test_file_system_created_with_the_name_as_token_is_found_without_its_tag(run_module, aws) -> None:
    aws["efs"].create_file_system(CreationToken="homes", Encrypted=True)

    out = run_module(efs_filesystem, args())

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["tags"] == {"Name": "homes"}
    assert len(aws["efs"].describe_file_systems()["FileSystems"]) == 1


def test_two_file_systems_with_the_name_fail(run_module, aws) -> None:
    for token in ("one", "two"):
        aws["efs"].create_file_system(CreationToken=token, Tags=[{"Key": "Name", "Value": "homes"}])

    out = run_module(efs_filesystem, args())

    assert out.failed
    assert out.result["msg"].startswith("name: 2 EFS file systems are called homes (fs-")
    assert "give the creation_token" in out.result["msg"]


def test_encryption_cannot_change(run_module, aws) -> None:
    aws["efs"].create_file_system(
        CreationToken="homes", Encrypted=False, Tags=[{"Key": "Name", "Value": "homes"}]
    )

    out = run_module(efs_filesystem, args())

    assert out.failed
    assert "encrypted: file system fs-" in out.result["msg"]
    assert "is not encrypted, and EFS cannot change encryption after creation" in out.result["msg"]


def test_performance_mode_cannot_change(run_module, aws) -> None:
    run_module(efs_filesystem, args(performance_mode="generalPurpose"))

    out = run_module(efs_filesystem, args(performance_mode="maxIO"))

    assert out.failed
    assert "performance_mode: file system fs-" in out.result["msg"]
    assert "uses generalPurpose, asked maxIO" in out.result["msg"]


def test_kms_key_compared_by_id_arn_and_alias(run_module, aws) -> None:
    kms = aws["kms"]
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/sciplat-efs", TargetKeyId=key["KeyId"])
    first = run_module(efs_filesystem, args(kms_key_id=key["Arn"]))
    assert first.result["kms_key_id"] == key["Arn"], first.result

    for same in (key["Arn"], key["KeyId"], "alias/sciplat-efs"):
        out = run_module(efs_filesystem, args(kms_key_id=same))
        assert not out.failed, (same, out.result)
        assert out.result["changed"] is False

    other = kms.create_key()["KeyMetadata"]["Arn"]
    out = run_module(efs_filesystem, args(kms_key_id=other))
    assert out.failed
    assert out.result["msg"].startswith("kms_key_id: file system fs-")
    assert f"asked {other}; EFS cannot change the key after creation" in out.result["msg"]


def test_check_mode_create_changes_nothing(run_module, aws) -> None:
    out = run_module(
        efs_filesystem,
        args(transition_to_ia="AFTER_30_DAYS", file_system_policy=TLS_ONLY, tags={"site": "a"}),
        check_mode=True,
        diff=True,
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert "file_system_id" not in out.result
    assert out.result["life_cycle_state"] == "creating"
    assert out.result["diff"]["before"] == {}
    assert out.result["diff"]["after"]["tags"] == {"site": "a", "Name": "homes"}
    assert out.result["diff"]["after"]["lifecycle"]["transition_to_ia"] == "AFTER_30_DAYS"
    assert aws["efs"].describe_file_systems()["FileSystems"] == []


def test_check_mode_update_changes_nothing(run_module, aws) -> None:
    first = run_module(efs_filesystem, args(transition_to_ia="AFTER_30_DAYS", tags={"a": "1"}))
    fs_id = first.result["file_system_id"]

    out = run_module(
        efs_filesystem,
        args(transition_to_ia="AFTER_7_DAYS", file_system_policy=TLS_ONLY, tags={"b": "2"}),
        check_mode=True,
        diff=True,
    )

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["diff"]["after"]["lifecycle"]["transition_to_ia"] == "AFTER_7_DAYS"
    assert out.result["diff"]["after"]["file_system_policy"] == TLS_ONLY
    assert out.result["diff"]["before"]["file_system_policy"] is None
    efs = aws["efs"]
    assert efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"] == [
        {"TransitionToIA": "AFTER_30_DAYS"}
    ]
    assert {t["Key"]: t["Value"] for t in only_file_system(efs)["Tags"]} == {"Name": "homes", "a": "1"}
    with pytest.raises(efs.exceptions.PolicyNotFound):
        efs.describe_file_system_policy(FileSystemId=fs_id)


def test_delete_is_refused_without_allow_delete(run_module, aws) -> None:
    first = run_module(efs_filesystem, args())
    fs_id = first.result["file_system_id"]

    for check_mode in (True, False):
        out = run_module(efs_filesystem, args(state="absent"), check_mode=check_mode)
        assert out.failed
        msg = out.result["msg"]
        assert msg.startswith(f"allow_delete: state=absent would delete EFS file system {fs_id} (name homes,")
        assert "0 bytes stored, 0 mount target(s)) and every file on it; set allow_delete: true" in msg
    assert len(aws["efs"].describe_file_systems()["FileSystems"]) == 1


def mount_target(aws: dict[str, Any], fs_id: str) -> str:
    ec2 = aws["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    aws["efs"].create_mount_target(FileSystemId=fs_id, SubnetId=subnet["SubnetId"])
    return subnet["SubnetId"]


def test_delete_with_mount_targets_needs_delete_mount_targets(run_module, aws) -> None:
    fs_id = run_module(efs_filesystem, args()).result["file_system_id"]
    subnet = mount_target(aws, fs_id)

    refused = run_module(efs_filesystem, args(state="absent", allow_delete=True))
    assert refused.failed
    assert refused.result["msg"].startswith(
        f"delete_mount_targets: EFS file system {fs_id} still has 1 mount"
    )
    assert f"in {subnet}" in refused.result["msg"]

    both = run_module(efs_filesystem, args(state="absent"))
    assert "and delete_mount_targets: true to delete its mount targets" in both.result["msg"]

    check = run_module(
        efs_filesystem, args(state="absent", allow_delete=True, delete_mount_targets=True), check_mode=True
    )
    assert check.result["changed"] is True
    assert len(aws["efs"].describe_mount_targets(FileSystemId=fs_id)["MountTargets"]) == 1

    out = run_module(
        efs_filesystem, args(state="absent", allow_delete=True, delete_mount_targets=True), diff=True
    )
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["after"] == {}
    assert out.result["diff"]["before"]["name"] == "homes"
    assert aws["efs"].describe_file_systems()["FileSystems"] == []


def test_delete_of_a_missing_file_system_changes_nothing(run_module, aws) -> None:
    out = run_module(efs_filesystem, args(state="absent"))

    assert not out.failed, out.result
    assert out.result["changed"] is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"transition_to_ia": "AFTER_90_DAYS", "transition_to_archive": "AFTER_30_DAYS"},
            "transition_to_archive must be later than transition_to_ia",
        ),
        ({"transition_to_archive": "AFTER_90_DAYS"}, "transition_to_archive needs throughput_mode elastic"),
        (
            {
                "throughput_mode": "elastic",
                "performance_mode": "maxIO",
                "transition_to_archive": "AFTER_90_DAYS",
            },
            "transition_to_archive needs performance_mode generalPurpose",
        ),
        (
            {"throughput_mode": "provisioned"},
            "throughput_mode is provisioned but all of the following are missing",
        ),
        (
            {"throughput_mode": "elastic", "provisioned_throughput_in_mibps": 10},
            "provisioned_throughput_in_mibps is only accepted with throughput_mode: provisioned",
        ),
        (
            {"throughput_mode": "fast"},
            "value of throughput_mode must be one of: bursting, provisioned, elastic",
        ),
        ({"transition_to_ia": "AFTER_2_DAYS"}, "value of transition_to_ia must be one of: AFTER_1_DAY"),
        ({"encrypted": False, "kms_key_id": "alias/x"}, "kms_key_id needs encrypted: true"),
        ({"tags": {"Name": "other"}}, "tags: the Name tag is name (homes); tags asks Name=other"),
        ({"file_system_policy": "{not json"}, "file_system_policy is not valid JSON"),
        ({"file_system_policy": {"Version": "2012-10-17"}}, "file_system_policy must have a Statement"),
        ({"file_system_policy": [1]}, "file_system_policy must be a policy document"),
        ({"creation_token": "x" * 65}, "creation_token must be 1 to 64 characters long, got 65"),
        ({"name": "n" * 65}, "creation_token: required when name is longer than 64 characters"),
    ],
)
def test_bad_input_fails_naming_the_parameter(run_module, aws, extra, message) -> None:
    out = run_module(efs_filesystem, args(**extra))

    assert out.failed
    assert message in out.result["msg"]
    assert aws["efs"].describe_file_systems()["FileSystems"] == []


def test_name_or_creation_token_is_required(run_module, aws) -> None:
    out = run_module(efs_filesystem, {"state": "present"})

    assert out.failed
    assert "one of the following is required: name, creation_token" in out.result["msg"]


# --- Stubber: what moto lacks, and waits ------------------------------------------------------

FS = "fs-0123456789abcdef0"
FS_ARN = f"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{FS}"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
BY_ID = {"FileSystemId": FS}


def fs(state: str = "available", **extra: Any) -> dict[str, Any]:
    body = {
        "OwnerId": "123456789012",
        "CreationToken": "homes",
        "FileSystemId": FS,
        "FileSystemArn": FS_ARN,
        "CreationTime": datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC),
        "LifeCycleState": state,
        "Name": "homes",
        "NumberOfMountTargets": 0,
        "SizeInBytes": {"Value": 6144, "ValueInStandard": 6144},
        "PerformanceMode": "generalPurpose",
        "Encrypted": True,
        "KmsKeyId": KEY,
        "ThroughputMode": "elastic",
        "Tags": [{"Key": "Name", "Value": "homes"}],
    }
    body.update(extra)
    return body


def listed(stubs: Any, *file_systems: dict[str, Any]) -> None:
    stubs.add("efs", "describe_file_systems", {"FileSystems": list(file_systems)})


def described(stubs: Any, state: str, **extra: Any) -> None:
    stubs.add("efs", "describe_file_systems", {"FileSystems": [fs(state, **extra)]}, BY_ID)


def settings(
    stubs: Any,
    lifecycle: list[dict[str, str]] | None = None,
    backup: str | None = "DISABLED",
    policy: Any = None,
) -> None:
    stubs.add("efs", "describe_lifecycle_configuration", {"LifecyclePolicies": lifecycle or []}, BY_ID)
    if backup is None:
        stubs.error("efs", "describe_backup_policy", "PolicyNotFound", "none", 404, BY_ID)
    else:
        stubs.add("efs", "describe_backup_policy", {"BackupPolicy": {"Status": backup}}, BY_ID)
    if policy is None:
        stubs.error("efs", "describe_file_system_policy", "PolicyNotFound", "none", 404, BY_ID)
    else:
        stubs.add(
            "efs", "describe_file_system_policy", {"FileSystemId": FS, "Policy": json.dumps(policy)}, BY_ID
        )


def test_backup_policy_is_set_with_put_backup_policy(run_module, stubs, clock) -> None:
    listed(stubs, fs())
    settings(stubs, backup=None)
    stubs.add(
        "efs",
        "put_backup_policy",
        {"BackupPolicy": {"Status": "ENABLING"}},
        {"FileSystemId": FS, "BackupPolicy": {"Status": "ENABLED"}},
    )

    out = run_module(efs_filesystem, args(backup_policy="ENABLED"), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["backup_policy"] == "ENABLING"
    assert out.result["diff"]["before"]["backup_policy"] == "DISABLED"
    assert out.result["diff"]["after"]["backup_policy"] == "ENABLED"
    assert clock.sleeps == []
    stubs.assert_done()


def test_enabling_backup_policy_counts_as_enabled(run_module, stubs) -> None:
    listed(stubs, fs())
    settings(stubs, backup="ENABLING")

    out = run_module(efs_filesystem, args(backup_policy="ENABLED"))

    assert not out.failed, out.result

    assert out.result["changed"] is False
    stubs.assert_done()


def test_throughput_change_waits_until_available(run_module, stubs, clock) -> None:
    listed(stubs, fs(ThroughputMode="bursting"))
    settings(stubs)
    stubs.add(
        "efs",
        "update_file_system",
        fs("updating", ThroughputMode="provisioned", ProvisionedThroughputInMibps=128.0),
        {"FileSystemId": FS, "ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 128.0},
    )
    described(stubs, "updating", ThroughputMode="provisioned", ProvisionedThroughputInMibps=128.0)
    described(stubs, "updating", ThroughputMode="provisioned", ProvisionedThroughputInMibps=128.0)
    described(stubs, "available", ThroughputMode="provisioned", ProvisionedThroughputInMibps=128.0)

    out = run_module(
        efs_filesystem, args(throughput_mode="provisioned", provisioned_throughput_in_mibps=128), diff=True
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "available"
    assert out.result["provisioned_throughput_in_mibps"] == 128.0
    assert out.result["diff"]["before"]["throughput_mode"] == "bursting"
    assert out.result["diff"]["after"]["throughput_mode"] == "provisioned"
    assert clock.sleeps == [2.0, 3.0]
    stubs.assert_done()


def test_provisioned_throughput_amount_is_updated(run_module, stubs) -> None:
    listed(stubs, fs(ThroughputMode="provisioned", ProvisionedThroughputInMibps=64.0))
    settings(stubs)
    stubs.add(
        "efs",
        "update_file_system",
        fs("updating", ThroughputMode="provisioned", ProvisionedThroughputInMibps=128.0),
        {"FileSystemId": FS, "ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 128.0},
    )
    described(stubs, "updating", ThroughputMode="provisioned", ProvisionedThroughputInMibps=128.0)

    out = run_module(
        efs_filesystem, args(throughput_mode="provisioned", provisioned_throughput_in_mibps=128, wait=False)
    )

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "updating"
    stubs.assert_done()


def test_empty_policy_removes_the_file_system_policy(run_module, stubs) -> None:
    listed(stubs, fs())
    settings(stubs, policy=TLS_ONLY)
    stubs.add("efs", "delete_file_system_policy", {}, BY_ID)

    out = run_module(efs_filesystem, args(file_system_policy={}), diff=True)

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["file_system_policy"] is None
    assert out.result["diff"]["before"]["file_system_policy"] == TLS_ONLY
    assert out.result["diff"]["after"]["file_system_policy"] is None
    stubs.assert_done()


def test_policy_change_is_put(run_module, stubs) -> None:
    old = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}],
    }
    listed(stubs, fs())
    settings(stubs, policy=old)
    stubs.add(
        "efs",
        "put_file_system_policy",
        {"FileSystemId": FS, "Policy": json.dumps(TLS_ONLY)},
        {
            "FileSystemId": FS,
            "Policy": json.dumps(TLS_ONLY, sort_keys=True),
            "BypassPolicyLockoutSafetyCheck": False,
        },
    )

    out = run_module(efs_filesystem, args(file_system_policy=TLS_ONLY))

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["file_system_policy"] == TLS_ONLY
    stubs.assert_done()


def test_create_waits_for_available_before_the_lifecycle(run_module, stubs, clock) -> None:
    listed(stubs)  # no file system called homes
    stubs.add("efs", "describe_file_systems", {"FileSystems": []}, {"CreationToken": "homes"})
    stubs.add(
        "efs",
        "create_file_system",
        fs("creating", Tags=[{"Key": "Name", "Value": "homes"}]),
        {
            "CreationToken": "homes",
            "Encrypted": True,
            "ThroughputMode": "elastic",
            "Backup": False,
            "Tags": [{"Key": "Name", "Value": "homes"}],
        },
    )
    described(stubs, "creating")
    described(stubs, "available")
    stubs.add(
        "efs",
        "put_lifecycle_configuration",
        {"LifecyclePolicies": [{"TransitionToIA": "AFTER_30_DAYS"}]},
        {"FileSystemId": FS, "LifecyclePolicies": [{"TransitionToIA": "AFTER_30_DAYS"}]},
    )
    described(stubs, "available")

    out = run_module(
        efs_filesystem,
        args(throughput_mode="elastic", backup_policy="DISABLED", transition_to_ia="AFTER_30_DAYS"),
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["file_system_id"] == FS
    assert out.result["backup_policy"] == "DISABLED"
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_create_without_wait_returns_while_creating(run_module, stubs, clock) -> None:
    listed(stubs)
    stubs.add("efs", "describe_file_systems", {"FileSystems": []}, {"CreationToken": "homes"})
    stubs.add("efs", "create_file_system", fs("creating"))
    described(stubs, "creating")

    out = run_module(efs_filesystem, args(wait=False))

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "creating"
    assert out.result["dns_name"] == f"{FS}.efs.us-east-1.amazonaws.com"
    assert clock.sleeps == []
    stubs.assert_done()


def test_create_times_out_at_the_deadline(run_module, stubs, clock) -> None:
    listed(stubs)
    stubs.add("efs", "describe_file_systems", {"FileSystems": []}, {"CreationToken": "homes"})
    stubs.add("efs", "create_file_system", fs("creating"))
    for _ in range(20):
        described(stubs, "creating")

    out = run_module(efs_filesystem, args(wait_timeout=30))

    assert out.failed
    assert out.result["msg"].startswith(
        f"EFS file system {FS} still creating after 30 s (waiting for available)"
    )
    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "creating"
    assert sum(clock.sleeps) == pytest.approx(30)


def test_error_state_stops_the_wait(run_module, stubs, clock) -> None:
    listed(stubs)
    stubs.add("efs", "describe_file_systems", {"FileSystems": []}, {"CreationToken": "homes"})
    stubs.add("efs", "create_file_system", fs("creating"))
    described(stubs, "error")

    out = run_module(efs_filesystem, args())

    assert out.failed
    assert out.result["msg"] == f"EFS file system {FS} reached status error"
    assert clock.sleeps == []


def test_delete_waits_until_gone(run_module, stubs, clock) -> None:
    listed(stubs, fs())
    stubs.add("efs", "describe_mount_targets", {"MountTargets": []}, BY_ID)
    settings(stubs)
    stubs.add("efs", "delete_file_system", {}, BY_ID)
    described(stubs, "deleting")
    stubs.error("efs", "describe_file_systems", "FileSystemNotFound", "gone", 404, BY_ID)

    out = run_module(efs_filesystem, args(state="absent", allow_delete=True))

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_mount_targets_are_deleted_and_waited_for_first(run_module, stubs, clock) -> None:
    target = {
        "MountTargetId": "fsmt-0123456789",
        "FileSystemId": FS,
        "SubnetId": "subnet-0123456789",
        "LifeCycleState": "available",
    }
    listed(stubs, fs(NumberOfMountTargets=1))
    stubs.add("efs", "describe_mount_targets", {"MountTargets": [target]}, BY_ID)
    settings(stubs)
    stubs.add("efs", "delete_mount_target", {}, {"MountTargetId": "fsmt-0123456789"})
    stubs.add(
        "efs", "describe_mount_targets", {"MountTargets": [{**target, "LifeCycleState": "deleting"}]}, BY_ID
    )
    stubs.add("efs", "describe_mount_targets", {"MountTargets": []}, BY_ID)
    stubs.add("efs", "delete_file_system", {}, BY_ID)

    out = run_module(
        efs_filesystem, args(state="absent", allow_delete=True, delete_mount_targets=True, wait=False)
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_busy_file_system_is_waited_for_before_a_change(run_module, stubs) -> None:
    listed(stubs, fs("updating"))
    settings(stubs)
    described(stubs, "available")
    stubs.add(
        "efs",
        "put_lifecycle_configuration",
        {"LifecyclePolicies": [{"TransitionToIA": "AFTER_7_DAYS"}]},
        {"FileSystemId": FS, "LifecyclePolicies": [{"TransitionToIA": "AFTER_7_DAYS"}]},
    )

    out = run_module(efs_filesystem, args(transition_to_ia="AFTER_7_DAYS"))

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "available"
    stubs.assert_done()


def test_check_mode_makes_no_mutating_call(run_module, stubs) -> None:
    # Only reads are queued: any mutating call would fail the test.
    listed(stubs, fs(ThroughputMode="bursting"))
    settings(stubs, backup="DISABLED", policy=None)

    out = run_module(
        efs_filesystem,
        args(
            throughput_mode="elastic",
            backup_policy="ENABLED",
            file_system_policy=TLS_ONLY,
            transition_to_ia="AFTER_30_DAYS",
            tags={"x": "y"},
        ),
        check_mode=True,
        diff=True,
    )

    assert not out.failed, out.result

    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "updating"
    assert out.result["diff"]["after"]["throughput_mode"] == "elastic"
    assert out.result["diff"]["after"]["backup_policy"] == "ENABLED"
    assert out.result["diff"]["after"]["tags"] == {"Name": "homes", "x": "y"}
    stubs.assert_done()


@pytest.mark.parametrize(
    ("current", "wanted", "same"),
    [
        (KEY, KEY, True),
        (KEY, "0a1b2c3d-0000-1111-2222-333344445555", True),
        (KEY, "0a1b2c3d-0000-1111-2222-999999999999", False),
        (KEY, "alias/sciplat-efs", None),
        (None, KEY, False),
        ("0a1b2c3d-0000-1111-2222-333344445555", KEY, True),
    ],
)
def test_key_matches(current, wanted, same) -> None:
    assert efs_filesystem.key_matches(current, wanted) is same


# --- the efs_policy_is_current test plugin, against what the module returns ----------------------


def test_the_policy_test_agrees_with_the_module_on_what_is_current(run_module, aws) -> None:
    from ansible.errors import AnsibleFilterError
    from ansible_collections.sciplat.platform.plugins.test.efs_policy_is_current import (
        efs_policy_is_current,
    )

    # Written without Resource, as efs_storage's template is: the module names the file system.
    wanted = {"Version": "2012-10-17", "Statement": [dict(TLS_ONLY["Statement"][0])]}
    del wanted["Statement"][0]["Resource"]
    created = run_module(efs_filesystem, args()).result
    assert created["file_system_policy"] is None
    assert not efs_policy_is_current(created["file_system_policy"], wanted, created["file_system_arn"])

    assert run_module(efs_filesystem, args(file_system_policy=wanted)).result["changed"] is True
    read = run_module(efs_filesystem, args()).result  # what efs_storage's start returns
    arn = read["file_system_arn"]
    assert read["file_system_policy"]["Statement"][0]["Resource"] == arn
    assert efs_policy_is_current(read["file_system_policy"], wanted, arn)
    assert efs_policy_is_current(read["file_system_policy"], json.dumps(wanted), arn)
    # The module agrees: asked the same policy again, it changes nothing.
    assert run_module(efs_filesystem, args(file_system_policy=wanted)).result["changed"] is False

    opened = json.loads(json.dumps(wanted))
    opened["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::123456789012:role/other"}
    assert not efs_policy_is_current(read["file_system_policy"], opened, arn)
    with pytest.raises(AnsibleFilterError, match="file_system_policy is not valid JSON"):
        efs_policy_is_current(read["file_system_policy"], "{not json", arn)

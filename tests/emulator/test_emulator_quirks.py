"""Where plain moto answers unlike AWS: AMIs, AWS Backup, IAM OIDC providers, EFS mount targets, security
group rule descriptions."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client, fast, transition

from emulator.launcher import Emulator

pytestmark = pytest.mark.emulator

Names = Callable[[str], str]


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


@pytest.fixture
def instance(aws: Client) -> str:
    reservation = aws("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    return str(reservation["Instances"][0]["InstanceId"])


def test_rule_description_updates_answer_return(aws: Client, unique: Names) -> None:
    """amazon.aws.ec2_security_group reads Return when it describes an existing rule (a group's default
    egress rule, given a description)."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName=unique("sg"), Description="d", VpcId=vpc)["GroupId"]
    everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "out"}]}
    described = ec2.update_security_group_rule_descriptions_egress(GroupId=group, IpPermissions=[everything])
    assert described["Return"]
    [egress] = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"]
    assert egress["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "out"}]
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[https])
    https["IpRanges"] = [{"CidrIp": "192.0.2.0/24", "Description": "users"}]
    assert ec2.update_security_group_rule_descriptions_ingress(GroupId=group, IpPermissions=[https])["Return"]


def test_ami_names_are_unique_per_account_and_region(aws: Client, instance: str, unique: Names) -> None:
    ec2, name = aws("ec2"), unique("demo")
    image = ec2.create_image(InstanceId=instance, Name=name)["ImageId"]
    with pytest.raises(ClientError) as created_twice:
        ec2.create_image(InstanceId=instance, Name=name)
    assert error_code(created_twice) == "InvalidAMIName.Duplicate"
    with pytest.raises(ClientError) as registered_twice:
        ec2.register_image(Name=name)
    assert error_code(registered_twice) == "InvalidAMIName.Duplicate"

    ec2.deregister_image(ImageId=image)
    image = ec2.create_image(InstanceId=instance, Name=name)["ImageId"]  # free again once deregistered
    with pytest.raises(ClientError) as copied_in_place:
        ec2.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name=name)
    assert error_code(copied_in_place) == "InvalidAMIName.Duplicate"
    assert aws("ec2", region="eu-west-1").copy_image(SourceImageId=image, SourceRegion="us-east-1", Name=name)


def test_create_image_tags_the_image_and_its_snapshot(aws: Client, instance: str, unique: Names) -> None:
    ec2 = aws("ec2")
    image_id = ec2.create_image(
        InstanceId=instance,
        Name=unique("demo"),
        TagSpecifications=[
            {"ResourceType": "image", "Tags": [{"Key": "version", "Value": "1.0"}]},
            {"ResourceType": "snapshot", "Tags": [{"Key": "built-by", "Value": "ami_demo"}]},
        ],
    )["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[image_id], WaiterConfig=fast())
    [image] = ec2.describe_images(ImageIds=[image_id])["Images"]
    assert image["Tags"] == [{"Key": "version", "Value": "1.0"}]
    snapshot_id = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    [snapshot] = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    assert {"Key": "built-by", "Value": "ami_demo"} in snapshot["Tags"]


def test_backup_answers_a_missing_vault_with_access_denied(aws: Client, unique: Names) -> None:
    backup, missing = aws("backup"), unique("vault")
    for call in (
        lambda: backup.describe_backup_vault(BackupVaultName=missing),
        lambda: backup.get_backup_vault_notifications(BackupVaultName=missing),
        lambda: backup.get_backup_vault_access_policy(BackupVaultName=missing),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert error_code(denied) == "AccessDeniedException"
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_backup_vault_notifications_and_access_policy(aws: Client, unique: Names) -> None:
    backup, name = aws("backup"), unique("vault")
    backup.create_backup_vault(BackupVaultName=name)
    with pytest.raises(ClientError) as none_yet:
        backup.get_backup_vault_notifications(BackupVaultName=name)
    assert error_code(none_yet) == "ResourceNotFoundException"

    topic = "arn:aws:sns:us-east-1:123456789012:backup-failed"
    backup.put_backup_vault_notifications(
        BackupVaultName=name, SNSTopicArn=topic, BackupVaultEvents=["BACKUP_JOB_FAILED"]
    )
    notifications = backup.get_backup_vault_notifications(BackupVaultName=name)
    assert (notifications["SNSTopicArn"], notifications["BackupVaultEvents"]) == (
        topic,
        ["BACKUP_JOB_FAILED"],
    )

    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    backup.put_backup_vault_access_policy(BackupVaultName=name, Policy=policy)
    assert backup.get_backup_vault_access_policy(BackupVaultName=name)["Policy"] == policy
    backup.delete_backup_vault_access_policy(BackupVaultName=name)
    backup.delete_backup_vault_notifications(BackupVaultName=name)
    with pytest.raises(ClientError) as removed:
        backup.get_backup_vault_access_policy(BackupVaultName=name)
    assert error_code(removed) == "ResourceNotFoundException"


def test_oidc_provider_client_ids_thumbprints_and_missing_provider(aws: Client, unique: Names) -> None:
    iam = aws("iam")
    url = f"https://oidc.eks.us-east-1.amazonaws.com/id/{unique('ISSUER')}"
    arn = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="hub")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="hub")  # idempotent
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com"
    )
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=["b" * 40])
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (provider["ClientIDList"], provider["ThumbprintList"]) == (["hub"], ["b" * 40])

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    for call in (iam.delete_open_id_connect_provider, iam.get_open_id_connect_provider):
        with pytest.raises(ClientError) as missing:
            call(OpenIDConnectProviderArn=arn)
        assert error_code(missing) == "NoSuchEntity"


def test_mount_target_needs_an_available_file_system(
    aws: Client, fidelity_emulator: Emulator, subnets: list[str], unique: Names
) -> None:
    efs = aws("efs")
    with transition(
        fidelity_emulator.endpoint, "efs::file-system.create", {"progression": "time", "seconds": 60}
    ):
        file_system = efs.create_file_system(CreationToken=unique("homes"))["FileSystemId"]
    with pytest.raises(ClientError) as refused:
        efs.create_mount_target(FileSystemId=file_system, SubnetId=subnets[0])
    assert error_code(refused) == "IncorrectFileSystemLifeCycleState"

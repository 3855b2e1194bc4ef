"""inventories/example-single-node converged against an emulated account, as an operator makes it ready
(issue 19): the AWS stages with the hub's EC2 host (the hub stage, which needs the host booted, is left
out), a second converge that changes nothing, then the teardown. The account is read back with boto3:
the host's security settings, the file system admitting the host's security group and role only, the
host's role allowed on that file system only; after the teardown, no host, group or role is left.

The emulator has no Debian image: the host is started from its Ubuntu image. No machine stands behind
the instance, so no host keys are read (ec2_hub_host_known_hosts_file "").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_run import EMULATED_HUB_HOST_IMAGE, WITHOUT_HUB, operator_copy, run_playbook

from emulator.launcher import Emulator

pytestmark = pytest.mark.e2e

SITE = "hst-small"
REGION = "us-east-1"
HOST = f"{SITE}-hub"
ROLE = f"{HOST}-hub-host"
EMULATED = {**EMULATED_HUB_HOST_IMAGE, "ec2_hub_host_known_hosts_file": ""}


def read_account(emulator: Emulator) -> dict[str, Any]:
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ec2 = session.client("ec2", endpoint_url=emulator.endpoint)
    iam = session.client("iam", endpoint_url=emulator.endpoint)
    efs = session.client("efs", endpoint_url=emulator.endpoint)
    instances = [
        i
        for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [HOST]}])["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    file_systems = efs.describe_file_systems()["FileSystems"]
    fs = next((f for f in file_systems if f.get("Name") == f"{SITE}-homes"), None)
    return {
        "instances": instances,
        "groups": groups,
        "roles": roles,
        "profiles": {p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]},
        "host_policy": (
            iam.get_role_policy(RoleName=ROLE, PolicyName=ROLE)["PolicyDocument"] if ROLE in roles else None
        ),
        "host_role_arn": iam.get_role(RoleName=ROLE)["Role"]["Arn"] if ROLE in roles else None,
        "file_system": fs,
        "fs_policy": (
            json.loads(efs.describe_file_system_policy(FileSystemId=fs["FileSystemId"])["Policy"])
            if fs
            else None
        ),
    }


def test_single_node_site_converges_with_its_host_and_tears_down(emulator: Emulator, tmp_path: Path) -> None:
    site = operator_copy("example-single-node", tmp_path)

    def run(playbook: str, *args: str, **extra: Any) -> Any:
        return run_playbook(
            playbook,
            site=site.inventory,
            state_dir=emulator.state_dir,
            extra_vars={"site_aws_environment": emulator.client_env(), **EMULATED, **extra},
            args=args,
            env=site.env,
        )

    first = run("site.yml", *WITHOUT_HUB)
    assert first.returncode == 0, first.output[-4000:]
    account = read_account(emulator)

    (host,) = account["instances"]
    assert host["MetadataOptions"]["HttpTokens"] == "required"
    assert host["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert host["KeyName"] == "hst-small-operators"
    assert host.get("PublicIpAddress")
    host_group = account["groups"][f"{HOST}-hub"]
    assert [g["GroupId"] for g in host["SecurityGroups"]] == [host_group["GroupId"]]
    ingress = sorted(
        (p["FromPort"], r["CidrIp"]) for p in host_group["IpPermissions"] for r in p.get("IpRanges", [])
    )
    assert ingress == [(22, "198.51.100.7/32"), (443, "0.0.0.0/0")]

    # The file system admits NFS from the host's group only, and mounts by the host's role only.
    nfs = account["groups"][f"{SITE}-homes-efs"]["IpPermissions"]
    assert [pair["GroupId"] for p in nfs for pair in p["UserIdGroupPairs"]] == [host_group["GroupId"]]
    allow = next(s for s in account["fs_policy"]["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"]["AWS"] in ([account["host_role_arn"]], account["host_role_arn"])
    # The host's role mounts that file system only.
    (mount,) = [s for s in account["host_policy"]["Statement"] if s["Sid"] == "MountTheHomes"]
    assert mount["Resource"] == account["file_system"]["FileSystemArn"]

    second = run("site.yml", *WITHOUT_HUB)
    assert second.returncode == 0, second.output[-4000:]
    assert second.recap["localhost"]["changed"] == 0, [
        f"{role}: {tasks}" for role, tasks in second.changed_tasks_by_role.items()
    ]
    assert [i["InstanceId"] for i in read_account(emulator)["instances"]] == [host["InstanceId"]]

    down = run("teardown.yml", teardown_confirm=SITE)
    assert down.returncode == 0, down.output[-4000:]
    after = read_account(emulator)
    assert after["instances"] == []
    assert f"{HOST}-hub" not in after["groups"]
    assert ROLE not in after["roles"] and ROLE not in after["profiles"]
    assert after["file_system"] is not None  # the homes are kept

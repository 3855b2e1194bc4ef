"""The README's first step for a real site: `site.yml --check --diff` on an empty account.

The example inventories are planned against an empty emulated account: every stage runs through, says
what it would create, shows "(known after apply)" where an ID, ARN or endpoint exists only once
created (as Terraform's plan does), and the account is still empty afterwards. The real single-node
site's plan includes its hub's EC2 host (the host stage) and no cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible_run import EMULATED_HUB_HOST_IMAGE, ROOT, operator_copy, run_playbook

from emulator.launcher import Emulator

KNOWN_AFTER_APPLY = "(known after apply)"
# Each stage's role, which must report something it would create.
STAGE_ROLES = {
    "network": "aws_network",
    "cluster": "eks_cluster",
    "storage": "efs_storage",
    "backup": "backup",
    "images": "image_pipeline",
    "hub": "jupyterhub",
    "monitoring": "cloudwatch_alarms",
}


def account_resources(emulator: Emulator, region: str) -> dict[str, list[str]]:
    """What a site creates, as found in the emulated account (default VPC and AWS's own left out)."""
    session = boto3.session.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=emulator.endpoint)

    ec2, iam = client("ec2"), client("iam")
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "security_groups": [
            g["GroupId"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"
        ],
        "addresses": [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]],
        "instances": [
            i["InstanceId"]
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
        "instance_profiles": [
            p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
        ],
        "clusters": client("eks").list_clusters()["clusters"],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-")],
        "oidc": [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]],
        "kms_aliases": [
            a["AliasName"]
            for a in client("kms").list_aliases()["Aliases"]
            if not a["AliasName"].startswith("alias/aws/")
        ],
        "file_systems": [f["FileSystemId"] for f in client("efs").describe_file_systems()["FileSystems"]],
        "vaults": [v["BackupVaultName"] for v in client("backup").list_backup_vaults()["BackupVaultList"]],
        "plans": [p["BackupPlanId"] for p in client("backup").list_backup_plans()["BackupPlansList"]],
        "repositories": [r["repositoryName"] for r in client("ecr").describe_repositories()["repositories"]],
        "topics": [t["TopicArn"] for t in client("sns").list_topics()["Topics"]],
        "alarms": [a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]],
    }


def validation_tasks(role: str) -> list[str]:
    """The names of the tasks in a role's tasks/validate.yml."""
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / "validate.yml").read_text())
    return [task["name"] for task in tasks]


@pytest.mark.emulator
def test_check_mode_plans_a_new_site_and_changes_nothing(site_emulator: Emulator, tmp_path: Path) -> None:
    """The example as an operator makes it ready (secrets filled in, vault file encrypted)."""
    site_emulator.reset()
    example = operator_copy("example", tmp_path)
    region = "us-east-1"
    before = account_resources(site_emulator, region)
    account = boto3.client(
        "sts",
        region_name=region,
        endpoint_url=site_emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_caller_identity()["Account"]
    run = run_playbook(
        "site.yml",
        site=example.inventory,
        state_dir=site_emulator.state_dir,
        extra_vars={
            "site_aws_environment": site_emulator.client_env(),
            # The example names a placeholder account; the images stage checks the registry is this one's.
            "image_pipeline_registry": f"{account}.dkr.ecr.{region}.amazonaws.com",
        },
        args=("--check", "--diff"),
        env=example.env,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert run.recap["localhost"]["failed"] == 0

    # Every stage says what it would create.
    changed = run.changed_tasks_by_role
    silent = {stage: role for stage, role in STAGE_ROLES.items() if not changed.get(role)}
    assert not silent, f"stages with nothing they would create: {silent}"
    assert "would create, once the file system exists" in run.output  # mount targets, access points

    # IDs the network and the cluster would get are marked, not empty, in the diffs downstream.
    assert "subnets: ['', '', '']" not in run.output
    diff_lines = [line for line in run.output.splitlines() if line.startswith("+")]
    marked = [line for line in diff_lines if KNOWN_AFTER_APPLY in line]
    assert marked, run.output[-4000:]
    assert any("vpc_id: (known after apply)" in line for line in diff_lines)  # the NFS security group
    assert any("role_arn: (known after apply)" in line for line in diff_lines)  # the cluster
    assert any("url: (known after apply)" in line for line in diff_lines)  # the OIDC provider
    assert "would create, once the cluster exists" in run.output  # the hub's release
    assert "would install, once the cluster exists: cluster-autoscaler" in run.output

    # Each stage's inputs are checked once, by the validation play before any stage, not again by its role.
    for role in ("backup", "image_pipeline", "jupyterhub", "cloudwatch_alarms"):
        for check in validation_tasks(role):
            assert run.output.count(f"TASK [{role} : {check}]") == 1, (role, check)

    # And nothing was created.
    assert account_resources(site_emulator, region) == before


@pytest.mark.emulator
def test_the_network_stage_alone_is_planned_without_the_others(
    site_emulator: Emulator, tmp_path: Path
) -> None:
    """`--tags network` (the README's way to run one stage): the other stages' plays skip everything,
    their roles' argument checks included (Ansible tags those `always`), so the storage stage does not
    ask for the cluster's security group, which only the cluster stage provides."""
    stage = "network"
    site_emulator.reset()
    example = operator_copy("example", tmp_path)
    run = run_playbook(
        "site.yml",
        site=example.inventory,
        state_dir=site_emulator.state_dir,
        extra_vars={"site_aws_environment": site_emulator.client_env()},
        args=("--check", "--diff", "--tags", stage),
        env=example.env,
    )
    assert run.returncode == 0, run.output[-4000:]
    others = set(run.changed_tasks_by_role) - {STAGE_ROLES[stage]}
    assert not others, others
    assert run.changed_tasks_by_role.get(STAGE_ROLES[stage]), run.output[-4000:]


@pytest.mark.emulator
def test_check_mode_plans_a_new_single_node_site_with_its_host(
    site_emulator: Emulator, tmp_path: Path
) -> None:
    """inventories/example-single-node as an operator makes it ready: network, host, storage, backup,
    monitoring say what they would create; the host's instance is planned once its security group
    and role exist; the hub stage says what it would configure on that host; no cluster, no images."""
    site_emulator.reset()
    site = operator_copy("example-single-node", tmp_path)
    region = "us-east-1"
    before = account_resources(site_emulator, region)
    run = run_playbook(
        "site.yml",
        site=site.inventory,
        state_dir=site_emulator.state_dir,
        extra_vars={"site_aws_environment": site_emulator.client_env(), **EMULATED_HUB_HOST_IMAGE},
        args=("--check", "--diff"),
        env=site.env,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert run.recap["localhost"]["failed"] == 0

    changed = run.changed_tasks_by_role
    stages = {"aws_network", "ec2_hub_host", "efs_storage", "backup", "cloudwatch_alarms"}
    assert stages <= set(changed), f"stages with nothing they would create: {stages - set(changed)}"
    assert not {"eks_cluster", "image_pipeline"} & set(changed), changed
    host_tasks = changed["ec2_hub_host"]
    assert "Create or update the security group (HTTPS and SSH from the listed addresses only)." in host_tasks
    assert "Create or update the host's IAM role (EC2 may assume it)." in host_tasks
    # The messages as read, whatever the callback's line wrapping and quoting.
    said = " ".join(run.output.replace("''", "'").split())
    assert "would create, once the network and the host's security group, role and instance profile" in said
    assert "IMDSv2 required with hop limit 1, an encrypted 100 GiB gp3 root volume" in said
    assert "would configure, once the host exists: the single-node hub" in said

    diff_lines = [line for line in run.output.splitlines() if line.startswith("+")]
    assert any("vpc_id: (known after apply)" in line for line in diff_lines)  # the host's and the NFS groups

    assert account_resources(site_emulator, region) == before

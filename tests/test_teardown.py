"""playbooks/teardown.yml on the local site (issue 19): the AWS stages converged once against a private
emulator, then torn down the way an operator would: refused without the confirmation, planned in check
mode, stopped half-way and run again, run a second time with nothing left, then with the variables that
delete what a teardown keeps. After each run the emulated account is read back, by the site's tags and
names, to see what is gone and what is kept.

The local site's cluster stage runs against EKS records only (no Kubernetes behind them): nothing here
needs the real cluster, and the storage stage is converged without applying its manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_run import TEST_TIME_SCALE, WITHOUT_HUB, PlaybookRun, run_playbook

from emulator.launcher import Emulator, running_emulator
from runbooks.site import load_site

pytestmark = pytest.mark.emulator

LOCAL = load_site("local")
SITE = LOCAL.var("site_name")
REGION = LOCAL.var("site_region")
COPY_REGION = LOCAL.var("backup_copy_region")
# Converged without Kubernetes behind EKS: the storage stage renders its manifests but applies nothing.
NO_KUBERNETES = {"efs_storage_kubernetes_apply": False}
CONFIRM = {"teardown_confirm": SITE}
# Kept by a teardown without the delete variables.
KEPT = {"file_systems", "vaults", "vault_keys"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(
        tmp_path_factory.mktemp("teardown"), time_scale=TEST_TIME_SCALE, kubernetes=False
    ) as emu:
        yield emu


def teardown(emulator: Emulator, *args: str, **extra_vars: Any) -> PlaybookRun:
    return run_playbook(
        "teardown.yml",
        state_dir=emulator.state_dir,
        extra_vars={**NO_KUBERNETES, **extra_vars},
        args=args,
    )


def client(emulator: Emulator, service: str, region: str = REGION) -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def site_resources(emulator: Emulator) -> dict[str, list[str]]:
    """What of the site exists in the emulated account, found by its tags and names."""
    ec2, iam = client(emulator, "ec2"), client(emulator, "iam")
    tagged = [{"Name": "tag:Site", "Values": [SITE]}]
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs(Filters=tagged)["Vpcs"]]
    clusters = client(emulator, "eks").list_clusters()["clusters"]
    efs = client(emulator, "efs")
    file_systems = [
        f for f in efs.describe_file_systems()["FileSystems"] if f.get("Name", "").startswith(SITE)
    ]
    alarms = client(emulator, "cloudwatch").describe_alarms(AlarmNamePrefix=f"{SITE}-")
    keys = {}
    for region in (REGION, COPY_REGION):
        kms = client(emulator, "kms", region)
        for alias in kms.list_aliases()["Aliases"]:
            if alias["AliasName"].startswith(f"alias/{SITE}") and "TargetKeyId" in alias:
                state = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["KeyState"]
                if state != "PendingDeletion":
                    keys[f"{region}:{alias['AliasName']}"] = state
    account = client(emulator, "sts").get_caller_identity()["Account"]
    return {
        "vpcs": vpcs,
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=tagged)["Subnets"]],
        "route_tables": [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=tagged)["RouteTables"]],
        "internet_gateways": [
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=tagged)["InternetGateways"]
        ],
        "nat_gateways": [
            n["NatGatewayId"]
            for n in ec2.describe_nat_gateways(Filters=tagged)["NatGateways"]
            if n["State"] != "deleted"
        ],
        "addresses": [a["AllocationId"] for a in ec2.describe_addresses(Filters=tagged)["Addresses"]],
        "vpc_endpoints": [
            e["VpcEndpointId"]
            for e in ec2.describe_vpc_endpoints(Filters=tagged)["VpcEndpoints"]
            if e["State"].lower() != "deleted"
        ],
        "security_groups": [
            g["GroupId"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["VpcId"] in vpcs or g["GroupName"].startswith(SITE)
        ],
        "launch_templates": [
            t["LaunchTemplateName"]
            for t in ec2.describe_launch_templates()["LaunchTemplates"]
            if t["LaunchTemplateName"].startswith(SITE)
        ],
        "clusters": clusters,
        "node_groups": [
            group
            for name in clusters
            for group in client(emulator, "eks").list_nodegroups(clusterName=name)["nodegroups"]
        ],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{SITE}-")],
        "oidc_providers": [
            p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        ],
        "log_groups": [
            g["logGroupName"]
            for g in client(emulator, "logs").describe_log_groups()["logGroups"]
            if SITE in g["logGroupName"]
        ],
        "alarms": [a["AlarmName"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]],
        "dashboards": [
            d["DashboardName"]
            for d in client(emulator, "cloudwatch").list_dashboards()["DashboardEntries"]
            if d["DashboardName"] == SITE
        ],
        "budgets": [
            b["BudgetName"]
            for b in client(emulator, "budgets").describe_budgets(AccountId=account).get("Budgets", [])
            if b["BudgetName"].startswith(SITE)
        ],
        "topics": [
            t["TopicArn"]
            for region in (REGION,)
            for t in client(emulator, "sns", region).list_topics()["Topics"]
            if t["TopicArn"].endswith(f":{SITE}-alarms")
        ],
        "repositories": [
            r["repositoryName"] for r in client(emulator, "ecr").describe_repositories()["repositories"]
        ],
        "projects": [
            p for p in client(emulator, "codebuild").list_projects()["projects"] if p.startswith(SITE)
        ],
        "buckets": [
            b["Name"] for b in client(emulator, "s3").list_buckets()["Buckets"] if b["Name"].startswith(SITE)
        ],
        "plans": [
            p["BackupPlanName"] for p in client(emulator, "backup").list_backup_plans()["BackupPlansList"]
        ],
        "parameters": [
            p["Name"]
            for p in client(emulator, "ssm").describe_parameters()["Parameters"]
            if p["Name"].startswith(f"/sciplat/{SITE}/")
        ],
        "file_systems": [f["FileSystemId"] for f in file_systems],
        "mount_targets": [
            m["MountTargetId"]
            for f in file_systems
            for m in efs.describe_mount_targets(FileSystemId=f["FileSystemId"])["MountTargets"]
        ],
        "vaults": [
            f"{region}:{v['BackupVaultName']}"
            for region in (REGION, COPY_REGION)
            for v in client(emulator, "backup", region).list_backup_vaults()["BackupVaultList"]
            if v["BackupVaultName"].startswith(SITE)
        ],
        "vault_keys": sorted(key for key in keys if key.endswith(f"alias/{SITE}-backup")),
        "other_keys": sorted(key for key in keys if not key.endswith(f"alias/{SITE}-backup")),
    }


def recovery_points(emulator: Emulator) -> list[dict[str, Any]]:
    backup = client(emulator, "backup")
    return backup.list_recovery_points_by_backup_vault(BackupVaultName=LOCAL.var("backup_vault_name"))[
        "RecoveryPoints"
    ]


@pytest.fixture(scope="module")
def converged(emulator: Emulator) -> dict[str, list[str]]:
    run = run_playbook("site.yml", state_dir=emulator.state_dir, extra_vars=NO_KUBERNETES, args=WITHOUT_HUB)
    assert run.returncode == 0, run.output[-6000:]
    built = site_resources(emulator)
    empty = sorted(kind for kind, found in built.items() if not found)
    assert empty == [], f"the converge made none of: {empty}"
    # A file in the homes, for the final backup to take.
    home = emulator.state_dir / "efs" / built["file_systems"][0] / "home" / "astro1"
    home.mkdir(parents=True, exist_ok=True)
    (home / "notes.txt").write_text("kept through the teardown\n")
    return built


def test_refuses_without_confirmation_or_with_a_variable_naming_another_site(
    emulator: Emulator, converged: dict[str, list[str]]
) -> None:
    unconfirmed = teardown(emulator)
    assert unconfirmed.returncode != 0
    assert f"-e teardown_confirm={SITE}" in unconfirmed.output, unconfirmed.output[-3000:]
    assert unconfirmed.changed == 0

    other_site = teardown(emulator, **CONFIRM, teardown_delete_home_filesystem="another-site")
    assert other_site.returncode != 0
    assert "teardown_delete_home_filesystem is 'another-site'" in other_site.output, other_site.output[-3000:]
    assert other_site.changed == 0
    assert site_resources(emulator) == converged


def test_check_mode_lists_what_would_go_and_deletes_nothing(
    emulator: Emulator, converged: dict[str, list[str]]
) -> None:
    run = teardown(emulator, "--check", "--diff")
    assert run.returncode == 0, run.output[-4000:]
    assert run.changed > 0
    assert "DELETE its 3 mount target(s)" in run.output
    assert "KEEP EFS file system" in run.output
    assert site_resources(emulator) == converged
    assert recovery_points(emulator) == []


def test_an_interrupted_teardown_finishes_when_run_again_keeping_homes_and_vaults(
    emulator: Emulator, converged: dict[str, list[str]]
) -> None:
    # Stopped after the storage stage: the cluster and the network are still there.
    first = teardown(emulator, "--tags", "monitoring,hub,images,backup,storage", **CONFIRM)
    assert first.returncode == 0, first.output[-4000:]
    halfway = site_resources(emulator)
    assert halfway["clusters"] and halfway["vpcs"] and not halfway["alarms"] and not halfway["mount_targets"]

    again = teardown(emulator, **CONFIRM)
    assert again.returncode == 0, again.output[-4000:]
    left = {kind: found for kind, found in site_resources(emulator).items() if found}
    assert left == {kind: converged[kind] for kind in KEPT}

    # The final backup: one recovery point of the home file system, taken before its mount targets went.
    points = recovery_points(emulator)
    assert [p["ResourceArn"].rsplit("/", 1)[-1] for p in points] == converged["file_systems"]
    assert points[0]["Status"] == "COMPLETED"
    fs_dir = Path(emulator.state_dir) / "efs" / converged["file_systems"][0]
    assert (fs_dir / "home" / "astro1" / "notes.txt").read_text() == "kept through the teardown\n"


def test_a_second_teardown_has_nothing_left_to_change(emulator: Emulator) -> None:
    run = teardown(emulator, **CONFIRM)
    assert run.returncode == 0, run.output[-4000:]
    assert run.changed == 0, run.output[-4000:]
    assert len(recovery_points(emulator)) == 1  # no second "final" backup


def test_the_delete_variables_remove_the_home_file_system_and_the_vaults(emulator: Emulator) -> None:
    run = teardown(
        emulator, **CONFIRM, teardown_delete_home_filesystem=SITE, teardown_delete_backup_vault=SITE
    )
    assert run.returncode == 0, run.output[-4000:]
    left = {kind: found for kind, found in site_resources(emulator).items() if found}
    assert left == {}

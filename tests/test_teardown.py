"""playbooks/teardown.yml on the local site (issue 19): the AWS stages converged once against a private
emulator, then torn down the way an operator would: refused without the confirmation (and with bad
variables, all named in one run), planned in check mode, stopped half-way and run again, then run with
the variables that delete what a teardown keeps. After each run the emulated account is read back, by
the site's tags and names, to see what is gone and what is kept.

Six playbook runs in all (one converge, five teardowns), each proving more than one thing: a re-run of a
stage is shown to change nothing by the run after it (the stages the interrupted run finished, in the
run that completes it; the last two stages, and everything but what the delete variables delete, in
the run with those variables), rather than by a run of its own.

The local site's cluster stage runs against EKS records only (no Kubernetes behind them): nothing here
needs the real cluster, and the storage stage is converged without applying its manifests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_run import WITHOUT_HUB, WITHOUT_KUBERNETES, PlaybookRun, run_playbook

from emulator.launcher import Emulator
from runbooks.site import load_site

pytestmark = pytest.mark.e2e

LOCAL = load_site("local")
SITE = LOCAL.var("site_name")
REGION = LOCAL.var("site_region")
COPY_REGION = LOCAL.var("backup_copy_region")
CONFIRM = {"teardown_confirm": SITE}
# Kept by a teardown without the delete variables.
KEPT = {"file_systems", "vaults", "vault_keys"}
# The role behind each stage of playbooks/teardown.yml (the local site's hub, single node, has none in AWS).
STAGES = {
    "monitoring": "cloudwatch_alarms",
    "images": "image_pipeline",
    "backup": "backup",
    "storage": "efs_storage",
    "cluster": "eks_cluster",
    "network": "aws_network",
}
# The run that is interrupted stops after the storage stage.
FIRST_STAGES = ("monitoring", "hub", "images", "backup", "storage")
# The tasks that delete what a teardown keeps, by stage: all that may change when the delete variables
# are given after a completed teardown.
DELETES_KEPT = {
    "backup": {
        "Delete every recovery point in the vault.",
        "Delete every recovery point in the copy vault.",
        "Delete the vault.",
        "Delete the copy vault.",
        "Schedule the deletion of the key that encrypted the vault.",
        "Schedule the deletion of the key that encrypted the copy vault.",
    },
    "storage": {"Delete the access points.", "Delete the file system and its mount targets."},
}


def teardown(emulator: Emulator, *args: str, **extra_vars: Any) -> PlaybookRun:
    return run_playbook(
        "teardown.yml",
        state_dir=emulator.state_dir,
        extra_vars={**WITHOUT_KUBERNETES, **extra_vars},
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
    run = run_playbook(
        "site.yml", state_dir=emulator.state_dir, extra_vars=WITHOUT_KUBERNETES, args=WITHOUT_HUB
    )
    assert run.returncode == 0, run.output[-6000:]
    built = site_resources(emulator)
    empty = sorted(kind for kind, found in built.items() if not found)
    assert empty == [], f"the converge made none of: {empty}"
    # A file in the homes, for the final backup to take.
    home = emulator.state_dir / "efs" / built["file_systems"][0] / "home" / "astro1"
    home.mkdir(parents=True, exist_ok=True)
    (home / "notes.txt").write_text("kept through the teardown\n")
    return built


def test_refuses_naming_every_bad_variable_and_the_missing_confirmation(
    emulator: Emulator, converged: dict[str, list[str]]
) -> None:
    """One run, three reasons to stop, each named; nothing changes."""
    run = teardown(emulator, teardown_delete_home_filesystem="another-site", teardown_final_backup="maybe")
    assert run.returncode != 0
    for words in (
        "teardown_delete_home_filesystem is 'another-site', but this is site",
        "teardown_final_backup is true or false, not 'maybe'",
        f"-e teardown_confirm={SITE}",
        "Nothing was changed.",
    ):
        assert words in run.output, run.output[-3000:]
    assert run.changed == 0
    assert site_resources(emulator) == converged


def test_check_mode_lists_what_would_go_and_deletes_nothing(
    emulator: Emulator, converged: dict[str, list[str]]
) -> None:
    run = teardown(emulator, "--check", "--diff")
    assert run.returncode == 0, run.output[-4000:]
    assert set(run.changed_tasks_by_role) >= set(STAGES.values())  # every stage but the hub's has work
    assert "DELETE its 3 mount target(s)" in run.output
    assert "KEEP EFS file system" in run.output
    assert site_resources(emulator) == converged
    assert recovery_points(emulator) == []


@pytest.fixture(scope="module")
def kept(emulator: Emulator, converged: dict[str, list[str]]) -> dict[str, Any]:
    """A teardown stopped after the storage stage, then run again to the end, keeping homes and vaults."""
    first = teardown(emulator, "--tags", ",".join(FIRST_STAGES), **CONFIRM)
    assert first.returncode == 0, first.output[-4000:]
    halfway = site_resources(emulator)
    again = teardown(emulator, **CONFIRM)
    assert again.returncode == 0, again.output[-4000:]
    return {"first": first, "halfway": halfway, "again": again}


def test_an_interrupted_teardown_finishes_when_run_again_keeping_homes_and_vaults(
    emulator: Emulator, converged: dict[str, list[str]], kept: dict[str, Any]
) -> None:
    halfway = kept["halfway"]
    assert halfway["clusters"] and halfway["vpcs"] and not halfway["alarms"] and not halfway["mount_targets"]
    assert {kind: halfway[kind] for kind in KEPT} == {kind: converged[kind] for kind in KEPT}

    left = {kind: found for kind, found in site_resources(emulator).items() if found}
    assert left == {kind: converged[kind] for kind in KEPT}

    # Run again, the stages the first run finished have nothing left to change (the same holds for the
    # last two stages: the run with the delete variables below changes nothing there).
    changed = kept["again"].changed_tasks_by_role
    assert set(changed) == {STAGES["cluster"], STAGES["network"]}, changed

    # The final backup: one recovery point of the home file system, taken before its mount targets went,
    # and none taken again once they had gone.
    points = recovery_points(emulator)
    assert [p["ResourceArn"].rsplit("/", 1)[-1] for p in points] == converged["file_systems"]
    assert points[0]["Status"] == "COMPLETED"
    fs_dir = Path(emulator.state_dir) / "efs" / converged["file_systems"][0]
    assert (fs_dir / "home" / "astro1" / "notes.txt").read_text() == "kept through the teardown\n"


def test_the_delete_variables_remove_the_home_file_system_and_the_vaults(
    emulator: Emulator, kept: dict[str, Any]
) -> None:
    run = teardown(
        emulator, **CONFIRM, teardown_delete_home_filesystem=SITE, teardown_delete_backup_vault=SITE
    )
    assert run.returncode == 0, run.output[-4000:]
    left = {kind: found for kind, found in site_resources(emulator).items() if found}
    assert left == {}

    # Only what the earlier runs kept goes: every other task of every stage changes nothing on this
    # third run (a completed teardown re-run reports nothing left to change), and no second final backup.
    changed = run.changed_tasks_by_role
    assert set(changed) == {STAGES["backup"], STAGES["storage"]}, changed
    assert set(changed[STAGES["backup"]]) <= DELETES_KEPT["backup"], changed
    assert set(changed[STAGES["storage"]]) <= DELETES_KEPT["storage"], changed

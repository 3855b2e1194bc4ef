"""A bad inventory fails before any change, naming the variable and what it accepts.

Each case overrides the local site's inventory with extra vars, runs playbooks/validate.yml (the play
playbooks/site.yml runs first: test_site_runs_validation_first), and checks the failure message;
afterwards the emulated account must hold nothing the site would create. One case goes through
site.yml itself. validate.yml rather than site.yml for every case: parsing the whole site costs each
run about 4 s more and would test nothing more.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible_run import ROOT, assert_fails_before_any_change, operator_copy, run_playbook

from emulator.launcher import Emulator
from runbooks.site import load_site

LOCAL = load_site("local")
NODE_GROUPS: list[dict[str, Any]] = LOCAL.var("eks_cluster_node_groups")


def node_groups_with(index: int, **changes: Any) -> list[dict[str, Any]]:
    groups = copy.deepcopy(NODE_GROUPS)
    groups[index].update(changes)
    return groups


# (case id, extra vars, words the error must contain)
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("vpc-cidr-invalid", {"aws_network_vpc_cidr": "10.0.0.0/33"}, ["aws_network_vpc_cidr"]),
    ("vpc-cidr-not-a-network", {"aws_network_vpc_cidr": "banana"}, ["aws_network_vpc_cidr"]),
    (
        "subnet-outside-vpc",
        {"aws_network_private_subnet_cidrs": ["10.0.0.0/19", "10.0.32.0/19", "192.168.0.0/19"]},
        ["aws_network_private_subnet_cidrs", "192.168.0.0/19"],
    ),
    (
        "subnets-overlap",
        {"aws_network_private_subnet_cidrs": ["10.0.0.0/19", "10.0.16.0/20", "10.0.64.0/19"]},
        ["overlap", "10.0.16.0/20"],
    ),
    (
        "subnet-count-not-az-count",
        {"aws_network_private_subnet_cidrs": ["10.0.0.0/19", "10.0.32.0/19"]},
        ["aws_network_private_subnet_cidrs", "aws_network_az_count"],
    ),
    ("az-count-wrong-type", {"aws_network_az_count": "three"}, ["aws_network_az_count"]),
    ("network-prune-not-a-boolean", {"aws_network_prune": "sometimes"}, ["aws_network_prune", "bool"]),
    ("az-count-not-allowed", {"aws_network_az_count": 5}, ["aws_network_az_count", "2, 3"]),
    (
        "nat-mode-unknown",
        {"aws_network_nat_gateway_mode": "shared"},
        ["aws_network_nat_gateway_mode", "per_az"],
    ),
    ("region-without-enough-azs", {"site_region": "us-west-1"}, ["aws_network_az_count", "us-west-1"]),
    ("tag-key-missing", {"site_tags": {"Site": "local"}}, ["aws_network_tags", "Owner"]),
    ("kubernetes-version-unknown", {"eks_cluster_version": "1.12"}, ["eks_cluster_version", "1.33"]),
    (
        "node-group-min-above-max",
        {"eks_cluster_node_groups": node_groups_with(0, min_size=5, max_size=2, desired_size=3)},
        ["eks_cluster_node_groups", "min_size", "max_size"],
    ),
    (
        "node-group-desired-outside-range",
        {"eks_cluster_node_groups": node_groups_with(1, min_size=0, max_size=4, desired_size=9)},
        ["eks_cluster_node_groups", "desired_size"],
    ),
    (
        "instance-family-unknown",
        {"eks_cluster_node_groups": node_groups_with(1, instance_types=["zz9.large"])},
        ["eks_cluster_node_groups", "zz9.large"],
    ),
    (
        "capacity-type-unknown",
        {"eks_cluster_node_groups": node_groups_with(1, capacity_type="CHEAP")},
        ["capacity_type", "SPOT"],
    ),
    (
        "node-group-names-duplicate",
        {"eks_cluster_node_groups": node_groups_with(1, name=NODE_GROUPS[0]["name"])},
        ["eks_cluster_node_groups", NODE_GROUPS[0]["name"]],
    ),
    (
        "irsa-role-without-permissions",
        {
            "eks_cluster_service_account_roles": [
                {"name": "local-agent", "service_account": "amazon-cloudwatch/agent"}
            ]
        },
        ["eks_cluster_service_account_roles", "local-agent", "managed_policies"],
    ),
    (
        "aws-network-id-parameter-invalid",
        {"aws_network_id_parameter": "/aws/reserved"},
        ["aws_network_id_parameter", "/sciplat/hst-prod/aws_network/vpc-id"],
    ),
    ("cluster-name-missing", {"eks_cluster_name": ""}, ["eks_cluster_name"]),
    (
        "logging-type-unknown",
        {"eks_cluster_logging_types": ["api", "everything"]},
        ["eks_cluster_logging_types"],
    ),
    # Secure by default (issue 17): what a real site (<role>_enforce_security true) refuses.
    (
        "eks-endpoint-open-to-the-internet",
        {"eks_cluster_enforce_security": True, "eks_cluster_public_access_cidrs": ["0.0.0.0/0"]},
        ["eks_cluster_public_access_cidrs", "0.0.0.0/0", "eks_cluster_endpoint_public_access false", "VPN"],
    ),
    (
        "eks-endpoint-open-to-the-internet-ipv6",
        {
            "eks_cluster_enforce_security": True,
            "eks_cluster_public_access_cidrs": ["198.51.100.0/24", "::/0"],
        },
        ["eks_cluster_public_access_cidrs", "::/0", "bastion"],
    ),
    (
        "efs-policy-any-principal",
        {
            "efs_storage_enforce_security": True,
            "efs_storage_client_role_arns": [],
            "efs_storage_extra_client_principal_arns": [],
        },
        ["efs_storage_client_role_arns", "eks_cluster_out_efs_csi_role_arn", "eks_cluster_out_node_role_arn"],
    ),
    # An output of a stage not run yet reads "": the policy would leave that role out (issue 22).
    (
        "efs-policy-empty-principal",
        {"efs_storage_client_role_arns": ["", "arn:aws:iam::123456789012:role/local-hub-eks-node"]},
        ["efs_storage_client_role_arns[0] is empty", "eks_cluster_out_efs_csi_role_arn"],
    ),
    (
        "efs-policy-star-principal",
        {"efs_storage_extra_client_principal_arns": ["*"]},
        ["efs_storage_extra_client_principal_arns", '"*"'],
    ),
    (
        "efs-mount-without-access-point",
        {"efs_storage_enforce_security": True, "efs_storage_require_access_point": False},
        ["efs_storage_require_access_point", "efs_storage_kubernetes_access_point"],
    ),
    (
        "eks-log-key-without-log-encryption",
        {"eks_cluster_log_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd"},
        ["eks_cluster_log_kms_key_arn", "eks_cluster_log_encryption"],
    ),
    (
        "eks-ebs-default-key-in-another-region",
        {
            "eks_cluster_ebs_encryption_by_default": True,
            "eks_cluster_ebs_default_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd",
        },
        ["eks_cluster_ebs_default_kms_key_arn", "eks_cluster_region", "us-east-1"],
    ),
    (
        "eks-ebs-encryption-not-a-boolean",
        {"eks_cluster_ebs_encryption_by_default": "sometimes"},
        ["eks_cluster_ebs_encryption_by_default"],
    ),
    ("eks-prune-not-a-boolean", {"eks_cluster_prune": "maybe"}, ["eks_cluster_prune", "bool"]),
    (
        "autoscaler-pull-policy-unknown",
        {"eks_cluster_autoscaler_image_pull_policy": "Sometimes"},
        ["eks_cluster_autoscaler_image_pull_policy", "IfNotPresent, Always, Never"],
    ),
    (
        "autoscaler-override-service-unknown",
        {"eks_cluster_autoscaler_service_overrides": [{"service": "s3", "url": "https://s3.example"}]},
        ["eks_cluster_autoscaler_service_overrides", "autoscaling, ec2, eks", "s3"],
    ),
    # The images stage: the kit's base image digest is still a placeholder (docs/environments.md).
    (
        "base-image-digest-placeholder-on-a-real-site",
        {"image_pipeline_enforce_security": True},
        [
            "hst/2026.11/Dockerfile",
            "placeholder digest",
            "image_pipeline_enforce_security",
            "BASE_IMAGE_DIGESTS",
        ],
    ),
    # Home directories and their backups.
    (
        "efs-throughput-mode-unknown",
        {"efs_storage_throughput_mode": "turbo"},
        ["efs_storage_throughput_mode", "elastic"],
    ),
    ("efs-subnets-missing", {"efs_storage_subnet_ids": []}, ["efs_storage_subnet_ids"]),
    (
        "backup-retention-before-cold-storage",
        {
            "backup_rules": [
                {
                    "name": "monthly",
                    "schedule": "cron(0 5 1 * ? *)",
                    "delete_after_days": 20,
                    "move_to_cold_storage_after_days": 30,
                }
            ]
        },
        ["backup_rules", "monthly", "delete_after_days"],
    ),
    (
        "backup-copy-region-unknown",
        {"backup_copy_region": "mars-north-1"},
        ["backup_copy_region", "mars-north-1"],
    ),
    (
        "backup-vault-lock-min-above-max",
        {"backup_vault_lock": {"mode": "governance", "min_retention_days": 400, "max_retention_days": 30}},
        ["backup_vault_lock", "min_retention_days", "max_retention_days"],
    ),
]


def site_resources(emulator: Emulator, region: str) -> dict[str, list[str]]:
    """What the local site would create, as found in the emulated account."""
    session = boto3.session.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ec2 = session.client("ec2", endpoint_url=emulator.endpoint)
    eks = session.client("eks", endpoint_url=emulator.endpoint)
    iam = session.client("iam", endpoint_url=emulator.endpoint)
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "clusters": eks.list_clusters()["clusters"],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-")],
        "oidc": [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]],
        "file_systems": [
            f["FileSystemId"]
            for f in session.client("efs", endpoint_url=emulator.endpoint).describe_file_systems()[
                "FileSystems"
            ]
        ],
        "vaults": [
            v["BackupVaultName"]
            for v in session.client("backup", endpoint_url=emulator.endpoint).list_backup_vaults()[
                "BackupVaultList"
            ]
        ],
    }


@pytest.mark.emulator
@pytest.mark.parametrize(("extra_vars", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_inventory_fails_before_any_change(
    site_emulator: Emulator, extra_vars: dict[str, Any], words: list[str]
) -> None:
    site_emulator.reset()
    region = extra_vars.get("site_region", LOCAL.region)
    assert_fails_before_any_change(
        "validate.yml",
        state_dir=site_emulator.state_dir,
        extra_vars=extra_vars,
        words=words,
        resources=lambda: site_resources(site_emulator, region),
    )


@pytest.mark.emulator
def test_site_runs_validation_first(site_emulator: Emulator) -> None:
    """site.yml imports validate.yml before any stage, so each case above holds for a site run: shown
    with a case of the backup stage, validated after four others, which must stop the run before the
    network stage starts."""
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    assert plays[0]["ansible.builtin.import_playbook"] == "validate.yml"
    site_emulator.reset()
    case_id, extra_vars, words = next(c for c in CASES if c[0] == "backup-copy-region-unknown")
    run = assert_fails_before_any_change(
        "site.yml",
        state_dir=site_emulator.state_dir,
        extra_vars=extra_vars,
        words=words,
        resources=lambda: site_resources(site_emulator, LOCAL.region),
    )
    assert "Build the site's network" not in run.output, case_id


@pytest.mark.emulator
def test_example_inventory_is_refused_until_its_secrets_are_filled_in_and_encrypted(
    site_emulator: Emulator, tmp_path: Path
) -> None:
    """The site to copy, as shipped, is refused (its vault file is plain text with a placeholder);
    once an operator fills in the secret and encrypts the file, it passes validation (its AWS reads go
    to the emulator)."""
    site_emulator.reset()
    aws = {"site_aws_environment": site_emulator.client_env()}
    shipped = run_playbook("validate.yml", site="example", state_dir=site_emulator.state_dir, extra_vars=aws)
    assert shipped.returncode != 0
    plain = "inventories/example/group_vars/all/vault.yml is not encrypted"
    assert plain in shipped.output, shipped.output[-3000:]
    assert "ansible-vault encrypt" in shipped.output

    # Encrypted, but with the placeholder still in it: the hub stage names the variable, not its value.
    placeholder = operator_copy("example", tmp_path / "placeholder")
    run = run_playbook(
        "validate.yml",
        site=placeholder.inventory,
        state_dir=site_emulator.state_dir,
        extra_vars={**aws, "vault_hub_oauth_client_secret": "CHANGE-ME-with-ansible-vault"},
        env=placeholder.env,
    )
    assert run.returncode != 0
    assert "jupyterhub_oauth_client_secret still holds a placeholder" in run.output, run.output[-3000:]
    assert "CHANGE-ME-with-ansible-vault" not in run.output

    ready = operator_copy("example", tmp_path / "ready")
    run = run_playbook(
        "validate.yml", site=ready.inventory, state_dir=site_emulator.state_dir, extra_vars=aws, env=ready.env
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.recap["localhost"]["failed"] == 0


@pytest.mark.emulator
def test_single_node_example_is_refused_until_its_placeholders_are_filled_in(
    site_emulator: Emulator, tmp_path: Path
) -> None:
    """The real single-node site to copy: refused as shipped (plain vault file); with its secret filled
    in and encrypted but the host's placeholders left (no key pair, no SSH addresses), the host stage's
    validation names them; SSH open to the internet is refused; filled in as an operator does, it passes."""
    site_emulator.reset()
    aws = {"site_aws_environment": site_emulator.client_env()}
    site = "example-single-node"
    shipped = run_playbook("validate.yml", site=site, state_dir=site_emulator.state_dir, extra_vars=aws)
    assert shipped.returncode != 0
    plain = f"inventories/{site}/group_vars/all/vault.yml is not encrypted"
    assert plain in shipped.output, shipped.output[-3000:]

    ready = operator_copy(site, tmp_path / "ready")
    host_file = ready.inventory / "group_vars" / "all" / "host.yml"
    filled = host_file.read_text()
    shipped_host = (ROOT / "inventories" / site / "group_vars" / "all" / "host.yml").read_text()
    host_file.write_text(shipped_host)
    run = run_playbook(
        "validate.yml", site=ready.inventory, state_dir=site_emulator.state_dir, extra_vars=aws, env=ready.env
    )
    assert run.returncode != 0
    assert 'ec2_hub_host_key_name is "CHANGE-ME-your-key-pair"' in run.output, run.output[-3000:]
    assert "ec2_hub_host_ssh_cidrs is []: it accepts one or more IPv4 CIDRs" in run.output, run.output[-3000:]

    host_file.write_text(filled)
    run = run_playbook(
        "validate.yml",
        site=ready.inventory,
        state_dir=site_emulator.state_dir,
        extra_vars={**aws, "ec2_hub_host_ssh_cidrs": ["198.51.100.7/32", "0.0.0.0/0"]},
        env=ready.env,
    )
    assert run.returncode != 0
    assert "never a /0 (SSH open to the internet), and not 0.0.0.0/0" in run.output, run.output[-3000:]

    run = run_playbook(
        "validate.yml", site=ready.inventory, state_dir=site_emulator.state_dir, extra_vars=aws, env=ready.env
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.recap["localhost"]["failed"] == 0

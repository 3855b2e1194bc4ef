"""playbooks/ami.yml: a bad inventory fails before any change, naming the variable.

Each case overrides the local site's demo inventory with extra vars and runs the playbook; the error must
name the variable, and the emulated account must hold no builder instance, key pair, security group or image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_run import assert_fails_before_any_change, run_playbook

from emulator.launcher import Emulator

# (case id, extra vars, words the error must contain)
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "base-image-filter-matches-nothing",
        {"ami_demo_base_image_filters": {"name": "no-such-image-*"}},
        ["ami_demo_base_image_filters", "no-such-image-*", "match no image"],
    ),
    ("copy-region-empty", {"ami_demo_copy_regions": ["us-west-2", ""]}, ["ami_demo_copy_regions", '""']),
    (
        "copy-region-is-home",
        {"ami_demo_copy_regions": ["us-east-1"]},
        ["ami_demo_copy_regions", "ami_demo_region"],
    ),
    ("keep-last-zero", {"ami_demo_keep_last": 0}, ["ami_demo_keep_last", "at least 1"]),
    (
        "bucket-upper-case",
        {"demo_host_bucket": "STPubData"},
        ["demo_host_bucket", "STPubData", "bucket name"],
    ),
    (
        "requirements-file-missing",
        {"demo_host_requirements_file": "/nonexistent/environments/demo/2099.1/requirements.lock"},
        [
            "demo_host_requirements_file",
            "/nonexistent/environments/demo/2099.1/requirements.lock",
            "name==version",
        ],
    ),
    (
        "requirements-file-pins-nothing",
        {
            "demo_host_requirements_file": str(
                Path(__file__).resolve().parents[1] / "environments/demo/2026.11/spec.yml"
            )
        },
        ["demo_host_requirements_file", "spec.yml", "name==version"],
    ),
    ("bucket-ip-address", {"demo_host_bucket": "192.168.5.4"}, ["demo_host_bucket", "bucket name"]),
    ("operator-cidr-world", {"ami_demo_operator_cidr": "0.0.0.0/0"}, ["ami_demo_operator_cidr", "0.0.0.0/0"]),
    (
        "launch-account-malformed",
        {"ami_demo_public": False, "ami_demo_launch_accounts": ["12345"]},
        ["ami_demo_launch_accounts", "12345"],
    ),
]


def ami_resources(emulator: Emulator, region: str = "us-east-1") -> dict[str, list[str]]:
    """What a bake creates, as found in the emulated account."""
    ec2 = boto3.client(
        "ec2",
        endpoint_url=emulator.endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    instances = [
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    return {
        "instances": instances,
        "key_pairs": [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]],
        "security_groups": [
            g["GroupName"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"
        ],
        "images": [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]],
    }


@pytest.mark.emulator
@pytest.mark.parametrize(("extra_vars", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_ami_inventory_fails_before_any_change(
    site_emulator: Emulator, extra_vars: dict[str, Any], words: list[str]
) -> None:
    site_emulator.reset()
    assert_fails_before_any_change(
        "ami.yml",
        state_dir=site_emulator.state_dir,
        extra_vars=extra_vars,
        words=words,
        resources=lambda: ami_resources(site_emulator),
    )


@pytest.mark.emulator
def test_example_demo_inventory_is_valid(site_emulator: Emulator) -> None:
    """The example site's demo inputs pass validation up to the base-image lookup (no Debian image here)."""
    site_emulator.reset()
    run = run_playbook(
        "ami.yml",
        site="example",
        state_dir=site_emulator.state_dir,
        extra_vars={"site_aws_environment": site_emulator.client_env()},
        args=("--tags", "ami", "--check"),
    )
    assert "ami_demo_base_image_filters" in run.output, run.output[-3000:]
    assert "debian-12-amd64-*" in run.output
    assert "Check the names, regions, numbers and addresses" in run.output
    assert not any(ami_resources(site_emulator).values())


@pytest.mark.emulator
def test_public_image_refused_where_volumes_are_encrypted_by_default(site_emulator: Emulator) -> None:
    """AWS cannot make an image with encrypted snapshots public: the bake stops before the builder starts."""
    site_emulator.reset()
    boto3.client(
        "ec2",
        endpoint_url=site_emulator.endpoint,
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).enable_ebs_encryption_by_default()
    try:
        assert_fails_before_any_change(
            "ami.yml",
            state_dir=site_emulator.state_dir,
            extra_vars={"ami_demo_public": True, "ami_demo_copy_regions": ["us-west-2"]},
            words=[
                "ami_demo_public",
                "us-west-2",
                "eks_cluster_ebs_encryption_by_default",
                "ami_demo_launch_accounts",
            ],
            resources=lambda: ami_resources(site_emulator),
        )
    finally:
        site_emulator.reset()

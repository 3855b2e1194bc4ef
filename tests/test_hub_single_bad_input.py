"""Bad single-node hub input fails validation, naming the variable and what it accepts.

Runs the role's validation entry points (tasks/validate.yml, tasks/single_node/validate.yml) on the
controller with the local site's inventory: they change nothing, so no host is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible_run import ROOT

PLAYBOOK = """---
- name: Validate the hub's inputs.
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Validate the shared inputs.
      ansible.builtin.include_role:
        name: jupyterhub
        tasks_from: validate
    - name: Validate the single-node inputs.
      ansible.builtin.include_role:
        name: jupyterhub
        tasks_from: single_node/validate
    - name: Say that validation passed.
      ansible.builtin.debug:
        msg: VALIDATION PASSED
"""

# What the local machine would give (the tests need no machine).
GOOD: dict[str, Any] = {
    "jupyterhub_single_node_port": 8000,
    "jupyterhub_single_node_hub_port": 8081,
    "jupyterhub_single_node_proxy_api_port": 8001,
    "jupyterhub_single_node_home_mount_source": "/srv/efs/fs-12345678",
}

# A profile as the single-node backend needs it, for the cases that change one key of it.
PROFILE: dict[str, Any] = {
    "slug": "python",
    "display_name": "Python",
    "image": "quay.io/jupyter/minimal-notebook:2024-12-09",
    "cpu_guarantee": 0.1,
    "cpu_limit": 1,
    "mem_guarantee": "256M",
    "mem_limit": "1G",
}

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "mount-source-empty",
        {"jupyterhub_single_node_home_mount_source": ""},
        ["jupyterhub_single_node_home_mount_source", "amazonaws.com:/"],
    ),
    (
        "mount-source-without-fs-id",
        {"jupyterhub_single_node_home_mount_source": "/srv/efs/"},
        ["jupyterhub_single_node_home_mount_source", "not ending in /"],
    ),
    (
        "nfs4-source-not-server-path",
        {
            "jupyterhub_single_node_home_mount_fstype": "nfs4",
            "jupyterhub_single_node_home_mount_source": "/srv/efs/fs-1",
        },
        ["jupyterhub_single_node_home_mount_source", "SERVER:/PATH"],
    ),
    (
        "fstype-unknown",
        {"jupyterhub_single_node_home_mount_fstype": "cifs"},
        ["jupyterhub_single_node_home_mount_fstype", "nfs4"],
    ),
    ("port-out-of-range", {"jupyterhub_single_node_port": 70000}, ["jupyterhub_single_node_port", "65535"]),
    ("port-zero", {"jupyterhub_single_node_hub_port": 0}, ["jupyterhub_single_node_hub_port", "65535"]),
    (
        "ports-equal",
        {"jupyterhub_single_node_proxy_api_port": 8000},
        ["jupyterhub_single_node_proxy_api_port", "three different ports"],
    ),
    (
        "version-unpinned",
        {"jupyterhub_single_node_jupyterhub_version": ">=5"},
        ["jupyterhub_single_node_jupyterhub_version", "pinned version"],
    ),
    ("https-acm", {"jupyterhub_https": "acm"}, ["jupyterhub_https", "none or self_signed"]),
    (
        "prefix-relative",
        {"jupyterhub_single_node_prefix": "opt/jupyterhub"},
        ["jupyterhub_single_node_prefix", "absolute path"],
    ),
    (
        "user-root",
        {"jupyterhub_allowed_users": ["astro1", "root"]},
        ["jupyterhub_allowed_users", "root"],
    ),
    (
        "kernel-package-unpinned",
        {
            "jupyterhub_profiles": [
                {
                    "slug": "python",
                    "display_name": "Python",
                    "image": "quay.io/jupyter/minimal-notebook:2024-12-09",
                    "cpu_guarantee": 0.1,
                    "cpu_limit": 1,
                    "mem_guarantee": "256M",
                    "mem_limit": "1G",
                    "kernel_packages": ["numpy"],
                }
            ]
        },
        ["kernel_packages", "numpy", "=="],
    ),
    (
        "cost-cap-parameter-relative",
        {"jupyterhub_cost_cap_parameter": "sciplat/local/cost-cap"},
        ["jupyterhub_cost_cap_parameter", "starting with /", "/sciplat/<site>/cost-cap"],
    ),
    (
        "cost-cap-parameter-with-space",
        {"jupyterhub_cost_cap_parameter": "/sciplat/local/cost cap"},
        ["jupyterhub_cost_cap_parameter", "SSM"],
    ),
    (
        "cost-cap-region-not-a-region",
        {"jupyterhub_cost_cap_region": "Virginia"},
        ["jupyterhub_cost_cap_region", "us-east-1"],
    ),
    (
        "aws-environment-bad-name",
        {"jupyterhub_single_node_aws_environment": {"aws endpoint": "http://127.0.0.1:1"}},
        ["jupyterhub_single_node_aws_environment", "aws endpoint", "AWS_DEFAULT_REGION"],
    ),
    (
        "aws-environment-not-a-dict",
        {"jupyterhub_single_node_aws_environment": "AWS_DEFAULT_REGION=us-east-1"},
        ["jupyterhub_single_node_aws_environment", "dict"],
    ),
    (
        "kernel-requirements-file-missing",
        {
            "jupyterhub_profiles": [
                {**PROFILE, "kernel_requirements_file": "environments/hst/1999.1/requirements.lock"}
            ]
        },
        [
            "jupyterhub_profiles",
            "python",
            "kernel_requirements_file",
            "1999.1",
            "not a file on the controller",
        ],
    ),
    (
        "kernel-packages-and-requirements-file",
        {
            "jupyterhub_profiles": [
                {
                    **PROFILE,
                    "kernel_packages": ["tabulate==0.9.0"],
                    "kernel_requirements_file": str(ROOT / "environments/hst/2026.11/requirements.lock"),
                }
            ]
        },
        ["jupyterhub_profiles", "python", "both kernel_packages and kernel_requirements_file", "one of them"],
    ),
    (
        "kernel-requirements-file-without-ipykernel",
        {"jupyterhub_profiles": [{**PROFILE, "kernel_requirements_file": str(ROOT / "requirements.in")}]},
        ["jupyterhub_profiles", "python", "kernel_requirements_file pins no", "ipykernel"],
    ),
    (
        "start-timeout-too-short",
        {"jupyterhub_single_node_start_timeout": 1},
        ["jupyterhub_single_node_start_timeout", "10 to 3600"],
    ),
]


def validate(tmp_path: Path, extra_vars: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "validate.yml"
    playbook.write_text(PLAYBOOK)
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "inventories/local",
            str(playbook),
            "-e",
            json.dumps({**GOOD, **extra_vars}),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_local_site_passes(tmp_path: Path) -> None:
    run = validate(tmp_path, {})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VALIDATION PASSED" in run.stdout


@pytest.mark.parametrize(("overrides", "words"), [(v, w) for _, v, w in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_the_variable(
    tmp_path: Path, overrides: dict[str, Any], words: list[str]
) -> None:
    run = validate(tmp_path, overrides)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "VALIDATION PASSED" not in output
    for word in words:
        assert word in output, f"{word!r} not in:\n{output[-3000:]}"

"""playbooks/ami.yml on the local site: a bake that fails still removes the builder, its key pair and its
security group (block/rescue/always), and registers no image."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from ansible_run import run_playbook
from local_machines import machine_with_host_key
from test_bad_input_ami import ami_resources

from emulator.launcher import Emulator


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.emulator
def test_failed_bake_removes_the_builder_key_and_group(site_emulator: Emulator, tmp_path: Path) -> None:
    site_emulator.reset()
    # A builder whose console prints a host key (the emulator reads it from this machine directory) but whose
    # SSH never answers.
    machine_with_host_key(tmp_path / "builder")
    run = run_playbook(
        "ami.yml",
        state_dir=site_emulator.state_dir,
        extra_vars={
            "ami_demo_builder_ssh_port": closed_port(),
            "ami_demo_ssh_timeout": 5,
            "ami_demo_host_key_timeout": 30,
            "ami_demo_builder_tags": {"emulator:machine": str(tmp_path / "builder")},
        },
    )

    assert run.returncode != 0, run.output[-3000:]
    assert "The bake of local-demo-1.0.0-" in run.output
    assert "failed at 'Wait for the builder's SSH.'" in run.output
    for cleanup in (
        "Terminate the builder.",
        "Delete the builder's security group.",
        "Delete the temporary key pair.",
    ):
        assert f"TASK [ami_demo : {cleanup}]" in run.output, cleanup
    assert ami_resources(site_emulator) == {
        "instances": [],
        "key_pairs": [],
        "security_groups": [],
        "images": [],
    }

"""playbooks/ami.yml checks the builder's SSH host key: a builder whose SSH server presents another key than
the one its console printed is refused at the first connection, and the bake removes what it created.

The SSH server is a real local machine's (docs/hosts.md); the console prints a key made for this test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_run import run_playbook
from local_machines import machine_with_host_key, machines, needs_machines
from test_bad_input_ami import ami_resources

from emulator.launcher import Emulator

pytestmark = needs_machines


@pytest.fixture(scope="module")
def builder_ssh_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A running machine's SSH port (the server the builder's address leads to)."""
    state_dir = tmp_path_factory.mktemp("machines")
    started = machines(state_dir, "start", "builder")
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        yield int((state_dir / "builder" / "ssh_port").read_text())
    finally:
        machines(state_dir, "destroy", "builder")


@pytest.mark.emulator
def test_a_builder_presenting_another_host_key_is_refused(
    site_emulator: Emulator, builder_ssh_port: int, tmp_path: Path
) -> None:
    site_emulator.reset()
    console = tmp_path / "console"
    machine_with_host_key(console)
    run = run_playbook(
        "ami.yml",
        state_dir=site_emulator.state_dir,
        extra_vars={
            "ami_demo_builder_ssh_host": "127.0.0.1",
            "ami_demo_builder_ssh_port": builder_ssh_port,
            "ami_demo_ssh_timeout": 10,
            "ami_demo_host_key_timeout": 30,
            "ami_demo_builder_tags": {"emulator:machine": str(console)},
        },
    )

    assert run.returncode != 0, run.output[-3000:]
    assert "failed at 'Wait for the builder's SSH.'" in run.output, run.output[-3000:]
    assert "SSH reported an unrecognized or mismatching host key" in run.output, run.output[-3000:]
    assert "TASK [ami_demo : Configure the builder as a demo host.]" not in run.output
    nothing = {"instances": [], "key_pairs": [], "security_groups": [], "images": []}
    assert ami_resources(site_emulator) == nothing

"""The local machine tooling: a real systemd boots, answers SSH, sees its bind mounts, powers off."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from local_machines import machines, needs_machines

from machines.machine import Bind, Machine

pytestmark = needs_machines


def test_bind_specs_are_checked() -> None:
    assert Bind.parse("/tmp/a:/srv/a:ro").argument() == "--bind-ro=/tmp/a:/srv/a"
    for bad in ("/tmp/a", "/tmp/a:relative", "/tmp/a:/srv/a:rw", ":/srv/a"):
        with pytest.raises(ValueError, match=r"SOURCE:/TARGET|only option"):
            Bind.parse(bad)


def test_machine_boots_answers_ssh_and_powers_off(tmp_path: Path) -> None:
    state_dir = tmp_path / "machines"
    shared = tmp_path / "shared"
    started = machines(state_dir, "start", "t1", "--port", "web", "--bind", f"{shared}:/srv/shared")
    machine = Machine("t1", state_dir)
    try:
        assert started.returncode == 0, started.stderr
        status = json.loads(machines(state_dir, "status", "t1").stdout)
        assert status["state"] == "running"
        assert set(status["ports"]) == {"ssh", "web"}
        assert status["ports"]["ssh"] != status["ports"]["web"]

        (shared / "from-host.txt").write_text("written on the host\n")
        inside = subprocess.run(
            machine.ssh_argv(
                "systemctl is-system-running --wait; hostname; cat /srv/shared/from-host.txt; "
                "systemd-run --wait --quiet -p MemoryMax=64M -p CPUQuota=50% /bin/true && echo limits-ok; "
                "systemctl --failed --no-legend --plain >&2"
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        # A degraded boot names its failed units (on stderr).
        assert inside.stdout.split() == ["running", "t1", "written", "on", "the", "host", "limits-ok"], inside
        # A second start is a no-op on a running machine.
        assert machines(state_dir, "start", "t1").returncode == 0
    finally:
        stopped = machines(state_dir, "stop", "t1")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stderr
    assert not machine.running()
    assert machines(state_dir, "status", "t1").returncode == 1
    assert machines(state_dir, "destroy", "t1").returncode == 0
    assert not (state_dir / "t1").exists()

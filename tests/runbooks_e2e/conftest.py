"""The local site converged in a private emulator, once per test module of the runbook tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ansible_run import WITHOUT_HUB, run_playbook
from runbooks_site import seed_alice

from emulator.launcher import running_emulator
from runbooks.site import Site, load_site

# Waits are real AWS durations divided by this: every wait loop still polls, the module stays quick.
TIME_SCALE = 300.0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The local site, converged in a private emulator; runs and reports go to a temporary dir."""
    with (
        pytest.MonkeyPatch.context() as env,
        running_emulator(tmp_path_factory.mktemp("runbooks"), time_scale=TIME_SCALE) as emulator,
    ):
        env.setenv("EMULATOR_STATE_DIR", str(emulator.state_dir))
        env.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path_factory.mktemp("runbook-output")))
        env.setenv("SITE_OUTPUT_DIR", str(emulator.state_dir / "site-output"))
        # No hub machine here (the hub stage is skipped): a clone's own .machines/hub, booted by
        # `make demo`, must not lend these tests its address.
        env.setenv("MACHINES_STATE_DIR", str(emulator.state_dir / "machines"))
        run = run_playbook("site.yml", state_dir=emulator.state_dir, args=WITHOUT_HUB)
        assert run.returncode == 0, run.output[-6000:]
        yield load_site("local")


@pytest.fixture(scope="module")
def alice(site: Site) -> dict[str, bytes]:
    """alice's home with three files, backed up; returns what the backup holds."""
    return seed_alice(site)

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.launcher import Emulator, running_emulator

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Provisioning waits are real AWS durations divided by this: high enough to keep the suite quick,
# low enough that every wait loop in the roles really polls.
TEST_TIME_SCALE = float(os.environ.get("EMULATOR_TIME_SCALE", "120"))


@pytest.fixture(scope="session")
def site_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the session's site-level tests; each test resets it as it needs."""
    with running_emulator(tmp_path_factory.mktemp("emulator"), time_scale=TEST_TIME_SCALE) as emulator:
        yield emulator

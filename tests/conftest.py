from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.launcher import Emulator, running_emulator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ansible_run import TEST_TIME_SCALE


@pytest.fixture(scope="session")
def site_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the session's site-level tests; each test resets it as it needs."""
    with running_emulator(tmp_path_factory.mktemp("emulator"), time_scale=TEST_TIME_SCALE) as emulator:
        yield emulator

"""The local hub machine's home bind source after an emulator reset, without a machine or an emulator.

`make host` starts the hub machine with ``--bind $EMULATOR_STATE_DIR/efs:/srv/efs``: the bind holds
that directory (its inode), not its path. A reset (``python -m emulator reset``: moto's reset, then
``efs_data.clear()``) must empty that same directory rather than replace it, or the running machine
keeps a stale one and the next ``make demo`` fails with ``/srv/efs/fs-...: No such file or
directory``. Here an open descriptor of ``efs/`` stands in for the machine's bind mount."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import efs_data


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    efs_data.configure(tmp_path)
    yield tmp_path
    efs_data._root = None  # as before the test: unconfigured


def test_a_file_system_created_after_a_reset_is_seen_through_the_old_bind(state_dir: Path) -> None:
    before = efs_data.create_file_system("fs-before")
    (before / "home").mkdir()
    (before / "home" / "notes.txt").write_text("astro1's notes")
    bind = os.open(state_dir / "efs", os.O_RDONLY | os.O_DIRECTORY)  # what the machine holds
    try:
        efs_data.clear()

        # The bind source still exists, is the same directory, and no longer holds the old data.
        assert (state_dir / "efs").is_dir()
        assert os.stat(state_dir / "efs").st_ino == os.fstat(bind).st_ino
        assert os.listdir(bind) == []

        # The converge after the reset creates a new file system: the machine sees it at /srv/efs/<id>.
        after = efs_data.create_file_system("fs-after")
        (after / "home").mkdir()
        assert os.listdir(bind) == ["fs-after"]
        assert os.listdir(f"/proc/self/fd/{bind}/fs-after") == ["home"]
    finally:
        os.close(bind)


def test_the_bind_source_exists_before_any_file_system_and_a_reset_keeps_it(state_dir: Path) -> None:
    """A fresh state directory has efs/ (the machine can bind it, a runbook's preflight finds it); a
    reset with nothing to empty keeps it; the first file system is made inside it."""
    assert (state_dir / "efs").is_dir() and os.listdir(state_dir / "efs") == []
    inode = os.stat(state_dir / "efs").st_ino
    efs_data.clear()
    assert os.stat(state_dir / "efs").st_ino == inode
    assert efs_data.create_file_system("fs-first") == (state_dir / "efs" / "fs-first").resolve()
    assert (state_dir / "efs" / "fs-first").is_dir()

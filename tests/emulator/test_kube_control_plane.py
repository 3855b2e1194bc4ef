"""A control plane's controller manager or scheduler that exits while the cluster starts is started again,
as a kubelet restarts a static pod (on a busy machine the controller manager gives up on the API server
after 10 s); a component that keeps exiting, or etcd or the API server exiting, is the cluster's failure."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.kube import build
from emulator.kube.control_plane import RESTARTS, ControlPlane, pid_alive, pid_exited

pytestmark = pytest.mark.skipif(bool(build.missing()), reason="Kubernetes components not built (make kube)")


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(tmp_path / "kube" / "restarts", "restarts")
    plane.start("https://127.0.0.1", None)
    try:
        plane.wait_ready()
        yield plane
    finally:
        plane.stop()


def kill(plane: ControlPlane, component: str) -> int:
    pid = int(plane.pid_file(component).read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not pid_exited(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def test_an_exited_scheduler_is_started_again_until_it_has_exited_too_often(plane):
    for _ in range(RESTARTS):
        old = kill(plane, "kube-scheduler")
        assert plane.failure() is None
        new = int(plane.pid_file("kube-scheduler").read_text())
        assert new != old and pid_alive(new, str(plane.cluster_dir))
    kill(plane, "kube-scheduler")
    assert plane.failure().startswith("kube-scheduler of cluster restarts exited")


def test_an_exited_api_server_is_the_clusters_failure_at_once(plane):
    old = kill(plane, "kube-apiserver")
    assert plane.failure().startswith("kube-apiserver of cluster restarts exited")
    assert int(plane.pid_file("kube-apiserver").read_text()) == old

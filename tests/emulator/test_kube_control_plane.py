"""A control plane's controller manager or scheduler that exits while the cluster starts is started again,
as a kubelet restarts a static pod (on a busy machine the controller manager gives up on the API server
after 10 s); a component that keeps exiting, or etcd or the API server exiting, is the cluster's failure."""

from __future__ import annotations

import os
import signal
import time

import pytest
from kube_support import wait_for

from emulator.kube import build
from emulator.kube.control_plane import RESTARTS, ControlPlane, pid_alive, pid_exited

pytestmark = pytest.mark.skipif(bool(build.missing()), reason="Kubernetes components not built (make kube)")


def kill(plane: ControlPlane, component: str) -> int:
    pid = int(plane.pid_file(component).read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not pid_exited(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def test_an_exited_scheduler_is_started_again_until_it_has_exited_too_often(control_plane):
    marker = str(control_plane.cluster_dir)
    for _ in range(RESTARTS):
        old = kill(control_plane, "kube-scheduler")
        assert control_plane.failure() is None
        new = int(control_plane.pid_file("kube-scheduler").read_text())
        assert new != old
        # Until its exec, /proc shows the new process with its parent's command line.
        wait_for(lambda pid=new: pid_alive(pid, marker), 10, f"kube-scheduler {new} to run")
    kill(control_plane, "kube-scheduler")
    assert control_plane.failure().startswith("kube-scheduler of cluster plane exited")


def test_an_exited_api_server_is_the_clusters_failure_at_once(control_plane):
    old = kill(control_plane, "kube-apiserver")
    assert control_plane.failure().startswith("kube-apiserver of cluster plane exited")
    assert int(control_plane.pid_file("kube-apiserver").read_text()) == old

"""One real node (emulator/kube/node.py) against a control plane of its own, without the EKS layer.

The node registers with its labels and taints, runs a pod from the locally built Python image that
writes into a hostPath volume what it read from an HTTP server on loopback (standing for the emulator)
through the node's route at its node IP, and ``stop_node`` leaves no kubelet, containerd, shim or
forwarder behind.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_support import processes, wait_for

from emulator.kube import build, node
from emulator.kube.control_plane import ControlPlane

pytestmark = pytest.mark.skipif(bool(build.missing()), reason="Kubernetes components not built (make kube)")

TAINT = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}


def _api(plane: ControlPlane) -> Any:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(plane.admin_kubeconfig)))


@pytest.fixture
def fake_emulator() -> Iterator[str]:
    """An HTTP server on loopback standing for the emulator: it answers every GET with a fixed text."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"the emulated AWS"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# Writes a file, then what the node's route to the emulator answers (as users' pods set their endpoint).
WRITER = """
import os, urllib.request
open('/out/hello', 'w').write('from a real pod')
with urllib.request.urlopen(os.environ['AWS_ENDPOINT_URL'], timeout=30) as answer:
    open('/out/aws', 'w').write(answer.read().decode())
"""


def _writer_pod(host_dir: Path, emulator_port: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "writer"},
        "spec": {
            "restartPolicy": "Never",
            "tolerations": [{**TAINT, "operator": "Equal"}],
            "containers": [
                {
                    "name": "writer",
                    "image": "docker.io/library/python:3.12-slim",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python3", "-c", WRITER],
                    "env": [
                        {"name": "NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                        {"name": "AWS_ENDPOINT_URL", "value": f"http://$(NODE_IP):{emulator_port}/"},
                    ],
                    "volumeMounts": [{"name": "out", "mountPath": "/out"}],
                }
            ],
            "volumes": [{"name": "out", "hostPath": {"path": str(host_dir), "type": "Directory"}}],
        },
    }


def test_a_real_node_registers_runs_a_pod_and_stops_clean(
    control_plane: ControlPlane, tmp_path: Path, fake_emulator: str
) -> None:
    cluster_dir = control_plane.cluster_dir
    spec = node.NodeSpec(
        name="user-0",
        labels={"hub.jupyter.org/node-purpose": "user"},
        taints=[TAINT],
        pod_cidr="10.244.7.0/24",
    )
    started = time.monotonic()
    try:
        # No EFS here: the node's CSI plugin (and its route) get a server that only answers GET.
        node.start_node(cluster_dir, spec, control_plane.endpoint, fake_emulator)
        ready = time.monotonic() - started
        config = (node.node_dir(cluster_dir, "user-0") / "kubelet" / "config.json").read_text()
        node.start_node(cluster_dir, spec, control_plane.endpoint, fake_emulator)  # idempotent
        # The running kubelet's configuration (its ports) is what the node's directory still says.
        assert (node.node_dir(cluster_dir, "user-0") / "kubelet" / "config.json").read_text() == config
        assert node.running_nodes(cluster_dir) == ["user-0"]
        # Its images came seeded: content blobs hard-linked from the cached root, not imported again.
        root = node.node_dir(cluster_dir, "user-0") / "containerd" / "root"
        blobs = root / "io.containerd.content.v1.content" / "blobs"
        links = [b.stat().st_nlink for b in blobs.rglob("*") if b.is_file()]
        assert links and min(links) >= 2, links

        api = _api(control_plane)
        registered = api.read_node("user-0")
        # The node lifecycle controller lifts its not-ready taint shortly after the node is Ready.
        deadline = time.monotonic() + 60
        while (
            any(t.key == "node.kubernetes.io/not-ready" for t in registered.spec.taints or [])
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
            registered = api.read_node("user-0")
        assert registered.metadata.labels["hub.jupyter.org/node-purpose"] == "user"
        assert [(t.key, t.value, t.effect) for t in registered.spec.taints or []] == [
            (TAINT["key"], TAINT["value"], TAINT["effect"])
        ]
        assert registered.spec.pod_cidr == "10.244.7.0/24"

        host_dir = tmp_path / "out"
        host_dir.mkdir()
        wait_for(lambda: bool(api.list_namespaced_service_account("default").items), 60, "service account")
        api.create_namespaced_pod("default", _writer_pod(host_dir, int(fake_emulator.rsplit(":", 1)[1])))
        wait_for(
            lambda: api.read_namespaced_pod("writer", "default").status.phase in ("Succeeded", "Failed"),
            120,
            "the pod to finish",
        )
        assert api.read_namespaced_pod("writer", "default").status.phase == "Succeeded"
        assert (host_dir / "hello").read_text() == "from a real pod"
        assert (host_dir / "aws").read_text() == "the emulated AWS"  # loopback, reached from the pod
        print(f"node Ready in {ready:.1f} s")
    finally:
        node.stop_node(cluster_dir, "user-0")
    node.stop_node(cluster_dir, "user-0")  # idempotent
    assert node.running_nodes(cluster_dir) == []
    runtime = node.runtime_dir(cluster_dir, "user-0")
    assert processes(node.node_dir(cluster_dir, "user-0")) == []
    assert processes(runtime) == []

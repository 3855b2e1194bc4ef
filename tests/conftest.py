from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.launcher import Emulator, running_emulator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ansible_run import TEST_TIME_SCALE


@pytest.fixture(scope="session")
def site_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the session's site-level tests; each test resets it as it needs."""
    with running_emulator(tmp_path_factory.mktemp("emulator"), time_scale=TEST_TIME_SCALE) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator of the test module's own, without Kubernetes behind EKS, for site runs that make no
    cluster objects (ansible_run.WITHOUT_KUBERNETES). A module whose runs need them defines its own."""
    with running_emulator(
        tmp_path_factory.mktemp("emulator"), time_scale=TEST_TIME_SCALE, kubernetes=False
    ) as emulator:
        yield emulator


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in a thread as an HTTP endpoint (AWS_ENDPOINT_URL): for code that calls AWS without boto3."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # The server shares this process's moto state with @mock_aws tests: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    for key in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real API server (etcd, kube-apiserver, controller manager, scheduler; no nodes): the
    kubernetes client module, an API client and the admin kubeconfig."""
    from kubernetes import client, config

    from emulator.kube import build
    from emulator.kube.control_plane import ControlPlane

    if build.missing():
        pytest.skip("Kubernetes components not built (make kube)")
    plane = ControlPlane(tmp_path_factory.mktemp("api-server") / "cluster", "api-server")
    plane.start("https://oidc.eks.us-east-1.amazonaws.com/id/APISERVER", None)
    try:
        plane.wait_ready()
        yield client, config.new_client_from_config(str(plane.admin_kubeconfig)), plane.admin_kubeconfig
    finally:
        plane.destroy()

"""Start, health-check, reset and stop the emulator as a background process.

State lives in one directory (``EMULATOR_STATE_DIR`` or ``./.emulator``): ``endpoint`` (the URL),
``pid``, ``server.log``. ``make demo``, Molecule and the tests all go through this module.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIME_SCALE = 60.0
START_TIMEOUT = 30.0

# What every local client needs besides the endpoint: the emulator accepts any credentials.
CLIENT_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def default_state_dir() -> Path:
    return Path(os.environ.get("EMULATOR_STATE_DIR", ".emulator")).resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_healthy(endpoint: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_emulator/config", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _exited(pid: int) -> bool:
    """Whether ``pid`` is gone; reaps it if this process started it (else it lingers as a zombie)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:  # started by another process (`python -m emulator start`)
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@dataclass
class Emulator:
    """One emulator process, described by its state directory."""

    state_dir: Path
    time_scale: float = DEFAULT_TIME_SCALE
    # Each EKS cluster is a real Kubernetes cluster (emulator.eks_kubernetes); off: records only.
    kubernetes: bool = True

    @property
    def endpoint_file(self) -> Path:
        return self.state_dir / "endpoint"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    @property
    def endpoint(self) -> str:
        return self.endpoint_file.read_text().strip()

    def client_env(self) -> dict[str, str]:
        """Environment for boto3 / Ansible processes that should talk to this emulator."""
        return {**CLIENT_ENV, "AWS_ENDPOINT_URL": self.endpoint}

    def calls(self) -> dict[str, int]:
        """The AWS API calls answered so far, ``{"ec2 DescribeVpcs": n, ...}`` (emulator.calls)."""
        with urllib.request.urlopen(f"{self.endpoint}/_emulator/calls", timeout=10) as response:
            return dict(json.load(response)["calls"])

    def running(self) -> bool:
        return self.endpoint_file.exists() and self.pid_file.exists() and is_healthy(self.endpoint)

    def start(self, port: int | None = None) -> str:
        """Start the server unless a healthy one already answers; return its endpoint."""
        if self.running():
            return self.endpoint
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        endpoint = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "emulator.server",
            "--port",
            str(port),
            "--time-scale",
            str(self.time_scale),
            "--state-dir",
            str(self.state_dir),
        ]
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
        if not self.kubernetes:
            env["EMULATOR_KUBERNETES"] = "off"
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(  # detached: it outlives `make demo`
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"emulator exited with {process.returncode}; see {self.log_file}")
            if is_healthy(endpoint, timeout=0.5):
                self.endpoint_file.write_text(f"{endpoint}\n")
                return endpoint
            time.sleep(0.1)
        process.kill()
        raise RuntimeError(f"emulator did not answer on {endpoint} within {START_TIMEOUT:.0f} s")

    def reset(self) -> None:
        """Forget every resource (moto's reset), keeping the process."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        # A reset also stops the real clusters behind EKS: seconds each on a busy machine.
        with urllib.request.urlopen(request, timeout=60):
            pass

    def stop(self) -> bool:
        """Stop the server if one runs, and the clusters it left; return whether a server ran."""
        stopped = False
        if self.pid_file.exists():
            stopped = self._stop_server(int(self.pid_file.read_text()))
        self.pid_file.unlink(missing_ok=True)
        self.endpoint_file.unlink(missing_ok=True)
        # The clusters' Kubernetes processes outlive a killed (or crashed) server: stop them by their
        # PID files, also when no server runs any more.
        from emulator.eks_kubernetes import destroy_all

        destroy_all(self.state_dir / "kube")
        return stopped

    @staticmethod
    def _stop_server(pid: int) -> bool:
        """SIGTERM, then SIGKILL after 5 s; whether the process was there."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        for _ in range(50):
            if _exited(pid):
                return True
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return True

    def lifecycle(self) -> list[dict[str, object]]:
        """The provisioning waits the fidelity layer has recorded (see emulator.lifecycle)."""
        with urllib.request.urlopen(f"{self.endpoint}/_emulator/lifecycle", timeout=10) as response:
            return list(json.load(response))


@contextmanager
def running_emulator(
    state_dir: Path, time_scale: float = DEFAULT_TIME_SCALE, kubernetes: bool = True
) -> Iterator[Emulator]:
    """A private emulator for the duration of a ``with`` block (tests)."""
    emulator = Emulator(state_dir, time_scale, kubernetes)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()

"""The control plane of one local cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.

Everything of a cluster lives in its directory (``<emulator state>/kube/<cluster name>``): ``pki/``
(its own CA), ``etcd/`` (data), ``logs/<component>.log``, ``pids/<component>.pid``, ``ports.json``,
``admin.kubeconfig`` (a ``system:masters`` client certificate: the emulator's own access, never an
operator's: operators come in through EKS tokens and access entries). Processes are detached and
stopped by PID; ``stop`` leaves nothing running, ``destroy`` also removes the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from emulator.kube import build, pki

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# The components that wait for the API server and may exit before it is ready: started again (failure()).
RESTARTED = ("kube-controller-manager", "kube-scheduler")
RESTARTS = 5
# EKS's default service range when the VPC is in 10.0.0.0/8.
SERVICE_CIDR = "10.100.0.0/16"
SERVICE_IP = "10.100.0.1"
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and is ours (its command line names ``marker``, against reused PIDs)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    return marker in cmdline and state != "Z"


def pid_exited(pid: int) -> bool:
    """Whether ``pid`` has ended (gone, or a zombie). Not a marker check: a child that has not reached
    its exec yet still shows its parent's command line."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


def spawn(command: list[str], pid_file: Path, log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` detached (its own session, output appended to ``log``); its PID goes to
    ``pid_file``, where ``stop_pid`` finds it."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
        )
    # Renamed into place: a reader (stop_pid, the reconciler, a test) never sees it half-written.
    partial = pid_file.with_name(pid_file.name + ".partial")
    partial.write_text(f"{process.pid}\n")
    partial.rename(pid_file)
    return process


def stop_pid(pid_file: Path, marker: str, grace: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds; removes the pid file. Whether it was running."""
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    settle = time.monotonic() + 2.0  # a child just started shows its parent's command line until its exec
    while not pid_exited(pid) and not pid_alive(pid, marker) and time.monotonic() < settle:
        time.sleep(0.05)
    running = pid_alive(pid, marker)
    if running:
        os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ProcessLookupError):  # a stopped process gets SIGTERM once continued
            os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + grace
        while pid_alive(pid, marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid, marker):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    pid_file.unlink(missing_ok=True)
    return running


@dataclass
class ControlPlane:
    """One cluster's control plane, described by its directory."""

    cluster_dir: Path
    name: str
    # The commands start() ran, and how often failure() started each component again.
    _commands: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _restarts: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def pki(self) -> Path:
        return self.cluster_dir / "pki"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.cluster_dir / "admin.kubeconfig"

    @property
    def ports_file(self) -> Path:
        return self.cluster_dir / "ports.json"

    def log(self, component: str) -> Path:
        return self.cluster_dir / "logs" / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return self.cluster_dir / "pids" / f"{component}.pid"

    def ports(self) -> dict[str, int]:
        """The cluster's loopback ports, chosen once (the endpoint must not move while it exists)."""
        if self.ports_file.exists():
            return dict(json.loads(self.ports_file.read_text()))
        ports = {"apiserver": free_port(), "etcd": free_port(), "etcd_peer": free_port()}
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        self.ports_file.write_text(json.dumps(ports))
        return ports

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.ports()['apiserver']}"

    def prepare(self) -> None:
        """Directories, certificates and kubeconfigs: everything but processes (idempotent)."""
        for sub in ("logs", "pids", "etcd"):
            (self.cluster_dir / sub).mkdir(parents=True, exist_ok=True)
        pki.ensure_ca(self.pki, self.name)
        pki.ensure_service_account_keys(self.pki)
        pki.issue(
            self.pki,
            "apiserver",
            "kube-apiserver",
            hosts=(
                "127.0.0.1",
                "localhost",
                SERVICE_IP,
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            server=True,
        )
        pki.issue(self.pki, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",))
        pki.issue(self.pki, "admin", "sciplat-emulator", ("system:masters",))
        pki.issue(self.pki, "controller-manager", "system:kube-controller-manager")
        pki.issue(self.pki, "scheduler", "system:kube-scheduler")
        for user, path in (
            ("admin", self.admin_kubeconfig),
            ("controller-manager", self.cluster_dir / "controller-manager.kubeconfig"),
            ("scheduler", self.cluster_dir / "scheduler.kubeconfig"),
        ):
            pki.write_kubeconfig(path, self.name, self.endpoint, self.pki, user)

    def write_webhook_config(self, url: str) -> Path:
        """The authentication webhook (the emulator's EKS token reviewer), in kubeconfig form."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "eks-token-review", "cluster": {"server": url}}],
            "users": [{"name": "kube-apiserver", "user": {}}],
            "contexts": [
                {"name": "webhook", "context": {"cluster": "eks-token-review", "user": "kube-apiserver"}}
            ],
            "current-context": "webhook",
        }
        path = self.cluster_dir / "authentication-webhook.kubeconfig"
        path.write_text(json.dumps(config, indent=2))
        return path

    def commands(self, issuer: str, webhook: Path | None) -> dict[str, list[str]]:
        ports, pki_dir, d = self.ports(), self.pki, self.cluster_dir
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd_peer']}"
        apiserver = [
            str(build.binary("kube-apiserver")),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['apiserver']}",
            f"--tls-cert-file={pki_dir / 'apiserver.crt'}",
            f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
            f"--client-ca-file={pki_dir / 'ca.crt'}",
            f"--kubelet-client-certificate={pki_dir / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki_dir / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            f"--service-account-key-file={pki_dir / 'sa.pub'}",
            f"--service-account-signing-key-file={pki_dir / 'sa.key'}",
            f"--service-account-issuer={issuer}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--anonymous-auth=false",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            "--profiling=false",
            "--endpoint-reconciler-type=none",
        ]
        if webhook is not None:
            apiserver += [
                f"--authentication-token-webhook-config-file={webhook}",
                "--authentication-token-webhook-version=v1",
                "--authentication-token-webhook-cache-ttl=30s",
            ]
        return {
            "etcd": [
                "etcd",
                "--name=default",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--log-level=warn",
            ],
            "kube-apiserver": apiserver,
            "kube-controller-manager": [
                str(build.binary("kube-controller-manager")),
                f"--kubeconfig={d / 'controller-manager.kubeconfig'}",
                f"--authentication-kubeconfig={d / 'controller-manager.kubeconfig'}",
                f"--authorization-kubeconfig={d / 'controller-manager.kubeconfig'}",
                "--secure-port=0",
                f"--service-account-private-key-file={pki_dir / 'sa.key'}",
                f"--root-ca-file={pki_dir / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki_dir / 'ca.crt'}",
                f"--cluster-signing-key-file={pki_dir / 'ca.key'}",
                "--use-service-account-credentials=true",
                "--controllers=*,bootstrapsigner,tokencleaner",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--profiling=false",
            ],
            "kube-scheduler": [
                str(build.binary("kube-scheduler")),
                f"--kubeconfig={d / 'scheduler.kubeconfig'}",
                f"--authentication-kubeconfig={d / 'scheduler.kubeconfig'}",
                f"--authorization-kubeconfig={d / 'scheduler.kubeconfig'}",
                "--secure-port=0",
                "--leader-elect=false",
                "--profiling=false",
            ],
        }

    def _spawn(self, component: str, command: list[str]) -> None:
        pid_file = self.pid_file(component)
        if pid_file.exists() and pid_alive(int(pid_file.read_text()), str(self.cluster_dir)):
            return
        spawn(command, pid_file, self.log(component), self.cluster_dir)

    def start(self, issuer: str, webhook_url: str | None) -> None:
        """Start whatever is not running (idempotent; returns at once: see ``ready``/``wait_ready``)."""
        missing = [name for name in COMPONENTS[1:] if not build.binary(name).exists()]
        if missing:
            raise RuntimeError(
                f"cluster {self.name}: Kubernetes components not built: {', '.join(missing)}; "
                "run `python -m emulator.kube.build` (make kube)"
            )
        self.prepare()
        webhook = self.write_webhook_config(webhook_url) if webhook_url else None
        commands = self.commands(issuer, webhook)
        # The marker pid_alive checks: every component's command line names the cluster directory.
        commands["etcd"].append(f"--wal-dir={self.cluster_dir / 'etcd' / 'wal'}")
        for component in COMPONENTS:
            self._spawn(component, commands[component])
        self._commands = commands

    def running(self) -> dict[str, bool]:
        return {
            component: self.pid_file(component).exists()
            and pid_alive(int(self.pid_file(component).read_text()), str(self.cluster_dir))
            for component in COMPONENTS
        }

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return context

    def ready(self) -> bool:
        """The API server answers ``/readyz`` (with the emulator's admin certificate)."""
        if not self.ports_file.exists() or not (self.pki / "admin.crt").exists():
            return False
        try:
            with urllib.request.urlopen(
                f"{self.endpoint}/readyz", timeout=2, context=self._ssl_context()
            ) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    def failure(self) -> str | None:
        """Why the control plane cannot come up: a component that exited, with its log's last lines.

        The controller manager and the scheduler give the API server a few seconds to answer and exit
        when it has not finished its start-up (its RBAC roles) by then, as happens on a busy machine; a
        kubelet restarts such static pods, and so does this, up to RESTARTS times each."""
        for component in COMPONENTS:
            pid_file = self.pid_file(component)
            if pid_file.exists() and pid_exited(int(pid_file.read_text())):
                restarts = self._restarts.get(component, 0)
                if component in RESTARTED and component in self._commands and restarts < RESTARTS:
                    self._restarts[component] = restarts + 1
                    self._spawn(component, self._commands[component])
                    continue
                tail = self.log(component).read_text(errors="replace").strip().splitlines()[-5:]
                return f"{component} of cluster {self.name} exited; {self.log(component)}:\n" + "\n".join(
                    tail
                )
        return None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            failure = self.failure()
            if failure:
                raise RuntimeError(failure)
            time.sleep(0.25)
        raise RuntimeError(
            f"the API server of cluster {self.name} did not become ready within {timeout:.0f} s; "
            f"see {self.log('kube-apiserver')}"
        )

    def stop(self) -> list[str]:
        """Stop every component by PID, scheduler first and etcd last; the ones that were running."""
        stopped = []
        for component in reversed(COMPONENTS):
            if stop_pid(self.pid_file(component), str(self.cluster_dir)):
                stopped.append(component)
        return stopped

    def destroy(self) -> None:
        """Stop and forget the cluster: a cluster of the same name starts empty."""
        self.stop()
        shutil.rmtree(self.cluster_dir, ignore_errors=True)

"""A real node of a local cluster: its own containerd (runc, a CNI bridge) and a kubelet.

Everything of a node lives in ``<cluster dir>/nodes/<name>/``: ``containerd/`` (config, root, state,
socket), ``cni/`` (the bridge network's config), ``kubelet/`` (root dir, config, kubeconfig with a
``system:node:<name>`` client certificate from the cluster's CA), ``logs/`` and ``pids/``. Several
nodes of several clusters run side by side: each has its own ports, bridge (``spk`` + a hash), pod
address range and cgroup root (``/sciplat-<hash>``).

These machines run cgroup v1 under a PID 1 that is not systemd, so the kubelet uses the cgroupfs
driver and ``failCgroupV1: false``; image garbage collection is off (no image could be pulled back).
Pods get addresses on the node's bridge; ``ipMasq`` is off, so pods reach nothing beyond this machine.
Each node also runs ``emulator.kube.aws_route`` on its address at the emulator's port: pods reach the
emulated AWS there, as pods on AWS reach AWS's endpoints through the VPC's routes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.kube import POD_NETWORK, aws_route, build, efs_csi, images, pki
from emulator.kube.control_plane import free_port, pid_alive, pid_exited, spawn, stop_pid

READY_TIMEOUT = 120.0
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Sockets and the kubelet's root live under a short host-wide path: a unix socket path must fit in
# 107 bytes, and a node directory inside a test's temporary directory does not.
RUNTIME_ROOT = Path("/run/sciplat-kube/nodes")
# The node's forwarder to the emulated AWS (its PID file and log are pids/ and logs/ aws-route.*).
AWS_ROUTE = "aws-route"


@dataclass
class NodeSpec:
    name: str
    labels: dict[str, str]
    taints: list[dict[str, str]]  # {"key", "value", "effect"} (Kubernetes spelling)
    pod_cidr: str
    # Images pushed to the emulated ECR of the node's account and region (emulator.ecr_images).
    archives: tuple[Path, ...] = ()


def node_dir(cluster_dir: Path, name: str) -> Path:
    return cluster_dir / "nodes" / name


def _hash(cluster_dir: Path, name: str) -> str:
    return hashlib.sha256(f"{cluster_dir}:{name}".encode()).hexdigest()[:8]


def runtime_dir(cluster_dir: Path, name: str) -> Path:
    return RUNTIME_ROOT / _hash(cluster_dir, name)


def gateway(pod_cidr: str) -> str:
    """The node's address: the first of its pod range, on its bridge (never loopback: the kubelet
    refuses a loopback node IP)."""
    import ipaddress

    return str(next(ipaddress.ip_network(pod_cidr).hosts()))


def _ensure_bridge(bridge: str, pod_cidr: str) -> None:
    """The node's bridge with its gateway address, up before the kubelet needs the node IP."""
    prefix = pod_cidr.split("/")[1]
    if subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0:
        subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True, capture_output=True)
    subprocess.run(["ip", "addr", "replace", f"{gateway(pod_cidr)}/{prefix}", "dev", bridge], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)


def running_nodes(cluster_dir: Path) -> list[str]:
    nodes = cluster_dir / "nodes"
    return sorted(p.name for p in nodes.iterdir() if (p / "pids").is_dir()) if nodes.exists() else []


def _write_containerd_config(directory: Path, runtime: Path) -> Path:
    containerd = directory / "containerd"
    socket = runtime / "containerd.sock"
    config = images.containerd_config(containerd / "root", runtime / "containerd", socket, containerd / "opt")
    config += f"""[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images.PAUSE_IMAGE}"
  # These machines refuse a negative oom_score_adj even to root: containers keep their parent's.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{directory / "cni"}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
"""
    containerd.mkdir(parents=True, exist_ok=True)
    (containerd / "config.toml").write_text(config)
    return containerd / "config.toml"


def _write_cni(directory: Path, bridge: str, pod_cidr: str) -> None:
    cni = directory / "cni"
    cni.mkdir(parents=True, exist_ok=True)
    config = {
        "cniVersion": "0.4.0",
        "name": "sciplat-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": False,  # pods reach this machine's bridges only, nothing beyond
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    # The whole pod network through this node's gateway, as the VPC CNI's flat network:
                    # pods reach pods and host-network pods (a hub) on the other nodes.
                    "routes": [{"dst": POD_NETWORK}],
                    "dataDir": str(directory / "cni-ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (cni / "10-sciplat.conflist").write_text(json.dumps(config, indent=2))


def _ports(directory: Path) -> dict[str, int]:
    """The kubelet's ports, chosen once: a second ``start_node`` must describe the running kubelet."""
    path = directory / "ports.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    ports = {"port": free_port(), "healthz": free_port()}
    path.write_text(json.dumps(ports))
    return ports


def _write_kubelet_config(
    directory: Path, runtime: Path, cluster_dir: Path, spec: NodeSpec, tag: str
) -> Path:
    kubelet = directory / "kubelet"
    kubelet.mkdir(parents=True, exist_ok=True)
    (directory / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    ports = _ports(directory)
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": gateway(spec.pod_cidr),
        "port": ports["port"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": ports["healthz"],
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/sciplat-{tag}",
        "failCgroupV1": False,
        "failSwapOn": False,
        "resolvConf": str(directory / "resolv.conf"),
        "containerRuntimeEndpoint": f"unix://{runtime / 'containerd.sock'}",
        "podLogsDir": str(directory / "pod-logs"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(cluster_dir / "pki" / "ca.crt")},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "registerWithTaints": [
            {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]} for t in spec.taints
        ],
        # No image can be pulled back: never collect one, never evict for disk.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "enforceNodeAllocatable": [],
        "serializeImagePulls": False,
        "podCIDR": spec.pod_cidr,
        "maxPods": 50,
    }
    path = kubelet / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def _spawn(directory: Path, component: str, command: list[str]) -> None:
    pid_file = directory / "pids" / f"{component}.pid"
    if pid_file.exists() and pid_alive(int(pid_file.read_text()), str(directory)):
        return
    spawn(command, pid_file, directory / "logs" / f"{component}.log", directory)


def _start_aws_route(directory: Path, address: str, emulator_endpoint: str) -> None:
    """The node's forwarder to the emulator (emulator.kube.aws_route), listening before pods can start."""
    target = urllib.parse.urlsplit(emulator_endpoint)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    _spawn(
        directory,
        AWS_ROUTE,
        [
            sys.executable,
            "-m",
            "emulator.kube.aws_route",
            f"--listen={address}:{port}",
            f"--to={host}:{port}",
            f"--node-dir={directory}",
        ],
    )
    pid = int((directory / "pids" / f"{AWS_ROUTE}.pid").read_text())
    if not aws_route.wait_listening((address, port), lambda: pid_exited(pid)):
        raise NodeFailure(directory, AWS_ROUTE, f"did not listen on {address}:{port}")


def _wait_socket(socket: Path, directory: Path, timeout: float = 30.0) -> None:
    failure = images.wait_containerd(socket, lambda: exited_component(directory) == "containerd", timeout)
    if failure:
        raise NodeFailure(directory, "containerd", failure)


class NodeFailure(RuntimeError):
    """A node that cannot join: which of its processes failed, how, and the end of that one's log."""

    def __init__(self, directory: Path, component: str, what: str) -> None:
        self.node = directory.name
        self.component = component
        self.log = directory / "logs" / f"{component}.log"
        self.tail = log_tail(self.log)
        super().__init__(
            f"node {self.node}: its {component} {what}; see {self.log}"
            + (f" (last lines: {self.tail})" if self.tail else "")
        )


def log_tail(log: Path, lines: int = 3, width: int = 240) -> str:
    """The last non-empty lines of ``log``, each cut to ``width`` characters, joined with " | "."""
    if not log.exists():
        return ""
    with log.open("rb") as file:
        file.seek(max(0, log.stat().st_size - 16384))
        text = file.read().decode(errors="replace")
    kept = [line.strip()[:width] for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def exited_component(directory: Path) -> str | None:
    """``containerd`` or ``kubelet`` if that process of the node (``directory``) was started and has
    ended since; None while both run (or have not been started)."""
    for component in ("containerd", "kubelet"):
        pid_file = directory / "pids" / f"{component}.pid"
        with contextlib.suppress(OSError, ValueError):
            if pid_exited(int(pid_file.read_text())):
                return component
    return None


def launch_node(cluster_dir: Path, spec: NodeSpec, server: str, emulator_endpoint: str) -> None:
    """Start (or keep) the node's containerd, EFS CSI plugin and kubelet, without waiting for Ready.

    Raises NodeFailure if containerd ends or does not answer; ``node_ready`` tells the rest."""
    directory = node_dir(cluster_dir, spec.name)
    runtime = runtime_dir(cluster_dir, spec.name)
    for sub in (directory / "logs", directory / "pids", runtime / "kubelet"):
        sub.mkdir(parents=True, exist_ok=True)
    tag = _hash(cluster_dir, spec.name)
    config = _write_containerd_config(directory, runtime)
    _ensure_bridge(f"spk{tag}", spec.pod_cidr)
    _write_cni(directory, f"spk{tag}", spec.pod_cidr)
    pki_dir = cluster_dir / "pki"
    user = f"node-{spec.name}"
    pki.issue(pki_dir, user, f"system:node:{spec.name}", ("system:nodes",))
    kubeconfig = pki.write_kubeconfig(
        directory / "kubelet.kubeconfig", cluster_dir.name, server, pki_dir, user
    )
    kubelet_config = _write_kubelet_config(directory, runtime, cluster_dir, spec, tag)
    _create_cgroups(tag)

    archives = [images.archive(image) for image in images.local_images()] + list(spec.archives)
    images.seed_root(directory / "containerd" / "root", archives)
    _spawn(directory, "containerd", ["containerd", "--config", str(config)])
    socket = runtime / "containerd.sock"
    _wait_socket(socket, directory)
    present = set(images.image_names(socket))
    for archive in archives:  # a node that could not be seeded, or restarted on its old root
        if not set(images.read_archive(archive)[0]) <= present:
            images.import_archive(socket, archive)
    efs_csi.start_plugin(directory, runtime / "kubelet", spec.name, emulator_endpoint)
    _start_aws_route(directory, gateway(spec.pod_cidr), emulator_endpoint)
    labels = ",".join(f"{key}={value}" for key, value in spec.labels.items())
    _spawn(
        directory,
        "kubelet",
        [
            str(build.binary("kubelet")),
            f"--config={kubelet_config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={runtime / 'kubelet'}",
            f"--cert-dir={directory / 'kubelet' / 'pki'}",
            f"--hostname-override={spec.name}",
            f"--node-ip={gateway(spec.pod_cidr)}",
            f"--node-labels={labels}",
            "--v=1",
        ],
    )


def node_ready(cluster_dir: Path, name: str, pod_cidr: str, api_client: Any) -> bool:
    """Whether the Node is Ready. Raises NodeFailure once its kubelet or containerd has ended."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    directory = node_dir(cluster_dir, name)
    api = client.CoreV1Api(api_client)
    with contextlib.suppress(ApiException):
        node = api.read_node(name)
        if not node.spec.pod_cidr:  # what the VPC CNI's IPAM would decide, for the record
            api.patch_node(name, {"spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]}})
        if any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or []):
            return True
    if component := exited_component(directory):
        raise NodeFailure(directory, component, "exited")
    return False


def start_node(cluster_dir: Path, spec: NodeSpec, server: str, emulator_endpoint: str) -> None:
    """Start (or keep) the node's containerd, EFS CSI plugin and kubelet; return once the Node is Ready.

    Raises NodeFailure if a process ends first or the node is not Ready within READY_TIMEOUT (its
    processes are left as they are: ``stop_node`` stops them)."""
    from kubernetes import config

    launch_node(cluster_dir, spec, server, emulator_endpoint)
    api_client = config.new_client_from_config(str(cluster_dir / "admin.kubeconfig"))
    deadline = time.monotonic() + READY_TIMEOUT
    while not node_ready(cluster_dir, spec.name, spec.pod_cidr, api_client):
        if time.monotonic() > deadline:
            raise NodeFailure(
                node_dir(cluster_dir, spec.name),
                "kubelet",
                f"did not make the node Ready within {READY_TIMEOUT:.0f} s",
            )
        time.sleep(0.5)


def _shim_pids(directory: Path) -> list[int]:
    """containerd-shim processes started for this node (they outlive containerd)."""
    address = str(runtime_dir(directory.parent.parent, directory.name) / "containerd.sock")
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                if "containerd-shim" in cmdline and address in cmdline:
                    pids.append(int(proc.name))
    return pids


def _cgroup_pids(tag: str) -> list[int]:
    pids: set[int] = set()
    for procs in (CGROUP_ROOT / "pids" / f"sciplat-{tag}").rglob("cgroup.procs"):
        with contextlib.suppress(OSError):
            pids.update(int(p) for p in procs.read_text().split())
    return sorted(pids)


def _create_cgroups(tag: str) -> None:
    """The node's cgroup root in every v1 hierarchy (the kubelet wants it to exist)."""
    for controller in CGROUP_ROOT.iterdir():
        if controller.name == "unified" or not (controller / "cgroup.procs").exists():
            continue
        root = controller / f"sciplat-{tag}"
        root.mkdir(exist_ok=True)
        for inherited in ("cpuset.cpus", "cpuset.mems"):  # a new cpuset is empty until given these
            if (root / inherited).exists() and not (root / inherited).read_text().strip():
                (root / inherited).write_text((controller / inherited).read_text())


def _remove_cgroups(tag: str) -> None:
    for controller in CGROUP_ROOT.iterdir():
        root = controller / f"sciplat-{tag}"
        # Deepest first; os.walk skips a cgroup that goes away while it walks (the kernel removes a
        # pod's cgroup as its last process exits), which Path.rglob raises on.
        for cgroup, _, _ in os.walk(root, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(cgroup)


def _unmount_under(directory: Path) -> None:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    points = [line.split()[1].replace("\\040", " ") for line in mounts]
    for point in sorted((p for p in points if p.startswith(str(directory) + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def stop_node(cluster_dir: Path, name: str, keep_logs: bool = False) -> None:
    """Stop the kubelet, every container, the shims, containerd and the forwarder to the emulated AWS;
    remove the bridge and cgroups.

    ``keep_logs``: leave ``logs/`` of the node's directory (a failed node's, for its message)."""
    directory = node_dir(cluster_dir, name)
    if not directory.exists():
        return
    tag = _hash(cluster_dir, name)
    runtime = runtime_dir(cluster_dir, name)
    stop_pid(directory / "pids" / "kubelet.pid", str(directory))
    efs_csi.stop_plugin(directory)
    for pid in _cgroup_pids(tag) + _shim_pids(directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    stop_pid(directory / "pids" / "containerd.pid", str(directory))
    stop_pid(directory / "pids" / f"{AWS_ROUTE}.pid", str(directory))
    for pid in _shim_pids(directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for tree in (runtime, directory):
        _unmount_under(tree)
    subprocess.run(["ip", "link", "delete", f"spk{tag}"], capture_output=True)
    _remove_cgroups(tag)
    mounts = Path("/proc/self/mounts").read_text()
    for tree in (runtime, directory):
        if f" {tree}/" in mounts:  # never delete through a mount (a home directory could be behind it)
            shutil.rmtree(tree / "pids", ignore_errors=True)
        elif keep_logs and tree == directory:
            for path in tree.iterdir():
                if path.is_dir() and path.name != "logs":
                    shutil.rmtree(path, ignore_errors=True)
                elif not path.is_dir():
                    path.unlink(missing_ok=True)
        else:
            shutil.rmtree(tree, ignore_errors=True)

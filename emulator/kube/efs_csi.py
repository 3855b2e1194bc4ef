"""The emulated EFS CSI driver: a CSI node plugin named ``efs.csi.aws.com`` for the local clusters' kubelets.

On EKS the aws-efs-csi-driver add-on mounts EFS over NFS with TLS. Here every EFS file system is a
directory of the emulator's data plane (emulator/efs_data.py), so publishing a volume is a bind mount of
that directory (or of an access point's root directory in it) at the kubelet's target path::

    python -m emulator.kube.efs_csi --endpoint unix:///var/lib/kubelet/plugins/efs.csi.aws.com/csi.sock \\
        --registration-dir /var/lib/kubelet/plugins_registry --node-id ip-10-0-1-10.ec2.internal \\
        --emulator http://127.0.0.1:41187

serves the CSI Identity and Node services on ``--endpoint`` and the kubelet's plugin registration
service (pluginregistration v1) on ``<registration-dir>/efs.csi.aws.com-reg.sock``, the socket the
node-driver-registrar sidecar would serve. Volume handles are the driver's
(``fs-…``, ``fs-…:/sub/path``, ``fs-…::fsap-…``, ``fs-…:/sub/path:fsap-…``); volume attributes and mount
options are checked as the driver checks them, then TLS, IAM and mount-target options are ignored.
The file system's directory comes from ``GET /_emulator/efs/<fs-id>``; an access point's root
directory from ``DescribeAccessPoints`` against the emulator, created with the access point's
``CreationInfo`` when missing, as EFS creates it at the first mount.

``start_plugin`` / ``stop_plugin`` run one plugin per node (detached, by PID); ``csidriver_manifest``
is the cluster's CSIDriver object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import posixpath
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import grpc
from google.protobuf import wrappers_pb2

from emulator.kube.control_plane import pid_alive, spawn, stop_pid
from emulator.kube.csi_proto import (
    csi_pb2,
    csi_pb2_grpc,
    pluginregistration_pb2,
    pluginregistration_pb2_grpc,
)

DRIVER_NAME = "efs.csi.aws.com"
# The aws-efs-csi-driver release the emulated EKS add-on catalogue offers by default (eks_addons.py).
VENDOR_VERSION = "v2.1.9-emulated"
# Linux's sun_path holds 108 bytes with the terminating NUL.
MAX_SOCKET_PATH = 107
START_TIMEOUT = 30.0
LOG = logging.getLogger("efs-csi")

# Access modes the driver accepts (its node.go): ReadWriteOnce and ReadWriteMany volumes.
ACCESS_MODES = (
    csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_WRITER,
    csi_pb2.VolumeCapability.AccessMode.MULTI_NODE_MULTI_WRITER,
)
# Volume attributes the driver knows (lower case); any other one is refused, as the driver refuses it.
VOLUME_ATTRIBUTES = (
    "path",
    "storage.kubernetes.io/csiprovisioneridentity",
    "encryptintransit",
    "mounttargetip",
    "crossaccount",
)
TRUE, FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


class CSIError(Exception):
    """An answer with a gRPC status code other than OK."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- volume handles and the emulator -------------------------------------------------------------


@dataclass(frozen=True)
class VolumeHandle:
    file_system_id: str
    subpath: str  # "" or a clean absolute path
    access_point_id: str  # "" or fsap-…


def parse_volume_handle(handle: str) -> VolumeHandle:
    """``{fs-id}[:{path}[:{fsap-id}]]``, the driver's volume ID form; both optional fields may be empty."""
    if not handle.startswith("fs-"):
        raise CSIError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"volume ID '{handle}' is invalid: Expected a file system ID of the form 'fs-...'",
        )
    tokens = handle.split(":")
    if len(tokens) > 3:
        raise CSIError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"volume ID '{handle}' is invalid: Expected at most three fields separated by ':'",
        )
    subpath = posixpath.normpath("/" + tokens[1]) if len(tokens) > 1 and tokens[1] else ""
    access_point = tokens[2] if len(tokens) == 3 else ""
    if access_point and not access_point.startswith("fsap-"):
        raise CSIError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"volume ID '{handle}' has an invalid access point ID '{access_point}': "
            "Expected it to be of the form 'fsap-...'",
        )
    return VolumeHandle(tokens[0], "" if subpath == "/" else subpath, access_point)


def _inside(root: Path, relative: str) -> Path:
    """``root``/``relative`` (an absolute-looking path in the file system), refusing escapes by symlink."""
    path = (root / relative.lstrip("/")).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise CSIError(grpc.StatusCode.INVALID_ARGUMENT, f"path {relative} leaves the file system")
    return path


class Emulator:
    """What the plugin asks the emulator: a file system's data directory and its access points."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")

    def file_system(self, file_system_id: str) -> dict[str, Any]:
        url = f"{self.endpoint}/_emulator/efs/{urllib.parse.quote(file_system_id)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise CSIError(
                    grpc.StatusCode.NOT_FOUND, f"EFS file system {file_system_id} does not exist"
                ) from error
            raise CSIError(
                grpc.StatusCode.INTERNAL, f"the emulator answered {error.code} for {file_system_id}"
            ) from error
        except (urllib.error.URLError, OSError) as error:
            raise CSIError(
                grpc.StatusCode.UNAVAILABLE, f"the emulator at {self.endpoint} does not answer: {error}"
            ) from error

    def access_point(self, access_point_id: str, region: str) -> dict[str, Any]:
        import boto3  # only access-point mounts pay for it
        from botocore.exceptions import BotoCoreError, ClientError

        from emulator.launcher import CLIENT_ENV

        client = boto3.client(
            "efs",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        try:
            found = client.describe_access_points(AccessPointId=access_point_id)["AccessPoints"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "AccessPointNotFound":
                raise CSIError(
                    grpc.StatusCode.NOT_FOUND, f"EFS access point {access_point_id} does not exist"
                ) from error
            raise CSIError(grpc.StatusCode.INTERNAL, f"DescribeAccessPoints: {error}") from error
        except BotoCoreError as error:
            raise CSIError(
                grpc.StatusCode.UNAVAILABLE, f"the emulator at {self.endpoint} does not answer: {error}"
            ) from error
        return dict(found[0])


def create_root_directory(data_dir: Path, access_point: dict[str, Any]) -> Path:
    """The access point's root directory in the file system's data directory, created if missing with
    the access point's CreationInfo (owner, group, permissions), as EFS does at the first mount:
    https://docs.aws.amazon.com/efs/latest/ug/create-access-point.html#enforce-root-directory-access-point.
    Every directory of the path that is missing is created so."""
    root_info = access_point.get("RootDirectory") or {}
    relative = posixpath.normpath("/" + str(root_info.get("Path") or "/"))
    path = _inside(data_dir, relative)
    if path.is_dir():
        return path
    creation = root_info.get("CreationInfo")
    access_point_id = access_point.get("AccessPointId", "")
    if not creation:
        raise CSIError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"the root directory {relative} of access point {access_point_id} does not exist in "
            f"{access_point.get('FileSystemId')} and the access point has no CreationInfo to create it",
        )
    mode = int(str(creation["Permissions"]), 8)
    missing = [path, *(parent for parent in path.parents if data_dir.resolve() in parent.parents)]
    for directory in reversed(missing):
        if directory.is_dir():
            continue
        directory.mkdir()
        os.chown(directory, int(creation["OwnerUid"]), int(creation["OwnerGid"]))
        os.chmod(directory, mode)
    LOG.info("created %s for %s (mode %o)", path, access_point_id, mode)
    return path


# --- mounts ---------------------------------------------------------------------------------------


def _unescape(field: str) -> str:
    """/proc/self/mountinfo octal escapes (\\040 for a space)."""
    return field.encode().decode("unicode_escape") if "\\" in field else field


def is_mount_point(target: Path) -> bool:
    wanted = os.path.realpath(target)
    with open("/proc/self/mountinfo") as mountinfo:
        return any(_unescape(line.split()[4]) == wanted for line in mountinfo)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CSIError(
            grpc.StatusCode.INTERNAL, f"{' '.join(command)}: {(result.stderr or result.stdout).strip()}"
        )


def bind_mount(source: Path, target: Path, readonly: bool) -> None:
    _run(["mount", "--bind", str(source), str(target)])
    if readonly:
        try:
            _run(["mount", "-o", "remount,bind,ro", str(target)])
        except CSIError:
            _run(["umount", str(target)])
            raise


# --- the services ---------------------------------------------------------------------------------


def _fail(context: grpc.ServicerContext, error: CSIError) -> NoReturn:
    LOG.warning("%s: %s", error.code.name, error.message)
    context.abort(error.code, error.message)


class Identity(csi_pb2_grpc.IdentityServicer):
    def GetPluginInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return csi_pb2.GetPluginInfoResponse(name=DRIVER_NAME, vendor_version=VENDOR_VERSION)

    def GetPluginCapabilities(self, request: Any, context: grpc.ServicerContext) -> Any:
        return csi_pb2.GetPluginCapabilitiesResponse()  # a node plugin: no controller service

    def Probe(self, request: Any, context: grpc.ServicerContext) -> Any:
        return csi_pb2.ProbeResponse(ready=wrappers_pb2.BoolValue(value=True))


def _bool(key: str, value: str) -> bool:
    if value in TRUE or value in FALSE:
        return value in TRUE
    raise CSIError(
        grpc.StatusCode.INVALID_ARGUMENT, f'Volume context property "{key}" must be a boolean value: {value}'
    )


class Node(csi_pb2_grpc.NodeServicer):
    def __init__(self, node_id: str, emulator: Emulator) -> None:
        self.node_id = node_id
        self.emulator = emulator
        self.lock = threading.Lock()

    def NodeGetInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return csi_pb2.NodeGetInfoResponse(node_id=self.node_id)

    def NodeGetCapabilities(self, request: Any, context: grpc.ServicerContext) -> Any:
        return csi_pb2.NodeGetCapabilitiesResponse()  # no staging: the kubelet publishes directly

    def NodePublishVolume(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            with self.lock:
                self.publish(request)
        except CSIError as error:
            _fail(context, error)
        return csi_pb2.NodePublishVolumeResponse()

    def NodeUnpublishVolume(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            with self.lock:
                self.unpublish(request)
        except CSIError as error:
            _fail(context, error)
        return csi_pb2.NodeUnpublishVolumeResponse()

    def source(self, request: Any) -> Path:
        """The directory to bind: the file system's, or its access point's root, plus the subpath."""
        subpath, encrypt = "/", True
        for key, value in request.volume_context.items():
            name = key.lower()
            if name not in VOLUME_ATTRIBUTES:
                raise CSIError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"Volume context property {key} not supported."
                )
            if name == "path":
                if not value.startswith("/"):
                    raise CSIError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f'Volume context property "{key}" must be an absolute path',
                    )
                subpath = posixpath.normpath(value)
            elif name == "encryptintransit":
                encrypt = _bool(key, value)
            elif name == "crossaccount":
                _bool(key, value)
        handle = parse_volume_handle(request.volume_id)
        subpath = handle.subpath or subpath
        for flag in (flag.lower() for flag in request.volume_capability.mount.mount_flags):
            if flag.startswith("accesspoint=") and handle.access_point_id not in ("", flag[12:]):
                raise CSIError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Found conflicting access point IDs in mountOptions ({flag[12:]}) and volumeHandle "
                    f"({handle.access_point_id})",
                )
            if flag == "tls" and not encrypt:
                raise CSIError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "Found tls in mountOptions but encryptInTransit is false",
                )
        file_system = self.emulator.file_system(handle.file_system_id)
        state = file_system["life_cycle_state"]
        if state != "available":
            raise CSIError(
                grpc.StatusCode.UNAVAILABLE,
                f"EFS file system {handle.file_system_id} is {state}, not available",
            )
        root = Path(file_system["path"])
        if handle.access_point_id:
            region = str(file_system["file_system_arn"]).split(":")[3]
            access_point = self.emulator.access_point(handle.access_point_id, region)
            if access_point["FileSystemId"] != handle.file_system_id:
                raise CSIError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"access point {handle.access_point_id} belongs to {access_point['FileSystemId']}, "
                    f"not to {handle.file_system_id}",
                )
            root = create_root_directory(root, access_point)
        source = _inside(root, subpath)
        if not source.is_dir():
            raise CSIError(grpc.StatusCode.NOT_FOUND, f"{subpath} does not exist in {request.volume_id}")
        return source

    def publish(self, request: Any) -> None:
        if not request.target_path:
            raise CSIError(grpc.StatusCode.INVALID_ARGUMENT, "Target path not provided")
        if not request.HasField("volume_capability"):
            raise CSIError(grpc.StatusCode.INVALID_ARGUMENT, "Volume capability not provided")
        capability = request.volume_capability
        if capability.access_mode.mode not in ACCESS_MODES:
            mode = csi_pb2.VolumeCapability.AccessMode.Mode.Name(capability.access_mode.mode)
            raise CSIError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Volume capability not supported: invalid access mode: {mode}",
            )
        if not capability.HasField("mount"):
            raise CSIError(grpc.StatusCode.INVALID_ARGUMENT, "Volume capability access type must be mount")
        source = self.source(request)
        target = Path(request.target_path)
        if target.is_dir() and is_mount_point(target):
            LOG.info("%s is already published at %s", request.volume_id, target)
            return
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CSIError(grpc.StatusCode.INTERNAL, f'Could not create dir "{target}": {error}') from error
        bind_mount(source, target, request.readonly)
        LOG.info(
            "published %s (%s) at %s%s",
            request.volume_id,
            source,
            target,
            " read-only" if request.readonly else "",
        )

    def unpublish(self, request: Any) -> None:
        if not request.target_path:
            raise CSIError(grpc.StatusCode.INVALID_ARGUMENT, "Target path not provided")
        target = Path(request.target_path)
        if target.is_dir() and is_mount_point(target):
            _run(["umount", str(target)])
            LOG.info("unpublished %s from %s", request.volume_id, target)
        # The spec: the plugin deletes the directory it created at the target path.
        with contextlib.suppress(OSError):
            target.rmdir()


class Registration(pluginregistration_pb2_grpc.RegistrationServicer):
    """What the node-driver-registrar sidecar answers the kubelet's plugin watcher."""

    def __init__(self, csi_socket: Path) -> None:
        self.csi_socket = csi_socket

    def GetInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pluginregistration_pb2.PluginInfo(
            type="CSIPlugin", name=DRIVER_NAME, endpoint=str(self.csi_socket), supported_versions=["1.0.0"]
        )

    def NotifyRegistrationStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.plugin_registered:
            LOG.info("registered with the kubelet")
        else:
            LOG.error("the kubelet refused the registration: %s", request.error)
        return pluginregistration_pb2.RegistrationStatusResponse()


# --- the process ----------------------------------------------------------------------------------


def socket_path(endpoint: str) -> Path:
    """``unix:///path`` (or ``unix:/path`` or a bare absolute path) → the path, checked for length."""
    path = Path(endpoint.removeprefix("unix://").removeprefix("unix:"))
    if not path.is_absolute():
        raise ValueError(f"CSI endpoint {endpoint}: expected unix:///absolute/path")
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        raise ValueError(f"socket path {path} is longer than {MAX_SOCKET_PATH} bytes (a unix socket's limit)")
    return path


def registration_socket(registration_dir: Path) -> Path:
    return socket_path(str(registration_dir / f"{DRIVER_NAME}-reg.sock"))


def serve(csi_socket: Path, registration_dir: Path, node_id: str, emulator: str) -> None:
    reg_socket = registration_socket(registration_dir)
    servers = []
    for path, add in (
        (
            csi_socket,
            lambda server: (
                csi_pb2_grpc.add_IdentityServicer_to_server(Identity(), server),
                csi_pb2_grpc.add_NodeServicer_to_server(Node(node_id, Emulator(emulator)), server),
            ),
        ),
        (
            reg_socket,
            lambda server: pluginregistration_pb2_grpc.add_RegistrationServicer_to_server(
                Registration(csi_socket), server
            ),
        ),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        add(server)
        server.add_insecure_port(f"unix://{path}")
        server.start()
        servers.append((server, path))
    LOG.info("%s %s for node %s: %s, %s", DRIVER_NAME, VENDOR_VERSION, node_id, csi_socket, reg_socket)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    # The registration socket first: the kubelet's plugin watcher deregisters the driver when it goes.
    for server, path in reversed(servers):
        server.stop(grace=5).wait()
        path.unlink(missing_ok=True)
    LOG.info("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.kube.efs_csi", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--endpoint", required=True, help="the CSI socket, unix:///path/csi.sock")
    parser.add_argument(
        "--registration-dir", required=True, type=Path, help="<kubelet root>/plugins_registry"
    )
    parser.add_argument("--node-id", required=True, help="the node's name")
    parser.add_argument("--emulator", required=True, help="the emulator's endpoint, http://127.0.0.1:PORT")
    parser.add_argument("--log-file", type=Path, help="log here instead of to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        filename=args.log_file, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        csi_socket = socket_path(args.endpoint)
        registration_socket(args.registration_dir)
    except ValueError as error:
        parser.error(str(error))
    serve(csi_socket, args.registration_dir, args.node_id, args.emulator)


# --- process control for the integrator -----------------------------------------------------------


def pid_file(node_dir: Path) -> Path:
    return node_dir / "pids" / "efs-csi.pid"


def log_file(node_dir: Path) -> Path:
    return node_dir / "logs" / "efs-csi.log"


def csi_socket_path(kubelet_root: Path) -> Path:
    """Where the kubelet finds the driver (the path GetInfo announces)."""
    return kubelet_root / "plugins" / DRIVER_NAME / "csi.sock"


def probe(csi_socket: Path, timeout: float = 2.0) -> bool:
    """Whether the plugin at ``csi_socket`` answers Probe with ready."""
    if not csi_socket.exists():
        return False
    with grpc.insecure_channel(f"unix://{csi_socket}") as channel:
        try:
            answer = csi_pb2_grpc.IdentityStub(channel).Probe(csi_pb2.ProbeRequest(), timeout=timeout)
        except grpc.RpcError:
            return False
    return bool(answer.ready.value)


def start_plugin(node_dir: Path, kubelet_root: Path, node_name: str, emulator_endpoint: str) -> None:
    """Start the node's plugin, detached, unless it runs; return once it answers Probe.

    Its PID is in ``pids/efs-csi.pid`` and its log in ``logs/efs-csi.log`` under ``node_dir``; its CSI
    socket is ``<kubelet_root>/plugins/efs.csi.aws.com/csi.sock``, its registration socket
    ``<kubelet_root>/plugins_registry/efs.csi.aws.com-reg.sock`` (both paths must fit a unix socket's
    107 bytes: keep the kubelet root short)."""
    csi_socket = socket_path(str(csi_socket_path(kubelet_root)))
    registration_socket(kubelet_root / "plugins_registry")
    pids, log = pid_file(node_dir), log_file(node_dir)
    if pids.exists() and pid_alive(int(pids.read_text()), str(log)) and probe(csi_socket):
        return
    stop_plugin(node_dir)
    pids.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "emulator.kube.efs_csi",
        f"--endpoint=unix://{csi_socket}",
        f"--registration-dir={kubelet_root / 'plugins_registry'}",
        f"--node-id={node_name}",
        f"--emulator={emulator_endpoint}",
        f"--log-file={log}",
    ]
    process = spawn(command, pids, log, node_dir)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if probe(csi_socket):
            return
        if process.poll() is not None:
            pids.unlink(missing_ok=True)
            tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-5:])
            raise RuntimeError(f"the EFS CSI plugin of node {node_name} exited; {log}:\n{tail}")
        time.sleep(0.1)
    stop_plugin(node_dir)
    raise RuntimeError(
        f"the EFS CSI plugin of node {node_name} did not answer within {START_TIMEOUT:.0f} s; see {log}"
    )


def stop_plugin(node_dir: Path) -> None:
    """Stop the node's plugin by its PID (idempotent); it removes its sockets as it exits."""
    stop_pid(pid_file(node_dir), str(log_file(node_dir)))


def csidriver_manifest() -> dict[str, Any]:
    """The cluster's CSIDriver object, as the aws-efs-csi-driver add-on installs it."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": DRIVER_NAME},
        "spec": {
            "attachRequired": False,
            "podInfoOnMount": False,
            "volumeLifecycleModes": ["Persistent"],
        },
    }


if __name__ == "__main__":
    main()

"""The emulated EFS CSI node plugin (emulator/kube/efs_csi.py), called as the kubelet calls it: plugin
registration on its registration socket, then Identity and Node over its CSI socket. No kubelet needed;
publishing bind-mounts, so these tests need root."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from fidelity_support import Client

from emulator.kube import efs_csi
from emulator.kube.control_plane import pid_alive
from emulator.kube.csi_proto import csi_pb2, csi_pb2_grpc, pluginregistration_pb2, pluginregistration_pb2_grpc
from emulator.launcher import Emulator

pytestmark = [
    pytest.mark.emulator,
    pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root"),
]

RWX = csi_pb2.VolumeCapability.AccessMode.MULTI_NODE_MULTI_WRITER


@dataclass
class Plugin:
    node_dir: Path
    kubelet_root: Path
    node: csi_pb2_grpc.NodeStub
    identity: csi_pb2_grpc.IdentityStub
    registration: pluginregistration_pb2_grpc.RegistrationStub

    @property
    def pid(self) -> int:
        return int(efs_csi.pid_file(self.node_dir).read_text())

    def publish(self, handle: str, target: Path, readonly: bool = False, **options: Any) -> Any:
        mode = options.pop("mode", RWX)
        capability = csi_pb2.VolumeCapability(
            mount=csi_pb2.VolumeCapability.MountVolume(mount_flags=options.pop("mount_flags", [])),
            access_mode=csi_pb2.VolumeCapability.AccessMode(mode=mode),
        )
        request = csi_pb2.NodePublishVolumeRequest(
            volume_id=handle,
            target_path=str(target),
            volume_capability=capability,
            readonly=readonly,
            volume_context=options.pop("context", {"encryptInTransit": "true"}),
        )
        return self.node.NodePublishVolume(request, timeout=30)

    def unpublish(self, handle: str, target: Path) -> Any:
        request = csi_pb2.NodeUnpublishVolumeRequest(volume_id=handle, target_path=str(target))
        return self.node.NodeUnpublishVolume(request, timeout=30)


def data_dir(emulator: Emulator, file_system_id: str) -> Path:
    """Where the emulator keeps the file system's data (``GET /_emulator/efs/<fs-id>``)."""
    with urllib.request.urlopen(f"{emulator.endpoint}/_emulator/efs/{file_system_id}", timeout=10) as answer:
        return Path(json.load(answer)["path"])


def short_dir() -> Path:
    """Unix socket paths hold 107 bytes: the kubelet root must be short (pytest's tmp_path is not)."""
    return Path(tempfile.mkdtemp(prefix="csi-", dir="/tmp"))


@pytest.fixture(scope="module")
def plugin(fidelity_emulator: Emulator) -> Iterator[Plugin]:
    base = short_dir()
    node_dir, kubelet_root = base / "node", base / "kubelet"
    efs_csi.start_plugin(node_dir, kubelet_root, "ip-10-0-1-10.ec2.internal", fidelity_emulator.endpoint)
    csi = grpc.insecure_channel(f"unix://{efs_csi.csi_socket_path(kubelet_root)}")
    registration = grpc.insecure_channel(
        f"unix://{efs_csi.registration_socket(kubelet_root / 'plugins_registry')}"
    )
    try:
        yield Plugin(
            node_dir,
            kubelet_root,
            csi_pb2_grpc.NodeStub(csi),
            csi_pb2_grpc.IdentityStub(csi),
            pluginregistration_pb2_grpc.RegistrationStub(registration),
        )
    finally:
        csi.close()
        registration.close()
        efs_csi.stop_plugin(node_dir)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def file_system(aws: Client, unique: Callable[[str], str], fidelity_emulator: Emulator) -> tuple[str, Path]:
    """An available EFS file system and its data directory, holding ``hello.txt``."""
    efs = aws("efs")
    file_system_id = efs.create_file_system(CreationToken=unique("csi"))["FileSystemId"]
    deadline = time.monotonic() + 10
    while (
        efs.describe_file_systems(FileSystemId=file_system_id)["FileSystems"][0]["LifeCycleState"]
        != "available"
    ):
        assert time.monotonic() < deadline, "the file system did not become available"
        time.sleep(0.05)
    path = data_dir(fidelity_emulator, file_system_id)
    (path / "hello.txt").write_text("hello from EFS\n")
    return file_system_id, path


def mounted(target: Path) -> bool:
    return efs_csi.is_mount_point(target)


def code_and_details(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    error: Any = raised.value
    return error.code(), error.details()


def test_registration_and_identity_answer_as_the_kubelet_expects(plugin: Plugin) -> None:
    info = plugin.registration.GetInfo(pluginregistration_pb2.InfoRequest(), timeout=10)
    assert (info.type, info.name, list(info.supported_versions)) == (
        "CSIPlugin",
        "efs.csi.aws.com",
        ["1.0.0"],
    )
    assert info.endpoint == str(plugin.kubelet_root / "plugins" / "efs.csi.aws.com" / "csi.sock")
    assert Path(info.endpoint).exists()
    plugin.registration.NotifyRegistrationStatus(
        pluginregistration_pb2.RegistrationStatus(plugin_registered=True), timeout=10
    )

    plugin_info = plugin.identity.GetPluginInfo(csi_pb2.GetPluginInfoRequest(), timeout=10)
    assert plugin_info.name == "efs.csi.aws.com"
    assert plugin_info.vendor_version
    assert plugin.identity.Probe(csi_pb2.ProbeRequest(), timeout=10).ready.value is True
    plugin.identity.GetPluginCapabilities(csi_pb2.GetPluginCapabilitiesRequest(), timeout=10)
    assert (
        plugin.node.NodeGetInfo(csi_pb2.NodeGetInfoRequest(), timeout=10).node_id
        == "ip-10-0-1-10.ec2.internal"
    )
    capabilities = plugin.node.NodeGetCapabilities(csi_pb2.NodeGetCapabilitiesRequest(), timeout=10)
    assert list(capabilities.capabilities) == []  # no staging: the kubelet publishes directly


def test_publish_binds_the_file_system_and_unpublish_unmounts_it(
    plugin: Plugin, file_system: tuple[str, Path], tmp_path: Path
) -> None:
    file_system_id, data = file_system
    target = tmp_path / "pods" / "uid" / "volumes" / "kubernetes.io~csi" / "homes" / "mount"
    plugin.publish(file_system_id, target, mount_flags=["tls", "iam"])
    try:
        assert mounted(target)
        assert (target / "hello.txt").read_text() == "hello from EFS\n"
        (target / "alice").mkdir()
        (target / "alice" / "notebook.ipynb").write_text("{}")
        assert (data / "alice" / "notebook.ipynb").read_text() == "{}"
        plugin.publish(file_system_id, target)  # again: already published, nothing stacked
    finally:
        plugin.unpublish(file_system_id, target)
    assert not mounted(target)
    assert not target.exists()  # the plugin removes the target directory it created
    assert (data / "alice" / "notebook.ipynb").exists()
    plugin.unpublish(file_system_id, target)  # again: nothing to do, still OK


def test_a_read_only_publish_refuses_writes(
    plugin: Plugin, file_system: tuple[str, Path], tmp_path: Path
) -> None:
    file_system_id, data = file_system
    (data / "alice").mkdir()
    target = tmp_path / "ro"
    plugin.publish(f"{file_system_id}:/alice", target, readonly=True)
    try:
        assert mounted(target)
        with pytest.raises(OSError) as raised:
            (target / "new.txt").write_text("x")
        assert raised.value.errno == 30  # EROFS
        assert not (data / "alice" / "new.txt").exists()
        (data / "alice" / "from-host.txt").write_text("seen")  # the subpath is what is mounted
        assert (target / "from-host.txt").read_text() == "seen"
    finally:
        plugin.unpublish(f"{file_system_id}:/alice", target)
    assert not mounted(target)


def test_an_access_point_mount_creates_its_root_directory_with_the_creation_info(
    plugin: Plugin, file_system: tuple[str, Path], aws: Client, tmp_path: Path
) -> None:
    file_system_id, data = file_system
    access_point_id = aws("efs").create_access_point(
        FileSystemId=file_system_id,
        PosixUser={"Uid": 1000, "Gid": 100},
        RootDirectory={
            "Path": "/jupyterhub/homes",
            "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 100, "Permissions": "0750"},
        },
    )["AccessPointId"]
    handle = f"{file_system_id}::{access_point_id}"
    target = tmp_path / "ap"
    assert not (data / "jupyterhub").exists()
    plugin.publish(handle, target)
    try:
        root = data / "jupyterhub" / "homes"
        for created in (data / "jupyterhub", root):
            info = created.stat()
            assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1000, 100, 0o750), created
        assert not (target / "hello.txt").exists()  # the access point's root, not the file system's
        (target / "bob").mkdir()
        assert (root / "bob").is_dir()
    finally:
        plugin.unpublish(handle, target)
    assert not mounted(target)


def test_errors_are_grpc_status_codes_with_clear_messages(
    plugin: Plugin, file_system: tuple[str, Path], tmp_path: Path
) -> None:
    file_system_id, _ = file_system
    target = tmp_path / "target"
    code, details = code_and_details(lambda: plugin.publish("fs-0123456789abcdef0", target))
    assert code == grpc.StatusCode.NOT_FOUND
    assert "fs-0123456789abcdef0" in details
    code, details = code_and_details(
        lambda: plugin.publish(f"{file_system_id}::fsap-0123456789abcdef0", target)
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert "fsap-0123456789abcdef0" in details
    for handle in ("vol-0123", f"{file_system_id}:/a:fsap-1:extra", f"{file_system_id}::ap-1"):
        code, details = code_and_details(lambda handle=handle: plugin.publish(handle, target))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, handle
        assert handle in details
    code, details = code_and_details(
        lambda: plugin.publish(file_system_id, target, context={"encryptInTransit": "maybe"})
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "encryptInTransit" in details
    code, details = code_and_details(lambda: plugin.publish(file_system_id, target, context={"shares": "x"}))
    assert (code, "shares" in details) == (grpc.StatusCode.INVALID_ARGUMENT, True)
    read_only_many = csi_pb2.VolumeCapability.AccessMode.MULTI_NODE_READER_ONLY
    code, details = code_and_details(lambda: plugin.publish(file_system_id, target, mode=read_only_many))
    assert (code, "MULTI_NODE_READER_ONLY" in details) == (grpc.StatusCode.INVALID_ARGUMENT, True)
    code, details = code_and_details(lambda: plugin.publish(f"{file_system_id}:/missing", target))
    assert (code, "/missing" in details) == (grpc.StatusCode.NOT_FOUND, True)
    assert not target.exists() or not mounted(target)


def test_start_is_idempotent_and_stop_ends_the_process(fidelity_emulator: Emulator) -> None:
    base = short_dir()
    try:
        node_dir, kubelet_root = base / "node", base / "kubelet"
        efs_csi.start_plugin(node_dir, kubelet_root, "node-a", fidelity_emulator.endpoint)
        pid = int(efs_csi.pid_file(node_dir).read_text())
        marker = str(efs_csi.log_file(node_dir))
        assert pid_alive(pid, marker)
        efs_csi.start_plugin(node_dir, kubelet_root, "node-a", fidelity_emulator.endpoint)
        assert int(efs_csi.pid_file(node_dir).read_text()) == pid

        efs_csi.stop_plugin(node_dir)
        assert not pid_alive(pid, marker)
        assert not efs_csi.pid_file(node_dir).exists()
        assert not efs_csi.csi_socket_path(kubelet_root).exists()  # the kubelet sees the driver go
        assert not efs_csi.registration_socket(kubelet_root / "plugins_registry").exists()
        efs_csi.stop_plugin(node_dir)  # again: nothing to stop
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_socket_paths_too_long_for_unix_sockets_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="longer than 107 bytes"):
        efs_csi.start_plugin(tmp_path, Path("/tmp") / ("k" * 100), "node-a", "http://127.0.0.1:1")


def test_the_csidriver_object_is_the_add_on_s() -> None:
    assert efs_csi.csidriver_manifest() == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": "efs.csi.aws.com"},
        "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"]},
    }

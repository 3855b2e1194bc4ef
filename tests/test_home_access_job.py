"""The kubernetes_job way's choice of volume: the file system's root, through the access point the
inventory names when the file system has one (a real site's policy allows no other mount), and
directly when it has none (a file system a restore has just made). The Jobs themselves run on the
local EKS site's real cluster (tests/test_eks_site_e2e.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from test_runbooks_preflight import make_small_site

from emulator.launcher import Emulator
from runbooks import aws
from runbooks.engine import Refused
from runbooks.home_access import KubernetesJobAccess, home_access
from runbooks.site import Site, load_site


@pytest.fixture
def small_site(site_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Site:
    return make_small_site(site_emulator, monkeypatch, tmp_path)


def job_site(site: Site, tmp_path: Path, kubeconfig: Path | None = None, **settings: object) -> Site:
    if kubeconfig is None:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    variables = {
        "runbook_home_access": "kubernetes_job",
        "runbook_home_job": {"image": "python:3.12-slim", **settings},
        "eks_cluster_kubeconfig_path": str(kubeconfig),
    }
    return dataclasses.replace(site, hostvars={**site.hostvars, **variables})


def test_the_volume_goes_through_the_named_access_point_when_the_file_system_has_it(
    small_site: Site,
    tmp_path: Path,
) -> None:
    site = job_site(small_site, tmp_path, access_point="runbook")
    fs = aws.find_home_fs(site)
    assert fs is not None
    efs = aws.client(site, "efs")
    efs.create_access_point(
        FileSystemId=fs["FileSystemId"],
        PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/home"},
        Tags=[{"Key": "Name", "Value": "homes"}],
    )
    access = home_access(site)
    assert isinstance(access, KubernetesJobAccess)
    # Not yet there: the root directly (as for a file system a restore made).
    assert access._volume_handle(fs["FileSystemId"]) == fs["FileSystemId"]
    point = efs.create_access_point(
        FileSystemId=fs["FileSystemId"],
        PosixUser={"Uid": 0, "Gid": 0},
        RootDirectory={"Path": "/"},
        Tags=[{"Key": "Name", "Value": "runbook"}],
    )
    assert access._volume_handle(fs["FileSystemId"]) == f"{fs['FileSystemId']}::{point['AccessPointId']}"
    assert access.where(fs["FileSystemId"]) == f"sciplat-runbook/sciplat-runbook-{fs['FileSystemId']}:"
    # Without the setting, the root: the local EKS site (the emulated EFS applies no policy).
    assert (
        home_access(job_site(small_site, tmp_path))._volume_handle(fs["FileSystemId"]) == fs["FileSystemId"]
    )


def test_a_kubeconfig_that_does_not_exist_is_refused_before_anything(tmp_path: Path) -> None:
    site = job_site(load_site("local"), tmp_path)
    gone = dataclasses.replace(
        site, hostvars={**site.hostvars, "eks_cluster_kubeconfig_path": str(tmp_path / "x")}
    )
    with pytest.raises(Refused, match=f"no kubeconfig at {tmp_path / 'x'} to reach the cluster"):
        home_access(gone)


def test_prune_removes_the_volumes_of_deleted_file_systems_only(
    small_site: Site, tmp_path: Path, api_server: Any
) -> None:
    """The runbook's volume and claim of a file system that is gone are deleted; those of the site's
    file system, and volumes the runbook did not make, are kept."""
    client, api_client, kubeconfig = api_server
    core = client.CoreV1Api(api_client)
    site = job_site(small_site, tmp_path, kubeconfig)
    efs = aws.client(site, "efs")
    live = aws.find_home_fs(site)
    assert live is not None
    gone = efs.create_file_system(CreationToken="replaced", Encrypted=True)["FileSystemId"]
    efs.delete_file_system(FileSystemId=gone)
    core.create_namespace({"metadata": {"name": "sciplat-runbook"}})
    volumes = {f"sciplat-runbook-{fs}": fs for fs in (live["FileSystemId"], gone)}
    volumes["someone-elses"] = gone
    for name, fs in volumes.items():
        labels = KubernetesJobAccess.LABELS if name.startswith("sciplat-runbook-") else {}
        core.create_persistent_volume(
            {
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "claimRef": {"namespace": "sciplat-runbook", "name": name},
                    "csi": {"driver": "efs.csi.aws.com", "volumeHandle": f"{fs}::fsap-0123456789abcdef0"},
                },
            }
        )
        core.create_namespaced_persistent_volume_claim(
            "sciplat-runbook",
            {
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "accessModes": ["ReadWriteMany"],
                    "volumeName": name,
                    "storageClassName": "",
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        )

    assert home_access(site).prune() == [f"sciplat-runbook-{gone} ({gone})"]

    def alive(read: Any, *args: str) -> bool:
        """There and not being deleted (a finalizer may hold a deleted object a moment)."""
        try:
            return not read(*args).metadata.deletion_timestamp
        except client.exceptions.ApiException as error:
            assert error.status == 404
            return False

    kept = {f"sciplat-runbook-{live['FileSystemId']}", "someone-elses"}
    for name in volumes:
        assert alive(core.read_persistent_volume, name) == (name in kept), name
        assert alive(core.read_namespaced_persistent_volume_claim, name, "sciplat-runbook") == (
            name in kept
        ), name
    assert home_access(site).prune() == []  # a re-run finds nothing more

"""The kubernetes_job way's choice of volume: the file system's root, through the access point the
inventory names when the file system has one (a real site's policy allows no other mount), and
directly when it has none (a file system a restore has just made). The Jobs themselves run on the
local EKS site's real cluster (tests/test_eks_site_e2e.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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


def job_site(site: Site, tmp_path: Path, **settings: object) -> Site:
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

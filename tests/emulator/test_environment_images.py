"""The science environments' images, built here without Docker and run by the local clusters' real nodes.

``python -m environments image NAME VERSION --push`` builds the image the environment's Dockerfile
describes (emulator/environment_image.py) and pushes it into the emulated ECR under the names the image
pipeline pushes; every real node of that account and region loads it (emulator/ecr_images.py), so a
pod naming ``<account>.dkr.ecr.<region>.amazonaws.com/sciplat-envs/<name>:<version>`` runs it as on EKS.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kube_support import admin_api, client, create_cluster, one_node_group, subnets, wait_for

from emulator import environment_image
from emulator.kube import build, images
from emulator.launcher import CLIENT_ENV, Emulator
from environments import core

pytestmark = pytest.mark.skipif(bool(build.missing()), reason="Kubernetes components not built (make kube)")

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ENV = core.get("tess", "2026.11")


def environments_cli(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **CLIENT_ENV,
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-m", "environments", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def start_group(emulator: Emulator, cluster: str, group: str, subnet_ids: list[str]) -> str:
    one_node_group(emulator, cluster, group, subnet_ids)
    selector = f"eks.amazonaws.com/nodegroup={group}"
    (node,) = admin_api(emulator, cluster).list_node(label_selector=selector).items
    return str(node.metadata.name)


def run_pod(api: Any, name: str, node: str, image: str, script: str) -> str:
    api.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "nodeName": node,
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", script],
                    }
                ],
            },
        },
    )

    def done() -> bool:
        return api.read_namespaced_pod(name, "default").status.phase in ("Succeeded", "Failed")

    wait_for(done, 180, f"pod {name} to finish")
    pod = api.read_namespaced_pod(name, "default")
    log = api.read_namespaced_pod_log(name, "default")
    assert pod.status.phase == "Succeeded", log
    return str(log)


def test_the_image_has_the_dockerfiles_layout_and_the_pipelines_names() -> None:
    archive = environment_image.image(ENV, REGISTRY)
    names, manifest = images.read_archive(archive)
    assert names == [
        f"{REGISTRY}/sciplat-envs/tess:2026.11",
        f"{REGISTRY}/sciplat-envs/tess:2026.11-{ENV.lock().short_digest}",
    ]
    import json
    import tarfile

    def members_of(tar: tarfile.TarFile, layer: dict[str, Any]) -> dict[str, tarfile.TarInfo]:
        with tarfile.open(fileobj=tar.extractfile(f"blobs/sha256/{layer['digest'][7:]}")) as blob:
            return {m.name: m for m in blob.getmembers()}

    with tarfile.open(archive) as tar:
        blob = json.loads(manifest)
        config = json.load(tar.extractfile(f"blobs/sha256/{blob['config']['digest'][7:]}"))  # type: ignore[arg-type]
        members, notice = (members_of(tar, layer) for layer in blob["layers"][-2:])
    assert len(blob["layers"]) == 4, "Debian tree, notebook base, environment, storage notice"
    assert config["config"]["User"] == "1000"
    assert config["config"]["Labels"]["org.sciplat.environment.lock-sha256"] == ENV.lock().digest
    kernel = "opt/conda/envs/tess-2026.11"
    assert f"{kernel}.lock" in members
    assert members[f"{kernel}.lock"].uid == 1000
    assert "opt/conda/share/jupyter/kernels/tess-2026.11/kernel.json" in members
    assert any(name.startswith("opt/sciplat/smoke/") and name.endswith(".ipynb") for name in members)
    # The environment's layer holds only what it added: the notebook base stays in its own layer.
    assert not any(name.startswith("opt/conda/lib/") for name in members)
    assert not any(name.startswith(("tmp/", "root/", "opt/uv")) for name in members)
    # The storage notice in the servers' environment (/opt/conda), in a layer of its own, jovyan's.
    lab = "opt/conda/share/jupyter/labextensions/sciplat-storage-notice/package.json"
    server = "opt/conda/etc/jupyter/jupyter_server_config.d/sciplat_storage_notice.json"
    assert lab in notice and server in notice
    assert notice[lab].uid == notice[server].uid == 1000
    assert not any(name.startswith(("opt/conda/envs/", "opt/context", "tmp/")) for name in notice)


def test_the_storage_notice_is_enabled_in_the_images_server_environment(tmp_path: Path) -> None:
    """What jupyter-server and JupyterLab in the image list: the extension, enabled and valid."""
    tree, *layers = environment_image.layers(ENV)
    script = (
        "/opt/conda/bin/jupyter server extension list >/opt/out/server 2>&1; "
        "/opt/conda/bin/jupyter labextension list >/opt/out/lab 2>&1"
    )
    environment_image._chroot_run(
        [*reversed(layers), tree], tmp_path / "upper", script, {"/opt/out": tmp_path}
    )
    server, lab = (re.sub(r"\x1b\[[0-9;]*m", "", (tmp_path / out).read_text()) for out in ("server", "lab"))
    assert re.search(
        r"sciplat_storage_notice enabled\s+- Validating.*\s+sciplat_storage_notice 0\.1\.0 OK", server
    ), server
    # Listed under the servers' environment's own directory, not a kernel's or the user's.
    assert re.search(
        r"^/opt/conda/share/jupyter/labextensions\n(\s+\S.*\n)*?"
        r"\s+sciplat-storage-notice v0\.1\.0 enabled OK$",
        lab,
        re.M,
    ), lab


def test_pushed_images_run_on_running_and_new_nodes_and_promotion_retags_them(
    kube_emulator: Emulator,
) -> None:
    subnet_ids = subnets(kube_emulator)
    create_cluster(kube_emulator, "science", subnet_ids)
    api = admin_api(kube_emulator, "science")
    ecr = client(kube_emulator, "ecr")

    refused = environments_cli(kube_emulator, "image", "tess", "2026.11", "--push")
    assert refused.returncode == 2
    assert "sciplat-envs/tess" in refused.stderr and "does not exist" in refused.stderr, refused.stderr

    ecr.create_repository(repositoryName="sciplat-envs/tess")
    first = start_group(kube_emulator, "science", "core", subnet_ids)
    pushed = environments_cli(kube_emulator, "image", "tess", "2026.11", "--push")
    assert pushed.returncode == 0, pushed.stderr
    assert f"loaded on nodes: {first}" in pushed.stdout

    found = ecr.describe_images(repositoryName="sciplat-envs/tess")["imageDetails"]
    (image,) = found
    manifest = images.read_archive(environment_image.image(ENV, REGISTRY))[1]
    assert image["imageDigest"] == f"sha256:{hashlib.sha256(manifest).hexdigest()}"
    assert sorted(image["imageTags"]) == ["2026.11", f"2026.11-{ENV.lock().short_digest}"]

    name = f"{REGISTRY}/sciplat-envs/tess:2026.11"
    script = (
        "id -u; python -c 'import astropy; print(\"astropy\", astropy.__version__)'; "
        "/opt/conda/bin/jupyter kernelspec list; /opt/conda/bin/jupyterhub-singleuser --version"
    )
    log = run_pod(api, "on-running-node", first, name, script)
    lines = log.splitlines()
    assert lines[0] == "1000"
    assert f"astropy {ENV.lock().pins['astropy']}" in lines
    assert "tess-2026.11" in log

    second = start_group(kube_emulator, "science", "user", subnet_ids)
    # A pod on the new node reaches the first node's address (its kubelet), as a user's server
    # reaches a hub in a host-network pod: the pod network is routed between nodes.
    first_node = api.read_node(first)
    address = next(a.address for a in first_node.status.addresses if a.type == "InternalIP")
    port = first_node.status.daemon_endpoints.kubelet_endpoint.port
    reach = (
        f'python3 -c \'import socket; socket.create_connection(("{address}", {port}), 5); print("reached")\''
    )
    assert run_pod(api, "on-new-node", second, name, f"id -u; {reach}").split() == ["1000", "reached"]

    promoted = environments_cli(kube_emulator, "promote", "tess", "2026.11", "--to", "stable")
    assert promoted.returncode == 0, promoted.stderr
    stable = ecr.describe_images(repositoryName="sciplat-envs/tess", imageIds=[{"imageTag": "stable"}])
    assert stable["imageDetails"][0]["imageDigest"] == image["imageDigest"]

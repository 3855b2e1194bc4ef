"""A stand-in for the zero-to-jupyterhub 4.4.0 chart and its images, built here (no chart repository or
image registry can be reached). What the chart stands in for is in z2jh_chart/README.md.

- ``package``: the chart archive, ``jupyterhub-4.4.0.tgz``: the chart's own default values and schema
  (z2jh_chart/upstream, image tags set as the release sets them) with the stand-in's templates and hub
  configuration. The jupyterhub role installs it through ``jupyterhub_eks_chart_archive``.

- ``quay.io/jupyterhub/k8s-hub:4.4.0``: the hub. The machines' Debian tree with ``/opt/hub``, a venv
  holding the Python packages the real image's requirements pin for what the kit uses (JupyterHub,
  KubeSpawner, OAuthenticator, the idle culler), and configurable-http-proxy from npm: the stand-in chart
  (emulator/charts/jupyterhub) runs the proxy inside the hub's pod.
- ``quay.io/jupyterhub/k8s-network-tools:4.4.0``: iptables, for the init container that blocks the
  cloud metadata address in users' pods.

Each layer is cached by what it is built from (emulator.environment_image). ``--publish`` hands the
archives to the emulator as a public registry every node pulls from (emulator/ecr_images.py):

    python -m emulator.kube.z2jh [--chart OUT.tgz] [--publish ENDPOINT]
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from emulator import environment_image
from emulator.kube import images

CHART_VERSION = "4.4.0"
CHART_DIR = Path(__file__).resolve().parent / "z2jh_chart"
HUB_IMAGE = f"quay.io/jupyterhub/k8s-hub:{CHART_VERSION}"
NETWORK_TOOLS_IMAGE = f"quay.io/jupyterhub/k8s-network-tools:{CHART_VERSION}"
HUB_PACKAGES = (
    "jupyterhub==6.1.1",
    "jupyterhub-kubespawner==7.1.0",
    "oauthenticator==17.4.0",
    "jupyterhub-idle-culler==1.4.0",
    "pyyaml==6.0.3",
)
PROXY_PACKAGE = "configurable-http-proxy@4.6.3"
HUB_UID = 1000
# The hub image keeps Node.js (the proxy runs on it); the rest of Python's excludes apply.
HUB_EXCLUDES = tuple(e for e in images.PYTHON_EXCLUDES if "node" not in e)


def hub_layer(tree: Path, log: Callable[[str], None]) -> Path:
    packages = " ".join(shlex.quote(p) for p in HUB_PACKAGES)
    script = f"""
useradd --uid {HUB_UID} --user-group --no-create-home --home-dir /srv/jupyterhub --shell /bin/bash jovyan
mkdir -p /srv/jupyterhub /usr/local/etc/jupyterhub
/usr/bin/python3 -m venv --without-pip /opt/hub
/opt/uv/uv pip install --quiet --python /opt/hub/bin/python --only-binary :all: {packages}
NODE_EXTRA_CA_CERTS={environment_image.HOST_CA_BUNDLE} npm install --global --no-fund --no-audit \\
  --cache /var/cache/npm {PROXY_PACKAGE}
rm -rf /var/cache/npm
chown -R {HUB_UID}:{HUB_UID} /srv/jupyterhub
"""
    return environment_image.build_layer(
        f"hub-{environment_image.layer_key(tree.name, script)}", [tree], script, log
    )


def network_tools_layer(tree: Path, log: Callable[[str], None]) -> Path:
    script = """
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -qq -y --no-install-recommends iptables >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/*
"""
    name = f"network-tools-{environment_image.layer_key(tree.name, script)}"
    return environment_image.build_layer(name, [tree], script, log)


def archives(log: Callable[[str], None] = print) -> list[Path]:
    """Build (or reuse) both images; their OCI archives."""
    from machines import rootfs

    tree = rootfs.build(log=log)
    hub = images.ImageSpec(
        HUB_IMAGE,
        tree,
        {
            "User": str(HUB_UID),
            "Env": ["PATH=/opt/hub/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
            "WorkingDir": "/srv/jupyterhub",
            "Cmd": ["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py"],
        },
        (*HUB_EXCLUDES, environment_image.COMPLETE),
        identity=tree.name,
        layers=(hub_layer(tree, log),),
    )
    tools = images.ImageSpec(
        NETWORK_TOOLS_IMAGE,
        tree,
        {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["iptables", "-S"],
        },
        (*images.PYTHON_EXCLUDES, environment_image.COMPLETE),
        identity=tree.name,
        layers=(network_tools_layer(tree, log),),
    )
    return [images.archive(hub, log), images.archive(tools, log)]


def package(dest: Path) -> Path:
    """Write the chart archive (only when its content changed: helm compares nothing, Ansible does)."""
    upstream = CHART_DIR / "upstream"
    members = {
        "Chart.yaml": (CHART_DIR / "Chart.yaml").read_bytes(),
        "README.md": (CHART_DIR / "README.md").read_bytes(),
        "LICENSE": (upstream / "LICENSE").read_bytes(),
        # chartpress writes the release's version into the image tags when it publishes the chart.
        "values.yaml": (upstream / "values.yaml")
        .read_text()
        .replace('"set-by-chartpress"', f'"{CHART_VERSION}"')
        .encode(),
        "values.schema.yaml": (upstream / "values.schema.yaml").read_bytes(),
    }
    for sub in ("templates", "files"):
        for path in sorted((CHART_DIR / sub).iterdir()):
            if path.is_file() and path.suffix in (".yaml", ".tpl", ".py"):
                members[f"{sub}/{path.name}"] = path.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"jupyterhub/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    content = buffer.getvalue()
    if not dest.exists() or dest.read_bytes() != content:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        partial.write_bytes(content)
        partial.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.kube.z2jh", description=__doc__.split("\n")[0])
    parser.add_argument("--chart", metavar="OUT.tgz", type=Path, help="write the chart archive there")
    parser.add_argument("--publish", metavar="ENDPOINT", help="the emulator's endpoint URL")
    args = parser.parse_args(argv)
    if args.chart:
        print(f"chart archive: {package(args.chart)}")
    for archive in archives(lambda message: print(message, flush=True)):
        print(f"image archive: {archive}")
        if args.publish:
            answer = environment_image.push(archive, args.publish, registry="public")
            print(f"published {', '.join(answer['images'])} (nodes now: {len(answer['nodes'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

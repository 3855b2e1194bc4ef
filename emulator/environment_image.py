"""The science environment's image built on this machine, without Docker or a registry.

What the rendered Dockerfile (environments.image) builds in CodeBuild, made here from the local machines'
Debian 12 tree (Python 3.11.2, as the spec asks) in three layers:

1. the Debian tree (the layer the local ``python`` image shares);
2. the notebook base, standing for the Jupyter Docker Stacks' base-notebook: the user jovyan (UID 1000,
   GID 100) and ``/opt/conda``, a venv with JupyterHub's single-user server and JupyterLab;
3. the environment: its hashed lock installed ``--require-hashes`` into
   ``/opt/conda/envs/<name>-<version>``, its kernel in ``/opt/conda/share/jupyter/kernels`` and its
   smoke notebooks in ``/opt/sciplat/smoke``, as the Dockerfile lays them out;
4. the storage notice: the wheel of ``build/lab-extension/`` whose sha256 the environment's Dockerfile
   pins, installed into ``/opt/conda`` (the servers' environment), offline and without dependencies.

Layers 2 to 4 are made by running the tree's own Python in a chroot over an overlay mount (in a private
mount namespace, so an interrupted build leaves no mount behind); the overlay's upper directory is the
layer. Each is cached under ``$SCIPLAT_CACHE/environments/image-layers`` by what it is made from.
The image is named as the image pipeline pushes it: ``<registry>/<prefix><name>:<version>`` and
``:<version>-<lock digest>``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.kube import images
from environments.core import CACHE_DIR, EnvError, EnvVersion, uv_binary
from environments.image import (
    DEFAULT_REPOSITORY_PREFIX,
    Wheel,
    kernel_name,
    pinned_storage_notice,
    storage_notice_wheel,
)

LAYER_CACHE = CACHE_DIR / "environments" / "image-layers"
# The base-notebook stand-in's servers: the versions the single-node hub installs (roles/jupyterhub).
NOTEBOOK_PACKAGES = ("jupyterhub==6.1.1", "jupyterlab==4.6.6")
NB_UID, NB_GID = 1000, 100
# Written by the build, not part of the image.
SCRATCH = ("tmp", "root", "var/cache/ldconfig", "etc/.pwd.lock")
COMPLETE = ".sciplat-complete"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _chroot_run(lowers: list[Path], upper: Path, script: str, binds: dict[str, Path]) -> None:
    """Run ``script`` (sh) as root in a chroot of the overlay ``upper`` over ``lowers`` (top first)."""
    work = upper.with_name(upper.name + ".work")
    merged = upper.with_name(upper.name + ".merged")
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    lowerdir = ":".join(str(p) for p in lowers)
    mounts = [
        f"mount -t overlay overlay -o lowerdir={lowerdir},upperdir={upper},workdir={work} {merged}",
        f"mount -t proc proc {merged}/proc",
        f"mount --rbind /dev {merged}/dev",
        # The host's resolver and its CA bundle (a proxy's CA too) for the index: mounted, not copied in.
        f"mount --bind /etc/resolv.conf {merged}/etc/resolv.conf",
        f"mount --bind {HOST_CA_BUNDLE} {merged}{HOST_CA_BUNDLE}",
    ]
    for inside, outside in binds.items():
        mounts += [f"mkdir -p {merged}{inside}", f"mount --bind {outside} {merged}{inside}"]
    command = " && ".join(mounts) + f" && exec chroot {merged} /bin/sh -euc {shlex.quote(script)}"
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "UV_CACHE_DIR": "/var/cache/uv",
        "UV_LINK_MODE": "copy",
        "SSL_CERT_FILE": HOST_CA_BUNDLE,
    }
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-ec", command],
        env=env,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(merged, ignore_errors=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise EnvError(f"building the image layer {upper.name} failed:\n{tail}")


def build_layer(
    name: str, lowers: list[Path], script: str, log: Callable[[str], None], context: Path | None = None
) -> Path:
    """The overlay upper directory ``script`` leaves, built once per name (a hash of its inputs)."""
    target = LAYER_CACHE / name
    if (target / COMPLETE).exists():
        return target
    LAYER_CACHE.mkdir(parents=True, exist_ok=True)
    # One build of a layer at a time (tests in parallel, clones sharing the cache): who waited finds it.
    with open(LAYER_CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / COMPLETE).exists():
            _build_layer(target, lowers, script, log, context)
    return target


def _build_layer(
    target: Path, lowers: list[Path], script: str, log: Callable[[str], None], context: Path | None
) -> None:
    name = target.name
    partial = LAYER_CACHE / f"{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    log(f"images: building layer {name} (once; cached)")
    binds = {"/opt/uv": Path(uv_binary()).parent, "/var/cache/uv": CACHE_DIR / "uv"}
    if context is not None:
        binds["/opt/context"] = context
    try:
        _chroot_run(lowers, partial, script, binds)
    except EnvError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for entry in (*SCRATCH, *(inside.lstrip("/") for inside in binds)):
        path = partial / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (partial / COMPLETE).touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    log(f"images: built layer {name} in {time.monotonic() - started:.0f} s")


def layer_key(*parts: object) -> str:
    """A layer's cache key: what it is made from and what the build leaves out."""
    return hashlib.sha256(json.dumps([str(p) for p in (*parts, SCRATCH)]).encode()).hexdigest()[:16]


def notebook_layer(tree: Path, log: Callable[[str], None] = print) -> Path:
    """jovyan and /opt/conda with the single-user server and JupyterLab (base-notebook's part)."""
    packages = " ".join(shlex.quote(p) for p in NOTEBOOK_PACKAGES)
    script = f"""
groupadd --force --gid {NB_GID} users
useradd --uid {NB_UID} --gid {NB_GID} --create-home --shell /bin/bash jovyan
/usr/bin/python3 -m venv --without-pip /opt/conda
/opt/uv/uv pip install --quiet --python /opt/conda/bin/python --only-binary :all: {packages}
chown -R {NB_UID}:{NB_GID} /opt/conda /home/jovyan
"""
    return build_layer(f"notebook-{layer_key(tree.name, script)}", [tree], script, log)


def environment_layer(env: EnvVersion, tree: Path, base: Path, log: Callable[[str], None] = print) -> Path:
    """The environment's venv, kernel and smoke notebooks (the Dockerfile's own steps)."""
    kernel = kernel_name(env)
    prefix = f"/opt/conda/envs/{kernel}"
    script = f"""
mkdir -p /opt/sciplat/smoke /opt/conda/envs
cp /opt/context/requirements.lock {prefix}.lock
cp -r /opt/context/notebooks/. /opt/sciplat/smoke/
/usr/bin/python3 -m venv --without-pip {prefix}
/opt/uv/uv pip install --quiet --python {prefix}/bin/python --no-deps --require-hashes --only-binary :all: \
    -r {prefix}.lock
{prefix}/bin/python -m ipykernel install --prefix /opt/conda --name {kernel} \
    --display-name {shlex.quote(f"{env.name.upper()} {env.version}")}
# Only what this layer made: a chown of the base's files would copy them all up into this layer.
chown -R {NB_UID}:{NB_GID} /opt/conda/envs /opt/conda/share/jupyter/kernels/{kernel} /opt/sciplat
"""
    name = f"env-{kernel}-{layer_key(base.name, env.lock().digest, script)}"
    return build_layer(name, [base, tree], script, log, context=env.path)


def storage_notice_layer(
    wheel: Wheel, tree: Path, lowers: list[Path], log: Callable[[str], None] = print
) -> Path:
    """The storage notice's wheel in the servers' environment, as the Dockerfile's last step installs it."""
    script = f"""
touch /tmp/started
echo {shlex.quote(wheel.lock_line("/opt/context"))} > /tmp/notice.lock
/opt/uv/uv pip install --quiet --python /opt/conda/bin/python --no-deps --no-index --require-hashes \
    --only-binary :all: -r /tmp/notice.lock
# What the install made or changed (by ctime: a wheel's files keep their own mtimes), not the base's files.
find /opt/conda -cnewer /tmp/started -exec chown -h {NB_UID}:{NB_GID} {{}} +
"""
    name = f"notice-{layer_key(lowers[0].name, wheel.sha256, script)}"
    return build_layer(name, [*lowers, tree], script, log, context=wheel.path.parent)


def image_names(env: EnvVersion, registry: str, prefix: str = DEFAULT_REPOSITORY_PREFIX) -> tuple[str, str]:
    """The two tags the build pushes: VERSION and VERSION-LOCKDIGEST (what promotion retags)."""
    repository = f"{registry}/{prefix}{env.name}"
    return f"{repository}:{env.version}", f"{repository}:{env.version}-{env.lock().short_digest}"


def layers(env: EnvVersion, log: Callable[[str], None] = print) -> tuple[Path, Path, Path, Path]:
    """The image's tree and its three layers, bottom first (each built once, then cached)."""
    from machines import rootfs

    if not env.lock_path.exists():
        raise EnvError(f"{env.label()} has no lock; run `python -m environments freeze` first")
    # The wheel the Dockerfile pins, before anything is built.
    wheel = storage_notice_wheel(sha256=pinned_storage_notice((env.path / "Dockerfile").read_text()))
    tree = rootfs.build(log=log)
    base = notebook_layer(tree, log)
    top = environment_layer(env, tree, base, log)
    return tree, base, top, storage_notice_layer(wheel, tree, [top, base], log)


def image(
    env: EnvVersion,
    registry: str,
    prefix: str = DEFAULT_REPOSITORY_PREFIX,
    log: Callable[[str], None] = print,
) -> Path:
    """Build (or reuse) the environment's image; its OCI archive."""
    tree, base, top, notice = layers(env, log)
    kernel = kernel_name(env)
    name, lock_tag = image_names(env, registry, prefix)
    config = {
        "User": f"{NB_UID}",
        "Env": [
            f"PATH=/opt/conda/envs/{kernel}/bin:/opt/conda/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            "NB_USER=jovyan",
            f"NB_UID={NB_UID}",
            f"NB_GID={NB_GID}",
            "HOME=/home/jovyan",
            f"SCIPLAT_ENVIRONMENT={env.name}",
            f"SCIPLAT_ENVIRONMENT_VERSION={env.version}",
        ],
        "WorkingDir": "/home/jovyan",
        "Cmd": ["jupyterhub-singleuser"],
        "Labels": {
            "org.opencontainers.image.title": f"sciplat-{env.name}",
            "org.opencontainers.image.version": env.version,
            "org.sciplat.environment.lock-sha256": env.lock().digest,
        },
    }
    spec = images.ImageSpec(
        name,
        tree,
        config,
        (*images.PYTHON_EXCLUDES, COMPLETE),
        identity=tree.name,
        layers=(base, top, notice),
        aliases=(lock_tag,),
    )
    return images.archive(spec, log)


# Where an archive goes in the emulator (there is no registry to push to here): the ECR repository its
# names give, or the public registry every node pulls from (the local EKS site's chart images).
REGISTRIES = {
    "ecr": ("/_emulator/ecr/push", "the emulated ECR"),
    "public": ("/_emulator/images/public", "the emulator's public registry"),
}


def push(archive: Path, endpoint: str, registry: str = "ecr") -> dict[str, Any]:
    """Push the archive into the emulator at ``endpoint``: its ECR, or its public registry."""
    route, name = REGISTRIES[registry]
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}{route}",
        data=json.dumps({"archive": str(archive)}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.load(response)  # type: ignore[no-any-return]
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read() or b"{}")
        raise EnvError(
            f"{name} refused the push: {answer.get('message') or answer.get('error') or error}"
        ) from None
    except urllib.error.URLError as error:
        raise EnvError(
            f"no emulator answers at {endpoint} ({error.reason}); start it with `make emulator`"
        ) from None

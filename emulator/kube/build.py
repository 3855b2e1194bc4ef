"""Build the Kubernetes components the local clusters run, from the Go module proxy, cached by version.

``python -m emulator.kube.build [--version v1.33.13]`` builds kube-apiserver, kube-controller-manager,
kube-scheduler, kubelet, kube-proxy and kubectl from ``k8s.io/kubernetes`` and helm from
``helm.sh/helm/v3`` into ``$SCIPLAT_CACHE/kube/<version>/bin`` (default ``~/.cache/sciplat-kit``). It
is idempotent: a component whose binary is already there is not built again; a build that fails half
way leaves no binary (it is written under a temporary name and renamed), so a re-run resumes. The
server's ``gitVersion`` is set at link time: helm's and charts' ``kubeVersion`` checks read it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from environments.core import cache_root

KUBERNETES_VERSION = "v1.33.13"
HELM_VERSION = "v3.18.6"
COMPONENTS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
# k8s.io/kubernetes replaces its staging modules with ./staging/src paths; from the proxy they are
# the published k8s.io/<name> modules at v0.<minor>.<patch>.
STAGING_LINE = re.compile(r"^\s*(k8s\.io/[\w.-]+) => \./staging/src/", re.M)


def bin_dir(version: str = KUBERNETES_VERSION) -> Path:
    return cache_root() / "kube" / version / "bin"


def binary(name: str, version: str = KUBERNETES_VERSION) -> Path:
    """The path of one built component (it may not exist yet: see ``missing``)."""
    return bin_dir(version) / name


def module_dir(version: str = KUBERNETES_VERSION) -> Path:
    """The ``k8s.io/kubernetes`` module's source in the Go module cache (``ensure`` downloads it)."""
    gomodcache = subprocess.run(
        ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(gomodcache) / f"k8s.io/kubernetes@{version}"


def download_module(version: str = KUBERNETES_VERSION) -> None:
    work = _module_dir(version, "kubernetes", f"k8s.io/kubernetes {version}", [])
    _go(["mod", "download", f"k8s.io/kubernetes@{version}"], work)


def missing(version: str = KUBERNETES_VERSION) -> list[str]:
    return [name for name in (*COMPONENTS, "helm") if not binary(name, version).exists()]


def _progress(message: str) -> None:
    print(f"kube build: {message}", flush=True)


def _go(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    result = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-25:])
        raise SystemExit(
            f"kube build: `go {' '.join(args[:3])} ...` failed in {cwd}:\n{tail}\n"
            "Re-run the same command to resume; the components already built are kept."
        )


def _module_dir(version: str, name: str, requires: str, replaces: list[str]) -> Path:
    work = cache_root() / "kube" / version / "src" / name
    work.mkdir(parents=True, exist_ok=True)
    go_mod = "\n".join(
        [f"module sciplat.local/{name}", "", "go 1.24.0", "", f"require {requires}", "", *replaces, ""]
    )
    if not (work / "go.mod").exists() or (work / "go.mod").read_text() != go_mod:
        (work / "go.mod").write_text(go_mod)
        (work / "tools.go").write_text("package tools\n")
    return work


def _version_flags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    package = "k8s.io/component-base/version"
    flags = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
    }
    links = " ".join(f"-X {package}.{key}={value}" for key, value in flags.items())
    return f"-s -w {links} -X k8s.io/client-go/pkg/version.gitVersion={version}"


def build_kubernetes(version: str) -> None:
    todo = [name for name in COMPONENTS if not binary(name, version).exists()]
    if not todo:
        return
    staging = f"v0.{version.lstrip('v').split('.', 1)[1]}"
    work = _module_dir(version, "kubernetes", f"k8s.io/kubernetes {version}", [])
    _progress(f"fetching k8s.io/kubernetes {version} from the Go module proxy")
    _go(["mod", "download", f"k8s.io/kubernetes@{version}"], work)
    upstream = (module_dir(version) / "go.mod").read_text()
    replaces = [f"replace {module} => {module} {staging}" for module in STAGING_LINE.findall(upstream)]
    work = _module_dir(version, "kubernetes", f"k8s.io/kubernetes {version}", replaces)
    _go(["mod", "tidy"], work) if not (work / "go.sum").exists() else None
    for index, name in enumerate(todo, 1):
        started = time.monotonic()
        _progress(f"[{index}/{len(todo)}] building {name} {version} (cold: minutes each on 2 cores)")
        target = binary(name, version)
        partial = target.with_name(f".{name}.partial")
        _go(
            [
                "build",
                "-trimpath",
                "-ldflags",
                _version_flags(version),
                "-o",
                str(partial),
                f"k8s.io/kubernetes/cmd/{name}",
            ],
            work,
        )
        partial.rename(target)
        _progress(f"built {name} in {time.monotonic() - started:.0f} s")


def build_helm(version: str) -> None:
    target = binary("helm", version)
    if target.exists():
        return
    work = _module_dir(version, "helm", f"helm.sh/helm/v3 {HELM_VERSION}", [])
    _progress(f"building helm {HELM_VERSION}")
    started = time.monotonic()
    _go(["mod", "download", f"helm.sh/helm/v3@{HELM_VERSION}"], work)
    partial = target.with_name(".helm.partial")
    _go(
        [
            "build",
            "-trimpath",
            "-ldflags",
            f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
            "-o",
            str(partial),
            "helm.sh/helm/v3/cmd/helm",
        ],
        work,
    )
    partial.rename(target)
    _progress(f"built helm in {time.monotonic() - started:.0f} s")


def record_file(version: str = KUBERNETES_VERSION) -> Path:
    """What the last build that built something took, and the cache's size (``make bench`` quotes it)."""
    return bin_dir(version).parent / "build.json"


def ensure(version: str = KUBERNETES_VERSION) -> Path:
    """Build whatever is missing and return the directory of the binaries."""
    if shutil.which("go") is None:
        raise SystemExit("kube build: `go` is not on PATH; install Go 1.24 or newer")
    bin_dir(version).mkdir(parents=True, exist_ok=True)
    if todo := missing(version):
        started = time.monotonic()
        build_kubernetes(version)
        build_helm(version)
        seconds = time.monotonic() - started
        size = sum(path.stat().st_size for path in bin_dir(version).iterdir())
        record = {"built": todo, "seconds": round(seconds), "binaries_bytes": size, "version": version}
        record_file(version).write_text(json.dumps(record, indent=1) + "\n")
        _progress(f"done in {seconds:.0f} s: {bin_dir(version)} ({size >> 20} MiB)")
    return bin_dir(version)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator.kube.build", description=__doc__)
    parser.add_argument("--version", default=KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    print(ensure(args.version))


if __name__ == "__main__":
    sys.exit(main())

"""Regenerate the committed gRPC stubs of this package (``python -m emulator.kube.csi_proto.generate``).

The stubs are generated code, committed so that neither a run nor CI needs protoc:

- ``csi_pb2.py``, ``csi_pb2_grpc.py``: the CSI spec's ``csi.proto`` (package ``csi.v1``) from the Go
  module ``github.com/container-storage-interface/spec`` at ``CSI_SPEC_VERSION`` (Apache-2.0);
- ``pluginregistration_pb2.py``, ``pluginregistration_pb2_grpc.py``: the kubelet's plugin
  registration API (package ``pluginregistration``, ``pkg/apis/pluginregistration/v1/api.proto``) from
  ``k8s.io/kubelet`` at ``KUBELET_VERSION`` (Apache-2.0), with its gogoproto import and options
  removed (they only steer Go code generation).

Both modules are fetched with ``go mod download`` (the Go module proxy); the generator is
``grpcio-tools`` at ``GRPCIO_TOOLS_VERSION`` in a throwaway venv under the kit's cache
(``$SCIPLAT_CACHE``, default ``~/.cache/sciplat-kit``), not in the kit's lock. The generated files
import each other as ``emulator.kube.csi_proto.*``. The protobuf runtime in dev/requirements.lock must be
at least the generating protoc's version (the stubs check it when imported). ``SOURCES.sha256`` lists the
hashes of the two proto files the stubs came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from environments.core import cache_root

CSI_SPEC_VERSION = "v1.11.0"
KUBELET_VERSION = "v0.33.13"
GRPCIO_TOOLS_VERSION = "1.85.1"
HERE = Path(__file__).resolve().parent
PACKAGE = ("emulator", "kube", "csi_proto")
GOGO = re.compile(r'^\s*(import "github\.com/gogo/.*";|option \(gogoproto\.[^;]*;)\s*$', re.M)


def _module_dir(module: str, version: str, scratch: Path) -> Path:
    if not (scratch / "go.mod").exists():
        (scratch / "go.mod").write_text("module sciplat.local/csi-protos\n\ngo 1.24.0\n")
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        cwd=scratch,
        env={**os.environ, "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(json.loads(result.stdout)["Dir"])


def _protoc() -> Path:
    venv = cache_root() / f"grpcio-tools-{GRPCIO_TOOLS_VERSION}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"grpcio-tools=={GRPCIO_TOOLS_VERSION}"],
            check=True,
        )
    return python


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scratch, tree = Path(tmp) / "go", Path(tmp) / "protos"
        scratch.mkdir()
        out = tree.joinpath(*PACKAGE)
        out.mkdir(parents=True)
        csi = _module_dir("github.com/container-storage-interface/spec", CSI_SPEC_VERSION, scratch)
        kubelet = _module_dir("k8s.io/kubelet", KUBELET_VERSION, scratch)
        csi_text = (csi / "csi.proto").read_text()
        registration_text = (kubelet / "pkg/apis/pluginregistration/v1/api.proto").read_text()
        (out / "csi.proto").write_text(csi_text)
        (out / "pluginregistration.proto").write_text(GOGO.sub("", registration_text))
        python = _protoc()
        names = [str(Path(*PACKAGE, name)) for name in ("csi.proto", "pluginregistration.proto")]
        subprocess.run(
            [
                str(python),
                "-m",
                "grpc_tools.protoc",
                f"-I{tree}",
                f"--python_out={tree}",
                f"--pyi_out={tree}",
                f"--grpc_python_out={tree}",
                *names,
            ],
            check=True,
        )
        for generated in sorted(out.glob("*_pb2*.py*")):
            shutil.copy(generated, HERE / generated.name)
        hashes = [
            f"{hashlib.sha256(csi_text.encode()).hexdigest()}  "
            f"github.com/container-storage-interface/spec@{CSI_SPEC_VERSION}/csi.proto",
            f"{hashlib.sha256(registration_text.encode()).hexdigest()}  "
            f"k8s.io/kubelet@{KUBELET_VERSION}/pkg/apis/pluginregistration/v1/api.proto",
        ]
        (HERE / "SOURCES.sha256").write_text("\n".join(hashes) + "\n")
    print(f"generated stubs in {HERE}")


if __name__ == "__main__":
    main()

"""kubernetes-validate, the rendered manifests' schema check, run from its own venv.

The tool is kept out of the locks: kubernetes.dynamic imports kubernetes_validate whenever it
is importable, and that import cost every kubernetes.core task on the controller over a second.
`make kubernetes-validate` builds its venv once per set of pins outside the clone and links it at
build/kubernetes-validate. Tests call `kubernetes_validate(*args)`; Molecule scenarios run

    python tests/kube_validate.py ARGS...

which runs the tool with ARGS and exits with its code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOOL = (
    Path(__file__).resolve().parent.parent / "build" / "kubernetes-validate" / "bin" / "kubernetes-validate"
)


def executable() -> str:
    if not TOOL.exists():
        raise FileNotFoundError(
            f"{TOOL} is missing: run `make kubernetes-validate` (make unit and make molecule build it)"
        )
    return str(TOOL)


def kubernetes_validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([executable(), *args], capture_output=True, text=True, check=False)


if __name__ == "__main__":
    try:
        tool = executable()
    except FileNotFoundError as missing:
        sys.exit(str(missing))
    os.execv(tool, [tool, *sys.argv[1:]])

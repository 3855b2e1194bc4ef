"""Check a rendered EKS hub (argument: the jupyterhub_eks_output_dir); exit 1 on any finding.

The same checks as tests/test_hub_eks_render.py, on the Molecule scenario's output: the values merged
over the chart's defaults pass its schema; the manifests and KubeSpawner's pod of every profile pass
kubernetes-validate --strict; the hub configuration loads without an unrecognised option.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

TESTS = Path(__file__).resolve().parents[4] / "tests"
sys.path.insert(0, str(TESTS))

from hub_eks import Rendered, chart_schema, hub_config, load_hub, merged_values  # noqa: E402
from kube_validate import kubernetes_validate  # noqa: E402


def main(out: Path) -> int:
    rendered = Rendered(run=None, out=out)  # type: ignore[arg-type]
    values = merged_values(rendered)
    findings = [
        f"schema: {'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(chart_schema()).iter_errors(values)
    ]
    problems, pods = load_hub(hub_config(values))
    findings += [f"hub config: {p}" for p in problems]
    pod_dir = Path(tempfile.mkdtemp())
    pod_files = []
    for slug, pod in pods.items():
        path = pod_dir / f"pod-{slug}.yaml"
        path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", **pod}))
        pod_files.append(str(path))
    result = kubernetes_validate(
        "--strict", "-k", "1.33.0", "--quiet", *map(str, rendered.manifests), *pod_files
    )
    if result.returncode != 0:
        findings.append(f"kubernetes-validate: {result.stdout}{result.stderr}")
    if len(pods) != len(values["singleuser"]["profileList"]):
        findings.append(
            f"KubeSpawner rendered {sorted(pods)} of {len(values['singleuser']['profileList'])} profiles"
        )
    for finding in findings:
        print(finding)
    if findings:
        return 1
    print(
        f"schema ok; {len(rendered.manifests)} manifests and {len(pods)} user pods valid;"
        " hub config loads cleanly"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

"""Render the IAM documents the AWS roles make for the example site and check them; `make security-scan`.

1. Every policy document in the roles (a mapping with a ``Statement`` in roles/*/vars, defaults or
   tasks, and every roles/*/templates/*policy*.json.j2) is rendered by Ansible with the example
   site's names and stand-ins for what only exists once created (account 111122223333, ARNs), into
   build/security-scan/policies/<role>.<name>.json.
2. parliament (https://github.com/duo-labs/parliament) checks each; its findings are listed.
3. checkov's Ansible framework runs over roles/, its Kubernetes framework over the rendered
   manifests given with --manifests (e.g. site-output/local-eks/kubernetes), if any.

Figures go to --output (default build/security-scan.txt). Needs parliament and checkov on PATH (the
Makefile target installs them into a venv of their own on demand; they are not in the locks).
SECURITY_SCAN_ROOT=<another checkout> scans that checkout (the before/after figures).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(os.environ.get("SECURITY_SCAN_ROOT") or Path(__file__).resolve().parent.parent)
ACCOUNT = "111122223333"
# The example site's names and what the cluster, storage and monitoring stages would hand on.
CONTEXT: dict[str, Any] = {
    "eks_cluster_name": "hst-prod",
    "eks_cluster_region": "us-east-1",
    "eks_cluster__account": ACCOUNT,
    "eks_cluster__partition": "aws",
    "eks_cluster_out_secrets_kms_key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd",
    "eks_cluster_out_oidc_issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    "eks_cluster_out_oidc_provider_arn": (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    ),
    "efs_storage_client_role_arns": [
        f"arn:aws:iam::{ACCOUNT}:role/hst-prod-efs-csi",
        f"arn:aws:iam::{ACCOUNT}:role/hst-prod-eks-node",
    ],
    "efs_storage_extra_client_principal_arns": [],
    "efs_storage_require_access_point": True,
    "efs_storage_client_root_access": False,
    "cloudwatch_alarms__account": ACCOUNT,
    "cloudwatch_alarms__partition": "aws",
    "backup__account": ACCOUNT,
    # The loop item of a document made per item: eks_cluster's IRSA trust policy, for one service account.
    "item": {"service_account": "kube-system/cluster-autoscaler"},
    "cloudwatch_alarms_region": "us-east-1",
    "image_pipeline_name": "hst-prod",
    "image_pipeline_region": "us-east-1",
    "image_pipeline_repository_prefix": "hst-prod/",
    "image_pipeline__names": ["hst", "tess"],
    "image_pipeline__account": ACCOUNT,
    "image_pipeline__partition": "aws",
    "image_pipeline__bucket": f"hst-prod-image-builds-{ACCOUNT}",
    # The single-node site's hub host (inventories/example-single-node).
    "ec2_hub_host_name": "hst-small-hub",
    "ec2_hub_host_region": "us-east-1",
    "ec2_hub_host_efs_file_system_arn": (
        f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/fs-0123456789abcdef0"
    ),
    "ec2_hub_host_ssm_parameters": ["/sciplat/hst-small/cost-cap"],
}


def find_documents() -> dict[str, Any]:
    """name -> the unrendered document (a mapping with Jinja strings, or a template's path)."""
    found: dict[str, Any] = {}

    def walk(node: Any, prefix: str, key: str) -> None:
        if isinstance(node, dict):
            if "Statement" in node and "Version" in node:
                found[f"{prefix}.{key}"] = node
                return
            for k, v in node.items():
                walk(v, prefix, str(k))
        elif isinstance(node, list):
            for item in node:
                walk(item, prefix, key)

    for role in sorted((ROOT / "roles").iterdir()):
        for part in ("vars", "defaults", "tasks"):
            for path in sorted((role / part).glob("*.yml")):
                walk(yaml.safe_load(path.read_text()), role.name, path.stem)
        for path in sorted((role / "templates").glob("*policy*.json.j2")):
            found[f"{role.name}.{path.name.removesuffix('.json.j2')}"] = {"template": str(path)}
    return found


def render(documents: dict[str, Any], out: Path) -> list[Path]:
    """Render every document with Ansible (its filters, lookups and variables) into out/."""
    out.mkdir(parents=True, exist_ok=True)
    work = out.parent
    (work / "documents.json").write_text(json.dumps({"security_scan_documents": documents}))
    (work / "context.json").write_text(json.dumps(CONTEXT))
    playbook = [
        {
            "name": "Render the policy documents.",
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": [
                str(ROOT / "roles/eks_cluster/vars/main.yml"),
                str(ROOT / "roles/cloudwatch_alarms/vars/main.yml"),
                str(ROOT / "roles/ec2_hub_host/vars/main.yml"),
                str(work / "context.json"),
                str(work / "documents.json"),
            ],
            "tasks": [
                {
                    "name": "Write one document.",
                    "ansible.builtin.copy": {
                        "content": (
                            "{{ (lookup('ansible.builtin.template', scan_document.value.template) | from_json"
                            " if scan_document.value.template is defined else scan_document.value)"
                            " | to_nice_json }}"
                        ),
                        "dest": f"{out}/{{{{ scan_document.key }}}}.json",
                        "mode": "0644",
                    },
                    "loop": "{{ security_scan_documents | dict2items }}",
                    # Not `item`: documents made per loop item (the IRSA trust policy) read CONTEXT's `item`.
                    "loop_control": {
                        "loop_var": "scan_document",
                        "label": "{{ scan_document.key }}",
                    },
                }
            ],
        }
    ]
    (work / "render.json").write_text(json.dumps(playbook, indent=1))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            *("-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"),
            str(work / "render.json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        sys.exit(f"rendering failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return sorted(out.glob("*.json"))


def parliament(paths: list[Path]) -> list[str]:
    """One line per finding: document, issue, severity, location."""
    lines = []
    tool = shutil.which("parliament") or str(Path(sys.executable).parent / "parliament")
    for path in paths:
        argv = [tool, "--json", "--minimum_severity", "LOW"]
        run = subprocess.run(argv, input=path.read_text(), capture_output=True, text=True, check=False)
        for raw in run.stdout.splitlines():
            if raw.strip():
                finding = json.loads(raw)
                where = json.dumps(finding.get("location", {}))
                lines.append(f"{path.stem}: {finding.get('issue')} ({finding.get('severity')}) {where}")
    return lines


def fill_file_system_arn(paths: list[Path]) -> None:
    """The EFS policy's statements name no Resource: efs_filesystem sets the file system's ARN."""
    module = ROOT / "collections/ansible_collections/sciplat/platform/plugins/modules/efs_filesystem.py"
    if "def with_resource" not in module.read_text():
        return  # a checkout before the module filled it in: the policy is stored as rendered
    arn = f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/fs-0123456789abcdef0"
    for path in paths:
        if path.name.startswith("efs_storage."):
            doc = json.loads(path.read_text())
            st = doc.get("Statement", [])
            for statement in st if isinstance(st, list) else [st]:
                if "Resource" not in statement and "NotResource" not in statement:
                    statement["Resource"] = arn
            path.write_text(json.dumps(doc, indent=2) + "\n")


def checkov(directory: Path, framework: str) -> str:
    tool = shutil.which("checkov") or str(Path(sys.executable).parent / "checkov")
    run = subprocess.run(
        [tool, "-d", str(directory), "--framework", framework, "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return f"checkov {framework} {directory}: no report ({run.stderr.strip()[-200:]})"
    reports = report if isinstance(report, list) else [report]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    failed = sum(r.get("summary", {}).get("failed", 0) for r in reports)
    checks = sorted({c["check_id"] for r in reports for c in r.get("results", {}).get("failed_checks", [])})
    name = directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else directory
    return f"checkov {framework} {name}: passed {passed}, failed {failed} {checks}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "build/security-scan.txt"))
    parser.add_argument("--manifests", action="append", default=[], help="rendered Kubernetes manifests")
    args = parser.parse_args()

    work = ROOT / "build/security-scan"
    if work.exists():
        shutil.rmtree(work)
    paths = render(find_documents(), work / "policies")
    fill_file_system_arn(paths)
    findings = parliament(paths)
    lines = [f"IAM documents rendered: {len(paths)}", f"parliament findings: {len(findings)}"]
    lines += [f"  {f}" for f in findings]
    lines.append(checkov(ROOT / "roles", "ansible"))
    for manifests in args.manifests:
        lines.append(checkov(Path(manifests).resolve(), "kubernetes"))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

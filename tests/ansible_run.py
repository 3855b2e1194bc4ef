"""Run ansible-playbook against a site the way an operator does, and read its recap."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from environments.image import PLACEHOLDER_DIGEST
from runbooks.ansible import strategy_env

ROOT = Path(__file__).resolve().parent.parent
# Provisioning waits are real AWS durations divided by this: high enough to keep the suite quick,
# low enough that every wait loop in the roles really polls.
TEST_TIME_SCALE = float(os.environ.get("EMULATOR_TIME_SCALE", "120"))
# The local site's hub runs on a booted machine (make host); its Molecule scenario and the browser
# test converge and check it. Site runs against a bare emulator leave that stage out.
WITHOUT_HUB = ("--skip-tags", "hub")
# A converge against an emulator without Kubernetes behind EKS (running_emulator(kubernetes=False)) makes
# no call to the cluster's API: the storage stage renders its manifests but applies none, and
# cluster-autoscaler is not installed.
WITHOUT_KUBERNETES = {"efs_storage_kubernetes_apply": False, "eks_cluster_autoscaler_enabled": False}
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
TASK_HEADER = re.compile(r"^TASK \[(.*)\] \*+")


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for host, ok, changed, unreachable, failed in RECAP.findall(self.output):
            found[host] = {
                "ok": int(ok),
                "changed": int(changed),
                "unreachable": int(unreachable),
                "failed": int(failed),
            }
        return found

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())

    @property
    def tasks(self) -> int:
        return sum(host["ok"] + host["failed"] for host in self.recap.values())

    @property
    def changed_tasks_by_role(self) -> dict[str, list[str]]:
        """Role name -> the names of its tasks that reported changed (would change, in check mode)."""
        found: dict[str, list[str]] = defaultdict(list)
        task = ""
        for line in self.output.splitlines():
            header = TASK_HEADER.match(line)
            if header:
                task = header.group(1)
            elif line.startswith("changed: ") and " : " in task:
                role, name = task.split(" : ", 1)
                found[role].append(name)
        return dict(found)


@dataclass(frozen=True)
class OperatorCopy:
    """An inventory as an operator makes it ready: copied, its secrets filled in, its vault file
    encrypted; runs give the password the way Ansible takes it (ANSIBLE_VAULT_PASSWORD_FILE)."""

    inventory: Path
    password_file: Path

    @property
    def env(self) -> dict[str, str]:
        return {"ANSIBLE_VAULT_PASSWORD_FILE": str(self.password_file)}


# What the operator writes over the example's placeholders (a provider's secret is not hex-checked).
OPERATOR_SECRETS = {"vault_hub_oauth_client_secret": "9c1e7a3f5b2d4e6081a3c5e7f9b1d3a5c7e9f1b3"}
# Stands in for the base image's real digest, which the operator looks up and pins in the site's fork
# (docs/environments.md, "Base images"); the kit ships a placeholder a real site refuses.
OPERATOR_BASE_IMAGE_DIGEST = "sha256:" + hashlib.sha256(b"the operator's base image").hexdigest()

# And over the other placeholders of a site's inventory: file -> variable -> value.
OPERATOR_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "example-single-node": {
        "group_vars/all/host.yml": {
            "ec2_hub_host_key_name": "hst-small-operators",
            "ec2_hub_host_ssh_cidrs": ["198.51.100.7/32"],
        }
    }
}

# The emulator has Ubuntu's images, not Debian's, which the hub host's image lookup asks for by default.
EMULATED_HUB_HOST_IMAGE = {
    "ec2_hub_host_image_owners": ["099720109477"],
    "ec2_hub_host_image_filters": {"name": "ubuntu/images/hvm-ssd/ubuntu-*"},
}


def set_variables(path: Path, values: dict[str, Any]) -> None:
    """Rewrite each variable's line in an inventory file (the comments stay), as an operator edits it."""
    text = path.read_text()
    for name, value in values.items():
        text, found = re.subn(rf"^{name}:.*$", f"{name}: {json.dumps(value)}", text, flags=re.MULTILINE)
        assert found == 1, f"{path} has no line for {name}"
    path.write_text(text)


def operator_copy(
    site: str,
    root: Path,
    *,
    name: str | None = None,
    secrets: dict[str, Any] | None = None,
    password: str = "operator-vault-password",
) -> OperatorCopy:
    """root/inventories/<name or site>, a copy of the site's inventory beside a copy of the environments
    (the inventory names them relative to itself) whose Dockerfiles pin the base image's digest, and of the
    storage notice's wheel they pin (build/lab-extension, as `make lab-extension` leaves it), with its
    placeholders filled in (OPERATOR_SETTINGS), its vault file filled in (``secrets`` over what it holds;
    OPERATOR_SECRETS by default) and encrypted with ``password``."""
    inventory = root / "inventories" / (name or site)
    shutil.copytree(ROOT / "inventories" / site, inventory)
    environments = root / "environments"
    if not environments.exists():
        shutil.copytree(ROOT / "environments", environments, ignore=shutil.ignore_patterns("__pycache__"))
        for dockerfile in environments.glob("*/*/Dockerfile"):
            pinned = dockerfile.read_text().replace(PLACEHOLDER_DIGEST, OPERATOR_BASE_IMAGE_DIGEST)
            dockerfile.write_text("".join(s for s in pinned.splitlines(True) if "is a placeholder" not in s))
        # The storage notice's wheel the Dockerfiles pin, where `make lab-extension` leaves it beside them.
        shutil.copytree(ROOT / "build" / "lab-extension", root / "build" / "lab-extension")
    for file, values in OPERATOR_SETTINGS.get(site, {}).items():
        set_variables(inventory / file, values)
    vault_file = inventory / "group_vars" / "all" / "vault.yml"
    shipped = yaml.safe_load(vault_file.read_text()) if vault_file.exists() else None
    vault_file.write_text(
        yaml.safe_dump({**(shipped or {}), **(OPERATOR_SECRETS if secrets is None else secrets)})
    )
    password_file = root / "vault-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(password_file),
            str(vault_file),
        ],
        check=True,
        capture_output=True,
    )
    return OperatorCopy(inventory, password_file)


def run_playbook(
    playbook: str,
    *,
    site: str | Path = "local",
    state_dir: Path,
    extra_vars: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    fast: bool = True,
    timeout: float = 1500,
    env: dict[str, str] | None = None,
) -> PlaybookRun:
    """ansible-playbook -i inventories/<site> (or the inventory directory given as a Path)
    playbooks/<playbook>, with the emulator in state_dir."""
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(site) if isinstance(site, Path) else f"inventories/{site}",
        f"playbooks/{playbook}",
        *args,
    ]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    run_env = {
        **os.environ,
        "EMULATOR_STATE_DIR": str(state_dir),
        # What the site writes (kubeconfig, manifests) stays with its emulator: runs side by side
        # do not overwrite each other's files.
        "SITE_OUTPUT_DIR": os.environ.get("SITE_OUTPUT_DIR") or str(state_dir / "site-output"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    if fast:
        run_env.update(strategy_env())
    run_env.update(env or {})
    completed = subprocess.run(
        command, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return PlaybookRun(completed.returncode, completed.stdout + completed.stderr)


def assert_fails_before_any_change(
    playbook: str,
    *,
    state_dir: Path,
    extra_vars: dict[str, Any],
    words: list[str],
    resources: Callable[[], dict[str, list[str]]],
) -> PlaybookRun:
    """A bad inventory: the run fails, its output names every word, and `resources()` finds nothing.

    `resources` lists what the playbook would create, read from the emulated account afterwards.
    """
    run = run_playbook(playbook, state_dir=state_dir, extra_vars=extra_vars)
    assert run.returncode != 0, run.output[-3000:]
    for word in words:
        assert word in run.output, f"{word!r} not in the error:\n{run.output[-3000:]}"
    found = resources()
    assert not any(found.values()), found
    return run

"""Checks of the jupyterhub role's EKS rendering without a cluster.

- `render`: run playbooks/hub.yml on a rendering-only site and read what it wrote.
- `helm_merge`: user values over the chart's defaults, the way helm coalesces them.
- `hub_config`: the hub configuration the chart builds from the merged values, as a traitlets Config.
- `load_hub`: load that configuration into the real JupyterHub, KubeSpawner and authenticator and
  report every option they do not recognise; render each profile's pod with the real KubeSpawner.

`hub_config` is our own reading of what zero-to-jupyterhub 4.4.0's `jupyterhub_config.py` does with
the values the role sets (`hub.config` passed through section by section, `singleuser.*` onto
KubeSpawner traits, `cull` as a JupyterHub service with its role, `hub.db`). It is not the chart's
file: see roles/jupyterhub/README.md, "Gaps".
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ansible_run import PlaybookRun, run_playbook

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "tests" / "fixtures" / "z2jh-4.4.0"
SITE = "../tests/fixtures/hub-site"  # inventories/<site> relative to the checkout


@dataclass
class Rendered:
    run: PlaybookRun
    out: Path

    @property
    def values(self) -> dict[str, Any]:
        return yaml.safe_load((self.out / "values.yaml").read_text())

    @property
    def secret_values(self) -> dict[str, Any]:
        return yaml.safe_load((self.out / "secret-values.yaml").read_text())

    def manifest(self, name: str) -> dict[str, Any]:
        return yaml.safe_load((self.out / "kubernetes" / f"{name}.yaml").read_text())

    @property
    def manifests(self) -> list[Path]:
        return sorted((self.out / "kubernetes").glob("*.yaml"))


def render(
    tmp_path: Path,
    extra_vars: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    site: str = SITE,
) -> Rendered:
    out = tmp_path / "hub"
    run = run_playbook(
        "hub.yml",
        site=site,
        state_dir=tmp_path / "emulator-unused",
        extra_vars={"jupyterhub_eks_output_dir": str(out), **(extra_vars or {})},
        env=env,
        args=args,
    )
    return Rendered(run, out)


def helm_merge(defaults: Any, override: Any) -> Any:
    """Helm's coalescing of user values over chart defaults: maps merge key by key, a null removes
    the default's key, anything else (lists included) replaces."""
    if isinstance(defaults, dict) and isinstance(override, dict):
        merged = copy.deepcopy(defaults)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = helm_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def chart_defaults() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def chart_schema() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.schema.yaml").read_text())


def merged_values(rendered: Rendered) -> dict[str, Any]:
    merged = helm_merge(chart_defaults(), rendered.values)
    return helm_merge(merged, rendered.secret_values)


def _get(values: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


# singleuser.<key> -> KubeSpawner.<trait>, for the keys the chart maps one to one.
_SINGLEUSER_TRAITS: dict[str, str] = {
    trait: key or _camel(trait)
    for trait, key in {
        "pod_name_template": None,
        "start_timeout": None,
        "image_pull_policy": "image.pullPolicy",
        "events_enabled": "events",
        "extra_labels": None,
        "extra_annotations": None,
        "uid": None,
        "fs_gid": None,
        "service_account": "serviceAccountName",
        "storage_extra_labels": "storage.extraLabels",
        "node_selector": None,
        "node_affinity_required": "extraNodeAffinity.required",
        "node_affinity_preferred": "extraNodeAffinity.preferred",
        "lifecycle_hooks": None,
        "init_containers": None,
        "extra_containers": None,
        "mem_limit": "memory.limit",
        "mem_guarantee": "memory.guarantee",
        "cpu_limit": "cpu.limit",
        "cpu_guarantee": "cpu.guarantee",
        "environment": "extraEnv",
        "profile_list": None,
        "extra_pod_config": None,
    }.items()
}


def hub_config(values: dict[str, Any], release: str = "jupyterhub") -> Any:
    """The hub's configuration from merged chart values (see the module's docstring)."""
    from traitlets.config import Config

    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = "http://proxy-api:8001"
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.hub_bind_url = "http://:8081"
    c.JupyterHub.hub_connect_url = "http://hub:8081"
    if _get(values, "hub.db.type") == "sqlite-pvc":
        c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
    for trait in ("concurrent_spawn_limit", "active_server_limit", "base_url", "allow_named_servers"):
        value = _get(values, "hub." + _camel(trait))
        if value is not None:
            c.JupyterHub[trait] = value
    c.KubeSpawner.namespace = "jhub"
    for trait, key in _SINGLEUSER_TRAITS.items():
        value = _get(values, "singleuser." + key)
        if value is not None:
            c.KubeSpawner[trait] = copy.deepcopy(value)
    name, tag = _get(values, "singleuser.image.name"), _get(values, "singleuser.image.tag")
    if name:
        c.KubeSpawner.image = f"{name}:{tag}" if tag else name
    c.KubeSpawner.allow_privilege_escalation = _get(values, "singleuser.allowPrivilegeEscalation")
    if _get(values, "scheduling.userScheduler.enabled"):
        c.KubeSpawner.scheduler_name = f"{release}-user-scheduler"
    if _get(values, "scheduling.podPriority.enabled"):
        c.KubeSpawner.priority_class_name = f"{release}-default-priority"
    purpose = {
        "matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]
    }
    match = _get(values, "scheduling.userPods.nodeAffinity.matchNodePurpose")
    if match == "require":
        c.KubeSpawner.node_affinity_required = [*(c.KubeSpawner.get("node_affinity_required") or []), purpose]
    elif match == "prefer":
        c.KubeSpawner.node_affinity_preferred = [
            *(c.KubeSpawner.get("node_affinity_preferred") or []),
            {"weight": 100, "preference": purpose},
        ]
    tolerations = _get(values, "scheduling.userPods.tolerations", []) + _get(
        values, "singleuser.extraTolerations", []
    )
    if tolerations:
        c.KubeSpawner.tolerations = tolerations
    if _get(values, "singleuser.storage.type") == "static":
        c.KubeSpawner.volumes = [
            {
                "name": "home",
                "persistentVolumeClaim": {"claimName": _get(values, "singleuser.storage.static.pvcName")},
            }
        ]
        c.KubeSpawner.volume_mounts = [
            {
                "mountPath": _get(values, "singleuser.storage.homeMountPath"),
                "name": "home",
                "subPath": _get(values, "singleuser.storage.static.subPath"),
            }
        ]
    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    if _get(values, "cull.enabled"):
        command = ["python3", "-m", "jupyterhub_idle_culler", "--url=http://localhost:8081/hub/api"]
        for key, flag in (
            ("timeout", "--timeout"),
            ("every", "--cull-every"),
            ("concurrency", "--concurrency"),
        ):
            if _get(values, "cull." + key):
                command.append(f"{flag}={_get(values, 'cull.' + key)}")
        if _get(values, "cull.users"):
            command.append("--cull-users")
        if _get(values, "cull.maxAge"):
            command.append(f"--max-age={_get(values, 'cull.maxAge')}")
        c.JupyterHub.services.append({"name": "jupyterhub-idle-culler", "command": command})
        c.JupyterHub.load_roles.append(
            {
                "name": "jupyterhub-idle-culler",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["jupyterhub-idle-culler"],
            }
        )
    if _get(values, "singleuser.cloudMetadata.blockWithIptables"):
        image = _get(values, "singleuser.networkTools.image")
        c.KubeSpawner.init_containers = [
            *(c.KubeSpawner.get("init_containers") or []),
            {
                "name": "block-cloud-metadata",
                "image": f"{image['name']}:{image['tag']}",
                "command": [
                    "iptables",
                    "-A",
                    "OUTPUT",
                    "-d",
                    _get(values, "singleuser.cloudMetadata.ip"),
                    "-j",
                    "DROP",
                ],
                "securityContext": {
                    "privileged": True,
                    "runAsUser": 0,
                    "capabilities": {"add": ["NET_ADMIN"]},
                },
            },
        ]
    # hub.config last, section by section, as the chart does.
    for section, settings in (_get(values, "hub.config") or {}).items():
        c[section].update(copy.deepcopy(settings))
    return c


_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: jhub}}]
current-context: none
"""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def load_hub(config: Any) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Load the configuration into the real classes. Returns (problems, pod manifest per profile slug).

    A problem is a traitlets warning (e.g. "Config option `x` not recognized by `KubeSpawner`"), a
    config section no loaded class reads, or a profile override that is not a KubeSpawner trait or
    that KubeSpawner refuses."""
    return asyncio.run(_load_hub(config))


async def _load_hub(config: Any) -> tuple[list[str], dict[str, dict[str, Any]]]:
    # KubeSpawner reads a kubeconfig when created; kubernetes_asyncio reads $KUBECONFIG when imported;
    # it never connects here (nothing is spawned).
    kubeconfig = Path(tempfile.mkdtemp()) / "kubeconfig"
    kubeconfig.write_text(_KUBECONFIG)
    os.environ["KUBECONFIG"] = str(kubeconfig)
    from jupyterhub.app import JupyterHub
    from jupyterhub.proxy import ConfigurableHTTPProxy
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    collect = _Collect()
    loggers = [logging.getLogger(name) for name in ("", "traitlets", "JupyterHub", "KubeSpawner")]
    for logger in loggers:
        logger.addHandler(collect)
    problems: list[str] = []
    pods: dict[str, dict[str, Any]] = {}
    try:
        app = JupyterHub(config=config, log=logging.getLogger("JupyterHub"))
        authenticator_class = app.authenticator_class
        authenticator = authenticator_class(config=config, log=logging.getLogger("JupyterHub"))
        proxy_class = ConfigurableHTTPProxy
        spawner = KubeSpawner(_mock=True, config=config, log=logging.getLogger("KubeSpawner"))
        known = {
            cls.__name__
            for cls in (
                *type(app).mro(),
                *type(authenticator).mro(),
                *proxy_class.mro(),
                *type(spawner).mro(),
            )
            if hasattr(cls, "class_traits")
        }
        for section in config:
            if section not in known:
                problems.append(f"config section `{section}` is read by no loaded class")
                continue
        traits = set(KubeSpawner.class_traits())
        for profile in spawner.profile_list:
            override = profile.get("kubespawner_override", {})
            unknown = sorted(set(override) - traits)
            if unknown:
                problems.append(f"profile {profile.get('slug')}: {unknown} are not KubeSpawner traits")
                continue
            one = KubeSpawner(_mock=True, config=config, log=logging.getLogger("KubeSpawner"))
            one.user_options = {"profile": profile["slug"]}
            try:
                await one.load_user_options()
                pod = await one.get_pod_manifest()
            except Exception as error:
                problems.append(f"profile {profile.get('slug')}: KubeSpawner refused it: {error!r}")
                continue
            pods[profile["slug"]] = await _serialize(ApiClient, pod)
        del authenticator
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    problems += [
        m
        for m in collect.messages
        if "not recognized" in m or "Did you mean" in m or "deprecated" in m.lower()
    ]
    return problems, pods


async def _serialize(api_client: Any, obj: Any) -> Any:
    async with api_client() as client:
        return json.loads(json.dumps(client.sanitize_for_serialization(obj)))

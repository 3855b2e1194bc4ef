"""The stand-in chart's reading of its values: what zero-to-jupyterhub 4.4.0's jupyterhub_config.py does
with the values the jupyterhub role sets, as a traitlets Config (see the chart's README.md).

- ``hub.config`` passed through section by section, last, as the chart does;
- ``singleuser.*`` onto KubeSpawner traits (profile list, limits, node selector and affinity by node
  purpose, tolerations, the static home claim with its sub-path, the metadata-blocking init container,
  ``singleuser.extraFiles`` mounted from the Secret ``singleuser``);
- ``hub.services`` and ``hub.loadRoles``; ``cull`` as a JupyterHub service with its role; ``hub.db``.

It is our own reading, not the chart's file. The hub's network settings (where the hub and the proxy
listen) are the chart's own business: ``configure`` sets the real chart's in-cluster ones, and the
stand-in's jupyterhub_config.py replaces them with its host-network ones. Used by the stand-in hub
and by the role's tests (tests/hub_eks.py), which load the result into the real classes.
"""

from __future__ import annotations

import copy
import re
from typing import Any


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


def configure(
    c: Any, values: dict[str, Any], release: str = "jupyterhub", namespace: str = "jhub", hub_port: int = 8081
) -> Any:
    """Set the hub's configuration ``c`` from merged chart values (see the module's docstring)."""
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
    c.KubeSpawner.namespace = namespace
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
    extra_files = _get(values, "singleuser.extraFiles") or {}
    if extra_files:
        # The chart puts each file in the Secret "singleuser" under its key and mounts it by sub-path.
        c.KubeSpawner.volumes = [
            *(c.KubeSpawner.get("volumes") or []),
            {
                "name": "files",
                "secret": {
                    "secretName": "singleuser",
                    "items": [{"key": key, "path": key} for key in sorted(extra_files)],
                },
            },
        ]
        c.KubeSpawner.volume_mounts = [
            *(c.KubeSpawner.get("volume_mounts") or []),
            *(
                {"mountPath": file["mountPath"], "subPath": key, "name": "files"}
                for key, file in sorted(extra_files.items())
            ),
        ]
    # hub.services and hub.loadRoles, as the chart passes them: each service by its name (apiToken,
    # admin, url, ...), each role by its name (scopes, services, users, groups).
    c.JupyterHub.services = [
        {
            "name": name,
            **{re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in spec.items()},
        }
        for name, spec in sorted((_get(values, "hub.services") or {}).items())
    ]
    c.JupyterHub.load_roles = [
        {"name": name, **spec} for name, spec in sorted((_get(values, "hub.loadRoles") or {}).items())
    ]
    if _get(values, "cull.enabled"):
        command = ["python3", "-m", "jupyterhub_idle_culler", f"--url=http://localhost:{hub_port}/hub/api"]
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

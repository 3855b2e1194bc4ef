"""Checks of the jupyterhub role's EKS rendering without a cluster.

- `render`: run playbooks/hub.yml on a rendering-only site and read what it wrote.
- `helm_merge`: user values over the chart's defaults, the way helm coalesces them.
- `hub_config`: the hub configuration the chart builds from the merged values, as a traitlets Config.
- `load_hub`: load that configuration into the real JupyterHub, KubeSpawner and authenticator and
  report every option they do not recognise; render each profile's pod with the real KubeSpawner.

`hub_config` is the stand-in chart's own reading of the values (emulator/kube/z2jh_chart/files/
z2jh_standin.py, which the local EKS site's hub runs): our reading of what zero-to-jupyterhub 4.4.0's
`jupyterhub_config.py` does with them, not the chart's file (roles/jupyterhub/README.md, "Gaps").
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ansible_run import PlaybookRun, run_playbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "emulator" / "kube" / "z2jh_chart" / "files"))
import z2jh_standin  # noqa: E402  (the stand-in chart's own file, not a package)

CHART = ROOT / "emulator" / "kube" / "z2jh_chart" / "upstream"
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


def hub_config(values: dict[str, Any], release: str = "jupyterhub") -> Any:
    """The hub's configuration from merged chart values, as the stand-in chart's hub builds it."""
    from traitlets.config import Config

    return z2jh_standin.configure(Config(), values, release)


OFFLINE_KUBECONFIG = """
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
    kubeconfig.write_text(OFFLINE_KUBECONFIG)
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

"""The single-node hub's spawn checks (cost cap, storage quota) as the role renders them.

The part of templates/single_node/jupyterhub_config.py.j2 between its "Spawn checks" markers is
rendered with Jinja2 and run with a stand-in `c`: the tests call the real pre_spawn_hook and the
quota API handler's logic without a hub. The browser tests cover the hub itself.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import sys
from types import SimpleNamespace
from typing import Any

import jinja2
from ansible_run import ROOT

TEMPLATE = ROOT / "roles" / "jupyterhub" / "templates" / "single_node" / "jupyterhub_config.py.j2"
ROLE_FILES = ROOT / "roles" / "jupyterhub" / "files"
RENDER_DEFAULTS: dict[str, Any] = {
    "jupyterhub_cost_cap_parameter": "",
    "jupyterhub_cost_cap_region": "",
    "jupyterhub_cost_cap_contact": "",
    "jupyterhub_quota_enabled": False,
    "jupyterhub_quota_usage_file": "",
    "jupyterhub_single_node_home_root": "/home",
    "jupyterhub__sn_config_dir": str(ROLE_FILES),
    "jupyterhub__pages_settings": {
        "help_text": "",
        "contact_url": "",
        "contact_label": "",
        "files_help": "",
        "recovery_profile": "",
        "check_every_seconds": 300,
    },
}


def spawn_checks(**variables: Any) -> dict[str, Any]:
    """The namespace of the rendered spawn checks; `c.Spawner.pre_spawn_hook` is the hook."""
    text = TEMPLATE.read_text()
    part = re.search(r"# --- Spawn checks .*?\n(.*?)# --- End of the spawn checks ---\n", text, re.S)
    assert part, "the spawn checks' markers are missing from the hub's configuration template"
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["to_json"] = json.dumps
    source = environment.from_string(part.group(1)).render(**{**RENDER_DEFAULTS, **variables})
    header = (
        "import asyncio, json, logging, sys, time\n"
        "from pathlib import Path\n"
        "from tornado import web\n"
        "c = SimpleNamespace(Spawner=SimpleNamespace(), JupyterHub=SimpleNamespace())\n"
    )
    namespace: dict[str, Any] = {"SimpleNamespace": SimpleNamespace}
    exec(compile(header + source, str(TEMPLATE), "exec"), namespace)
    return namespace


def spawner(name: str = "astro1", groups: tuple[str, ...] = (), profile: str = "python") -> SimpleNamespace:
    user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=group) for group in groups])
    return SimpleNamespace(user=user, log=logging.getLogger("test"), user_options={"profile": profile})


def role_module(name: str) -> Any:
    """One of the role's files/sciplat_*.py, imported as the hub imports it (its directory on sys.path)."""
    sys.path.insert(0, str(ROLE_FILES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROLE_FILES))

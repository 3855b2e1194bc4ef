"""rebuild-hub-host: the single-node hub's host is lost (instance gone, disk lost); create it again,
converge the hub stage on it, re-attach the existing home file system, and check the hub answers and
a user can log in.

How the host is created again comes from the inventory's ``runbook_hub_machine``: a local machine
(``python -m machines``, docs/hosts.md) with its ports and bind mounts. Re-creating an EC2 instance
is not built (docs/runbooks/rebuild-hub-host.md, gaps): without ``runbook_hub_machine`` the procedure
refuses before changing anything.

The hub's database (SQLite in the host's state directory: users, tokens, servers) goes with the host;
the hub starts with an empty one and adds the allowed users again. Users' files are on the home file
system, which is not touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from runbooks import aws
from runbooks.engine import Context, Refused, Step, StepFailed
from runbooks.hub import hub_url
from runbooks.procedures import Param
from runbooks.procedures.common import converge, hub_check_steps
from runbooks.site import PROJECT_ROOT, Site, reload_site

NAME = "rebuild-hub-host"
SUMMARY = "Re-create the single-node hub's host, converge the hub on it and re-attach the homes."
WHEN = "The single-node hub's host is gone or its disk is lost; the home file system is fine."
PARAMS: dict[str, Param] = {}
MACHINE_TIMEOUT = 300


def machine_spec(site: Site) -> dict[str, Any]:
    """``runbook_hub_machine``: {name, state_dir, ports: [..], binds: ["SOURCE:/TARGET", ..]}."""
    spec = site.var("runbook_hub_machine")
    if not isinstance(spec, dict) or not spec.get("name"):
        raise Refused(
            f"site {site.name}: runbook_hub_machine is not set: this kit re-creates local machines only "
            "(python -m machines); re-create the instance by hand, then run playbooks/hub.yml"
        )
    return spec


def machines(spec: dict[str, Any], *args: str, timeout: float = MACHINE_TIMEOUT) -> str:
    """``python -m machines ARGS`` for the machine of the spec; StepFailed with its output if it fails."""
    argv = [sys.executable, "-m", "machines", *args]
    if spec.get("state_dir"):
        argv[3:3] = ["--state-dir", str(spec["state_dir"])]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)
    except subprocess.TimeoutExpired as error:
        raise StepFailed(f"python -m machines {' '.join(args)} took more than {timeout:.0f} s") from error
    if done.returncode not in (0, 1) or (done.returncode == 1 and args[0] != "status"):
        output = (done.stderr or done.stdout)[-1500:]
        raise StepFailed(f"python -m machines {' '.join(args)} failed: {output}")
    return done.stdout if args[0] == "status" else done.stderr.strip()


def machine_state(spec: dict[str, Any]) -> str:
    return str(json.loads(machines(spec, "status", str(spec["name"])))["state"])


def _check(ctx: Context) -> None:
    spec = machine_spec(ctx.site)
    if ctx.site.var("jupyterhub_backend") != "single_node":
        raise Refused(f"site {ctx.site.name}: its hub is not single_node; use rebuild-cluster for EKS")
    if not hub_url(ctx.site) and not ctx.site.var("runbook_hub_url"):
        raise Refused(f"site {ctx.site.name}: runbook_hub_url (where the hub answers) is not set")
    fs = aws.find_home_fs(ctx.site)
    if fs is None:
        raise Refused(
            f"site {ctx.site.name} has no home file system {aws.home_fs_name(ctx.site)} to re-attach: "
            "run restore-filesystem first"
        )
    ctx.data.setdefault("file_system_id", fs["FileSystemId"])
    ctx.data.setdefault("machine_before", machine_state(spec))


def _recreate(ctx: Context) -> str:
    spec = machine_spec(ctx.site)
    if machine_state(spec) == "running":  # an earlier attempt of this run (or someone) created it
        return f"machine {spec['name']} is already running: not created a second time"
    args = ["start", str(spec["name"])]
    for port in spec.get("ports") or []:
        args += ["--port", str(port)]
    for bind in spec.get("binds") or []:
        Path(str(bind).split(":")[0]).expanduser().mkdir(parents=True, exist_ok=True)
        args += ["--bind", str(bind)]
    log = machines(spec, *args)
    return log.splitlines()[-1] if log else f"machine {spec['name']} running"


def _running(ctx: Context) -> str | None:
    state = machine_state(machine_spec(ctx.site))
    return None if state == "running" else f"machine is {state}"


def _reload(ctx: Context) -> str:
    """The machine's new ports and the hub's new token are in files the inventory reads."""
    ctx.site = reload_site(ctx.site)
    return f"hub URL now {hub_url(ctx.site) or '?'}"


def steps(ctx: Context) -> list[Step]:
    def describe(c: Context) -> str:
        spec = c.site.var("runbook_hub_machine")
        name = spec.get("name", "?") if isinstance(spec, dict) else "?"
        return (
            f"note the home file system ({c.data.get('file_system_id', '?')}) and the hub's host "
            f"{name} ({c.data.get('machine_before', '?')})"
        )

    hub = converge("hub.yml", "hub stage")
    hub.name = "reconverge-hub"
    return [
        Step("check-inputs", describe, describe, precondition=_check),
        Step(
            "recreate-host",
            lambda c: "create the hub's host again (python -m machines start) with its ports and binds",
            _recreate,
            _running,
        ),
        hub,
        Step("reread-inventory", lambda c: "read the hub's new address and token", _reload),
        *hub_check_steps(),
    ]

"""cost-cap on|off: stop spending on user servers now, and undo it later.

``on`` records the user node groups' sizes in the SSM parameter ``/sciplat/<site>/cost-cap``, then
scales those groups to their floor (desired = min size, max = max(min size, 1)). ``off`` restores the
recorded sizes and deletes the parameter. A second ``on`` keeps the sizes recorded by the first.
``runbook cost-cap status`` shows the parameter (``state`` and ``describe`` below). The hub (either
backend) reads the parameter before each spawn and refuses new servers while it exists; a converge of
the cluster stage keeps the capped sizes while it exists (eks_cluster_cost_cap_parameter).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from runbooks import aws
from runbooks.engine import Context, Refused, Step, wait_until
from runbooks.procedures import Param
from runbooks.procedures.common import timeout
from runbooks.site import Site

NAME = "cost-cap"
SUMMARY = "Scale user node groups to their floor and make the hub refuse spawns (on), or undo it (off)."
WHEN = "Spending must stop now (budget alarm, runaway usage), or the cap is to be lifted."
PARAMS = {
    "mode": Param("on or off", required=True, positional=True, choices=("on", "off")),
    "reason": Param("why, recorded in the parameter for the hub's message", default="cost cap"),
}


def parameter_name(ctx: Context) -> str:
    return f"/sciplat/{ctx.site.name}/cost-cap"


def state(site: Site) -> dict[str, Any] | None:
    """The cap's record in SSM, or None when the cap is off."""
    ssm = aws.client(site, "ssm")
    try:
        return json.loads(ssm.get_parameter(Name=f"/sciplat/{site.name}/cost-cap")["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def describe(record: dict[str, Any] | None) -> str:
    """One line for an operator."""
    if not record:
        return "cost cap: off"
    sizes = ", ".join(
        f"{n} {s['minSize']}..{s['maxSize']} (desired {s['desiredSize']})"
        for n, s in record.get("node_groups", {}).items()
    )
    return (
        f"cost cap: ON since {record.get('since')} ({record.get('reason')}); user node groups at their floor;"
        f" `runbook run cost-cap off` restores {sizes}"
    )


def read_parameter(ctx: Context) -> dict[str, Any] | None:
    return state(ctx.site)


def _scaling(ctx: Context) -> dict[str, dict[str, int]]:
    eks = aws.client(ctx.site, "eks")
    out = {}
    for group in aws.node_groups(ctx.site, "user"):
        ng = eks.describe_nodegroup(clusterName=aws.cluster_name(ctx.site), nodegroupName=group["name"])
        out[group["name"]] = ng["nodegroup"]["scalingConfig"]
    return out


def _check(ctx: Context) -> None:
    if aws.describe_cluster(ctx.site) is None:
        raise Refused(f"cluster {aws.cluster_name(ctx.site)} does not exist: nothing to scale")
    if not aws.node_groups(ctx.site, "user"):
        raise Refused(f"site {ctx.site.name}: the inventory has no node group of purpose user")
    current = read_parameter(ctx)
    if ctx.params["mode"] == "off" and current is None and "recorded" not in ctx.data:
        raise Refused(f"the cost cap is not on: {parameter_name(ctx)} does not exist")
    ctx.data.setdefault("recorded", (current or {}).get("node_groups") or _scaling(ctx))


def _scale(ctx: Context, sizes: dict[str, dict[str, int]]) -> str:
    eks = aws.client(ctx.site, "eks")
    cluster = aws.cluster_name(ctx.site)
    for name, scaling in sizes.items():
        now = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]["scalingConfig"]
        if now == scaling:
            continue
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName=name, scalingConfig=scaling)

    def active() -> bool | None:
        states = [
            eks.describe_nodegroup(clusterName=cluster, nodegroupName=n)["nodegroup"]["status"] for n in sizes
        ]
        return True if all(s == "ACTIVE" for s in states) else None

    wait_until("the node groups to be ACTIVE", active, timeout=timeout(ctx), interval=2)
    return ", ".join(
        f"{n} {s['minSize']}..{s['maxSize']} (desired {s['desiredSize']})" for n, s in sizes.items()
    )


def _floor(ctx: Context) -> dict[str, dict[str, int]]:
    return {
        name: {"minSize": s["minSize"], "maxSize": max(s["minSize"], 1), "desiredSize": s["minSize"]}
        for name, s in ctx.data["recorded"].items()
    }


def _sizes_problem(ctx: Context, wanted: dict[str, dict[str, int]]) -> str | None:
    have = _scaling(ctx)
    wrong = [f"{n} is {have.get(n)}, not {s}" for n, s in wanted.items() if have.get(n) != s]
    return "; ".join(wrong) or None


def _set_parameter(ctx: Context) -> str:
    value = {
        "enabled": True,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": ctx.params.get("reason") or "cost cap",
        "run_id": ctx.run_id,
        "node_groups": ctx.data["recorded"],
    }
    existing = read_parameter(ctx)
    if existing:
        return f"{parameter_name(ctx)} already set since {existing.get('since')}; sizes kept as recorded then"
    aws.client(ctx.site, "ssm").put_parameter(
        Name=parameter_name(ctx),
        Value=json.dumps(value),
        Type="String",
        Overwrite=True,
        Description="Cost cap: the hub refuses new servers while this exists (runbook cost-cap).",
    )
    return f"{parameter_name(ctx)} set"


def _clear_parameter(ctx: Context) -> str:
    ssm = aws.client(ctx.site, "ssm")
    try:
        ssm.delete_parameter(Name=parameter_name(ctx))
    except ssm.exceptions.ParameterNotFound:
        return f"{parameter_name(ctx)} was already gone"
    return f"{parameter_name(ctx)} deleted"


def steps(ctx: Context) -> list[Step]:
    def describe_record(c: Context) -> str:
        sizes = c.data.get("recorded", {})
        return "record the user node groups' sizes: " + (
            ", ".join(
                f"{n} {s['minSize']}..{s['maxSize']} (desired {s['desiredSize']})" for n, s in sizes.items()
            )
            or "?"
        )

    check = Step("check-inputs", describe_record, describe_record, precondition=_check)
    if ctx.params["mode"] == "on":
        return [
            check,
            Step(
                "set-cost-cap-parameter",
                lambda c: f"write {parameter_name(c)} with the recorded sizes; the hub refuses new servers",
                _set_parameter,
                lambda c: None if read_parameter(c) else f"{parameter_name(c)} is not set",
            ),
            Step(
                "scale-user-nodes-to-floor",
                lambda c: (
                    "scale "
                    + ", ".join(
                        f"{n} to {s['desiredSize']} (max {s['maxSize']})" for n, s in _floor(c).items()
                    )
                    + ": RUNNING USER SERVERS ON THOSE NODES ARE STOPPED"
                ),
                lambda c: _scale(c, _floor(c)),
                lambda c: _sizes_problem(c, _floor(c)),
                destructive=True,
            ),
        ]
    return [
        check,
        Step(
            "restore-node-group-sizes",
            lambda c: "restore the recorded sizes",
            lambda c: _scale(c, c.data["recorded"]),
            lambda c: _sizes_problem(c, c.data["recorded"]),
        ),
        Step(
            "clear-cost-cap-parameter",
            lambda c: f"delete {parameter_name(c)}; the hub accepts new servers again",
            _clear_parameter,
            lambda c: f"{parameter_name(c)} still exists" if read_parameter(c) else None,
        ),
    ]

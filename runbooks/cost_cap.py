"""The cost cap: scale the user node group to its floor until an operator lifts the cap.

Plain functions the step engine (and `runbook cost-cap on|off|status --site SITE`) calls:

- ``engage(site, reason)``: records the user node group's sizes in the SSM parameter
  ``/sciplat/<site>/cost-cap`` (JSON: engaged, reason, when, previous sizes), then sets the group's
  desired and maximum size to its minimum (the floor; maximum at least 1, as EKS requires), so the
  cluster autoscaler cannot add user nodes. Engaging an engaged cap changes nothing.
- ``lift(site)``: restores the recorded sizes and deletes the parameter. Lifting a cap that is not
  engaged changes nothing.
- ``state(site)``: the parameter's content, or ``{"engaged": False}``.

The parameter is written before the node group is scaled, so an interrupted engage can always be
lifted back to the recorded sizes. Running user servers on the removed nodes are stopped by
Kubernetes when their nodes go; the hub refusing new spawns while the parameter says engaged is the
jupyterhub role's part (see docs/cost.md).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from runbooks.site import Site, SiteError, load_site


class CostCapError(Exception):
    """The cap cannot be engaged or lifted (no user node group, a node group busy updating ...)."""


@dataclass(frozen=True)
class Target:
    site: str
    region: str
    cluster: str
    nodegroup: str

    @property
    def parameter(self) -> str:
        return f"/sciplat/{self.site}/cost-cap"


def target(site: Site) -> Target:
    """The cluster and the user node group (the one with purpose 'user') from the site's inventory."""
    cluster = site.var("eks_cluster_name")
    groups = site.var("eks_cluster_node_groups") or []
    user = [g for g in groups if isinstance(g, dict) and g.get("purpose") == "user"]
    if not isinstance(cluster, str) or not cluster or not user:
        raise CostCapError(
            f"site {site.name!r} has no user node group (eks_cluster_node_groups with purpose: user) to cap"
        )
    return Target(site.name, site.region, cluster, str(user[0]["name"]))


def _site(site: Site | str) -> Site:
    return load_site(site) if isinstance(site, str) else site


def _clients(where: Target) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=where.region)
    return session.client("eks"), session.client("ssm")


def _read(ssm: Any, where: Target) -> dict[str, Any]:
    try:
        value = ssm.get_parameter(Name=where.parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return {"engaged": False}
        raise
    return json.loads(value)


def _sizes(eks: Any, where: Target) -> dict[str, int]:
    try:
        scaling = eks.describe_nodegroup(clusterName=where.cluster, nodegroupName=where.nodegroup)[
            "nodegroup"
        ]["scalingConfig"]
    except ClientError as error:
        raise CostCapError(
            f"cannot read node group {where.nodegroup} of cluster {where.cluster}: {error}"
        ) from error
    return {
        "minSize": scaling["minSize"],
        "maxSize": scaling["maxSize"],
        "desiredSize": scaling["desiredSize"],
    }


def _scale(
    eks: Any, where: Target, sizes: dict[str, int], wait: float, sleep: Callable[[float], None]
) -> None:
    """UpdateNodegroupConfig, then wait (up to ``wait`` seconds) for the group to be ACTIVE again."""
    try:
        eks.update_nodegroup_config(
            clusterName=where.cluster, nodegroupName=where.nodegroup, scalingConfig=sizes
        )
    except ClientError as error:
        raise CostCapError(f"cannot scale node group {where.nodegroup} to {sizes}: {error}") from error
    deadline = time.monotonic() + wait
    while wait > 0:
        status = eks.describe_nodegroup(clusterName=where.cluster, nodegroupName=where.nodegroup)[
            "nodegroup"
        ]["status"]
        if status == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise CostCapError(f"node group {where.nodegroup} still {status} after {wait:g} s")
        sleep(2.0)


def state(site: Site | str) -> dict[str, Any]:
    """The cap as recorded: {"engaged": False} or the parameter's JSON."""
    loaded = _site(site)
    where = target(loaded)
    with loaded.aws():
        _, ssm = _clients(where)
        return _read(ssm, where)


def engage(
    site: Site | str,
    reason: str = "budget hard threshold",
    *,
    wait: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Scale the user node group to its floor and record the cap. Returns the cap's state."""
    loaded = _site(site)
    where = target(loaded)
    with loaded.aws():
        eks, ssm = _clients(where)
        current = _read(ssm, where)
        if current.get("engaged"):
            return {**current, "changed": False}
        previous = _sizes(eks, where)
        floor = previous["minSize"]
        record = {
            "engaged": True,
            "reason": reason,
            "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "cluster": where.cluster,
            "nodegroup": where.nodegroup,
            "previous": previous,
        }
        ssm.put_parameter(
            Name=where.parameter,
            Value=json.dumps(record),
            Type="String",
            Overwrite=True,
            Description=f"Cost cap of {where.site}; lift: runbook cost-cap off --site {where.site}",
        )
        wanted = {"minSize": floor, "maxSize": max(floor, 1), "desiredSize": floor}
        if wanted != previous:
            _scale(eks, where, wanted, wait, sleep)
        return {**record, "changed": True}


def lift(
    site: Site | str, *, wait: float = 600.0, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Restore the recorded sizes and clear the cap. Returns the cap's state before."""
    loaded = _site(site)
    where = target(loaded)
    with loaded.aws():
        eks, ssm = _clients(where)
        current = _read(ssm, where)
        if not current.get("engaged"):
            return {**current, "changed": False}
        previous = {k: int(v) for k, v in current["previous"].items()}
        if _sizes(eks, where) != previous:
            _scale(eks, where, previous, wait, sleep)
        ssm.delete_parameter(Name=where.parameter)
        return {**current, "changed": True}


def describe(result: dict[str, Any]) -> str:
    """One line for an operator."""
    if not result.get("engaged"):
        return "cost cap: not engaged"
    previous = result.get("previous", {})
    return (
        f"cost cap: ENGAGED since {result.get('when')} ({result.get('reason')}); "
        f"node group {result.get('nodegroup')} held at its floor; lifting restores "
        f"min {previous.get('minSize')} / desired {previous.get('desiredSize')} "
        f"/ max {previous.get('maxSize')}"
    )


__all__ = ["CostCapError", "SiteError", "describe", "engage", "lift", "state"]

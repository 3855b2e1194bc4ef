"""A site's expected monthly AWS bill, from its inventory and the price table in data/prices/.

`runbook cost --site SITE [--compare OTHER]` and `make cost SITE=...` print it. Every figure is a
price from the table (with its source and date) times a quantity the inventory gives: node groups
(instance type x size x hours, spot at the table's fraction of on-demand, root volumes), the EKS
control plane, EFS (Standard and IA share), AWS Backup (warm, cold, cross-region copies), NAT
gateways (hours and GB), load balancers, CloudWatch alarms and dashboard, the hub's health check.
Apart from the monthly total: what a restore costs when one happens (AWS Backup bills the GB
restored, at the warm or cold storage tier's price, plus a request for an item-level restore), which
the drill plan and the restore procedures' plans print too.
What the inventory cannot know (GB stored, GB through NAT, how many user nodes run on average) are
the site's `cost_estimate_*` assumptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from runbooks.site import PROJECT_ROOT, Site, SiteError, documented_defaults

PRICES_DIR = PROJECT_ROOT / "data" / "prices"

# The assumptions a site may set, and their values when it does not.
ASSUMPTIONS: dict[str, Any] = {
    "cost_estimate_node_group_sizes": {},  # {group name: average running nodes}; default desired_size
    "cost_estimate_efs_gb": 100.0,  # GB in the home file system
    "cost_estimate_efs_ia_share": 0.5,  # share of those GB in Infrequent Access
    "cost_estimate_backup_warm_gb": 100.0,  # GB of recovery points in warm storage
    "cost_estimate_backup_cold_gb": 0.0,  # GB of recovery points in cold storage
    "cost_estimate_backup_copy_gb": 30.0,  # GB copied to the second region per month
    "cost_estimate_nat_gb": 50.0,  # GB per month through the NAT gateways
    "cost_estimate_load_balancers": 1,  # load balancers in front of the hub
    "cost_estimate_load_balancer_lcu": 1.0,  # average LCUs per load balancer
}


class PriceError(Exception):
    """The price table is missing, or lacks a price the site needs."""


@dataclass(frozen=True)
class Item:
    key: str  # stable across sites, to line them up side by side
    detail: str
    monthly: float


@dataclass(frozen=True)
class Prices:
    path: Path
    table: dict[str, Any]

    @property
    def hours(self) -> float:
        return float(self.table["hours_per_month"])

    def price(self, name: str) -> float:
        try:
            return float(self.table["prices"][name]["price"])
        except KeyError as error:
            raise PriceError(f"{self.path}: no price {name!r}") from error

    def on_demand(self, instance_type: str) -> float:
        by_type = self.table["prices"]["ec2_on_demand_hour"]["by_type"]
        if instance_type not in by_type:
            raise PriceError(
                f"{self.path}: no on-demand price for {instance_type!r}; add it under "
                f"prices.ec2_on_demand_hour.by_type (known: {', '.join(sorted(by_type))})"
            )
        return float(by_type[instance_type])

    @property
    def spot_fraction(self) -> float:
        return float(self.table["prices"]["spot"]["fraction_of_on_demand"])

    @property
    def recorded(self) -> str:
        dates = {str(entry.get("recorded")) for entry in self.table["prices"].values()}
        return ", ".join(sorted(dates))


def load_prices(region: str, directory: Path = PRICES_DIR) -> Prices:
    path = directory / f"{region}.yml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yml"))) or "none"
        raise PriceError(f"no price table for region {region} ({path}); tables exist for: {known}")
    return Prices(path, yaml.safe_load(path.read_text()))


def _assumption(variables: Mapping[str, Any], name: str) -> Any:
    value = variables.get(name, ASSUMPTIONS[name])
    default = ASSUMPTIONS[name]
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise SiteError(f"{name} is {value!r}: it accepts a mapping of node group name to a number")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise SiteError(f"{name} is {value!r}: it accepts a number") from error
    if number < 0 or (name.endswith("_share") and number > 1):
        raise SiteError(f"{name} is {value!r}: it accepts {'0 to 1' if name.endswith('_share') else '>= 0'}")
    return number


def _nat_gateways(variables: Mapping[str, Any]) -> int:
    mode = variables.get("aws_network_nat_gateway_mode", "single")
    if mode == "per_az":
        return int(variables.get("aws_network_az_count", 3))
    return 0 if mode == "none" else 1


# What each alarm of the cloudwatch_alarms role watches: it exists only when that is set.
ALARM_NEEDS = {
    "node_cpu": "cloudwatch_alarms_cluster_name",
    "node_memory": "cloudwatch_alarms_cluster_name",
    "user_nodes_at_max": "cloudwatch_alarms_cluster_name",
    "efs_io_limit": "efs_storage_name",  # its file system ID is known only once storage is built
    "efs_burst_credits": "efs_storage_name",
    "efs_storage_growth": "efs_storage_name",
    "backup_failed": "cloudwatch_alarms_backup_vault_name",
    "backup_missing": "cloudwatch_alarms_backup_vault_name",
    "hub_health": "cloudwatch_alarms_hub_url",
    # The monitoring stage finds the hub's load balancer itself: counted when the estimate has one.
    "lb_5xx": "cost_estimate_load_balancers",
    "billing": "",
}


def _alarm_metrics(variables: Mapping[str, Any]) -> int:
    """One metric per alarm the cloudwatch_alarms role would create (inventory over role defaults)."""
    defaults = documented_defaults()
    count = 0
    for key, needs in ALARM_NEEDS.items():
        name = f"cloudwatch_alarms_{key}"
        setting = {**(defaults.get(name) or {}), **(variables.get(name) or {})}
        if setting.get("enabled", True) and (not needs or variables.get(needs, ASSUMPTIONS.get(needs))):
            count += 1
    return count


def estimate(variables: Mapping[str, Any], prices: Prices) -> list[Item]:
    """The monthly items for a site's (resolved) inventory variables."""
    hours = prices.hours
    items: list[Item] = []
    sizes = _assumption(variables, "cost_estimate_node_group_sizes")

    if variables.get("eks_cluster_name"):
        items.append(
            Item("EKS control plane", f"1 x {hours:g} h", prices.price("eks_control_plane_hour") * hours)
        )
    for group in variables.get("eks_cluster_node_groups") or []:
        count = float(sizes.get(group["name"], group.get("desired_size", 0)))
        instance_type = group["instance_types"][0]
        spot = group.get("capacity_type", "ON_DEMAND") == "SPOT"
        hourly = prices.on_demand(instance_type) * (prices.spot_fraction if spot else 1.0)
        disk = float(group.get("disk_size", 20)) * count * prices.price("ebs_gp3_gb_month")
        kind = f"spot at {prices.spot_fraction:g} x on-demand" if spot else "on-demand"
        items.append(
            Item(
                f"nodes: {group['name']}",
                f"{count:g} x {instance_type} {kind} x {hours:g} h + {group.get('disk_size', 20)} GB gp3",
                count * hourly * hours + disk,
            )
        )

    if variables.get("efs_storage_name"):
        gb = _assumption(variables, "cost_estimate_efs_gb")
        ia = _assumption(variables, "cost_estimate_efs_ia_share")
        items.append(
            Item(
                "EFS homes",
                f"{gb:g} GB, {ia:.0%} in IA",
                gb * (1 - ia) * prices.price("efs_standard_gb_month")
                + gb * ia * prices.price("efs_ia_gb_month"),
            )
        )
    if variables.get("backup_name"):
        warm = _assumption(variables, "cost_estimate_backup_warm_gb")
        cold = _assumption(variables, "cost_estimate_backup_cold_gb")
        copied = (
            _assumption(variables, "cost_estimate_backup_copy_gb")
            if variables.get("backup_copy_region")
            else 0
        )
        copies = 2 if copied else 1  # the copy region keeps as many GB again
        items.append(
            Item(
                "AWS Backup",
                f"{warm:g} GB warm + {cold:g} GB cold"
                + (f", x2 regions, {copied:g} GB copied" if copied else ""),
                copies
                * (
                    warm * prices.price("backup_efs_warm_gb_month")
                    + cold * prices.price("backup_efs_cold_gb_month")
                )
                + copied * prices.price("backup_cross_region_gb"),
            )
        )
    nats = _nat_gateways(variables) if variables.get("aws_network_name") else 0
    if nats:
        gb = _assumption(variables, "cost_estimate_nat_gb")
        items.append(
            Item(
                "NAT gateways",
                f"{nats} x {hours:g} h + {gb:g} GB",
                nats * hours * prices.price("nat_gateway_hour") + gb * prices.price("nat_gateway_gb"),
            )
        )
    balancers = _assumption(variables, "cost_estimate_load_balancers")
    if balancers:
        lcu = _assumption(variables, "cost_estimate_load_balancer_lcu")
        items.append(
            Item(
                "load balancer",
                f"{balancers:g} x {hours:g} h + {lcu:g} LCU",
                balancers
                * hours
                * (prices.price("load_balancer_hour") + lcu * prices.price("load_balancer_lcu_hour")),
            )
        )
    if variables.get("cloudwatch_alarms_name"):
        metrics = _alarm_metrics(variables)
        checks = 1 if variables.get("cloudwatch_alarms_hub_url") else 0
        items.append(
            Item(
                "CloudWatch + Route 53",
                f"{metrics} alarms, 1 dashboard, {checks} health check",
                metrics * prices.price("cloudwatch_alarm_metric_month")
                + prices.price("cloudwatch_dashboard_month")
                + checks * prices.price("route53_health_check_month"),
            )
        )
    return items


def restore_items(
    prices: Prices, gb: float, *, cold: bool = False, item_level: bool = False, at_most: bool = False
) -> list[tuple[str, float]]:
    """What one AWS Backup restore of an EFS recovery point costs, as (what, USD): the GB restored at
    the price of the tier the recovery point is in (warm or cold), and for an item-level restore
    (one user's home) the request. ``at_most``: ``gb`` is an upper bound (the items' size is not
    known before the restore)."""
    tier, key = ("cold", "backup_efs_cold_restore_gb") if cold else ("warm", "backup_efs_restore_gb")
    per_gb = prices.price(key)
    items: list[tuple[str, float]] = []
    if item_level:
        items.append(("one item-level restore request", prices.price("backup_efs_item_restore_request")))
    amount = f"at most {gb:.3g} GB" if at_most else f"{gb:.3g} GB"
    items.append((f"{amount} restored from {tier} storage at {per_gb:g} USD/GB", gb * per_gb))
    return items


def restore_summary(prices: Prices, gb: float, **kwargs: bool) -> str:
    """One line for a restore's plan: the total and its parts, with the price table it comes from."""
    items = restore_items(prices, gb, **kwargs)
    parts = " + ".join(f"{usd:.2f} ({what})" for what, usd in items)
    return (
        f"expected cost about {sum(usd for _, usd in items):.2f} {prices.table['currency']}: {parts}; "
        f"list prices, {prices.path.relative_to(PROJECT_ROOT)}"
    )


def in_cold_storage(point: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether an AWS Backup recovery point is in cold storage: its lifecycle's MoveToColdStorageAt
    (as ListRecoveryPointsByBackupVault reports it) has passed."""
    moved = (point.get("CalculatedLifecycle") or {}).get("MoveToColdStorageAt")
    return isinstance(moved, datetime) and moved <= (now or datetime.now(UTC))


def recovery_point_restore(region: str, point: Mapping[str, Any], *, item_level: bool = False) -> str:
    """The plan's cost line for restoring ``point``: its backup size at its tier's price (an upper
    bound for an item-level restore, which restores part of it)."""
    try:
        prices = load_prices(region)
    except PriceError as error:
        return f"expected cost unknown ({error})"
    gb = float(point.get("BackupSizeInBytes") or 0) / 1e9
    return restore_summary(prices, gb, cold=in_cold_storage(point), item_level=item_level, at_most=item_level)


def restores(variables: Mapping[str, Any], prices: Prices) -> list[Item]:
    """What a restore costs when it happens (not part of the monthly total), for a site with backups:
    the whole home file system from warm and from cold storage, and one user's home."""
    if not variables.get("backup_name"):
        return []
    gb = float(_assumption(variables, "cost_estimate_efs_gb"))
    home_items = restore_items(prices, 0.0, item_level=True)
    return [
        Item(
            "restore-filesystem, warm",
            f"{gb:g} GB x {prices.price('backup_efs_restore_gb'):g} USD/GB",
            restore_items(prices, gb)[0][1],
        ),
        Item(
            "restore-filesystem, cold",
            f"{gb:g} GB x {prices.price('backup_efs_cold_restore_gb'):g} USD/GB",
            restore_items(prices, gb, cold=True)[0][1],
        ),
        Item(
            "restore-user-home",
            f"1 request + {prices.price('backup_efs_restore_gb'):g} USD per GB of the home",
            sum(usd for _, usd in home_items),
        ),
    ]


def site_variables(site: Site) -> dict[str, Any]:
    return dict(site.hostvars)


RESTORES_HEADER = "restores (paid when one happens; not in the monthly total)"
Sites = list[tuple[str, list[Item]]]


def as_json(sites: Sites, prices: Prices, restore_costs: Sites | None = None) -> dict[str, Any]:
    """`runbook cost --format json`: every item of every site, totals, what a restore costs, and where
    the prices are from."""
    per_site = dict(restore_costs or [])
    return {
        "currency": prices.table["currency"],
        "region": prices.table["region"],
        "prices": str(prices.path.relative_to(PROJECT_ROOT)),
        "recorded": prices.recorded,
        "sites": {
            name: {
                "items": [{"item": i.key, "detail": i.detail, "monthly": round(i.monthly, 2)} for i in items],
                "total": round(sum(i.monthly for i in items), 2),
                "restores": [
                    {"item": i.key, "detail": i.detail, "usd": round(i.monthly, 2)}
                    for i in per_site.get(name, [])
                ],
            }
            for name, items in sites
        },
    }


def render(sites: Sites, prices: Prices, restore_costs: Sites | None = None) -> str:
    """One site: item, detail, USD. Two: item, USD per site, difference. Then, apart, what a restore
    costs when one happens."""
    header = (
        f"Expected monthly cost, {prices.table['currency']}, {prices.table['region']} list prices "
        f"recorded {prices.recorded} ({prices.path.relative_to(PROJECT_ROOT)})"
    )
    lines = [header]
    per_site = dict(restore_costs or [])
    if len(sites) == 1:
        name, items = sites[0]
        extra = per_site.get(name, [])
        width = max([len(i.key) for i in [*items, *extra]] + [5])
        dwidth = max([len(i.detail) for i in [*items, *extra]] + [6])
        lines.append(f"{'item':<{width}}  {'detail':<{dwidth}}  {name:>10}")
        for item in items:
            lines.append(f"{item.key:<{width}}  {item.detail:<{dwidth}}  {item.monthly:>10.2f}")
        lines.append(f"{'total':<{width}}  {'':<{dwidth}}  {sum(i.monthly for i in items):>10.2f}")
        if extra:
            lines.append(RESTORES_HEADER)
            lines += [f"{i.key:<{width}}  {i.detail:<{dwidth}}  {i.monthly:>10.2f}" for i in extra]
        return "\n".join(lines)
    (first, a), (second, b) = sites

    def side_by_side(a: list[Item], b: list[Item], total: bool) -> list[str]:
        by_a = {i.key: i.monthly for i in a}
        by_b = {i.key: i.monthly for i in b}
        keys = list(by_a) + [k for k in by_b if k not in by_a]
        rows = []
        for key in [*keys, "total"] if total else keys:
            left = sum(by_a.values()) if key == "total" else by_a.get(key, 0.0)
            right = sum(by_b.values()) if key == "total" else by_b.get(key, 0.0)
            rows.append(f"{key:<{width}}  {left:>10.2f}  {right:>10.2f}  {right - left:>+10.2f}")
        return rows

    extra_a, extra_b = per_site.get(first, []), per_site.get(second, [])
    width = max([len(i.key) for i in [*a, *b, *extra_a, *extra_b]] + [5])
    lines.append(f"{'item':<{width}}  {first:>10}  {second:>10}  {'difference':>10}")
    lines += side_by_side(a, b, total=True)
    if extra_a or extra_b:
        lines.append(RESTORES_HEADER)
        lines += side_by_side(extra_a, extra_b, total=False)
    return "\n".join(lines)

"""The cost estimate: each figure is the price table's price times the inventory's quantity.

Expected figures are computed here from data/prices/us-east-1.yml, so a price change in the table
does not break the tests, and a wrong formula does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbooks import cost
from runbooks.site import SiteError

ROOT = Path(__file__).resolve().parent.parent
TABLE = yaml.safe_load((ROOT / "data" / "prices" / "us-east-1.yml").read_text())
P = {name: entry.get("price") for name, entry in TABLE["prices"].items()}
ON_DEMAND = TABLE["prices"]["ec2_on_demand_hour"]["by_type"]
SPOT = TABLE["prices"]["spot"]["fraction_of_on_demand"]
HOURS = TABLE["hours_per_month"]

SITE = {
    "eks_cluster_name": "t-hub",
    "eks_cluster_node_groups": [
        {
            "name": "core",
            "capacity_type": "ON_DEMAND",
            "instance_types": ["m6i.large"],
            "desired_size": 2,
            "disk_size": 50,
        },
        {
            "name": "user",
            "capacity_type": "SPOT",
            "instance_types": ["r6i.xlarge"],
            "desired_size": 0,
            "disk_size": 100,
        },
    ],
    "cost_estimate_node_group_sizes": {"user": 3},
    "efs_storage_name": "t-homes",
    "cost_estimate_efs_gb": 1000,
    "cost_estimate_efs_ia_share": 0.6,
    "backup_name": "t",
    "backup_copy_region": "us-west-2",
    "cost_estimate_backup_warm_gb": 800,
    "cost_estimate_backup_cold_gb": 2000,
    "cost_estimate_backup_copy_gb": 100,
    "aws_network_name": "t",
    "aws_network_nat_gateway_mode": "per_az",
    "aws_network_az_count": 2,
    "cost_estimate_nat_gb": 250,
    "cost_estimate_load_balancers": 1,
    "cost_estimate_load_balancer_lcu": 3,
    "cloudwatch_alarms_name": "t",
    "cloudwatch_alarms_cluster_name": "t-hub",
    "cloudwatch_alarms_backup_vault_name": "t-homes",
    "cloudwatch_alarms_hub_url": "https://hub.example.org/hub/health",
    "cloudwatch_alarms_billing": {"enabled": False},
}


@pytest.fixture
def prices() -> cost.Prices:
    return cost.load_prices("us-east-1")


def by_key(items: list[cost.Item]) -> dict[str, float]:
    return {item.key: item.monthly for item in items}


def test_every_item_is_price_times_quantity(prices: cost.Prices) -> None:
    got = by_key(cost.estimate(SITE, prices))

    expected = {
        "EKS control plane": P["eks_control_plane_hour"] * HOURS,
        "nodes: core": 2 * ON_DEMAND["m6i.large"] * HOURS + 2 * 50 * P["ebs_gp3_gb_month"],
        "nodes: user": 3 * ON_DEMAND["r6i.xlarge"] * SPOT * HOURS + 3 * 100 * P["ebs_gp3_gb_month"],
        "EFS homes": 400 * P["efs_standard_gb_month"] + 600 * P["efs_ia_gb_month"],
        "AWS Backup": 2 * (800 * P["backup_efs_warm_gb_month"] + 2000 * P["backup_efs_cold_gb_month"])
        + 100 * P["backup_cross_region_gb"],
        "NAT gateways": 2 * HOURS * P["nat_gateway_hour"] + 250 * P["nat_gateway_gb"],
        "load balancer": HOURS * (P["load_balancer_hour"] + 3 * P["load_balancer_lcu_hour"]),
        # node cpu, memory, at max, 3 EFS, 2 backup, hub health, the load balancer's 5xx = 10 (billing off)
        "CloudWatch + Route 53": 10 * P["cloudwatch_alarm_metric_month"]
        + P["cloudwatch_dashboard_month"]
        + P["route53_health_check_month"],
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key


def test_desired_size_counts_when_no_assumption_and_single_nat(prices: cost.Prices) -> None:
    site = {**SITE, "cost_estimate_node_group_sizes": {}, "aws_network_nat_gateway_mode": "single"}
    got = by_key(cost.estimate(site, prices))
    assert got["nodes: user"] == 0.0
    assert got["NAT gateways"] == pytest.approx(HOURS * P["nat_gateway_hour"] + 250 * P["nat_gateway_gb"])


def test_compare_lines_sites_up_and_totals(prices: cost.Prices) -> None:
    small = cost.estimate({**SITE, "cost_estimate_node_group_sizes": {"user": 1}}, prices)
    big = cost.estimate(SITE, prices)

    text = cost.render([("small", small), ("big", big)], prices)

    lines = text.splitlines()
    assert "data/prices/us-east-1.yml" in lines[0]
    total = next(line for line in lines if line.startswith("total")).split()
    assert float(total[1]) == pytest.approx(sum(i.monthly for i in small), abs=0.01)
    assert float(total[2]) == pytest.approx(sum(i.monthly for i in big), abs=0.01)
    user = next(line for line in lines if line.startswith("nodes: user")).split()
    assert float(user[-1]) == pytest.approx(
        2 * (ON_DEMAND["r6i.xlarge"] * SPOT * HOURS + 100 * P["ebs_gp3_gb_month"]), abs=0.01
    )
    assert len(lines) <= 24  # one screen


def test_unknown_instance_type_names_it(prices: cost.Prices) -> None:
    site = {
        **SITE,
        "eks_cluster_node_groups": [{**SITE["eks_cluster_node_groups"][0], "instance_types": ["x9.huge"]}],
    }
    with pytest.raises(cost.PriceError, match=r"x9\.huge"):
        cost.estimate(site, prices)


def test_bad_assumption_names_the_variable(prices: cost.Prices) -> None:
    with pytest.raises(SiteError, match="cost_estimate_efs_ia_share"):
        cost.estimate({**SITE, "cost_estimate_efs_ia_share": 1.5}, prices)
    with pytest.raises(SiteError, match="cost_estimate_nat_gb"):
        cost.estimate({**SITE, "cost_estimate_nat_gb": "lots"}, prices)


def test_no_table_for_the_region() -> None:
    with pytest.raises(cost.PriceError, match="us-east-1"):
        cost.load_prices("eu-north-9")


def test_every_price_has_a_source_and_a_date() -> None:
    for name, entry in TABLE["prices"].items():
        assert str(entry.get("source", "")).startswith("https://aws.amazon.com/"), name
        assert entry.get("recorded"), name


def test_the_cli_prints_both_inventory_sites() -> None:
    run = subprocess.run(
        [str(Path(sys.executable).parent / "runbook"), "cost", "--site", "local", "--compare", "example"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    header = run.stdout.splitlines()[1].split()
    assert header[:3] == ["item", "local", "example"]
    assert any(line.startswith("total") for line in run.stdout.splitlines())
    # The restores, apart from the monthly total, for both sites (the example: its cost_estimate_efs_gb).
    after = run.stdout.split(cost.RESTORES_HEADER + "\n")[1].splitlines()
    example_gb = yaml.safe_load((ROOT / "inventories/example/group_vars/all/monitoring.yml").read_text())[
        "cost_estimate_efs_gb"
    ]
    cold = next(line.split() for line in after if line.startswith("restore-filesystem, cold"))
    assert float(cold[-2]) == pytest.approx(example_gb * P["backup_efs_cold_restore_gb"], abs=0.01)


def test_a_restore_is_priced_per_gb_restored_at_its_tier(prices: cost.Prices) -> None:
    """AWS Backup bills the GB restored at the warm or cold tier's price; an item-level restore adds
    its request."""
    warm = cost.restore_items(prices, 250)
    assert [usd for _, usd in warm] == [pytest.approx(250 * P["backup_efs_restore_gb"])]
    assert "250 GB restored from warm storage" in warm[0][0]
    cold = cost.restore_items(prices, 250, cold=True)
    assert [usd for _, usd in cold] == [pytest.approx(250 * P["backup_efs_cold_restore_gb"])]
    assert P["backup_efs_cold_restore_gb"] > P["backup_efs_restore_gb"]
    home = cost.restore_items(prices, 3, item_level=True, at_most=True)
    assert home[0] == ("one item-level restore request", P["backup_efs_item_restore_request"])
    assert "at most 3 GB" in home[1][0] and home[1][1] == pytest.approx(3 * P["backup_efs_restore_gb"])


def test_a_recovery_point_past_its_move_to_cold_is_priced_cold() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    point = {
        "BackupSizeInBytes": 40e9,
        "CalculatedLifecycle": {"MoveToColdStorageAt": now + timedelta(days=1)},
    }
    warm = cost.recovery_point_restore("us-east-1", point)
    assert warm.startswith(f"expected cost about {40 * P['backup_efs_restore_gb']:.2f} USD")
    assert "from warm storage" in warm and "data/prices/us-east-1.yml" in warm
    point["CalculatedLifecycle"]["MoveToColdStorageAt"] = now - timedelta(days=1)
    cold = cost.recovery_point_restore("us-east-1", point)
    assert cold.startswith(f"expected cost about {40 * P['backup_efs_cold_restore_gb']:.2f} USD")
    home = cost.recovery_point_restore("us-east-1", point, item_level=True)
    expected = P["backup_efs_item_restore_request"] + 40 * P["backup_efs_cold_restore_gb"]
    assert home.startswith(f"expected cost about {expected:.2f} USD") and "at most 40 GB" in home
    assert "unknown" in cost.recovery_point_restore("eu-north-9", point)


def test_restores_stay_out_of_the_monthly_total(prices: cost.Prices) -> None:
    monthly = cost.estimate(SITE, prices)
    extra = by_key(cost.restores(SITE, prices))
    assert extra == {
        "restore-filesystem, warm": pytest.approx(1000 * P["backup_efs_restore_gb"]),
        "restore-filesystem, cold": pytest.approx(1000 * P["backup_efs_cold_restore_gb"]),
        "restore-user-home": pytest.approx(P["backup_efs_item_restore_request"]),
    }
    shown = cost.as_json([("t", monthly)], prices, [("t", cost.restores(SITE, prices))])["sites"]["t"]
    assert shown["total"] == round(sum(i.monthly for i in monthly), 2)
    assert [r["item"] for r in shown["restores"]] == list(extra)
    text = cost.render([("t", monthly)], prices, [("t", cost.restores(SITE, prices))]).splitlines()
    assert (
        text.index(cost.RESTORES_HEADER)
        == next(i for i, line in enumerate(text) if line.startswith("total")) + 1
    )
    assert cost.restores({k: v for k, v in SITE.items() if k != "backup_name"}, prices) == []

"""sciplat.platform.cloudwatch_dashboard against moto in-process (moto serves dashboards)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.sciplat.platform.plugins.modules import cloudwatch_dashboard
from moto import mock_aws

BODY = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "title": "CPU",
                "region": "us-east-1",
                "metrics": [["ContainerInsights", "node_cpu_utilization"]],
            },
        }
    ]
}


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def test_creates_then_changes_nothing(run_module, cloudwatch) -> None:
    first = run_module(cloudwatch_dashboard, {"name": "site", "body": BODY}, diff=True)
    assert not first.failed, first.result
    assert first.result["changed"] is True
    assert json.loads(cloudwatch.get_dashboard(DashboardName="site")["DashboardBody"]) == BODY
    assert first.result["dashboard"]["arn"].endswith(":dashboard/site")

    second = run_module(cloudwatch_dashboard, {"name": "site", "body": json.loads(json.dumps(BODY))})
    assert second.result["changed"] is False


def test_check_mode_writes_nothing(run_module, cloudwatch) -> None:
    out = run_module(cloudwatch_dashboard, {"name": "site", "body": BODY}, check_mode=True, diff=True)
    assert out.result["changed"] is True
    assert out.result["diff"]["before"] == {}
    assert cloudwatch.list_dashboards()["DashboardEntries"] == []


def test_a_changed_body_is_written_and_absent_deletes(run_module, cloudwatch) -> None:
    run_module(cloudwatch_dashboard, {"name": "site", "body": BODY})
    changed = {
        "widgets": [
            *BODY["widgets"],
            {"type": "text", "x": 0, "y": 6, "width": 6, "height": 2, "properties": {"markdown": "hi"}},
        ]
    }
    out = run_module(cloudwatch_dashboard, {"name": "site", "body": changed}, diff=True)
    assert out.result["changed"] is True
    assert len(out.result["diff"]["before"]["body"]["widgets"]) == 1
    assert len(json.loads(cloudwatch.get_dashboard(DashboardName="site")["DashboardBody"])["widgets"]) == 2

    gone = run_module(cloudwatch_dashboard, {"name": "site", "state": "absent"})
    assert gone.result["changed"] is True
    assert cloudwatch.list_dashboards()["DashboardEntries"] == []
    again = run_module(cloudwatch_dashboard, {"name": "site", "state": "absent"})
    assert again.result["changed"] is False


def test_a_bad_name_fails_naming_it(run_module, cloudwatch) -> None:
    out = run_module(cloudwatch_dashboard, {"name": "my site", "body": BODY})
    assert out.failed
    assert "name is 'my site'" in out.result["msg"]

"""sciplat.platform.cloudwatch_metric_alarms against moto in-process (alarms, tags, EKS node groups)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.sciplat.platform.plugins.modules import cloudwatch_metric_alarms
from moto import mock_aws

TOPIC = "arn:aws:sns:us-east-1:123456789012:site-alarms"


def cpu(**changes: Any) -> dict[str, Any]:
    return {
        "name": "site-node-cpu",
        "description": "Nodes busy. Runbook: docs/runbooks/node-cpu.md",
        "namespace": "ContainerInsights",
        "metric_name": "node_cpu_utilization",
        "statistic": "Average",
        "dimensions": {"ClusterName": "site-hub"},
        "period": 300,
        "evaluation_periods": 3,
        "threshold": 80,
        "comparison": "GreaterThanOrEqualToThreshold",
        "alarm_actions": [TOPIC],
        "ok_actions": [TOPIC],
        **changes,
    }


GROWTH = {
    "name": "site-efs-growth",
    "description": "Homes grow fast. Runbook: docs/runbooks/efs-storage-growth.md",
    "metrics": [
        {
            "Id": "m1",
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/EFS",
                    "MetricName": "StorageBytes",
                    "Dimensions": [
                        {"Name": "FileSystemId", "Value": "fs-1"},
                        {"Name": "StorageClass", "Value": "Total"},
                    ],
                },
                "Period": 3600,
                "Stat": "Average",
            },
        },
        {
            "Id": "e1",
            "Expression": "RATE(m1) * 86400 / 1073741824",
            "Label": "GiB per day",
            "ReturnData": True,
        },
    ],
    "evaluation_periods": 1,
    "threshold": 20,
    "comparison": "GreaterThanThreshold",
    "alarm_actions": [TOPIC],
}


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def alarms(cloudwatch: Any) -> dict[str, dict[str, Any]]:
    return {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}


def test_creates_both_kinds_then_changes_nothing(run_module, cloudwatch) -> None:
    given = {"alarms": [cpu(), GROWTH], "tags": {"Site": "site"}, "purge_prefix": "site-"}
    first = run_module(cloudwatch_metric_alarms, given)
    assert not first.failed, first.result
    assert first.result["written"] == ["site-node-cpu", "site-efs-growth"]
    held = alarms(cloudwatch)
    assert held["site-node-cpu"]["Threshold"] == 80.0
    assert held["site-node-cpu"]["Dimensions"] == [{"Name": "ClusterName", "Value": "site-hub"}]
    assert held["site-node-cpu"]["AlarmActions"] == [TOPIC]
    assert [m["Id"] for m in held["site-efs-growth"]["Metrics"]] == ["m1", "e1"]
    tags = cloudwatch.list_tags_for_resource(ResourceARN=held["site-node-cpu"]["AlarmArn"])["Tags"]
    assert tags == [{"Key": "Site", "Value": "site"}]
    assert first.result["alarms"]["site-node-cpu"] == held["site-node-cpu"]["AlarmArn"]

    second = run_module(cloudwatch_metric_alarms, given)
    assert second.result["changed"] is False, second.result


def test_a_new_threshold_rewrites_one_alarm_and_check_mode_writes_nothing(run_module, cloudwatch) -> None:
    run_module(cloudwatch_metric_alarms, {"alarms": [cpu(), GROWTH]})

    checked = run_module(
        cloudwatch_metric_alarms, {"alarms": [cpu(threshold=90), GROWTH]}, check_mode=True, diff=True
    )
    assert checked.result["written"] == ["site-node-cpu"]
    assert checked.result["diff"]["before"]["site-node-cpu"]["Threshold"] == 80.0
    assert alarms(cloudwatch)["site-node-cpu"]["Threshold"] == 80.0

    out = run_module(cloudwatch_metric_alarms, {"alarms": [cpu(threshold=90), GROWTH]})
    assert out.result["written"] == ["site-node-cpu"]
    assert alarms(cloudwatch)["site-node-cpu"]["Threshold"] == 90.0


def test_purge_deletes_unlisted_alarms_under_the_prefix_only(run_module, cloudwatch) -> None:
    run_module(cloudwatch_metric_alarms, {"alarms": [cpu(), GROWTH, cpu(name="other-node-cpu")]})

    out = run_module(cloudwatch_metric_alarms, {"alarms": [cpu()], "purge_prefix": "site-"})

    assert out.result["deleted"] == ["site-efs-growth"]
    assert sorted(alarms(cloudwatch)) == ["other-node-cpu", "site-node-cpu"]


def test_node_group_at_max_follows_the_group(run_module, cloudwatch) -> None:
    eks = boto3.client("eks", region_name="us-east-1")
    eks.create_cluster(
        name="site-hub",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
    )
    group = eks.create_nodegroup(
        clusterName="site-hub",
        nodegroupName="user",
        nodeRole="arn:aws:iam::123456789012:role/node",
        subnets=["subnet-1"],
        scalingConfig={"minSize": 0, "maxSize": 4, "desiredSize": 0},
    )["nodegroup"]
    at_max = {
        "name": "site-user-nodes-at-max",
        "namespace": "AWS/AutoScaling",
        "metric_name": "GroupInServiceInstances",
        "statistic": "Maximum",
        "period": 300,
        "evaluation_periods": 2,
        "comparison": "GreaterThanOrEqualToThreshold",
        "node_group_at_max": {"cluster_name": "site-hub", "nodegroup_name": "user"},
    }

    out = run_module(cloudwatch_metric_alarms, {"alarms": [at_max]})

    held = alarms(cloudwatch)["site-user-nodes-at-max"]
    assert held["Threshold"] == 4.0
    asg = group["resources"]["autoScalingGroups"][0]["name"]
    assert held["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": asg}]
    assert out.result["changed"] is True
    assert run_module(cloudwatch_metric_alarms, {"alarms": [at_max]}).result["changed"] is False

    missing = run_module(
        cloudwatch_metric_alarms,
        {
            "alarms": [
                {
                    **at_max,
                    "name": "x",
                    "node_group_at_max": {"cluster_name": "site-hub", "nodegroup_name": "gone"},
                }
            ]
        },
    )
    assert missing.result["written"] == []
    assert "x" not in alarms(cloudwatch)


def test_bad_alarms_fail_naming_them(run_module, cloudwatch) -> None:
    out = run_module(cloudwatch_metric_alarms, {"alarms": [cpu(threshold=None)]})
    assert out.failed
    assert "alarms[0] (site-node-cpu): threshold is required" in out.result["msg"]
    out = run_module(cloudwatch_metric_alarms, {"alarms": [cpu(comparison="Bigger")]})
    assert out.failed
    assert "comparison" in out.result["msg"]
    assert alarms(cloudwatch) == {}

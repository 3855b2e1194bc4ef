"""Print what the emulated account holds for the scenario's alarms, as JSON (for verify.yml).

Reads with boto3 directly, not through the modules under test.
Usage: read_account.py NAME REGION
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3
import botocore.exceptions

GLOBAL = "us-east-1"
CHECK_KEYS = ("Type", "FullyQualifiedDomainName", "Port", "ResourcePath")


def topic(sns: Any, name: str) -> dict[str, Any] | None:
    for entry in sns.list_topics()["Topics"]:
        arn = entry["TopicArn"]
        if arn.endswith(f":{name}"):
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
            return {
                "arn": arn,
                "policy": json.loads(attributes.get("Policy", "{}")),
                "subscriptions": sorted([s["Protocol"], s["Endpoint"]] for s in subscriptions),
                "tags": {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]},
                "kms_master_key_id": attributes.get("KmsMasterKeyId", ""),
            }
    return None


def key(kms: Any, alias: str) -> dict[str, Any] | None:
    """The key behind alias/<alias>: its metadata, rotation, policy and tags; None without the alias."""
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    if f"alias/{alias}" not in aliases:
        return None
    key_id = aliases[f"alias/{alias}"]
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    return {
        "arn": metadata["Arn"],
        "manager": metadata.get("KeyManager"),
        "rotation": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
        "policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
        "tags": {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]},
    }


def alarms(cloudwatch: Any, prefix: str) -> dict[str, Any]:
    found = {}
    for alarm in cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]:
        found[alarm["AlarmName"]] = {
            "Description": alarm.get("AlarmDescription", ""),
            "Namespace": alarm.get("Namespace"),
            "MetricName": alarm.get("MetricName"),
            "Dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
            "Metrics": alarm.get("Metrics", []),
            "Threshold": alarm["Threshold"],
            "ComparisonOperator": alarm["ComparisonOperator"],
            "Period": alarm.get("Period"),
            "EvaluationPeriods": alarm["EvaluationPeriods"],
            "TreatMissingData": alarm.get("TreatMissingData"),
            "AlarmActions": alarm.get("AlarmActions", []),
            "OKActions": alarm.get("OKActions", []),
            "StateValue": alarm["StateValue"],
        }
    return found


def budget(budgets: Any, account: str, name: str) -> dict[str, Any] | None:
    try:
        found = budgets.describe_budget(AccountId=account, BudgetName=name)["Budget"]
    except botocore.exceptions.ClientError:
        return None
    notifications = []
    listed = budgets.describe_notifications_for_budget(AccountId=account, BudgetName=name)["Notifications"]
    for entry in listed:
        subscribers = budgets.describe_subscribers_for_notification(
            AccountId=account, BudgetName=name, Notification=entry
        )["Subscribers"]
        notifications.append(
            {
                "type": entry["NotificationType"],
                "threshold": float(entry["Threshold"]),
                "subscribers": sorted([s["SubscriptionType"], s["Address"]] for s in subscribers),
            }
        )
    return {
        "limit": float(found["BudgetLimit"]["Amount"]),
        "unit": found["BudgetLimit"]["Unit"],
        "time_unit": found["TimeUnit"],
        "filters": found.get("CostFilters", {}),
        "notifications": sorted(notifications, key=lambda n: (n["type"], n["threshold"])),
    }


def main(name: str, region: str) -> dict[str, Any]:
    session = boto3.session.Session(region_name=region)
    account = session.client("sts").get_caller_identity()["Account"]
    checks = session.client("route53").list_health_checks()["HealthChecks"]
    dashboards = session.client("cloudwatch").list_dashboards()["DashboardEntries"]
    body = (
        json.loads(session.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
        if any(d["DashboardName"] == name for d in dashboards)
        else None
    )
    return {
        "account": account,
        "topic": topic(session.client("sns"), f"{name}-alarms"),
        "global_topic": topic(session.client("sns", region_name=GLOBAL), f"{name}-alarms"),
        "key": key(session.client("kms"), f"{name}-alarms"),
        "global_key": key(session.client("kms", region_name=GLOBAL), f"{name}-alarms"),
        "alarms": alarms(session.client("cloudwatch"), f"{name}-"),
        "global_alarms": alarms(session.client("cloudwatch", region_name=GLOBAL), f"{name}-"),
        "dashboard": body,
        "metric_filters": [
            {
                "log_group": f["logGroupName"],
                "name": f["filterName"],
                "pattern": f["filterPattern"],
                "metrics": [
                    [m["metricNamespace"], m["metricName"], m["metricValue"]]
                    for m in f["metricTransformations"]
                ],
            }
            for f in session.client("logs").describe_metric_filters()["metricFilters"]
        ],
        "health_checks": [
            {"id": c["Id"], **{k: c["HealthCheckConfig"].get(k) for k in CHECK_KEYS}} for c in checks
        ],
        "budget": budget(session.client("budgets", region_name=GLOBAL), account, f"{name}-monthly"),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2]), default=str))

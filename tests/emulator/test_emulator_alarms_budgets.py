"""CloudWatch alarms publish their state changes to SNS (to an encrypted topic only if its key lets
CloudWatch use it); AWS Budgets can be changed in place.

Both fail on plain moto: moto's SetAlarmState records the state and notifies nobody, it never
evaluates an alarm, and it has no UpdateBudget, DescribeSubscribersForNotification, CreateSubscriber
or DeleteSubscriber.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client

ACCOUNT = "123456789012"


def _queue_on_topic(aws: Client, name: str) -> tuple[str, str]:
    """A topic with an SQS subscription: (topic ARN, queue URL)."""
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


def _received(aws: Client, queue: str) -> list[dict[str, Any]]:
    messages = aws("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def _alarm(aws: Client, name: str, topic: str, **extra: Any) -> None:
    aws("cloudwatch").put_metric_alarm(
        AlarmName=name,
        AlarmDescription="Nodes busy. Runbook: docs/runbooks/node-cpu.md",
        Namespace="ContainerInsights",
        MetricName="node_cpu_utilization",
        Dimensions=[{"Name": "ClusterName", "Value": name}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
        OKActions=[topic],
        **extra,
    )


def test_set_alarm_state_publishes_the_alarm_message(aws: Client, unique: Callable[[str], str]) -> None:
    name = unique("cpu")
    topic, queue = _queue_on_topic(aws, name)
    _alarm(aws, name, topic)

    aws("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="drill")

    [envelope] = _received(aws, queue)
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == f'ALARM: "{name}" in US East (N. Virginia)'
    body = json.loads(envelope["Message"])
    assert body["AlarmName"] == name
    assert body["NewStateValue"] == "ALARM"
    assert body["OldStateValue"] == "OK"
    assert body["NewStateReason"] == "drill"
    assert body["AlarmDescription"].endswith("docs/runbooks/node-cpu.md")
    assert body["Region"] == "US East (N. Virginia)"
    assert body["AlarmArn"].endswith(f":alarm:{name}")
    assert body["Trigger"]["MetricName"] == "node_cpu_utilization"
    assert body["Trigger"]["Dimensions"] == [{"value": name, "name": "ClusterName"}]
    assert body["Trigger"]["Threshold"] == 80.0


def _key(aws: Client, services: list[str], account: str = ACCOUNT) -> str:
    """A customer-managed key whose policy lets `services` of `account` encrypt for SNS: its ARN."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": services},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
        ],
    }
    return str(aws("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"])


@pytest.mark.parametrize(
    ("key", "delivered"),
    [
        (lambda aws: _key(aws, ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]), True),
        (lambda aws: "alias/aws/sns", False),
        (lambda aws: _key(aws, ["budgets.amazonaws.com"]), False),
        (lambda aws: _key(aws, ["cloudwatch.amazonaws.com"], account="210987654321"), False),
    ],
    ids=["key-policy-grants-cloudwatch", "aws-managed-key", "no-cloudwatch-grant", "other-source-account"],
)
def test_an_encrypted_topic_gets_the_alarm_only_if_its_key_lets_cloudwatch_in(
    aws: Client, unique: Callable[[str], str], key: Callable[[Client], str], delivered: bool
) -> None:
    name = unique("sse")
    topic, queue = _queue_on_topic(aws, name)
    aws("sns").set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue=key(aws))
    _alarm(aws, name, topic)

    aws("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="drill")

    assert [json.loads(e["Message"])["AlarmName"] for e in _received(aws, queue)] == (
        [name] if delivered else []
    )


def test_no_message_without_a_change_or_with_actions_disabled(
    aws: Client, unique: Callable[[str], str]
) -> None:
    name = unique("quiet")
    topic, queue = _queue_on_topic(aws, name)
    _alarm(aws, name, topic)
    cloudwatch = aws("cloudwatch")

    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="still fine")
    assert _received(aws, queue) == []

    cloudwatch.disable_alarm_actions(AlarmNames=[name])
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="muted")
    assert _received(aws, queue) == []


def test_metric_data_over_the_threshold_sets_alarm_and_back_to_ok(
    aws: Client, unique: Callable[[str], str]
) -> None:
    name = unique("eval")
    topic, queue = _queue_on_topic(aws, name)
    _alarm(aws, name, topic)
    cloudwatch = aws("cloudwatch")

    def put(value: float) -> None:
        cloudwatch.put_metric_data(
            Namespace="ContainerInsights",
            MetricData=[
                {
                    "MetricName": "node_cpu_utilization",
                    "Dimensions": [{"Name": "ClusterName", "Value": name}],
                    "Value": value,
                    "Timestamp": datetime.datetime.now(datetime.UTC),
                }
            ],
        )

    put(95.0)
    state = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]
    assert state == "ALARM"
    [first] = _received(aws, queue)
    assert json.loads(first["Message"])["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1")

    put(5.0)  # the average of the period falls to 50, under the threshold
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    [second] = _received(aws, queue)
    assert json.loads(second["Message"])["NewStateValue"] == "OK"


def _notification(threshold: float) -> dict[str, Any]:
    return {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": threshold,
        "ThresholdType": "PERCENTAGE",
    }


def test_budget_update_and_subscribers(aws: Client, unique: Callable[[str], str]) -> None:
    budgets = aws("budgets")
    name = unique("budget")
    budget = {
        "BudgetName": name,
        "BudgetLimit": {"Amount": "100", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
        "CostFilters": {"TagKeyValue": ["user:Site$local"]},
    }
    email = {"SubscriptionType": "EMAIL", "Address": "ops@example.org"}
    budgets.create_budget(
        AccountId=ACCOUNT,
        Budget=budget,
        NotificationsWithSubscribers=[{"Notification": _notification(80), "Subscribers": [email]}],
    )

    budgets.update_budget(
        AccountId=ACCOUNT, NewBudget={**budget, "BudgetLimit": {"Amount": "250", "Unit": "USD"}}
    )
    read = budgets.describe_budget(AccountId=ACCOUNT, BudgetName=name)["Budget"]
    assert read["BudgetLimit"] == {"Amount": "250", "Unit": "USD"}
    assert read["CostFilters"] == {"TagKeyValue": ["user:Site$local"]}

    def subscribers() -> list[dict[str, str]]:
        return budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName=name, Notification=_notification(80)
        )["Subscribers"]

    assert subscribers() == [email]
    sns = {"SubscriptionType": "SNS", "Address": "arn:aws:sns:us-east-1:123456789012:local-alarms"}
    budgets.create_subscriber(
        AccountId=ACCOUNT, BudgetName=name, Notification=_notification(80), Subscriber=sns
    )
    assert subscribers() == [email, sns]
    with pytest.raises(ClientError, match="DuplicateRecord"):
        budgets.create_subscriber(
            AccountId=ACCOUNT, BudgetName=name, Notification=_notification(80), Subscriber=sns
        )
    budgets.delete_subscriber(
        AccountId=ACCOUNT, BudgetName=name, Notification=_notification(80), Subscriber=email
    )
    assert subscribers() == [sns]

    with pytest.raises(ClientError, match="DuplicateRecord"):
        budgets.create_notification(
            AccountId=ACCOUNT, BudgetName=name, Notification=_notification(80), Subscribers=[email]
        )
    with pytest.raises(ClientError, match="NotFound"):
        budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName=name, Notification=_notification(95)
        )
    with pytest.raises(ClientError, match="NotFound"):
        budgets.update_budget(AccountId=ACCOUNT, NewBudget={**budget, "BudgetName": unique("missing")})


def test_an_unreachable_webhook_does_not_stop_the_other_deliveries(
    aws: Client, unique: Callable[[str], str]
) -> None:
    name = unique("hook")
    topic, queue = _queue_on_topic(aws, name)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    aws("sns").subscribe(TopicArn=topic, Protocol="https", Endpoint="https://127.0.0.1:9/hook")
    _alarm(aws, name, topic)

    aws("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="webhook down")

    assert [json.loads(m["Message"])["NewStateReason"] for m in _received(aws, queue)] == ["webhook down"]

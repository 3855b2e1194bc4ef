"""CloudWatch alarms notify their SNS actions when their state changes (moto only records the state).

On AWS, an alarm whose state changes runs the actions of its new state: for an SNS topic ARN in
``AlarmActions`` / ``OKActions`` / ``InsufficientDataActions`` it publishes a JSON message, with the
subject ``ALARM: "<name>" in <region description>``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
message fields as in "Using Amazon CloudWatch alarms with Amazon SNS",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/US_SetupSNS.html). That happens for
``SetAlarmState`` ("the alarm state changes ... and any actions associated with the new state are
executed", https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html)
and for transitions from evaluating the metric. Actions run only while ``ActionsEnabled`` is true
and only when the state value really changes.

Encrypted topics: CloudWatch publishes to a topic with a ``KmsMasterKeyId`` only when that key's policy
lets ``cloudwatch.amazonaws.com`` use ``kms:GenerateDataKey*`` and ``kms:Decrypt``; the AWS-managed key
``alias/aws/sns`` never does ("Enable compatibility between event sources from AWS services and
encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html). Otherwise
the notification is dropped, as on AWS, where nothing tells the alarm's owner. The key policy is read
for Allow statements naming the service (or ``*``), matching the actions with wildcards, and
with ``StringEquals``/``ArnLike`` conditions on ``aws:SourceAccount``/``aws:SourceArn`` only (any
other condition counts as not met).

Evaluation: moto never evaluates an alarm. Here ``PutMetricData`` re-evaluates the single-metric
alarms on that metric (namespace, name, dimensions): the statistic over each of the last
``EvaluationPeriods`` periods ending now; ``DatapointsToAlarm`` (default: all of them) breaching
periods make ``ALARM``, none breaching with data in every period make ``OK``. Metric-math alarms
are not evaluated (a gap, see docs/emulator.md).
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend
from moto.sns.models import Topic, sns_backends

from emulator import kms_policy
from emulator.patching import wrap

LOG = logging.getLogger(__name__)
SERVICE = "cloudwatch.amazonaws.com"
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
}

COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _utc(moment: datetime.datetime | str | float) -> datetime.datetime:
    """moto keeps naive UTC times; requests give aware ones, ISO strings or epoch seconds."""
    if isinstance(moment, int | float):
        return datetime.datetime.fromtimestamp(moment, datetime.UTC)
    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment.astimezone(datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def message(alarm: Alarm, old_state: str) -> dict[str, Any]:
    """The JSON AWS publishes to the topic (field names and order as AWS sends them)."""
    account = alarm.alarm_arn.split(":")[4]
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
        "Statistic": (alarm.statistic or "").upper() if not alarm.extended_statistic else None,
        "ExtendedStatistic": alarm.extended_statistic,
        "Unit": alarm.unit,
        "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    if alarm.metric_data_queries:
        trigger = {
            "Metrics": [
                {"Id": q.id, "Expression": q.expression, "Label": q.label, "ReturnData": q.return_data}
                if q.expression
                else {"Id": q.id, "ReturnData": q.return_data}
                for q in alarm.metric_data_queries
            ],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": "",
        }
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": _iso(alarm.state_updated_timestamp),
        "Region": REGION_NAMES.get(alarm.region_name, alarm.region_name),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": trigger,
    }


def _actions(alarm: Alarm) -> list[str]:
    return {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }[alarm.state_value] or []


def key_lets_cloudwatch_publish(topic: Topic, alarm: Alarm) -> bool:
    """Whether CloudWatch may use the topic's KMS key (True for a topic without one)."""
    key_id = topic.kms_master_key_id
    if not key_id:
        return True
    if key_id.split(":")[-1].startswith("alias/aws/"):
        return False
    policy = kms_policy.key_policy(topic.account_id, topic.sns_backend.region_name, key_id)
    context = {"aws:SourceAccount": alarm.alarm_arn.split(":")[4], "aws:SourceArn": alarm.alarm_arn}
    return policy is not None and kms_policy.service_may_use(policy, SERVICE, KEY_ACTIONS, context)


def notify(alarm: Alarm, old_state: str) -> list[str]:
    """Publish the state change to the SNS topics among the new state's actions; their ARNs."""
    if not alarm.actions_enabled or alarm.state_value == old_state:
        return []
    published = []
    body = json.dumps(message(alarm, old_state))
    region = REGION_NAMES.get(alarm.region_name, alarm.region_name)
    subject = f'{alarm.state_value}: "{alarm.name}" in {region}'[:100]
    for action in _actions(alarm):
        parts = action.split(":")
        if len(parts) < 6 or parts[2] != "sns":
            continue  # Auto Scaling, EC2 and Systems Manager actions are not emulated
        backend = sns_backends[parts[4]][parts[3]]
        if action in backend.topics:
            if not key_lets_cloudwatch_publish(backend.topics[action], alarm):
                LOG.warning(
                    "alarm %s: the KMS key of topic %s does not let CloudWatch publish", alarm.name, action
                )
                continue
            backend.publish(message=body, arn=action, subject=subject)
            published.append(action)
    return published


def _update_state(original: Any, alarm: Alarm, reason: str, reason_data: str, state_value: str) -> None:
    old_state = alarm.state_value
    original(alarm, reason, reason_data, state_value)
    notify(alarm, old_state)


def _statistic(values: list[float], statistic: str) -> float:
    return {
        "Average": sum(values) / len(values),
        "Sum": sum(values),
        "Minimum": min(values),
        "Maximum": max(values),
        "SampleCount": float(len(values)),
    }[statistic]


def evaluate(backend: CloudWatchBackend, alarm: Alarm, now: datetime.datetime) -> None:
    """Evaluate a single-metric alarm over its last EvaluationPeriods periods ending now."""
    if (
        alarm.metric_data_queries
        or not alarm.metric_name
        or alarm.statistic not in ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
        or alarm.comparison_operator not in COMPARE
    ):
        return
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    periods: list[float | None] = []
    for index in range(alarm.evaluation_periods):
        end = now - datetime.timedelta(seconds=alarm.period * index)
        start = end - datetime.timedelta(seconds=alarm.period)
        values = [
            datum.value
            for datum in backend.metric_data
            if datum.namespace == alarm.namespace
            and datum.name == alarm.metric_name
            and {(d.name, d.value) for d in datum.dimensions} == wanted
            and getattr(datum, "value", None) is not None
            and start < _utc(datum.timestamp) <= end
        ]
        periods.append(_statistic(values, alarm.statistic) if values else None)
    breaching = [
        v for v in periods if v is not None and COMPARE[alarm.comparison_operator](v, alarm.threshold)
    ]
    needed = alarm.datapoints_to_alarm or alarm.evaluation_periods
    if len(breaching) >= needed:
        state = "ALARM"
        reason = (
            f"Threshold Crossed: {len(breaching)} out of the last {alarm.evaluation_periods} datapoints "
            f"were {'greater' if 'Greater' in alarm.comparison_operator else 'less'} than"
            f"{' or equal to' if 'Equal' in alarm.comparison_operator else ''} "
            f"the threshold ({alarm.threshold})."
        )
    elif all(v is not None for v in periods) and not breaching:
        state = "OK"
        reason = f"Threshold Crossed: no datapoint breached the threshold ({alarm.threshold})."
    else:
        return
    if state != alarm.state_value:
        data = {
            "version": "1.0",
            "queryDate": _iso(now),
            "statistic": alarm.statistic,
            "period": alarm.period,
            "recentDatapoints": [v for v in periods if v is not None],
            "threshold": alarm.threshold,
        }
        alarm.update_state(reason, json.dumps(data), state)


def _put_metric_data(
    original: Any, backend: CloudWatchBackend, namespace: str, metric_data: list[Any]
) -> None:
    original(backend, namespace, metric_data)
    names = {m["MetricName"] for m in metric_data}
    now = datetime.datetime.now(datetime.UTC)
    for alarm in list(backend.alarms.values()):
        if alarm.namespace == namespace and alarm.metric_name in names:
            evaluate(backend, alarm, now)


def install() -> None:
    wrap(Alarm, "update_state")(_update_state)
    wrap(CloudWatchBackend, "put_metric_data")(_put_metric_data)

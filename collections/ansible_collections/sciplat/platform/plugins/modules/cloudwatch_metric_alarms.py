#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_metric_alarms
version_added: 0.2.0
short_description: Manage a set of CloudWatch metric alarms in one call
description:
  - Create or update many CloudWatch metric alarms (single-metric or metric math) with one
    DescribeAlarms, writing only those that differ, and delete the alarms under a name prefix
    that are no longer listed. One task for a site's alarms instead of one per alarm.
  - M(amazon.aws.cloudwatch_metric_alarm) manages one alarm per call, always reports a change for a
    metric-math alarm (it drops C(Metrics) before comparing) and sets no tags.
  - An alarm on a managed node group at its maximum size names the group
    (O(alarms[].node_group_at_max)); the module reads the group's Auto Scaling group and maximum
    size from EKS, so the alarm follows the group when its size changes.
author:
  - Science platform deployment kit maintainers
options:
  alarms:
    description: The alarms.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the alarm.
        type: str
        required: true
      description:
        description: Description (up to 1024 characters), for example with a runbook link.
        type: str
        default: ""
      namespace:
        description: Namespace of the metric (single-metric alarms).
        type: str
      metric_name:
        description: Name of the metric (single-metric alarms).
        type: str
      statistic:
        description: Statistic of the metric (single-metric alarms).
        type: str
        choices: [SampleCount, Average, Sum, Minimum, Maximum]
      dimensions:
        description: Dimensions of the metric, name to value.
        type: dict
        default: {}
      metrics:
        description:
          - Metric math alarm, as MetricDataQuery structures in the API's own keys (C(Id), C(Expression),
            C(Label), C(ReturnData), C(MetricStat) ...). Exclusive with O(alarms[].metric_name).
        type: list
        elements: dict
      period:
        description: Period in seconds (single-metric alarms).
        type: int
      evaluation_periods:
        description: Periods to evaluate.
        type: int
        required: true
      datapoints_to_alarm:
        description: Breaching periods (of O(alarms[].evaluation_periods)) that make the alarm go off.
        type: int
      threshold:
        description:
          - Threshold. May be omitted only with O(alarms[].node_group_at_max), where it defaults to the
            group's maximum size.
        type: float
      comparison:
        description: How the value is compared with the threshold.
        type: str
        required: true
        choices:
          - GreaterThanOrEqualToThreshold
          - GreaterThanThreshold
          - LessThanThreshold
          - LessThanOrEqualToThreshold
      treat_missing_data:
        description: How missing data counts.
        type: str
        choices: [breaching, notBreaching, ignore, missing]
        default: missing
      unit:
        description: Unit of the metric.
        type: str
      alarm_actions:
        description: ARNs to notify in ALARM.
        type: list
        elements: str
        default: []
      ok_actions:
        description: ARNs to notify on the way back to OK.
        type: list
        elements: str
        default: []
      insufficient_data_actions:
        description: ARNs to notify in INSUFFICIENT_DATA.
        type: list
        elements: str
        default: []
      node_group_at_max:
        description:
          - An EKS managed node group; the alarm's dimension becomes its Auto Scaling group
            (C(AutoScalingGroupName)) and the threshold, when omitted, its maximum size. The alarm is
            skipped, with a warning, while the node group does not exist.
        type: dict
        suboptions:
          cluster_name:
            description: The cluster.
            type: str
            required: true
          nodegroup_name:
            description: The node group.
            type: str
            required: true
  tags:
    description: Tags of every alarm.
    type: dict
    default: {}
  purge_prefix:
    description:
      - Delete the alarms whose names start with this prefix and are not in O(alarms). Empty deletes nothing.
      - With O(tags), only those that carry all of them (alarms this module made for the same owner),
        since one site's prefix C(astro-) also starts another site's alarms, C(astro-dev-...), which are kept.
    type: str
    default: ""
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
"""

EXAMPLES = r"""
- name: Node CPU and EFS growth alarms of a site, notifying its topic.
  sciplat.platform.cloudwatch_metric_alarms:
    purge_prefix: sciplat-hub-
    tags: {Site: sciplat-hub}
    alarms:
      - name: sciplat-hub-node-cpu
        description: "Nodes busy. Runbook: docs/runbooks/node-cpu.md"
        namespace: ContainerInsights
        metric_name: node_cpu_utilization
        statistic: Average
        dimensions: {ClusterName: sciplat-hub}
        period: 300
        evaluation_periods: 3
        threshold: 80
        comparison: GreaterThanOrEqualToThreshold
        alarm_actions: [arn:aws:sns:us-east-1:123456789012:sciplat-hub-alarms]
      - name: sciplat-hub-efs-growth
        metrics:
          - Id: m1
            ReturnData: false
            MetricStat:
              Metric:
                Namespace: AWS/EFS
                MetricName: StorageBytes
                Dimensions: [{Name: FileSystemId, Value: fs-12345678}, {Name: StorageClass, Value: Total}]
              Period: 3600
              Stat: Average
          - {Id: e1, Expression: "RATE(m1) * 86400 / 1073741824", Label: GiB per day, ReturnData: true}
        evaluation_periods: 1
        threshold: 20
        comparison: GreaterThanThreshold
        alarm_actions: [arn:aws:sns:us-east-1:123456789012:sciplat-hub-alarms]
      - name: sciplat-hub-user-nodes-at-max
        namespace: AWS/AutoScaling
        metric_name: GroupInServiceInstances
        statistic: Maximum
        period: 300
        evaluation_periods: 2
        comparison: GreaterThanOrEqualToThreshold
        node_group_at_max: {cluster_name: sciplat-hub, nodegroup_name: user}
"""

RETURN = r"""
alarms:
  description: Name to ARN of every listed alarm that exists (or would, in check mode).
  returned: always
  type: dict
  sample: {"sciplat-hub-node-cpu": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sciplat-hub-node-cpu"}
written:
  description: Names of the alarms created or updated.
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the alarms deleted under O(purge_prefix).
  returned: always
  type: list
  elements: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

BOTO_ERRORS: tuple[type[Exception], ...] = ()
with contextlib.suppress(NameError):
    BOTO_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


def request(alarm: dict[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm's parameters for one alarm (without tags)."""
    wanted: dict[str, Any] = {
        "AlarmName": alarm["name"],
        "AlarmDescription": alarm["description"],
        "ActionsEnabled": True,
        "OKActions": list(alarm["ok_actions"]),
        "AlarmActions": list(alarm["alarm_actions"]),
        "InsufficientDataActions": list(alarm["insufficient_data_actions"]),
        "EvaluationPeriods": alarm["evaluation_periods"],
        "Threshold": float(alarm["threshold"]),
        "ComparisonOperator": alarm["comparison"],
        "TreatMissingData": alarm["treat_missing_data"],
    }
    if alarm.get("datapoints_to_alarm"):
        wanted["DatapointsToAlarm"] = alarm["datapoints_to_alarm"]
    if alarm.get("metrics"):
        wanted["Metrics"] = alarm["metrics"]
    else:
        wanted.update(
            {
                "Namespace": alarm["namespace"],
                "MetricName": alarm["metric_name"],
                "Statistic": alarm["statistic"],
                "Period": alarm["period"],
                "Dimensions": [{"Name": k, "Value": str(v)} for k, v in sorted(alarm["dimensions"].items())],
            }
        )
        if alarm.get("unit"):
            wanted["Unit"] = alarm["unit"]
    return wanted


def same(wanted: Any, found: Any) -> bool:
    """Whether what AWS holds matches what is wanted: every wanted key, recursively; numbers as numbers."""
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(same(v, found.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(found, list) and len(wanted) == len(found) and all(map(same, wanted, found))
    if isinstance(wanted, bool) or isinstance(found, bool):
        return wanted == found
    if isinstance(wanted, int | float) and isinstance(found, int | float):
        return float(wanted) == float(found)
    return wanted == found


def comparable(found: dict[str, Any]) -> dict[str, Any]:
    """An alarm as DescribeAlarms gives it, with dimensions in a stable order and defaults filled."""
    found = dict(found)
    found["Dimensions"] = sorted(found.get("Dimensions", []), key=lambda d: d["Name"])
    found.setdefault("TreatMissingData", "missing")
    for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        found.setdefault(key, [])
    return found


def validate(module: AnsibleAWSModule) -> None:
    for index, alarm in enumerate(module.params["alarms"]):
        where = f"alarms[{index}] ({alarm['name']})"
        if alarm.get("metrics"):
            if alarm.get("metric_name"):
                module.fail_json(msg=f"{where}: metrics and metric_name are exclusive.")
            if not any(q.get("ReturnData", True) and "Expression" in q for q in alarm["metrics"]):
                module.fail_json(msg=f"{where}: metrics needs an expression with ReturnData true.")
        else:
            missing = [k for k in ("namespace", "metric_name", "statistic", "period") if not alarm.get(k)]
            if missing:
                module.fail_json(msg=f"{where}: a single-metric alarm needs {', '.join(missing)}.")
        if alarm.get("threshold") is None and not alarm.get("node_group_at_max"):
            module.fail_json(msg=f"{where}: threshold is required (it accepts a number).")
        if alarm["evaluation_periods"] < 1:
            module.fail_json(
                msg=f"{where}: evaluation_periods is {alarm['evaluation_periods']}; it accepts 1 or more."
            )


def resolve_node_groups(module: AnsibleAWSModule, alarms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill the Auto Scaling group and maximum size of node_group_at_max alarms; skip absent groups."""
    eks = None
    resolved = []
    for alarm in alarms:
        group = alarm.get("node_group_at_max")
        if not group:
            resolved.append(alarm)
            continue
        eks = eks or module.client("eks", retry_decorator=AWSRetry.jittered_backoff(retries=5))
        try:
            found = eks.describe_nodegroup(
                clusterName=group["cluster_name"], nodegroupName=group["nodegroup_name"]
            )
        except is_boto3_error_code("ResourceNotFoundException"):
            module.warn(
                f"alarm {alarm['name']}: node group {group['nodegroup_name']} of cluster "
                f"{group['cluster_name']} does not exist (yet); the alarm is skipped."
            )
            continue
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Couldn't read node group {group['nodegroup_name']}")
        nodegroup = found["nodegroup"]
        groups = nodegroup.get("resources", {}).get("autoScalingGroups", [])
        if not groups:
            module.warn(
                f"alarm {alarm['name']}: node group {group['nodegroup_name']} has no Auto Scaling group yet."
            )
            continue
        alarm = dict(alarm)
        alarm["dimensions"] = {**alarm["dimensions"], "AutoScalingGroupName": groups[0]["name"]}
        if alarm.get("threshold") is None:
            alarm["threshold"] = float(nodegroup["scalingConfig"]["maxSize"])
        resolved.append(alarm)
    return resolved


def ours(client: Any, alarm: dict[str, Any], module: AnsibleAWSModule) -> bool:
    """Whether an alarm under the prefix carries all of O(tags): without tags, every one is."""
    if not module.params["tags"]:
        return True
    held = client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
    held = {t["Key"]: t["Value"] for t in held}
    return all(held.get(k) == str(v) for k, v in module.params["tags"].items())


def main() -> None:
    alarm_spec = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        namespace=dict(type="str"),
        metric_name=dict(type="str"),
        statistic=dict(type="str", choices=["SampleCount", "Average", "Sum", "Minimum", "Maximum"]),
        dimensions=dict(type="dict", default={}),
        metrics=dict(type="list", elements="dict"),
        period=dict(type="int"),
        evaluation_periods=dict(type="int", required=True),
        datapoints_to_alarm=dict(type="int"),
        threshold=dict(type="float"),
        comparison=dict(
            type="str",
            required=True,
            choices=[
                "GreaterThanOrEqualToThreshold",
                "GreaterThanThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ],
        ),
        treat_missing_data=dict(
            type="str", default="missing", choices=["breaching", "notBreaching", "ignore", "missing"]
        ),
        unit=dict(type="str"),
        alarm_actions=dict(type="list", elements="str", default=[]),
        ok_actions=dict(type="list", elements="str", default=[]),
        insufficient_data_actions=dict(type="list", elements="str", default=[]),
        node_group_at_max=dict(
            type="dict",
            options=dict(
                cluster_name=dict(type="str", required=True), nodegroup_name=dict(type="str", required=True)
            ),
        ),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            alarms=dict(type="list", elements="dict", required=True, options=alarm_spec),
            tags=dict(type="dict", default={}),
            purge_prefix=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    validate(module)
    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    alarms = resolve_node_groups(module, module.params["alarms"])
    tags = [{"Key": k, "Value": str(v)} for k, v in sorted(module.params["tags"].items())]
    prefix = module.params["purge_prefix"]

    try:
        paginator = client.get_paginator("describe_alarms")
        if prefix:
            pages = paginator.paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"])
        else:
            pages = paginator.paginate(
                AlarmNames=[a["name"] for a in alarms][:100], AlarmTypes=["MetricAlarm"]
            )
        existing = {a["AlarmName"]: comparable(a) for page in pages for a in page.get("MetricAlarms", [])}
        if prefix:  # listed alarms outside the prefix
            outside = [a["name"] for a in alarms if not a["name"].startswith(prefix)]
            for page in (
                paginator.paginate(AlarmNames=outside[:100], AlarmTypes=["MetricAlarm"]) if outside else []
            ):
                existing.update({a["AlarmName"]: comparable(a) for a in page.get("MetricAlarms", [])})
    except BOTO_ERRORS as e:
        module.fail_json_aws(e, msg="Couldn't read the alarms")

    written: list[str] = []
    result_arns: dict[str, str] = {}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    try:
        for alarm in alarms:
            wanted = request(alarm)
            found = existing.get(alarm["name"])
            tags_differ = False
            if found is not None and tags:
                held = client.list_tags_for_resource(ResourceARN=found["AlarmArn"]).get("Tags", [])
                tags_differ = {t["Key"]: t["Value"] for t in held} != module.params["tags"]
            if found is None or not same(wanted, found) or tags_differ:
                written.append(alarm["name"])
                before[alarm["name"]] = {k: found.get(k) for k in wanted} if found else {}
                after[alarm["name"]] = wanted
                if not module.check_mode:
                    client.put_metric_alarm(**wanted, **({"Tags": tags} if tags and found is None else {}))
                    if tags_differ:
                        client.tag_resource(ResourceARN=found["AlarmArn"], Tags=tags)
            result_arns[alarm["name"]] = (found or {}).get("AlarmArn", "")
        listed = {a["name"] for a in alarms}
        unlisted = [name for name in existing if prefix and name.startswith(prefix) and name not in listed]
        deleted = sorted(name for name in unlisted if ours(client, existing[name], module))
        for name in deleted:
            before[name] = {k: existing[name].get(k) for k in ("AlarmName", "AlarmDescription")}
            after[name] = {}
        if deleted and not module.check_mode:
            for start in range(0, len(deleted), 100):
                client.delete_alarms(AlarmNames=deleted[start : start + 100])
        if written and not module.check_mode:
            fresh = client.describe_alarms(AlarmNames=written[:100], AlarmTypes=["MetricAlarm"])[
                "MetricAlarms"
            ]
            result_arns.update({a["AlarmName"]: a["AlarmArn"] for a in fresh})
    except BOTO_ERRORS as e:
        module.fail_json_aws(e, msg="Couldn't write the alarms")

    result: dict[str, Any] = {
        "changed": bool(written or deleted),
        "alarms": result_arns,
        "written": written,
        "deleted": deleted,
    }
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: budget
version_added: 0.2.0
short_description: Manage an AWS Budgets cost budget, its notifications and their subscribers
description:
  - Create, update or delete a cost budget in AWS Budgets, filtered by cost-allocation tags, with
    notifications on ACTUAL and FORECASTED spend and their e-mail and SNS subscribers. Neither
    amazon.aws nor community.aws has a module for AWS Budgets.
  - A notification is identified by its type, comparison, threshold and threshold type (as AWS
    identifies it); a changed threshold is a new notification, and the old one is removed when
    O(purge_notifications=true).
  - The budget's limit, time unit and cost filters are changed in place with UpdateBudget; its
    history is kept.
author:
  - Science platform deployment kit maintainers
options:
  name:
    description: Name of the budget, unique in the account (1 to 100 characters, no C(:) or C(\)).
    type: str
    required: true
  state:
    description: V(present) creates or updates the budget; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  account_id:
    description: The account that owns the budget; by default the caller's (STS GetCallerIdentity).
    type: str
  limit_amount:
    description: The budget's limit per O(time_unit), greater than 0. Required when O(state=present).
    type: float
  limit_unit:
    description: Currency of O(limit_amount).
    type: str
    default: USD
  time_unit:
    description: Period the budget covers and resets after.
    type: str
    choices: [DAILY, MONTHLY, QUARTERLY, ANNUALLY]
    default: MONTHLY
  cost_filter_tags:
    description:
      - Cost-allocation tags the budget counts, as a dict of key and value. Each becomes C(user:key$value)
        in the budget's C(TagKeyValue) filter. AWS Budgets counts costs carrying B(any) of the
        listed tags (values of one filter are ORed), so give the one tag that identifies the site.
      - The tags must be activated as cost-allocation tags in the Billing console, or the budget
        counts nothing.
      - Empty counts every cost in the account.
    type: dict
    default: {}
  notifications:
    description: The budget's notifications.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: V(ACTUAL) spend, or V(FORECASTED) spend for the period.
        type: str
        choices: [ACTUAL, FORECASTED]
        required: true
      threshold:
        description:
          - Threshold, a percentage of the limit (an amount with
            O(notifications[].threshold_type=ABSOLUTE_VALUE)); greater than 0.
        type: float
        required: true
      threshold_type:
        description: How O(notifications[].threshold) is read.
        type: str
        choices: [PERCENTAGE, ABSOLUTE_VALUE]
        default: PERCENTAGE
      comparison:
        description: Comparison of spend with the threshold.
        type: str
        choices: [GREATER_THAN, LESS_THAN, EQUAL_TO]
        default: GREATER_THAN
      subscribers:
        description: Who is told, 1 to 11 per notification; at most one SNS topic.
        type: list
        elements: dict
        required: true
        suboptions:
          type:
            description: V(EMAIL) or V(SNS).
            type: str
            choices: [EMAIL, SNS]
            required: true
          address:
            description:
              - An e-mail address, or the ARN of an SNS topic whose policy lets
                budgets.amazonaws.com publish.
            type: str
            required: true
  purge_notifications:
    description: Remove notifications (and subscribers) not listed in O(notifications).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - AWS Budgets is a global service; its API lives in us-east-1 whatever O(region) is.
"""

EXAMPLES = r"""
- name: Monthly budget of the site, told at 80% actual and 100% forecast.
  sciplat.platform.budget:
    name: sciplat-hub-monthly
    limit_amount: 2500
    cost_filter_tags:
      Site: sciplat-hub
    notifications:
      - type: ACTUAL
        threshold: 80
        subscribers:
          - {type: EMAIL, address: ops@example.org}
      - type: FORECASTED
        threshold: 100
        subscribers:
          - {type: EMAIL, address: ops@example.org}
          - {type: SNS, address: arn:aws:sns:us-east-1:123456789012:sciplat-hub-alarms}

- name: Remove the budget.
  sciplat.platform.budget:
    name: sciplat-hub-monthly
    state: absent
"""

RETURN = r"""
budget:
  description: The budget after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the budget.
      type: str
      sample: sciplat-hub-monthly
    limit_amount:
      description: The limit.
      type: float
      sample: 2500.0
    limit_unit:
      description: Currency of the limit.
      type: str
      sample: USD
    time_unit:
      description: Period of the budget.
      type: str
      sample: MONTHLY
    cost_filters:
      description: The budget's cost filters as AWS stores them.
      type: dict
      sample: {"TagKeyValue": ["user:Site$sciplat-hub"]}
    notifications:
      description: Notifications with their subscribers, sorted.
      type: list
      elements: dict
      sample:
        - {type: ACTUAL, comparison: GREATER_THAN, threshold: 80.0, threshold_type: PERCENTAGE,
           subscribers: [{type: EMAIL, address: ops@example.org}]}
account_id:
  description: The account that owns the budget.
  returned: always
  type: str
  sample: "123456789012"
"""

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")

Key = tuple[str, str, float, str]


def _key(notification: dict[str, Any]) -> Key:
    return (
        notification["type"],
        notification["comparison"],
        float(notification["threshold"]),
        notification["threshold_type"],
    )


def _to_aws(notification: dict[str, Any]) -> dict[str, Any]:
    return {
        "NotificationType": notification["type"],
        "ComparisonOperator": notification["comparison"],
        "Threshold": float(notification["threshold"]),
        "ThresholdType": notification["threshold_type"],
    }


def _subscriber_to_aws(subscriber: dict[str, str]) -> dict[str, str]:
    return {"SubscriptionType": subscriber["type"], "Address": subscriber["address"]}


def _sorted_subscribers(subscribers: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(
        ({"type": s["type"], "address": s["address"]} for s in subscribers),
        key=lambda s: (s["type"], s["address"]),
    )


def cost_filters(tags: dict[str, str]) -> dict[str, list[str]]:
    if not tags:
        return {}
    return {"TagKeyValue": sorted(f"user:{key}${value}" for key, value in tags.items())}


class BudgetManager:
    def __init__(self, module: AnsibleAWSModule, client: Any, account_id: str) -> None:
        self.module = module
        self.client = client
        self.account_id = account_id
        self.name: str = module.params["name"]
        self.changed = False

    def fail(self, error: Exception, action: str) -> None:
        self.module.fail_json_aws(error, msg=f"Couldn't {action} budget {self.name}")

    # --- reading ----------------------------------------------------------------------------

    def read(self) -> dict[str, Any] | None:
        try:
            budget = self.client.describe_budget(AccountId=self.account_id, BudgetName=self.name)["Budget"]
        except is_boto3_error_code("NotFoundException"):
            return None
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
            self.fail(e, "describe")
        return {
            "name": budget["BudgetName"],
            "limit_amount": float(budget["BudgetLimit"]["Amount"]),
            "limit_unit": budget["BudgetLimit"]["Unit"],
            "time_unit": budget["TimeUnit"],
            "cost_filters": {k: sorted(v) for k, v in (budget.get("CostFilters") or {}).items()},
            "notifications": self.read_notifications(),
        }

    def read_notifications(self) -> list[dict[str, Any]]:
        try:
            found = self.client.describe_notifications_for_budget(
                AccountId=self.account_id, BudgetName=self.name
            )
            notifications = []
            for entry in found.get("Notifications", []):
                subscribers = self.client.describe_subscribers_for_notification(
                    AccountId=self.account_id, BudgetName=self.name, Notification=entry
                )["Subscribers"]
                notifications.append(
                    {
                        "type": entry["NotificationType"],
                        "comparison": entry["ComparisonOperator"],
                        "threshold": float(entry["Threshold"]),
                        "threshold_type": entry.get("ThresholdType", "PERCENTAGE"),
                        "subscribers": _sorted_subscribers(
                            [{"type": s["SubscriptionType"], "address": s["Address"]} for s in subscribers]
                        ),
                    }
                )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, "read the notifications of")
        return sorted(notifications, key=_key)

    # --- writing ----------------------------------------------------------------------------

    def definition(self) -> dict[str, Any]:
        params = self.module.params
        budget: dict[str, Any] = {
            "BudgetName": self.name,
            "BudgetLimit": {"Amount": _amount(params["limit_amount"]), "Unit": params["limit_unit"]},
            "TimeUnit": params["time_unit"],
            "BudgetType": "COST",
        }
        filters = cost_filters(params["cost_filter_tags"])
        if filters:
            budget["CostFilters"] = filters
        return budget

    def call(self, action: str, method: str, **kwargs: Any) -> None:
        self.changed = True
        if self.module.check_mode:
            return
        try:
            getattr(self.client, method)(AccountId=self.account_id, BudgetName=self.name, **kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.fail(e, action)

    def ensure_present(self, before: dict[str, Any] | None, wanted: dict[str, Any]) -> None:
        if before is None:
            self.changed = True
            if not self.module.check_mode:
                try:
                    self.client.create_budget(
                        AccountId=self.account_id,
                        Budget=self.definition(),
                        NotificationsWithSubscribers=[
                            {
                                "Notification": _to_aws(n),
                                "Subscribers": [_subscriber_to_aws(s) for s in n["subscribers"]],
                            }
                            for n in wanted["notifications"]
                        ],
                    )
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                    self.fail(e, "create")
            return
        fields = ("limit_amount", "limit_unit", "time_unit", "cost_filters")
        if any(before[f] != wanted[f] for f in fields):
            self.changed = True
            if not self.module.check_mode:
                try:
                    self.client.update_budget(AccountId=self.account_id, NewBudget=self.definition())
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                    self.fail(e, "update")
        self.ensure_notifications(before["notifications"], wanted["notifications"])

    def ensure_notifications(self, current: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
        have = {_key(n): n for n in current}
        want = {_key(n): n for n in wanted}
        for key, notification in want.items():
            if key not in have:
                self.call(
                    "add a notification to",
                    "create_notification",
                    Notification=_to_aws(notification),
                    Subscribers=[_subscriber_to_aws(s) for s in notification["subscribers"]],
                )
                continue
            old = have[key]["subscribers"]
            new = notification["subscribers"]
            # Add before removing: a notification keeps at least one subscriber.
            for subscriber in [s for s in new if s not in old]:
                self.call(
                    "add a subscriber to",
                    "create_subscriber",
                    Notification=_to_aws(notification),
                    Subscriber=_subscriber_to_aws(subscriber),
                )
            for subscriber in [s for s in old if s not in new]:
                self.call(
                    "remove a subscriber from",
                    "delete_subscriber",
                    Notification=_to_aws(notification),
                    Subscriber=_subscriber_to_aws(subscriber),
                )
        if self.module.params["purge_notifications"]:
            for key, notification in have.items():
                if key not in want:
                    self.call(
                        "remove a notification from",
                        "delete_notification",
                        Notification=_to_aws(notification),
                    )

    def ensure_absent(self, before: dict[str, Any] | None) -> None:
        if before is not None:
            self.call("delete", "delete_budget")


def _amount(value: float) -> str:
    """AWS Budgets takes the amount as a string: 2500 -> "2500", 99.5 -> "99.5"."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def wanted_state(params: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    notifications = [
        {
            "type": n["type"],
            "comparison": n["comparison"],
            "threshold": float(n["threshold"]),
            "threshold_type": n["threshold_type"],
            "subscribers": _sorted_subscribers(n["subscribers"]),
        }
        for n in params["notifications"]
    ]
    if not params["purge_notifications"] and before:
        listed = {_key(n) for n in notifications}
        notifications += [n for n in before["notifications"] if _key(n) not in listed]
    return {
        "name": params["name"],
        "limit_amount": float(params["limit_amount"]),
        "limit_unit": params["limit_unit"],
        "time_unit": params["time_unit"],
        "cost_filters": cost_filters(params["cost_filter_tags"]),
        "notifications": sorted(notifications, key=_key),
    }


def validate(module: AnsibleAWSModule) -> None:
    params = module.params
    name = params["name"]
    if not re.match(r"^[^:\\]{1,100}$", name):
        module.fail_json(msg=f"name is {name!r}: it accepts 1 to 100 characters other than ':' and '\\'.")
    if params["state"] == "absent":
        return
    if params["limit_amount"] is None or params["limit_amount"] <= 0:
        module.fail_json(
            msg=f"limit_amount is {params['limit_amount']!r}: it accepts a number greater than 0."
        )
    seen: set[Key] = set()
    for index, notification in enumerate(params["notifications"]):
        where = f"notifications[{index}]"
        if notification["threshold"] <= 0:
            module.fail_json(
                msg=f"{where}.threshold is {notification['threshold']!r}: it accepts a number greater than 0."
            )
        if notification["threshold_type"] == "PERCENTAGE" and notification["threshold"] > 1000000000:
            module.fail_json(msg=f"{where}.threshold is too large for a percentage.")
        key = _key(notification)
        if key in seen:
            module.fail_json(
                msg=f"{where} repeats another notification (same type, comparison and threshold)."
            )
        seen.add(key)
        subscribers = notification["subscribers"]
        if not 1 <= len(subscribers) <= 11:
            module.fail_json(
                msg=f"{where}.subscribers has {len(subscribers)}: it accepts 1 to 11 subscribers."
            )
        if sum(1 for s in subscribers if s["type"] == "SNS") > 1:
            module.fail_json(msg=f"{where}.subscribers has more than one SNS topic: it accepts at most one.")
        for position, subscriber in enumerate(subscribers):
            pattern = EMAIL if subscriber["type"] == "EMAIL" else SNS_ARN
            if not pattern.match(subscriber["address"]):
                accepted = "an e-mail address" if subscriber["type"] == "EMAIL" else "an SNS topic ARN"
                address = subscriber["address"]
                module.fail_json(
                    msg=f"{where}.subscribers[{position}].address is {address!r}: it accepts {accepted}."
                )


def main() -> None:
    subscriber = dict(
        type=dict(type="str", required=True, choices=["EMAIL", "SNS"]),
        address=dict(type="str", required=True),
    )
    notification = dict(
        type=dict(type="str", required=True, choices=["ACTUAL", "FORECASTED"]),
        threshold=dict(type="float", required=True),
        threshold_type=dict(type="str", default="PERCENTAGE", choices=["PERCENTAGE", "ABSOLUTE_VALUE"]),
        comparison=dict(
            type="str", default="GREATER_THAN", choices=["GREATER_THAN", "LESS_THAN", "EQUAL_TO"]
        ),
        subscribers=dict(type="list", elements="dict", required=True, options=subscriber),
    )
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        account_id=dict(type="str"),
        limit_amount=dict(type="float"),
        limit_unit=dict(type="str", default="USD"),
        time_unit=dict(type="str", default="MONTHLY", choices=["DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY"]),
        cost_filter_tags=dict(type="dict", default={}),
        notifications=dict(type="list", elements="dict", default=[], options=notification),
        purge_notifications=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["limit_amount"])],
    )
    validate(module)

    retry = AWSRetry.jittered_backoff(retries=5)
    # AWS Budgets answers in us-east-1 only (its endpoint is global).
    client = module.client("budgets", retry_decorator=retry, region="us-east-1")
    account_id = module.params["account_id"]
    if not account_id:
        try:
            account_id = module.client("sts", retry_decorator=retry).get_caller_identity()["Account"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Couldn't find the account (STS GetCallerIdentity)")

    manager = BudgetManager(module, client, account_id)
    before = manager.read()
    if module.params["state"] == "absent":
        manager.ensure_absent(before)
        after: dict[str, Any] = {}
    else:
        after = wanted_state(module.params, before)
        manager.ensure_present(before, after)
        if manager.changed and not module.check_mode:
            after = manager.read() or {}
    result: dict[str, Any] = {"changed": manager.changed, "budget": after, "account_id": account_id}
    if module._diff:
        result["diff"] = {"before": before or {}, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

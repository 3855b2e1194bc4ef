"""AWS Budgets: the operations moto 5.2 lacks, so a budget can be changed in place.

moto serves CreateBudget, DescribeBudget(s), DeleteBudget, CreateNotification, DeleteNotification and
DescribeNotificationsForBudget. Added here, with the shapes of botocore's ``budgets`` model:

- ``UpdateBudget`` (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_UpdateBudget.html):
  replaces the budget's definition; ``NotFoundException`` for a missing budget.
- ``DescribeSubscribersForNotification``
  (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeSubscribersForNotification.html):
  ``NotFoundException`` when the budget or the notification does not exist.
- ``CreateSubscriber`` / ``DeleteSubscriber``
  (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateSubscriber.html):
  a duplicate is ``DuplicateRecordException``; a notification keeps 1 to 11 subscribers.
- ``CreateNotification`` for a notification the budget already has is ``DuplicateRecordException``
  (moto adds it twice).

Notifications are matched on NotificationType, ComparisonOperator, Threshold and ThresholdType
(default PERCENTAGE), as AWS identifies them.
"""

from __future__ import annotations

import json
from typing import Any

from moto.budgets import urls as budgets_urls
from moto.budgets.exceptions import DuplicateRecordException, NotFoundException
from moto.budgets.models import Budget, BudgetsBackend
from moto.budgets.responses import BudgetsResponse
from moto.core.utils import unix_time

from emulator.patching import route, wrap


def _key(notification: dict[str, Any]) -> tuple[Any, ...]:
    return (
        notification.get("NotificationType"),
        notification.get("ComparisonOperator"),
        float(notification.get("Threshold", 0)),
        notification.get("ThresholdType", "PERCENTAGE"),
    )


def _budget(backend: BudgetsBackend, account_id: str, name: str, verb: str) -> Budget:
    if name not in backend.budgets[account_id]:
        raise NotFoundException(f"Unable to {verb}: {name} - the budget doesn't exist.")
    return backend.budgets[account_id][name]


def _notification(budget: Budget, wanted: dict[str, Any]) -> Any:
    for notification in budget.notifications:
        if _key(notification.details) == _key(wanted):
            return notification
    raise NotFoundException("Unable to find notification - the notification doesn't exist.")


class EmulatedBudgetsResponse(BudgetsResponse):
    def update_budget(self) -> str:
        account_id = self._get_param("AccountId")
        new = self._get_param("NewBudget")
        budget = _budget(self.backend, account_id, new["BudgetName"], "update budget")
        time_period = budget.budget.get("TimePeriod")
        budget.budget = {**new, "LastUpdatedTime": unix_time()}
        if "TimePeriod" not in new and time_period:
            budget.budget["TimePeriod"] = time_period
        return json.dumps({})

    def describe_subscribers_for_notification(self) -> str:
        budget = _budget(
            self.backend, self._get_param("AccountId"), self._get_param("BudgetName"), "describe subscribers"
        )
        found = _notification(budget, self._get_param("Notification"))
        return json.dumps({"Subscribers": list(found.subscribers)})

    def create_subscriber(self) -> str:
        budget = _budget(
            self.backend, self._get_param("AccountId"), self._get_param("BudgetName"), "create subscriber"
        )
        found = _notification(budget, self._get_param("Notification"))
        subscriber = self._get_param("Subscriber")
        if subscriber in found.subscribers:
            raise DuplicateRecordException(record_type="subscriber", record_name=subscriber["Address"])
        found.subscribers = [*found.subscribers, subscriber]
        return json.dumps({})

    def delete_subscriber(self) -> str:
        budget = _budget(
            self.backend, self._get_param("AccountId"), self._get_param("BudgetName"), "delete subscriber"
        )
        found = _notification(budget, self._get_param("Notification"))
        subscriber = self._get_param("Subscriber")
        if subscriber not in found.subscribers:
            raise NotFoundException("Unable to delete subscriber - the subscriber doesn't exist.")
        found.subscribers = [s for s in found.subscribers if s != subscriber]
        return json.dumps({})


def _create_notification(
    original: Any,
    backend: BudgetsBackend,
    account_id: str,
    budget_name: str,
    notification: Any,
    subscribers: Any,
) -> None:
    budget = _budget(backend, account_id, budget_name, "create notification")
    if any(_key(n.details) == _key(notification) for n in budget.notifications):
        raise DuplicateRecordException(record_type="notification", record_name=budget_name)
    original(backend, account_id, budget_name, notification, subscribers)


def _delete_notification(
    original: Any, backend: BudgetsBackend, account_id: str, budget_name: str, notification: Any
) -> None:
    budget = _budget(backend, account_id, budget_name, "delete notification")
    found = _notification(budget, notification)
    budget.notifications = [n for n in budget.notifications if n is not found]


def install() -> None:
    route(budgets_urls, EmulatedBudgetsResponse)
    wrap(BudgetsBackend, "create_notification")(_create_notification)
    wrap(BudgetsBackend, "delete_notification")(_delete_notification)

"""sciplat.platform.budget: AWS Budgets answers stubbed (every call the module makes is queued).

A test that queues only reads proves the module wrote nothing (Stubber fails any other call).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.modules import budget

ACCOUNT = "123456789012"
NAME = "local-monthly"
TOPIC = "arn:aws:sns:us-east-1:123456789012:local-alarms"
EMAIL = {"type": "EMAIL", "address": "ops@example.org"}
SNS = {"type": "SNS", "address": TOPIC}


def args(**changes: Any) -> dict[str, Any]:
    return {
        "name": NAME,
        "account_id": ACCOUNT,
        "limit_amount": 500,
        "cost_filter_tags": {"Site": "local"},
        "notifications": [
            {"type": "ACTUAL", "threshold": 80, "subscribers": [EMAIL]},
            {"type": "FORECASTED", "threshold": 100, "subscribers": [EMAIL, SNS]},
        ],
        **changes,
    }


def aws_notification(kind: str, threshold: float) -> dict[str, Any]:
    return {
        "NotificationType": kind,
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": float(threshold),
        "ThresholdType": "PERCENTAGE",
    }


def aws_budget(amount: str = "500") -> dict[str, Any]:
    return {
        "BudgetName": NAME,
        "BudgetLimit": {"Amount": amount, "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
        "CostFilters": {"TagKeyValue": ["user:Site$local"]},
    }


def queue_read(
    stubs: Any, amount: str = "500", notifications: list[tuple[str, float, list[dict]]] | None = None
) -> None:
    """DescribeBudget, DescribeNotificationsForBudget and one DescribeSubscribersForNotification each."""
    if notifications is None:
        notifications = [("ACTUAL", 80, [EMAIL]), ("FORECASTED", 100, [EMAIL, SNS])]
    stubs.add(
        "budgets",
        "describe_budget",
        {"Budget": aws_budget(amount)},
        {"AccountId": ACCOUNT, "BudgetName": NAME},
    )
    stubs.add(
        "budgets",
        "describe_notifications_for_budget",
        {"Notifications": [aws_notification(kind, t) for kind, t, _ in notifications]},
        {"AccountId": ACCOUNT, "BudgetName": NAME},
    )
    for kind, threshold, subscribers in notifications:
        stubs.add(
            "budgets",
            "describe_subscribers_for_notification",
            {"Subscribers": [{"SubscriptionType": s["type"], "Address": s["address"]} for s in subscribers]},
            {"AccountId": ACCOUNT, "BudgetName": NAME, "Notification": aws_notification(kind, threshold)},
        )


def queue_missing(stubs: Any) -> None:
    stubs.error("budgets", "describe_budget", "NotFoundException", "the budget doesn't exist", 404)


def test_creates_the_budget_with_its_notifications(run_module, stubs) -> None:
    queue_missing(stubs)
    stubs.add(
        "budgets",
        "create_budget",
        {},
        {
            "AccountId": ACCOUNT,
            "Budget": aws_budget(),
            "NotificationsWithSubscribers": [
                {
                    "Notification": aws_notification("ACTUAL", 80),
                    "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "ops@example.org"}],
                },
                {
                    "Notification": aws_notification("FORECASTED", 100),
                    "Subscribers": [
                        {"SubscriptionType": "EMAIL", "Address": "ops@example.org"},
                        {"SubscriptionType": "SNS", "Address": TOPIC},
                    ],
                },
            ],
        },
    )
    queue_read(stubs)

    out = run_module(budget, args(), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["budget"]["cost_filters"] == {"TagKeyValue": ["user:Site$local"]}
    assert [n["type"] for n in out.result["budget"]["notifications"]] == ["ACTUAL", "FORECASTED"]
    assert out.result["diff"]["before"] == {}
    stubs.assert_done()


def test_check_mode_on_a_new_account_only_reads(run_module, stubs) -> None:
    queue_missing(stubs)

    out = run_module(budget, args(), check_mode=True, diff=True)

    assert out.result["changed"] is True
    assert out.result["diff"]["after"]["limit_amount"] == 500.0
    stubs.assert_done()


def test_second_run_changes_nothing(run_module, stubs) -> None:
    queue_read(stubs)

    out = run_module(budget, args())

    assert not out.failed, out.result
    assert out.result["changed"] is False
    stubs.assert_done()


def test_a_new_limit_updates_the_budget_in_place(run_module, stubs) -> None:
    queue_read(stubs, amount="400")
    stubs.add("budgets", "update_budget", {}, {"AccountId": ACCOUNT, "NewBudget": aws_budget("500")})
    queue_read(stubs)

    out = run_module(budget, args(), diff=True)

    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["limit_amount"] == 400.0
    assert out.result["diff"]["after"]["limit_amount"] == 500.0
    stubs.assert_done()


def test_a_moved_threshold_adds_the_new_notification_and_removes_the_old(run_module, stubs) -> None:
    queue_read(stubs, notifications=[("ACTUAL", 50, [EMAIL]), ("FORECASTED", 100, [EMAIL, SNS])])
    stubs.add(
        "budgets",
        "create_notification",
        {},
        {
            "AccountId": ACCOUNT,
            "BudgetName": NAME,
            "Notification": aws_notification("ACTUAL", 80),
            "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "ops@example.org"}],
        },
    )
    stubs.add(
        "budgets",
        "delete_notification",
        {},
        {"AccountId": ACCOUNT, "BudgetName": NAME, "Notification": aws_notification("ACTUAL", 50)},
    )
    queue_read(stubs)

    out = run_module(budget, args())

    assert out.result["changed"] is True
    stubs.assert_done()


def test_subscribers_are_added_before_others_are_removed(run_module, stubs) -> None:
    queue_read(stubs, notifications=[("ACTUAL", 80, [EMAIL]), ("FORECASTED", 100, [EMAIL])])
    wanted = args(
        notifications=[
            {"type": "ACTUAL", "threshold": 80, "subscribers": [EMAIL]},
            {"type": "FORECASTED", "threshold": 100, "subscribers": [SNS]},
        ]
    )
    forecast = aws_notification("FORECASTED", 100)
    stubs.add(
        "budgets",
        "create_subscriber",
        {},
        {
            "AccountId": ACCOUNT,
            "BudgetName": NAME,
            "Notification": forecast,
            "Subscriber": {"SubscriptionType": "SNS", "Address": TOPIC},
        },
    )
    stubs.add(
        "budgets",
        "delete_subscriber",
        {},
        {
            "AccountId": ACCOUNT,
            "BudgetName": NAME,
            "Notification": forecast,
            "Subscriber": {"SubscriptionType": "EMAIL", "Address": "ops@example.org"},
        },
    )
    queue_read(stubs, notifications=[("ACTUAL", 80, [EMAIL]), ("FORECASTED", 100, [SNS])])

    out = run_module(budget, wanted)

    assert out.result["changed"] is True
    stubs.assert_done()


def test_check_mode_with_drift_reports_it_and_writes_nothing(run_module, stubs) -> None:
    queue_read(stubs, amount="400", notifications=[("ACTUAL", 50, [EMAIL])])

    out = run_module(budget, args(), check_mode=True, diff=True)

    assert out.result["changed"] is True
    assert len(out.result["diff"]["after"]["notifications"]) == 2
    stubs.assert_done()


def test_absent_deletes_the_budget(run_module, stubs) -> None:
    queue_read(stubs)
    stubs.add("budgets", "delete_budget", {}, {"AccountId": ACCOUNT, "BudgetName": NAME})

    out = run_module(budget, {"name": NAME, "account_id": ACCOUNT, "state": "absent"})

    assert out.result["changed"] is True
    assert out.result["budget"] == {}
    stubs.assert_done()


def test_account_comes_from_sts_when_not_given(run_module, stubs) -> None:
    stubs.add(
        "sts",
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": "arn:aws:iam::123456789012:root", "UserId": "x"},
    )
    queue_read(stubs)

    out = run_module(budget, {k: v for k, v in args().items() if k != "account_id"})

    assert out.result["account_id"] == ACCOUNT
    assert out.result["changed"] is False
    stubs.assert_done()


def test_bad_input_fails_before_any_call(run_module, stubs) -> None:
    cases = [
        (args(limit_amount=0), "limit_amount is 0"),
        (args(limit_amount=-5), "greater than 0"),
        (
            args(
                notifications=[
                    {"type": "ACTUAL", "threshold": 80, "subscribers": [{"type": "EMAIL", "address": "ops"}]}
                ]
            ),
            "notifications[0].subscribers[0].address is 'ops': it accepts an e-mail address",
        ),
        (
            args(
                notifications=[
                    {"type": "ACTUAL", "threshold": 80, "subscribers": [{"type": "SNS", "address": "topic"}]}
                ]
            ),
            "it accepts an SNS topic ARN",
        ),
        (args(notifications=[{"type": "ACTUAL", "threshold": 80, "subscribers": []}]), "1 to 11 subscribers"),
        (
            args(
                notifications=[
                    {"type": "ACTUAL", "threshold": 80, "subscribers": [EMAIL]},
                    {"type": "ACTUAL", "threshold": 80, "subscribers": [SNS]},
                ]
            ),
            "notifications[1] repeats",
        ),
        (args(name="a:b"), "name is 'a:b'"),
    ]
    for given, words in cases:
        out = run_module(budget, given)
        assert out.failed, given
        assert words in out.result["msg"], out.result["msg"]
    stubs.assert_done()
    assert stubs.clients == {}

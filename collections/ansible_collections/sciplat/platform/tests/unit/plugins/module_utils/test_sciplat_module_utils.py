"""module_utils waiting.py (waiting with a deadline), tagging.py (tag diffs), results.py and eks.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.sciplat.platform.plugins.module_utils import eks, results, tagging, waiting


def answers(*statuses: str | None) -> Any:
    """A describe function answering the given statuses in turn (None: the resource is gone)."""
    queue = list(statuses)
    calls: list[str | None] = []

    def describe() -> dict[str, Any] | None:
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        calls.append(status)
        return None if status is None else {"status": status}

    describe.calls = calls  # type: ignore[attr-defined]
    return describe


def test_already_there_costs_one_call_and_no_sleep(clock) -> None:
    describe = answers("ACTIVE")

    found = waiting.wait_for_status(describe, want={"ACTIVE"}, deadline=waiting.Deadline(60), what="x")

    assert found == {"status": "ACTIVE"}
    assert describe.calls == ["ACTIVE"]
    assert clock.sleeps == []


def test_backs_off_up_to_the_ceiling(clock) -> None:
    describe = answers(*(["CREATING"] * 8), "ACTIVE")

    waiting.wait_for_status(describe, want={"ACTIVE"}, deadline=waiting.Deadline(600), what="x", max_delay=10)

    assert clock.sleeps == [2.0, 3.0, 4.5, 6.75, 10, 10, 10, 10]


def test_gone_is_a_status_to_wait_for(clock) -> None:
    describe = answers("DELETING", None)

    assert (
        waiting.wait_for_status(describe, want={waiting.GONE}, deadline=waiting.Deadline(60), what="x")
        is None
    )


def test_disappearing_while_waiting_for_active_fails(clock) -> None:
    with pytest.raises(waiting.WaitFailed, match="disappeared"):
        waiting.wait_for_status(
            answers("CREATING", None), want={"ACTIVE"}, deadline=waiting.Deadline(60), what="x"
        )


def test_failed_status_stops_at_once(clock) -> None:
    with pytest.raises(waiting.WaitFailed) as caught:
        waiting.wait_for_status(
            answers("CREATE_FAILED"),
            want={"ACTIVE"},
            fail_on={"CREATE_FAILED"},
            deadline=waiting.Deadline(60),
            what="x",
        )
    assert caught.value.status == "CREATE_FAILED"
    assert clock.sleeps == []


def test_timeout_never_sleeps_past_the_deadline(clock) -> None:
    with pytest.raises(waiting.WaitTimeout, match="x still UPDATING after 10 s") as caught:
        waiting.wait_for_status(answers("UPDATING"), want={"ACTIVE"}, deadline=waiting.Deadline(10), what="x")
    assert sum(clock.sleeps) == pytest.approx(10)
    assert caught.value.resource == {"status": "UPDATING"}


def test_one_deadline_is_shared_by_successive_waits(clock) -> None:
    deadline = waiting.Deadline(10)
    waiting.wait_for_status(answers("A", "A", "B"), want={"B"}, deadline=deadline, what="x")  # sleeps 2 + 3
    with pytest.raises(waiting.WaitTimeout):
        waiting.wait_for_status(answers("A"), want={"B"}, deadline=deadline, what="y")
    assert sum(clock.sleeps) == pytest.approx(10)


@pytest.mark.parametrize(
    ("current", "desired", "purge", "to_set", "to_unset"),
    [
        ({"a": "1"}, None, True, {}, []),
        ({"a": "1"}, {"a": "1"}, True, {}, []),
        ({"a": "1", "b": "2"}, {"a": 1}, True, {}, ["b"]),
        ({"a": "1", "b": "2"}, {"a": "9"}, False, {"a": "9"}, []),
        ({"aws:cloudformation:stack": "s"}, {}, True, {}, []),
    ],
)
def test_tag_changes(current, desired, purge, to_set, to_unset) -> None:
    assert tagging.tag_changes(current, desired, purge) == (to_set, to_unset)


def test_to_result_keeps_tag_keys_and_formats_dates() -> None:
    import datetime

    result = results.to_result(
        {"clusterName": "c", "tags": {"CamelKey": "v"}, "createdAt": datetime.datetime(2026, 1, 2, 3, 4, 5)}
    )

    assert result == {"cluster_name": "c", "tags": {"CamelKey": "v"}, "created_at": "2026-01-02T03:04:05"}


def test_to_result_keeps_the_keys_of_fields_asked_for() -> None:
    answer = {"nodegroupName": "n", "labels": {"nodeType": "gpu"}, "scalingConfig": {"minSize": 0}}

    assert results.to_result(answer, keep=["labels"]) == {
        "nodegroup_name": "n",
        "labels": {"nodeType": "gpu"},
        "scaling_config": {"min_size": 0},
    }
    assert results.to_result(answer)["labels"] == {"node_type": "gpu"}


def test_wait_for_update_of_a_node_group_names_it(clock) -> None:
    class Client:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def describe_update(self, **params: Any) -> dict[str, Any]:
            self.calls.append(params)
            return {"update": {"id": "u", "status": "Successful"}}

    client = Client()
    eks.wait_for_update(
        client, cluster_name="c", update_id="u", nodegroup_name="n", deadline=waiting.Deadline(5)
    )

    assert client.calls == [{"aws_retry": True, "name": "c", "updateId": "u", "nodegroupName": "n"}]

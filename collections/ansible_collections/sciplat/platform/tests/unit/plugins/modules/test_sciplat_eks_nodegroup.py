"""sciplat.platform.eks_nodegroup against stubbed EKS answers, and moto in-process for a round trip.

moto 5.2.5 cannot tag a node group nor track its updates (DescribeUpdate), so updates, tags and
every wait are tested with botocore's Stubber; a queue holding only reads proves that check mode
made no mutating call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from ansible.module_utils import basic
from ansible_collections.sciplat.platform.plugins.modules import eks_nodegroup
from moto import mock_aws

CLUSTER = "sciplat"
NAME = "user"
ARN = f"arn:aws:eks:us-east-1:123456789012:nodegroup/{CLUSTER}/{NAME}/0000"
ROLE = "arn:aws:iam::123456789012:role/sciplat-eks-node"
SUBNETS = ["subnet-0000000000000001", "subnet-0000000000000002"]
IDS = {"clusterName": CLUSTER, "nodegroupName": NAME}
PURPOSE = "hub.jupyter.org/node-purpose"
DEDICATED = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NO_SCHEDULE"}
ISSUE = {
    "code": "AsgInstanceLaunchFailures",
    "message": "Could not launch Spot Instances",
    "resourceIds": ["asg"],
}


def nodegroup(status: str = "ACTIVE", **extra: Any) -> dict[str, Any]:
    """A DescribeNodegroup answer matching ``args()``; ``extra`` overrides fields."""
    body: dict[str, Any] = {
        "nodegroupName": NAME,
        "clusterName": CLUSTER,
        "nodegroupArn": ARN,
        "status": status,
        "version": "1.33",
        "releaseVersion": "1.33.0-20250704",
        "capacityType": "SPOT",
        "instanceTypes": ["m6i.xlarge", "m5.xlarge"],
        "amiType": "AL2023_x86_64_STANDARD",
        "diskSize": 100,
        "nodeRole": ROLE,
        "subnets": SUBNETS,
        "scalingConfig": {"minSize": 0, "maxSize": 10, "desiredSize": 0},
        "updateConfig": {"maxUnavailable": 1},
        "labels": {PURPOSE: "user"},
        "taints": [DEDICATED],
        "tags": {"site": "archive"},
        "health": {"issues": []},
    }
    body.update(extra)
    return {"nodegroup": {k: v for k, v in body.items() if v is not None}}  # None: EKS leaves it out


def args(**extra: Any) -> dict[str, Any]:
    return {
        "cluster_name": CLUSTER,
        "name": NAME,
        "node_role": ROLE,
        "subnets": SUBNETS,
        "instance_types": ["m6i.xlarge", "m5.xlarge"],
        "capacity_type": "SPOT",
        "ami_type": "AL2023_x86_64_STANDARD",
        "disk_size": 100,
        "scaling_config": {"min_size": 0, "max_size": 10, "desired_size": 0},
        "update_config": {"max_unavailable": 1},
        "labels": {PURPOSE: "user"},
        "taints": [DEDICATED],
        "tags": {"site": "archive"},
        **extra,
    }


def update(status: str = "InProgress", update_id: str = "u-1", **extra: Any) -> dict[str, Any]:
    return {"update": {"id": update_id, "status": status, "type": "ConfigUpdate", **extra}}


def describe(stubs: Any, *answers: dict[str, Any]) -> None:
    for answer in answers:
        stubs.add("eks", "describe_nodegroup", answer, IDS)


def not_found(stubs: Any) -> None:
    stubs.error("eks", "describe_nodegroup", "ResourceNotFoundException", "No node group found", 404, IDS)


def follow(stubs: Any, *statuses: str, update_id: str = "u-1") -> None:
    for status in statuses:
        stubs.add(
            "eks",
            "describe_update",
            update(status, update_id),
            {"name": CLUSTER, "nodegroupName": NAME, "updateId": update_id},
        )


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """The warnings the module gave (module.warn), in order."""
    given: list[str] = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **_: given.append(warning))
    return lambda: list(given)


# --- create ------------------------------------------------------------------------------------


def test_create_sends_everything_and_waits_until_active(run_module, stubs, clock) -> None:
    not_found(stubs)
    stubs.add(
        "eks",
        "create_nodegroup",
        nodegroup("CREATING"),
        {
            **IDS,
            "nodeRole": ROLE,
            "subnets": SUBNETS,
            "instanceTypes": ["m6i.xlarge", "m5.xlarge"],
            "capacityType": "SPOT",
            "amiType": "AL2023_x86_64_STANDARD",
            "diskSize": 100,
            "scalingConfig": {"minSize": 0, "maxSize": 10, "desiredSize": 0},
            "updateConfig": {"maxUnavailable": 1},
            "labels": {PURPOSE: "user"},
            "taints": [DEDICATED],
            "tags": {"site": "archive"},
        },
    )
    describe(stubs, nodegroup("CREATING"), nodegroup("ACTIVE"))

    out = run_module(eks_nodegroup, args(), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["status"] == "ACTIVE"
    assert out.result["labels"] == {PURPOSE: "user"}  # label keys are not snake_cased
    assert out.result["scaling_config"] == {"min_size": 0, "max_size": 10, "desired_size": 0}
    assert out.result["diff"]["before"] == {}
    assert out.result["diff"]["after"]["ami_type"] == "AL2023_x86_64_STANDARD"
    assert out.result["diff"]["after"]["taints"] == [DEDICATED]
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_create_defaults_the_desired_size_to_min_size_and_leaves_out_what_is_not_given(
    run_module, stubs
) -> None:
    not_found(stubs)
    stubs.add(
        "eks",
        "create_nodegroup",
        nodegroup("CREATING"),
        {
            **IDS,
            "nodeRole": ROLE,
            "subnets": SUBNETS,
            "scalingConfig": {"minSize": 2, "maxSize": 4, "desiredSize": 2},
            "taints": [{"key": "dedicated", "effect": "NO_EXECUTE"}],  # empty value left out
            "version": "1.32",
        },
    )

    out = run_module(
        eks_nodegroup,
        {
            "cluster_name": CLUSTER,
            "name": NAME,
            "node_role": ROLE,
            "subnets": SUBNETS,
            "scaling_config": {"min_size": 2, "max_size": 4},
            "taints": [{"key": "dedicated", "effect": "NO_EXECUTE"}],
            "version": "1.32",
            "wait": False,
        },
    )

    assert not out.failed, out.result
    assert out.result["status"] == "CREATING"
    stubs.assert_done()


def test_create_needs_node_role_and_subnets(run_module, stubs) -> None:
    not_found(stubs)

    out = run_module(eks_nodegroup, {"cluster_name": CLUSTER, "name": NAME})

    assert out.failed
    assert out.result["msg"] == f"node_role and subnets required to create node group {NAME}"
    stubs.assert_done()


def test_create_failed_stops_the_wait_at_once(run_module, stubs, clock) -> None:
    not_found(stubs)
    stubs.add("eks", "create_nodegroup", nodegroup("CREATING"))
    describe(stubs, nodegroup("CREATE_FAILED", health={"issues": [ISSUE]}))

    out = run_module(eks_nodegroup, args())

    assert out.failed
    assert out.result["changed"] is True
    assert "reached status CREATE_FAILED" in out.result["msg"]
    assert "AsgInstanceLaunchFailures: Could not launch Spot Instances" in out.result["msg"]
    assert clock.sleeps == []
    stubs.assert_done()


def test_wait_timeout_fails_with_the_status_and_health_issues(run_module, stubs, clock) -> None:
    not_found(stubs)
    stubs.add("eks", "create_nodegroup", nodegroup("CREATING"))
    for _ in range(20):
        describe(stubs, nodegroup("CREATING", health={"issues": [ISSUE]}))

    out = run_module(eks_nodegroup, args(wait_timeout=60))

    assert out.failed
    assert f"Node group {NAME} of cluster {CLUSTER} still CREATING after 60 s" in out.result["msg"]
    assert "AsgInstanceLaunchFailures" in out.result["msg"]
    assert out.result["status"] == "CREATING"
    assert sum(clock.sleeps) == pytest.approx(60)


def test_a_group_being_deleted_is_created_again_once_gone(run_module, stubs) -> None:
    describe(stubs, nodegroup("DELETING"), nodegroup("DELETING"))
    not_found(stubs)
    stubs.add("eks", "create_nodegroup", nodegroup("CREATING"))

    out = run_module(eks_nodegroup, args(wait=False))

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


def test_a_failed_group_fails_asking_for_its_deletion(run_module, stubs) -> None:
    describe(stubs, nodegroup("CREATE_FAILED", health={"issues": [ISSUE]}))

    out = run_module(eks_nodegroup, args())

    assert out.failed
    assert "is CREATE_FAILED: AsgInstanceLaunchFailures" in out.result["msg"]
    assert "delete it (state=absent)" in out.result["msg"]
    stubs.assert_done()


# --- no change ---------------------------------------------------------------------------------


def test_matching_active_group_is_one_read_and_no_sleep(run_module, stubs, clock) -> None:
    describe(stubs, nodegroup("ACTIVE"))

    out = run_module(eks_nodegroup, args(), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["status"] == "ACTIVE"
    assert out.result["diff"]["before"] == out.result["diff"]["after"]
    assert clock.sleeps == []
    stubs.assert_done()


def test_order_of_subnets_and_taints_and_an_absent_taint_value_do_not_matter(run_module, stubs) -> None:
    other = {"key": "gpu", "effect": "NO_SCHEDULE"}  # EKS leaves out an empty value
    describe(stubs, nodegroup(subnets=SUBNETS[::-1], taints=[other, DEDICATED]))

    out = run_module(eks_nodegroup, args(taints=[DEDICATED, {**other, "value": ""}]))

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_what_is_not_given_is_not_managed(run_module, stubs) -> None:
    describe(
        stubs, nodegroup(labels={"x": "1"}, taints=[], tags={"a": "b"}, updateConfig={"maxUnavailable": 3})
    )

    out = run_module(eks_nodegroup, {"cluster_name": CLUSTER, "name": NAME})

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_wait_false_on_a_busy_group_with_nothing_to_change_returns_at_once(run_module, stubs, clock) -> None:
    describe(stubs, nodegroup("CREATING"))

    out = run_module(eks_nodegroup, args(wait=False))

    assert out.result["changed"] is False, out.result
    assert out.result["status"] == "CREATING"
    assert clock.sleeps == []
    stubs.assert_done()


def test_wait_true_on_a_busy_group_waits_then_compares(run_module, stubs, clock) -> None:
    # The role's second pass: the first one started the update (wait=false); this one only waits.
    describe(stubs, nodegroup("UPDATING"), nodegroup("UPDATING"), nodegroup("ACTIVE"))

    out = run_module(eks_nodegroup, args())

    assert out.result["changed"] is False, out.result
    assert out.result["status"] == "ACTIVE"
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_a_degraded_group_is_returned_with_a_warning(run_module, stubs, clock, warnings) -> None:
    describe(stubs, nodegroup("DEGRADED", health={"issues": [ISSUE]}))

    out = run_module(eks_nodegroup, args())

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["status"] == "DEGRADED"
    [warning] = warnings()
    assert warning == (
        f"Node group {NAME} of cluster {CLUSTER} is DEGRADED:"
        " AsgInstanceLaunchFailures: Could not launch Spot Instances"
    )
    assert clock.sleeps == []
    stubs.assert_done()


# --- updates -----------------------------------------------------------------------------------


def test_labels_taints_size_and_update_config_go_in_one_call(run_module, stubs, clock) -> None:
    current = nodegroup(
        labels={PURPOSE: "user", "team": "a", "old": "x"},
        taints=[DEDICATED, {"key": "gone", "value": "1", "effect": "NO_EXECUTE"}],
        scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": 4},
        updateConfig={"maxUnavailable": 1},
    )
    describe(stubs, current)
    stubs.add(
        "eks",
        "update_nodegroup_config",
        update(),
        {
            **IDS,
            "labels": {"addOrUpdateLabels": {"team": "b", "new": "y"}, "removeLabels": ["old"]},
            "taints": {
                "addOrUpdateTaints": [
                    {"key": "hub.jupyter.org/dedicated", "value": "users", "effect": "NO_SCHEDULE"},
                    {"key": "spot", "value": "true", "effect": "PREFER_NO_SCHEDULE"},
                ],
                "removeTaints": [{"key": "gone", "value": "1", "effect": "NO_EXECUTE"}],
            },
            "scalingConfig": {"minSize": 1, "maxSize": 6, "desiredSize": 4},
            "updateConfig": {"maxUnavailablePercentage": 25},
        },
    )
    follow(stubs, "InProgress", "Successful")
    describe(stubs, nodegroup(labels={PURPOSE: "user", "team": "b", "new": "y"}))

    out = run_module(
        eks_nodegroup,
        args(
            labels={PURPOSE: "user", "team": "b", "new": "y"},
            taints=[
                {**DEDICATED, "value": "users"},
                {"key": "spot", "value": "true", "effect": "PREFER_NO_SCHEDULE"},
            ],
            scaling_config={"min_size": 1, "max_size": 6, "desired_size": 1},
            update_config={"max_unavailable_percentage": 25},
        ),
        diff=True,
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    after = out.result["diff"]["after"]
    assert after["labels"] == {PURPOSE: "user", "team": "b", "new": "y"}
    assert after["taints"] == [
        {"key": "hub.jupyter.org/dedicated", "value": "users", "effect": "NO_SCHEDULE"},
        {"key": "spot", "value": "true", "effect": "PREFER_NO_SCHEDULE"},
    ]
    assert after["scaling_config"] == {"min_size": 1, "max_size": 6, "desired_size": 4}
    assert after["update_config"] == {"max_unavailable_percentage": 25}
    assert out.result["diff"]["before"]["labels"] == {PURPOSE: "user", "team": "a", "old": "x"}
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_a_changed_label_value_alone_is_an_update(run_module, stubs) -> None:
    describe(stubs, nodegroup(labels={PURPOSE: "core"}))
    stubs.add(
        "eks",
        "update_nodegroup_config",
        update(),
        {**IDS, "labels": {"addOrUpdateLabels": {PURPOSE: "user"}}},
    )
    describe(stubs, nodegroup("UPDATING"))

    out = run_module(eks_nodegroup, args(wait=False))

    assert out.result["changed"] is True, out.result
    assert out.result["status"] == "UPDATING"
    stubs.assert_done()


def test_empty_labels_and_taints_remove_all(run_module, stubs) -> None:
    describe(stubs, nodegroup())
    stubs.add(
        "eks",
        "update_nodegroup_config",
        update(),
        {**IDS, "labels": {"removeLabels": [PURPOSE]}, "taints": {"removeTaints": [DEDICATED]}},
    )
    describe(stubs, nodegroup("UPDATING", labels={}, taints=[]))

    out = run_module(eks_nodegroup, args(labels={}, taints=[], wait=False))

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


def test_tags_are_changed_on_the_nodegroup_arn_without_an_update(run_module, stubs, clock) -> None:
    describe(stubs, nodegroup(tags={"site": "archive", "old": "x"}))
    stubs.add("eks", "untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["old"]})
    stubs.add("eks", "tag_resource", {}, {"resourceArn": ARN, "tags": {"new": "1"}})

    out = run_module(eks_nodegroup, args(tags={"site": "archive", "new": 1}), diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["tags"] == {"site": "archive", "new": "1"}
    assert out.result["diff"]["after"]["tags"] == {"site": "archive", "new": "1"}
    assert clock.sleeps == []
    stubs.assert_done()


def test_purge_tags_false_keeps_other_tags(run_module, stubs) -> None:
    describe(stubs, nodegroup(tags={"site": "archive", "other": "x"}))

    out = run_module(eks_nodegroup, args(purge_tags=False))

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_label_taint_and_tag_changes_together(run_module, stubs) -> None:
    describe(stubs, nodegroup(labels={PURPOSE: "user", "a": "1"}, tags={}))
    stubs.add("eks", "tag_resource", {}, {"resourceArn": ARN, "tags": {"site": "archive"}})
    stubs.add(
        "eks",
        "update_nodegroup_config",
        update(),
        {
            **IDS,
            "labels": {"addOrUpdateLabels": {"a": "2"}},
            "taints": {"addOrUpdateTaints": [{"key": "b", "value": "1", "effect": "NO_SCHEDULE"}]},
        },
    )
    follow(stubs, "Successful")
    describe(stubs, nodegroup())

    out = run_module(
        eks_nodegroup,
        args(
            labels={PURPOSE: "user", "a": "2"},
            taints=[DEDICATED, {"key": "b", "value": "1", "effect": "NO_SCHEDULE"}],
        ),
    )

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


@pytest.mark.parametrize(
    ("current", "scaling", "only_on_create", "expected"),
    [
        # cluster-autoscaler chose 4: kept.
        (4, {"min_size": 0, "max_size": 10, "desired_size": 0}, True, None),
        # Outside the new bounds: brought to the nearer one.
        (
            8,
            {"min_size": 0, "max_size": 5, "desired_size": 0},
            True,
            {"minSize": 0, "maxSize": 5, "desiredSize": 5},
        ),
        (
            0,
            {"min_size": 2, "max_size": 5, "desired_size": 3},
            True,
            {"minSize": 2, "maxSize": 5, "desiredSize": 2},
        ),
        # desired_size_only_on_create: false brings it to desired_size.
        (
            4,
            {"min_size": 0, "max_size": 10, "desired_size": 1},
            False,
            {"minSize": 0, "maxSize": 10, "desiredSize": 1},
        ),
        # ... and without desired_size still keeps the current size.
        (4, {"min_size": 0, "max_size": 10}, False, None),
    ],
)
def test_desired_size(run_module, stubs, current, scaling, only_on_create, expected) -> None:
    describe(stubs, nodegroup(scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": current}))
    if expected:
        stubs.add("eks", "update_nodegroup_config", update(), {**IDS, "scalingConfig": expected})
        describe(stubs, nodegroup("UPDATING"))

    out = run_module(
        eks_nodegroup, args(scaling_config=scaling, desired_size_only_on_create=only_on_create, wait=False)
    )

    assert not out.failed, out.result
    assert out.result["changed"] is bool(expected)
    stubs.assert_done()


def test_a_busy_group_with_changes_is_waited_for_first(run_module, stubs) -> None:
    describe(stubs, nodegroup("UPDATING", labels={}), nodegroup("ACTIVE", labels={}))
    stubs.add(
        "eks",
        "update_nodegroup_config",
        update(),
        {**IDS, "labels": {"addOrUpdateLabels": {PURPOSE: "user"}}},
    )
    describe(stubs, nodegroup("UPDATING"))

    out = run_module(eks_nodegroup, args(wait=False))

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


def test_a_version_update_follows_the_config_update(run_module, stubs) -> None:
    describe(stubs, nodegroup(labels={}))
    stubs.add(
        "eks",
        "update_nodegroup_config",
        update(),
        {**IDS, "labels": {"addOrUpdateLabels": {PURPOSE: "user"}}},
    )
    follow(stubs, "InProgress", "Successful")
    describe(stubs, nodegroup())  # settled before the next update
    stubs.add(
        "eks",
        "update_nodegroup_version",
        update(update_id="u-2"),
        {**IDS, "version": "1.34", "releaseVersion": "1.34.1-20251001"},
    )
    follow(stubs, "Successful", update_id="u-2")
    describe(stubs, nodegroup(version="1.34", releaseVersion="1.34.1-20251001"))

    out = run_module(eks_nodegroup, args(version="1.34", release_version="1.34.1-20251001"), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["version"] == "1.34"
    assert out.result["diff"]["before"]["version"] == "1.33"
    assert out.result["diff"]["after"]["release_version"] == "1.34.1-20251001"
    stubs.assert_done()


def test_same_version_is_no_update(run_module, stubs) -> None:
    describe(stubs, nodegroup())

    out = run_module(eks_nodegroup, args(version="1.33", release_version="1.33.0-20250704"))

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_a_failed_update_reports_its_errors(run_module, stubs) -> None:
    describe(stubs, nodegroup(labels={}))
    stubs.add("eks", "update_nodegroup_config", update())
    errors = [
        {"errorCode": "PodEvictionFailure", "errorMessage": "Reached max retries while trying to evict pods"}
    ]
    stubs.add("eks", "describe_update", update("Failed", errors=errors))

    out = run_module(eks_nodegroup, args())

    assert out.failed
    assert out.result["changed"] is True
    assert out.result["msg"].startswith(f"Update of labels of Node group {NAME} of cluster {CLUSTER}")
    assert "PodEvictionFailure: Reached max retries" in out.result["msg"]
    stubs.assert_done()


def test_an_update_past_the_deadline_fails(run_module, stubs, clock) -> None:
    describe(stubs, nodegroup(labels={}))
    stubs.add("eks", "update_nodegroup_config", update())
    for _ in range(20):
        stubs.add("eks", "describe_update", update("InProgress"))

    out = run_module(eks_nodegroup, args(wait_timeout=30))

    assert out.failed
    assert "still InProgress after 30 s" in out.result["msg"]
    assert sum(clock.sleeps) == pytest.approx(30)


# --- launch templates --------------------------------------------------------------------------

TEMPLATE = {"id": "lt-0123456789abcdef0", "name": "sciplat-user", "version": "1"}


def templated(version: str = "1", name: str = "sciplat-user", **extra: Any) -> dict[str, Any]:
    """``args()`` with a launch template instead of a disk size (EKS refuses both)."""
    given = args(launch_template={"name": name, "version": version}, **extra)
    del given["disk_size"]
    return given


def test_create_with_a_launch_template_sends_it_and_no_disk_size(run_module, stubs) -> None:
    not_found(stubs)
    expected = {
        **IDS,
        "nodeRole": ROLE,
        "subnets": SUBNETS,
        "instanceTypes": ["m6i.xlarge", "m5.xlarge"],
        "capacityType": "SPOT",
        "amiType": "AL2023_x86_64_STANDARD",
        "launchTemplate": {"name": "sciplat-user", "version": "1"},
        "scalingConfig": {"minSize": 0, "maxSize": 10, "desiredSize": 0},
        "updateConfig": {"maxUnavailable": 1},
        "labels": {PURPOSE: "user"},
        "taints": [DEDICATED],
        "tags": {"site": "archive"},
    }
    stubs.add(
        "eks", "create_nodegroup", nodegroup("CREATING", launchTemplate=TEMPLATE, diskSize=None), expected
    )

    out = run_module(
        eks_nodegroup,
        templated(wait=False),
        diff=True,
    )

    assert not out.failed, out.result
    assert out.result["diff"]["after"]["launch_template"] == {"name": "sciplat-user", "version": "1"}
    stubs.assert_done()


def test_disk_size_and_a_launch_template_are_refused_together(run_module, stubs) -> None:
    out = run_module(eks_nodegroup, args(launch_template={"name": "sciplat-user"}))

    assert out.failed
    assert "mutually exclusive" in out.result["msg"]
    assert "disk_size" in out.result["msg"] and "launch_template" in out.result["msg"]
    stubs.assert_done()


def test_a_group_made_without_a_launch_template_cannot_get_one(run_module, stubs) -> None:
    describe(stubs, nodegroup(labels={}))  # drift too: nothing may be applied

    out = run_module(eks_nodegroup, templated())

    assert out.failed
    assert out.result["msg"].startswith(
        f"launch_template: existing node group {NAME} of cluster {CLUSTER} was created without"
    )
    assert "EKS cannot give it one in place" in out.result["msg"]
    assert "replace the node group" in out.result["msg"]
    stubs.assert_done()


def test_another_launch_template_is_refused(run_module, stubs) -> None:
    describe(stubs, nodegroup(launchTemplate=TEMPLATE, diskSize=None))

    out = run_module(eks_nodegroup, templated(name="other"))

    assert out.failed
    assert out.result["msg"].startswith(f"launch_template: the launch template of existing node group {NAME}")
    assert "'sciplat-user'" in out.result["msg"] and "'other'" in out.result["msg"]
    stubs.assert_done()


def test_the_same_launch_template_version_is_no_change(run_module, stubs) -> None:
    describe(stubs, nodegroup(launchTemplate=TEMPLATE, diskSize=None))

    out = run_module(eks_nodegroup, templated())

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_a_new_launch_template_version_rolls_the_nodes(run_module, stubs) -> None:
    describe(stubs, nodegroup(launchTemplate=TEMPLATE, diskSize=None))
    stubs.add(
        "eks",
        "update_nodegroup_version",
        update(),
        {**IDS, "launchTemplate": {"id": TEMPLATE["id"], "version": "2"}},
    )
    follow(stubs, "Successful")
    describe(stubs, nodegroup(launchTemplate={**TEMPLATE, "version": "2"}, diskSize=None))

    out = run_module(eks_nodegroup, templated("2"), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"]["launch_template"]["version"] == "1"
    assert out.result["diff"]["after"]["launch_template"] == {**TEMPLATE, "version": "2"}
    stubs.assert_done()


def test_check_mode_reports_a_new_launch_template_version_without_a_call(run_module, stubs) -> None:
    describe(stubs, nodegroup(launchTemplate=TEMPLATE, diskSize=None))

    out = run_module(
        eks_nodegroup,
        templated("2"),
        check_mode=True,
    )

    assert out.result["changed"] is True, out.result
    assert out.result["status"] == "UPDATING"
    stubs.assert_done()


# --- what EKS cannot change --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value", "words"),
    [
        ("node_role", "arn:aws:iam::123456789012:role/other", "IAM role"),
        ("subnets", ["subnet-0000000000000009"], "subnets"),
        ("instance_types", ["m5.xlarge", "m6i.xlarge"], "instance types"),
        ("capacity_type", "ON_DEMAND", "capacity type"),
        ("ami_type", "BOTTLEROCKET_x86_64", "AMI type"),
        ("disk_size", 50, "disk size"),
    ],
)
def test_fixed_fields_fail_naming_the_parameter(run_module, stubs, parameter, value, words) -> None:
    describe(stubs, nodegroup(labels={}, tags={}))  # drift too: nothing may be applied

    out = run_module(eks_nodegroup, args(**{parameter: value}))

    assert out.failed
    assert out.result["msg"].startswith(f"{parameter}: the {words} of existing node group {NAME}")
    assert "cannot change" in out.result["msg"]
    assert "replace the node group" in out.result["msg"]
    stubs.assert_done()


def test_version_downgrade_fails(run_module, stubs) -> None:
    describe(stubs, nodegroup())

    out = run_module(eks_nodegroup, args(version="1.32"))

    assert out.failed
    assert out.result["msg"] == f"version: EKS cannot downgrade node group {NAME} (it runs 1.33, asked 1.32)"
    stubs.assert_done()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"scaling_config": {"min_size": 3, "max_size": 2}}, "scaling_config.min_size (3) must not exceed"),
        ({"scaling_config": {"min_size": 0, "max_size": 0}}, "scaling_config.max_size must be 1 or more"),
        (
            {"scaling_config": {"min_size": 0, "max_size": 2, "desired_size": 5}},
            "scaling_config.desired_size (5)",
        ),
        ({"update_config": {"max_unavailable_percentage": 150}}, "update_config.max_unavailable_percentage"),
        ({"taints": [DEDICATED, {**DEDICATED, "value": "x"}]}, "is listed twice"),
        ({"version": "latest"}, "version must look like 1.33"),
        ({"ami_type": "AL2_WHATEVER"}, "AL2023_x86_64_STANDARD"),
        ({"update_config": {"max_unavailable": 1, "max_unavailable_percentage": 10}}, "mutually exclusive"),
    ],
)
def test_bad_parameters_fail_before_any_call(run_module, stubs, extra, message) -> None:
    out = run_module(eks_nodegroup, args(**extra))

    assert out.failed
    assert message in out.result["msg"]
    stubs.assert_done()


def test_ami_type_choices_are_botocores_enum() -> None:
    model = botocore.session.get_session().get_service_model("eks")
    assert model.shape_for("AMITypes").enum == eks_nodegroup.AMI_TYPES
    assert model.shape_for("CapacityTypes").enum == eks_nodegroup.CAPACITY_TYPES
    assert model.shape_for("TaintEffect").enum == eks_nodegroup.TAINT_EFFECTS


# --- check mode --------------------------------------------------------------------------------


def test_check_mode_reports_label_taint_tag_and_size_drift_without_a_mutating_call(run_module, stubs) -> None:
    describe(
        stubs,
        nodegroup(
            labels={PURPOSE: "core"},
            taints=[],
            tags={"site": "old"},
            scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": 12},
        ),
    )

    out = run_module(eks_nodegroup, args(), check_mode=True, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["status"] == "UPDATING"
    before, after = out.result["diff"]["before"], out.result["diff"]["after"]
    assert (before["labels"], after["labels"]) == ({PURPOSE: "core"}, {PURPOSE: "user"})
    assert (before["taints"], after["taints"]) == ([], [DEDICATED])
    assert (before["tags"], after["tags"]) == ({"site": "old"}, {"site": "archive"})
    assert after["scaling_config"]["desired_size"] == 10
    stubs.assert_done()


def test_check_mode_reports_a_tag_change_alone(run_module, stubs) -> None:
    describe(stubs, nodegroup(tags={}))

    out = run_module(eks_nodegroup, args(), check_mode=True)

    assert out.result["changed"] is True, out.result
    assert out.result["status"] == "ACTIVE"
    stubs.assert_done()


def test_check_mode_on_a_busy_group_does_not_wait(run_module, stubs, clock) -> None:
    describe(stubs, nodegroup("UPDATING", labels={}))

    out = run_module(eks_nodegroup, args(), check_mode=True)

    assert out.result["changed"] is True, out.result
    assert clock.sleeps == []
    stubs.assert_done()


def test_check_mode_create_without_the_cluster(run_module, stubs) -> None:
    stubs.error(
        "eks", "describe_nodegroup", "ResourceNotFoundException", "No cluster found for name: sciplat.", 404
    )

    out = run_module(eks_nodegroup, args(), check_mode=True, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["after"]["labels"] == {PURPOSE: "user"}
    assert out.result["diff"]["after"]["scaling_config"] == {"min_size": 0, "max_size": 10, "desired_size": 0}
    stubs.assert_done()


def test_check_mode_delete(run_module, stubs) -> None:
    describe(stubs, nodegroup())

    out = run_module(
        eks_nodegroup, {"cluster_name": CLUSTER, "name": NAME, "state": "absent"}, check_mode=True
    )

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


# --- delete ------------------------------------------------------------------------------------


def test_delete_waits_until_gone(run_module, stubs, clock) -> None:
    describe(stubs, nodegroup())
    stubs.add("eks", "delete_nodegroup", nodegroup("DELETING"), IDS)
    describe(stubs, nodegroup("DELETING"))
    not_found(stubs)

    out = run_module(eks_nodegroup, {"cluster_name": CLUSTER, "name": NAME, "state": "absent"}, diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["before"]["labels"] == {PURPOSE: "user"}
    assert out.result["diff"]["after"] == {}
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_delete_of_a_missing_group_changes_nothing(run_module, stubs) -> None:
    not_found(stubs)

    out = run_module(eks_nodegroup, {"cluster_name": CLUSTER, "name": NAME, "state": "absent"})

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_delete_failed_is_reported(run_module, stubs) -> None:
    describe(stubs, nodegroup("DELETING"), nodegroup("DELETE_FAILED", health={"issues": [ISSUE]}))

    out = run_module(eks_nodegroup, {"cluster_name": CLUSTER, "name": NAME, "state": "absent"})

    assert out.failed
    assert "reached status DELETE_FAILED" in out.result["msg"]
    stubs.assert_done()


# --- moto in-process: a round trip -------------------------------------------------------------


@pytest.fixture
def eks() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("eks", region_name="us-east-1")
        client.create_cluster(
            name=CLUSTER,
            roleArn="arn:aws:iam::123456789012:role/sciplat-eks-cluster",
            resourcesVpcConfig={"subnetIds": SUBNETS},
        )
        yield client


def test_round_trip_create_no_op_update_no_op(run_module, eks, clock) -> None:
    # moto tracks neither updates nor node group tags nor update settings: those stay out.
    base = args(tags=None, update_config=None)

    created = run_module(eks_nodegroup, base)
    assert created.result["changed"] is True, created.result
    assert created.result["status"] == "ACTIVE"

    assert run_module(eks_nodegroup, base).result["changed"] is False

    changed = {
        **base,
        "labels": {PURPOSE: "user", "zone": "a"},
        "taints": [{**DEDICATED, "value": "users"}],
        "scaling_config": {"min_size": 1, "max_size": 4},  # the current 0 is brought to 1
        "wait": False,
    }
    out = run_module(eks_nodegroup, changed)
    assert out.result["changed"] is True, out.result
    stored = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=NAME)["nodegroup"]
    assert stored["labels"] == {PURPOSE: "user", "zone": "a"}
    assert stored["taints"] == [{**DEDICATED, "value": "users"}]
    assert stored["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 1}

    assert run_module(eks_nodegroup, changed).result["changed"] is False
    assert clock.sleeps == []

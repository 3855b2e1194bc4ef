"""sciplat.platform.eks_addon against stubbed EKS answers (moto has no add-on API)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible_collections.sciplat.platform.plugins.modules import eks_addon
from botocore.stub import ANY

CLUSTER = "sciplat"
ARN = f"arn:aws:eks:us-east-1:123456789012:addon/{CLUSTER}/coredns/0000"
ROLE = "arn:aws:iam::123456789012:role/efs-csi"
IDS = {"clusterName": CLUSTER, "addonName": "coredns"}


def addon(status: str = "ACTIVE", version: str = "v1.11.3-eksbuild.2", **extra: Any) -> dict[str, Any]:
    body = {
        "addonName": "coredns",
        "clusterName": CLUSTER,
        "status": status,
        "addonVersion": version,
        "addonArn": ARN,
        "health": {"issues": []},
        "tags": {},
    }
    body.update(extra)
    return {"addon": body}


def not_found(stubs: Any) -> None:
    stubs.error("eks", "describe_addon", "ResourceNotFoundException", "No addon: coredns found", 404, IDS)


def versions(stubs: Any, default: str = "v1.11.3-eksbuild.2", newer: str = "v1.11.4-eksbuild.1") -> None:
    stubs.add("eks", "describe_cluster", {"cluster": {"name": CLUSTER, "version": "1.31"}}, {"name": CLUSTER})
    stubs.add(
        "eks",
        "describe_addon_versions",
        {
            "addons": [
                {
                    "addonName": "coredns",
                    "addonVersions": [
                        {"addonVersion": newer, "compatibilities": [{"clusterVersion": "1.31"}]},
                        {
                            "addonVersion": default,
                            "compatibilities": [{"clusterVersion": "1.31", "defaultVersion": True}],
                        },
                    ],
                }
            ]
        },
        {"addonName": "coredns", "kubernetesVersion": "1.31"},
    )


def args(**extra: Any) -> dict[str, Any]:
    return {"cluster_name": CLUSTER, "name": "coredns", **extra}


def test_create_uses_default_version_and_waits_until_active(run_module, stubs, clock) -> None:
    not_found(stubs)
    versions(stubs)
    stubs.add(
        "eks",
        "create_addon",
        addon("CREATING"),
        {**IDS, "addonVersion": "v1.11.3-eksbuild.2", "resolveConflicts": "OVERWRITE", "tags": {"site": "a"}},
    )
    stubs.add("eks", "describe_addon", addon("CREATING"), IDS)
    stubs.add("eks", "describe_addon", addon("ACTIVE", tags={"site": "a"}), IDS)

    out = run_module(eks_addon, args(tags={"site": "a"}))

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["status"] == "ACTIVE"
    assert out.result["addon_version"] == "v1.11.3-eksbuild.2"
    assert out.result["tags"] == {"site": "a"}
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_create_sends_configuration_and_role(run_module, stubs) -> None:
    not_found(stubs)
    stubs.add(
        "eks",
        "create_addon",
        addon("CREATING", version="v1.0.0-eksbuild.1"),
        {
            **IDS,
            "addonVersion": "v1.0.0-eksbuild.1",
            "resolveConflicts": "PRESERVE",
            "serviceAccountRoleArn": ROLE,
            "configurationValues": json.dumps({"replicaCount": 1}, sort_keys=True),
        },
    )

    out = run_module(
        eks_addon,
        args(
            version="v1.0.0-eksbuild.1",
            service_account_role_arn=ROLE,
            configuration_values='{"replicaCount": 1}',
            resolve_conflicts="PRESERVE",
            wait=False,
        ),
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["status"] == "CREATING"
    stubs.assert_done()


def test_matching_active_addon_is_a_fast_no_op(run_module, stubs, clock) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)

    out = run_module(eks_addon, args(version="v1.11.3-eksbuild.2"))

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["status"] == "ACTIVE"
    assert clock.sleeps == []
    stubs.assert_done()


def test_version_omitted_keeps_a_current_addon(run_module, stubs, clock) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)
    versions(stubs)

    out = run_module(eks_addon, args())

    assert out.result["changed"] is False, out.result
    assert clock.sleeps == []
    stubs.assert_done()


def test_version_omitted_never_downgrades(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", version="v1.11.4-eksbuild.1"), IDS)
    versions(stubs)

    out = run_module(eks_addon, args())

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_version_omitted_upgrades_an_older_addon_to_the_default(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", version="v1.10.1-eksbuild.18"), IDS)
    versions(stubs)
    stubs.add(
        "eks",
        "update_addon",
        {"update": {"id": "u-1", "status": "InProgress"}},
        {**IDS, "addonVersion": "v1.11.3-eksbuild.2", "resolveConflicts": "OVERWRITE"},
    )

    stubs.add("eks", "describe_addon", addon("UPDATING", version="v1.11.3-eksbuild.2"), IDS)

    out = run_module(eks_addon, args(wait=False))

    assert out.result["changed"] is True, out.result
    assert out.result["addon_version"] == "v1.11.3-eksbuild.2"
    stubs.assert_done()


def test_configuration_compared_by_meaning(run_module, stubs) -> None:
    stored = '{"b": {"c": 2}, "a": 1}'
    stubs.add("eks", "describe_addon", addon("ACTIVE", configurationValues=stored), IDS)

    out = run_module(
        eks_addon, args(version="v1.11.3-eksbuild.2", configuration_values={"a": 1, "b": {"c": 2}})
    )

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_yaml_configuration_on_aws_side_is_understood(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", configurationValues="a: 1\nb:\n  c: 2\n"), IDS)

    out = run_module(
        eks_addon, args(version="v1.11.3-eksbuild.2", configuration_values='{"b": {"c": 2}, "a": 1}')
    )

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_update_configuration_waits_and_reports_diff(run_module, stubs, clock) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", configurationValues='{"replicaCount": 2}'), IDS)
    stubs.add(
        "eks",
        "update_addon",
        {"update": {"id": "u-1", "status": "InProgress", "type": "AddonUpdate"}},
        {
            **IDS,
            "configurationValues": '{"replicaCount": 3}',
            "resolveConflicts": "OVERWRITE",
        },
    )
    stubs.add("eks", "describe_addon", addon("UPDATING", configurationValues='{"replicaCount": 3}'), IDS)
    stubs.add("eks", "describe_addon", addon("ACTIVE", configurationValues='{"replicaCount": 3}'), IDS)

    out = run_module(
        eks_addon, args(version="v1.11.3-eksbuild.2", configuration_values={"replicaCount": 3}), diff=True
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["status"] == "ACTIVE"
    assert out.result["diff"]["before"]["configuration_values"] == {"replicaCount": 2}
    assert out.result["diff"]["after"]["configuration_values"] == {"replicaCount": 3}
    assert out.result["diff"]["before"]["addon_version"] == out.result["diff"]["after"]["addon_version"]
    stubs.assert_done()


def test_update_role_and_version(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)
    stubs.add(
        "eks",
        "update_addon",
        {"update": {"id": "u-2"}},
        {
            **IDS,
            "addonVersion": "v1.11.4-eksbuild.1",
            "serviceAccountRoleArn": ROLE,
            "resolveConflicts": "OVERWRITE",
        },
    )
    stubs.add(
        "eks",
        "describe_addon",
        addon("UPDATING", version="v1.11.4-eksbuild.1", serviceAccountRoleArn=ROLE),
        IDS,
    )

    out = run_module(eks_addon, args(version="v1.11.4-eksbuild.1", service_account_role_arn=ROLE, wait=False))

    assert out.result["changed"] is True, out.result
    assert out.result["status"] == "UPDATING"
    assert out.result["service_account_role_arn"] == ROLE
    stubs.assert_done()


def test_update_of_a_busy_addon_waits_for_it_first(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("CREATING"), IDS)
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)
    stubs.add(
        "eks",
        "update_addon",
        {"update": {"id": "u-3"}},
        {**IDS, "addonVersion": "v2", "resolveConflicts": ANY},
    )
    stubs.add("eks", "describe_addon", addon("UPDATING", version="v2"), IDS)

    out = run_module(eks_addon, args(version="v2", wait=False))

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


def test_tags_are_added_and_purged(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", tags={"old": "x", "keep": "y"}), IDS)
    stubs.add("eks", "untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["old"]})
    stubs.add("eks", "tag_resource", {}, {"resourceArn": ARN, "tags": {"new": "z"}})

    out = run_module(eks_addon, args(version="v1.11.3-eksbuild.2", tags={"keep": "y", "new": "z"}))

    assert out.result["changed"] is True, out.result
    assert out.result["tags"] == {"keep": "y", "new": "z"}
    stubs.assert_done()


def test_wait_false_then_wait_true_on_a_creating_addon(run_module, stubs, clock) -> None:
    # First call started the add-on (wait=false); the later call only waits.
    stubs.add("eks", "describe_addon", addon("CREATING"), IDS)
    stubs.add("eks", "describe_addon", addon("CREATING"), IDS)
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)

    out = run_module(eks_addon, args(version="v1.11.3-eksbuild.2"))

    assert out.result["changed"] is False, out.result
    assert out.result["status"] == "ACTIVE"
    assert len(clock.sleeps) == 1
    stubs.assert_done()


def test_delete_waits_until_gone(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)
    stubs.add("eks", "delete_addon", addon("DELETING"), IDS)
    stubs.add("eks", "describe_addon", addon("DELETING"), IDS)
    not_found(stubs)

    out = run_module(eks_addon, args(state="absent"), diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["after"] == {}
    assert out.result["diff"]["before"]["addon_version"] == "v1.11.3-eksbuild.2"
    stubs.assert_done()


def test_delete_of_a_missing_addon_changes_nothing(run_module, stubs) -> None:
    not_found(stubs)

    out = run_module(eks_addon, args(state="absent"))

    assert out.result["changed"] is False, out.result
    stubs.assert_done()


def test_check_mode_create_makes_no_mutating_call(run_module, stubs) -> None:
    not_found(stubs)
    versions(stubs)

    out = run_module(eks_addon, args(configuration_values={"a": 1}), check_mode=True, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["diff"]["before"] == {}
    assert out.result["diff"]["after"]["addon_version"] == "v1.11.3-eksbuild.2"
    assert out.result["diff"]["after"]["configuration_values"] == {"a": 1}
    stubs.assert_done()


def test_check_mode_update_and_delete_make_no_mutating_call(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", tags={"a": "1"}), IDS)
    out = run_module(eks_addon, args(version="v9", tags={}), check_mode=True, diff=True)
    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["after"]["addon_version"] == "v9"
    assert out.result["diff"]["after"]["tags"] == {}

    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)
    out = run_module(eks_addon, args(state="absent"), check_mode=True)
    assert out.result["changed"] is True, out.result
    stubs.assert_done()


def test_check_mode_without_cluster_reports_the_creation(run_module, stubs) -> None:
    not_found(stubs)
    stubs.error("eks", "describe_cluster", "ResourceNotFoundException", "No cluster found", 404)

    out = run_module(eks_addon, args(), check_mode=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    stubs.assert_done()


ISSUE = {
    "code": "InsufficientNumberOfReplicas",
    "message": "The add-on is unhealthy",
    "resourceIds": ["coredns"],
}


def test_degraded_until_the_deadline_fails_with_health_issues(run_module, stubs, clock) -> None:
    for _ in range(40):
        stubs.add("eks", "describe_addon", addon("DEGRADED", health={"issues": [ISSUE]}), IDS)

    out = run_module(eks_addon, args(version="v1.11.3-eksbuild.2", wait_timeout=60))

    assert out.failed
    assert "still DEGRADED after 60 s" in out.result["msg"]
    assert "InsufficientNumberOfReplicas: The add-on is unhealthy" in out.result["msg"]
    assert out.result["health"]["issues"][0]["resource_ids"] == ["coredns"]
    assert sum(clock.sleeps) == pytest.approx(60)


def test_create_failed_stops_the_wait_at_once(run_module, stubs, clock) -> None:
    not_found(stubs)
    stubs.add("eks", "create_addon", addon("CREATING", version="v1"))
    stubs.add("eks", "describe_addon", addon("CREATE_FAILED", version="v1", health={"issues": [ISSUE]}), IDS)

    out = run_module(eks_addon, args(version="v1"))

    assert out.failed
    assert out.result["changed"] is True
    assert "reached status CREATE_FAILED" in out.result["msg"]
    assert "InsufficientNumberOfReplicas" in out.result["msg"]
    assert clock.sleeps == []
    stubs.assert_done()


def test_update_failed_is_reported(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE", version="v1"), IDS)
    stubs.add("eks", "update_addon", {"update": {"id": "u"}})
    stubs.add("eks", "describe_addon", addon("UPDATE_FAILED", version="v2", health={"issues": [ISSUE]}), IDS)

    out = run_module(eks_addon, args(version="v2"))

    assert out.failed
    assert "UPDATE_FAILED" in out.result["msg"]
    stubs.assert_done()


def test_deleting_addon_is_recreated_once_gone(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("DELETING"), IDS)
    stubs.add("eks", "describe_addon", addon("DELETING"), IDS)
    not_found(stubs)
    stubs.add("eks", "create_addon", addon("CREATING", version="v1"))

    out = run_module(eks_addon, args(version="v1", wait=False))

    assert out.result["changed"] is True, out.result
    stubs.assert_done()


def test_bad_configuration_values_name_the_parameter(run_module, stubs) -> None:
    stubs.add("eks", "describe_addon", addon("ACTIVE"), IDS)

    out = run_module(eks_addon, args(configuration_values="[1, 2"))

    assert out.failed
    assert out.result["msg"].startswith("configuration_values is neither JSON nor YAML")


def test_bad_resolve_conflicts_lists_the_choices(run_module, stubs) -> None:
    out = run_module(eks_addon, args(resolve_conflicts="FORCE"))

    assert out.failed
    assert "resolve_conflicts" in out.result["msg"]
    assert "OVERWRITE" in out.result["msg"]


def test_unknown_addon_name_fails_clearly(run_module, stubs) -> None:
    stubs.error("eks", "describe_addon", "ResourceNotFoundException", "nope", 404)
    stubs.add("eks", "describe_cluster", {"cluster": {"name": CLUSTER, "version": "1.31"}})
    stubs.add("eks", "describe_addon_versions", {"addons": []})

    out = run_module(eks_addon, {"cluster_name": CLUSTER, "name": "no-such-addon"})

    assert out.failed
    assert out.result["msg"].startswith("name: EKS offers no add-on called no-such-addon for Kubernetes 1.31")


def test_missing_cluster_fails_naming_cluster_name(run_module, stubs) -> None:
    not_found(stubs)
    stubs.error("eks", "describe_cluster", "ResourceNotFoundException", "No cluster found", 404)

    out = run_module(eks_addon, args())

    assert out.failed
    assert out.result["msg"] == "cluster_name: there is no EKS cluster called sciplat"


@pytest.mark.parametrize(
    ("current", "target", "older"),
    [
        ("v1.10.1-eksbuild.18", "v1.11.3-eksbuild.2", True),
        ("v1.11.3-eksbuild.2", "v1.11.3-eksbuild.10", True),
        ("v1.11.4-eksbuild.1", "v1.11.3-eksbuild.2", False),
        ("v1.11.3-eksbuild.2", "v1.11.3-eksbuild.2", False),
        ("custom", "v1.0.0-eksbuild.1", True),
    ],
)
def test_is_older(current: str, target: str, older: bool) -> None:
    assert eks_addon.is_older(current, target) is older

"""sciplat.platform.eks_nodegroup_info against stubbed EKS answers: only reads are queued, so any other
call fails the test."""

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.modules import eks_nodegroup_info

CLUSTER = "sciplat"


def nodegroup(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "nodegroup": {
            "nodegroupName": name,
            "clusterName": CLUSTER,
            "status": "ACTIVE",
            "labels": {"hub.jupyter.org/node-purpose": name},
            "tags": {"CostCentre": "archive"},
            **extra,
        }
    }


def test_lists_and_describes_every_page_sorted_by_name(run_module, stubs) -> None:
    stubs.add("eks", "list_nodegroups", {"nodegroups": ["user"], "nextToken": "t"}, {"clusterName": CLUSTER})
    stubs.add("eks", "list_nodegroups", {"nodegroups": ["core"]}, {"clusterName": CLUSTER, "nextToken": "t"})
    stubs.add(
        "eks", "describe_nodegroup", nodegroup("core"), {"clusterName": CLUSTER, "nodegroupName": "core"}
    )
    stubs.add(
        "eks",
        "describe_nodegroup",
        nodegroup("user", status="DELETING"),
        {"clusterName": CLUSTER, "nodegroupName": "user"},
    )

    out = run_module(eks_nodegroup_info, {"cluster_name": CLUSTER}, check_mode=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert [(g["nodegroup_name"], g["status"]) for g in out.result["nodegroups"]] == [
        ("core", "ACTIVE"),
        ("user", "DELETING"),
    ]
    # Tag keys and label keys are not snake_cased.
    assert out.result["nodegroups"][0]["tags"] == {"CostCentre": "archive"}
    assert out.result["nodegroups"][0]["labels"] == {"hub.jupyter.org/node-purpose": "core"}
    stubs.assert_done()


def test_a_missing_cluster_and_a_group_gone_meanwhile_are_no_error(run_module, stubs) -> None:
    stubs.error("eks", "list_nodegroups", "ResourceNotFoundException", "No cluster found", 404)
    out = run_module(eks_nodegroup_info, {"cluster_name": CLUSTER})
    assert not out.failed and out.result["nodegroups"] == []

    stubs.add("eks", "list_nodegroups", {"nodegroups": ["old"]})
    stubs.error("eks", "describe_nodegroup", "ResourceNotFoundException", "No node group found", 404)
    out = run_module(eks_nodegroup_info, {"cluster_name": CLUSTER})
    assert not out.failed and out.result["nodegroups"] == []
    stubs.assert_done()


def test_other_errors_fail_naming_the_cluster(run_module, stubs) -> None:
    stubs.error("eks", "list_nodegroups", "AccessDeniedException", "not allowed", 403)
    out = run_module(eks_nodegroup_info, {"cluster_name": CLUSTER})
    assert out.failed
    assert CLUSTER in out.result["msg"]

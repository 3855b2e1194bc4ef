"""playbooks/upgrade.yml rehearsed on the local site (issue 19): its network and cluster stages converged at
Kubernetes 1.32 against a private emulator whose EKS cluster is a real Kubernetes (the core node group's node
is real), then upgraded to 1.33 the way an operator would: refused with a wrong version (or an inventory that
still says 1.32) before any change, planned in check mode (nothing changes), continued after a run that
stopped once it had started the control plane's upgrade, and run again (nothing changes).

After each run the emulated account is read back with boto3: the cluster's and node groups' versions and
their Update records, the add-ons' versions against what DescribeAddonVersions offers for 1.33, and the
node group's node (replaced by a new one) through the cluster's Kubernetes API.

The hub stage is left out (--skip-tags hub): the local site's hub is the single-node one on a booted machine,
which the upgrade does not touch; the EKS hub's chart is the hub stage's ordinary converge.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_run import TEST_TIME_SCALE, WITHOUT_HUB, PlaybookRun, run_playbook

from emulator.launcher import Emulator, running_emulator
from runbooks.site import load_site

pytestmark = pytest.mark.e2e

LOCAL = load_site("local")
CLUSTER = f"{LOCAL.var('site_name')}-hub"
REGION = LOCAL.var("site_region")
NODE_GROUPS = ("core", "user")
# The storage stage is not converged: nothing of it is upgraded.
STAGES = ("--tags", "network,cluster", *WITHOUT_HUB)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("upgrade"), time_scale=TEST_TIME_SCALE) as emu:
        yield emu


def upgrade(emulator: Emulator, *args: str, **extra_vars: Any) -> PlaybookRun:
    return run_playbook(
        "upgrade.yml", state_dir=emulator.state_dir, extra_vars=extra_vars, args=(*args, *WITHOUT_HUB)
    )


def eks(emulator: Emulator) -> Any:
    return boto3.client(
        "eks",
        region_name=REGION,
        endpoint_url=emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def version_updates(client: Any, **names: str) -> list[dict[str, Any]]:
    """The VersionUpdate records of the cluster (or of a node group: nodegroupName=...)."""
    found = [
        client.describe_update(name=CLUSTER, updateId=update_id, **names)["update"]
        for update_id in client.list_updates(name=CLUSTER, **names)["updateIds"]
    ]
    return [update for update in found if update["type"] == "VersionUpdate"]


def versions(client: Any) -> dict[str, str]:
    """The cluster's version and each node group's."""
    found = {"cluster": client.describe_cluster(name=CLUSTER)["cluster"]["version"]}
    for group in NODE_GROUPS:
        found[group] = client.describe_nodegroup(clusterName=CLUSTER, nodegroupName=group)["nodegroup"][
            "version"
        ]
    return found


def node_names(emulator: Emulator) -> list[str]:
    from kubernetes import client as k8s
    from kubernetes import config

    account = boto3.client(
        "sts",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_caller_identity()["Account"]
    kubeconfig = emulator.state_dir / "kube" / account / REGION / CLUSTER / "admin.kubeconfig"
    api = k8s.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    return sorted(node.metadata.name for node in api.list_node().items)


def slow_version_updates(emulator: Emulator, seconds: float | None) -> None:
    """The control plane's upgrade takes ``seconds`` (None: its default again), via moto's state manager."""
    path, body = (
        (
            "set-transition",
            {"model_name": "eks::cluster.version", "transition": {"progression": "time", "seconds": seconds}},
        )
        if seconds
        else ("unset-transition", {"model_name": "eks::cluster.version"})
    )
    request = urllib.request.Request(
        f"{emulator.endpoint}/moto-api/state-manager/{path}", json.dumps(body).encode()
    )
    urllib.request.urlopen(request).close()


def test_upgrade_one_minor_version_refused_planned_resumed_and_idempotent(emulator: Emulator) -> None:
    converge = run_playbook(
        "site.yml", state_dir=emulator.state_dir, extra_vars={"eks_cluster_version": "1.32"}, args=STAGES
    )
    assert converge.returncode == 0, converge.output[-5000:]
    client = eks(emulator)
    assert versions(client) == {"cluster": "1.32", "core": "1.32", "user": "1.32"}
    nodes_before = node_names(emulator)
    assert len(nodes_before) == 1, nodes_before  # core: one real node; user: none (scales from zero)
    addons_before = {
        name: client.describe_addon(clusterName=CLUSTER, addonName=name)["addon"]["addonVersion"]
        for name in client.list_addons(clusterName=CLUSTER)["addons"]
    }

    # Refused before any change: no version, two minors up, the inventory still at 1.32.
    missing = upgrade(emulator)
    assert missing.returncode != 0 and "-e upgrade_kubernetes_version=" in missing.output, missing.output[
        -3000:
    ]
    skipped = upgrade(emulator, upgrade_kubernetes_version="1.31")
    assert skipped.returncode != 0
    assert 'upgrade_kubernetes_version in playbooks/upgrade.yml) is "1.31"' in skipped.output, skipped.output[
        -3000:
    ]
    assert 'accepted is "1.33"' in skipped.output
    stale = upgrade(emulator, upgrade_kubernetes_version="1.33", eks_cluster_version="1.32")
    assert stale.returncode != 0
    assert 'set eks_cluster_version: "1.33"' in stale.output, stale.output[-3000:]

    # The plan: every step says what it would change; nothing changes.
    plan = upgrade(emulator, "--check", "--diff", upgrade_kubernetes_version="1.33")
    assert plan.returncode == 0, plan.output[-5000:]
    assert "1. control plane of local-hub: 1.32 -> 1.33" in plan.output, plan.output[-5000:]
    would = plan.changed_tasks_by_role["eks_cluster"]
    for step in (
        "Upgrade the control plane (waited for).",
        "Upgrade the add-ons, one after another.",
        "Roll the node groups to the new version, one after another.",
    ):
        assert step in would, would
    assert versions(client) == {"cluster": "1.32", "core": "1.32", "user": "1.32"}
    assert version_updates(client) == []

    # A run stopped right after it started the control plane's upgrade: the next run waits for that
    # update rather than asking for it again, then does the rest.
    slow_version_updates(emulator, 45)
    try:
        client.update_cluster_version(name=CLUSTER, version="1.33")
        assert client.describe_cluster(name=CLUSTER)["cluster"]["status"] == "UPDATING"
        run = upgrade(emulator, upgrade_kubernetes_version="1.33")
    finally:
        slow_version_updates(emulator, None)
    assert run.returncode == 0, run.output[-5000:]

    assert versions(client) == {"cluster": "1.33", "core": "1.33", "user": "1.33"}
    (cluster_update,) = version_updates(client)  # one: the stopped run's, not asked again
    assert cluster_update["status"] == "Successful"
    for group in NODE_GROUPS:
        (group_update,) = version_updates(client, nodegroupName=group)
        assert group_update["status"] == "Successful", (group, group_update)
        release = client.describe_nodegroup(clusterName=CLUSTER, nodegroupName=group)["nodegroup"][
            "releaseVersion"
        ]
        assert release.startswith("1.33."), (group, release)
    offered = {
        info["addonName"]: [v["addonVersion"] for v in info["addonVersions"]]
        for info in client.describe_addon_versions(kubernetesVersion="1.33")["addons"]
    }
    for name, before in addons_before.items():
        after = client.describe_addon(clusterName=CLUSTER, addonName=name)["addon"]
        assert after["status"] == "ACTIVE", after
        assert after["addonVersion"] in offered[name], (name, after["addonVersion"], offered[name])
        newest = max(
            offered[name], key=lambda v: [int(p) for p in v.lstrip("v").replace("-eksbuild.", ".").split(".")]
        )
        assert after["addonVersion"] == newest, (name, before, after["addonVersion"])
    nodes_after = node_names(emulator)
    assert len(nodes_after) == 1 and nodes_after != nodes_before, (nodes_before, nodes_after)

    again = upgrade(emulator, upgrade_kubernetes_version="1.33")
    assert again.returncode == 0, again.output[-5000:]
    assert again.changed == 0, again.changed_tasks_by_role
    assert len(version_updates(client)) == 1

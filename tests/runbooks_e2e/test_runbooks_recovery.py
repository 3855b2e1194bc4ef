"""The procedures that rebuild whole resources, against their own converged local site: replace a
node group, restore the file system to a new one, rebuild the cluster through the cluster drill."""

from __future__ import annotations

import pytest
from runbooks_site import files, run

from runbooks import aws, drills
from runbooks.home_access import home_access
from runbooks.site import Site

pytestmark = pytest.mark.e2e


def test_replace_node_group_recreates_it(site: Site) -> None:
    eks = aws.client(site, "eks")
    before = eks.describe_nodegroup(clusterName="local-hub", nodegroupName="user")["nodegroup"]
    run(site, "replace-node-group", "--group", "user")
    after = eks.describe_nodegroup(clusterName="local-hub", nodegroupName="user")["nodegroup"]
    assert after["status"] == "ACTIVE" and after["createdAt"] > before["createdAt"]
    assert after["scalingConfig"] == before["scalingConfig"] and after["labels"] == before["labels"]


def test_restore_filesystem_to_a_new_file_system(site: Site, alice: dict[str, bytes]) -> None:
    old = aws.find_home_fs(site)
    assert old is not None
    aws.start_backup(site, old, 120)
    expected = {
        k: v
        for k, v in files(home_access(site).root(old["FileSystemId"])).items()
        if not k.startswith("aws-backup-restore_")
    }
    run(site, "restore-filesystem", "--remove-old")
    new = aws.find_home_fs(site)
    assert new is not None and new["FileSystemId"] != old["FileSystemId"]
    restored = files(home_access(site).root(new["FileSystemId"]))
    assert {k: v for k, v in restored.items() if not k.startswith("aws-backup-restore_")} == expected
    efs = aws.client(site, "efs")
    targets = efs.describe_mount_targets(FileSystemId=new["FileSystemId"])["MountTargets"]
    assert len(targets) == 3 and {t["LifeCycleState"] for t in targets} == {"available"}
    assert old["FileSystemId"] not in {f["FileSystemId"] for f in efs.describe_file_systems()["FileSystems"]}


def test_rebuild_cluster_after_the_cluster_drill(site: Site) -> None:
    """The cluster drill deletes the cluster and runs rebuild-cluster; the report says recovered."""
    report = drills.run_drill(site, "cluster", yes=True, echo=lambda _: None)
    assert report["result"] == "recovered", report.get("error")
    assert aws.describe_cluster(site)["status"] == "ACTIVE"
    steps = {s["step"]: s["result"] for s in report["recovery_steps"]}
    assert steps["reconverge-cluster"] == steps["reattach-home-filesystem"] == "done"
    assert steps["reconverge-monitoring"] == "done"  # the node alarms watch the new node groups
    assert steps["check-kubernetes"] == "done"  # nodes Ready, the home claim Bound, on the real cluster

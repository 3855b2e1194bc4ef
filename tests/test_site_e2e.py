"""The local site, end to end: converge, read everything back, re-converge with changed=0, check mode.

This is what `make demo` does, run against a private emulator and checked from outside Ansible.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible_run import ROOT, TEST_TIME_SCALE, WITHOUT_HUB, PlaybookRun, run_playbook

from emulator.launcher import Emulator, running_emulator
from runbooks.site import load_site

pytestmark = pytest.mark.e2e

LOCAL = load_site("local")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("e2e"), time_scale=TEST_TIME_SCALE) as emu:
        yield emu


@pytest.fixture(scope="module")
def first_converge(emulator: Emulator) -> PlaybookRun:
    run = run_playbook("site.yml", state_dir=emulator.state_dir, args=WITHOUT_HUB)
    assert run.returncode == 0, run.output[-6000:]
    return run


@pytest.fixture(scope="module")
def aws(emulator: Emulator) -> dict[str, Any]:
    session = boto3.session.Session(
        region_name=LOCAL.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return {
        name: session.client(name, endpoint_url=emulator.endpoint) for name in ("ec2", "eks", "iam", "efs")
    }


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_first_converge_creates_the_site(first_converge: PlaybookRun) -> None:
    assert first_converge.changed > 0


def test_the_home_file_system_is_made_in_the_clusters_shadow_and_its_policy_names_its_roles(
    first_converge: PlaybookRun, aws: dict[str, Any]
) -> None:
    """The storage stage's start runs while the control plane is created, its policy once the cluster's
    compute phase made the IRSA roles and before the wait for the node groups (in their shadow), naming
    the EFS CSI driver's role (made only then) and the nodes' role, never any principal."""

    def changed_at(task: str) -> int:
        """Where the converge's output reports ``task`` changed (a skipped play shows its tasks too)."""
        found = re.search(
            rf"^TASK \[efs_storage : {re.escape(task)}\] \*+\nchanged: ", first_converge.output, re.M
        )
        assert found, task
        return found.start()

    cluster_compute = first_converge.output.index("PLAY [Start the site's node groups")
    cluster_finish = first_converge.output.index("PLAY [Finish the site's EKS cluster")
    assert changed_at("Create or update the encrypted file system.") < cluster_compute
    assert (
        changed_at("Start creating one mount target per subnet (and remove those in other subnets).")
        < cluster_compute
    )
    assert cluster_compute < changed_at("Set the file-system policy.") < cluster_finish

    file_systems = aws["efs"].describe_file_systems()["FileSystems"]
    (fs,) = [f for f in file_systems if f.get("Name") == LOCAL.var("efs_storage_name")]
    policy = json.loads(aws["efs"].describe_file_system_policy(FileSystemId=fs["FileSystemId"])["Policy"])
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    principals = allow["Principal"]["AWS"]
    cluster = LOCAL.var("eks_cluster_name")
    roles = [
        aws["iam"].get_role(RoleName=f"{cluster}-{suffix}")["Role"]["Arn"]
        for suffix in ("efs-csi", "eks-node")
    ]
    assert sorted([principals] if isinstance(principals, str) else principals) == sorted(roles)


def test_network_is_as_the_inventory_says(first_converge: PlaybookRun, aws: dict[str, Any]) -> None:
    ec2 = aws["ec2"]
    site_filter = [{"Name": "tag:Site", "Values": [LOCAL.tags["Site"]]}]
    (vpc,) = ec2.describe_vpcs(Filters=site_filter)["Vpcs"]
    assert vpc["CidrBlock"] == LOCAL.var("aws_network_vpc_cidr")
    assert tags_of(vpc).items() >= LOCAL.tags.items()

    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    private = [s for s in subnets if tags_of(s).get("kubernetes.io/role/internal-elb") == "1"]
    public = [s for s in subnets if tags_of(s).get("kubernetes.io/role/elb") == "1"]
    az_count = int(LOCAL.var("aws_network_az_count"))
    assert len(private) == len(public) == az_count
    assert len({s["AvailabilityZone"] for s in private}) == az_count
    cluster_tag = f"kubernetes.io/cluster/{LOCAL.var('eks_cluster_name')}"
    assert all(tags_of(s).get(cluster_tag) == "shared" for s in subnets)
    assert all(tags_of(s).items() >= LOCAL.tags.items() for s in subnets)

    nats = ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    assert [n["State"] for n in nats] == ["available"] * (
        az_count if LOCAL.var("aws_network_nat_gateway_mode") == "per_az" else 1
    )
    (endpoint,) = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "VpcEndpoints"
    ]
    assert endpoint["ServiceName"] == f"com.amazonaws.{LOCAL.region}.s3"
    assert len(endpoint["RouteTableIds"]) >= 1


def test_cluster_node_groups_and_addons(first_converge: PlaybookRun, aws: dict[str, Any]) -> None:
    eks, iam = aws["eks"], aws["iam"]
    name = LOCAL.var("eks_cluster_name")
    cluster = eks.describe_cluster(name=name)["cluster"]
    assert cluster["status"] == "ACTIVE"
    assert cluster["version"] == LOCAL.var("eks_cluster_version")
    enabled = {
        t for entry in cluster["logging"]["clusterLogging"] if entry["enabled"] for t in entry["types"]
    }
    assert enabled == set(LOCAL.var("eks_cluster_logging_types"))
    assert cluster["encryptionConfig"][0]["resources"] == ["secrets"]

    groups = {
        g: eks.describe_nodegroup(clusterName=name, nodegroupName=g)["nodegroup"]
        for g in eks.list_nodegroups(clusterName=name)["nodegroups"]
    }
    assert set(groups) == {g["name"] for g in LOCAL.var("eks_cluster_node_groups")}
    for spec in LOCAL.var("eks_cluster_node_groups"):
        group = groups[spec["name"]]
        assert group["status"] == "ACTIVE"
        assert group["labels"]["hub.jupyter.org/node-purpose"] == spec["purpose"]
        assert group["scalingConfig"]["minSize"] == spec["min_size"]
        assert group["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
        if spec["purpose"] == "user":
            assert {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NO_SCHEDULE"} in group[
                "taints"
            ]

    addons = {
        a: eks.describe_addon(clusterName=name, addonName=a)["addon"]
        for a in eks.list_addons(clusterName=name)["addons"]
    }
    assert set(addons) >= {"vpc-cni", "coredns", "kube-proxy", "aws-efs-csi-driver"}
    assert all(a["status"] == "ACTIVE" for a in addons.values())
    efs_role = addons["aws-efs-csi-driver"]["serviceAccountRoleArn"]
    trust = iam.get_role(RoleName=efs_role.split("/")[-1])["Role"]["AssumeRolePolicyDocument"]
    issuer = cluster["identity"]["oidc"]["issuer"].removeprefix("https://")
    assert issuer in str(trust) and "efs-csi-controller-sa" in str(trust)
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert any(p["Arn"].endswith(issuer) for p in providers)


def test_kubeconfig_is_written_for_the_site(
    first_converge: PlaybookRun, aws: dict[str, Any], emulator: Emulator
) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SITE_OUTPUT_DIR", str(emulator.state_dir / "site-output"))
        path = Path(load_site("local").var("eks_cluster_kubeconfig_path"))
    assert path.is_relative_to(emulator.state_dir)
    config = yaml.safe_load(path.read_text())
    cluster = aws["eks"].describe_cluster(name=LOCAL.var("eks_cluster_name"))["cluster"]
    assert config["clusters"][0]["cluster"]["server"] == cluster["endpoint"]
    assert "get-token" in config["users"][0]["user"]["exec"]["args"]
    assert path.stat().st_mode & 0o077 == 0


def test_second_converge_changes_nothing(first_converge: PlaybookRun, emulator: Emulator) -> None:
    run = run_playbook("site.yml", state_dir=emulator.state_dir, args=WITHOUT_HUB)
    assert run.returncode == 0, run.output[-6000:]
    assert run.changed == 0, run.output[-6000:]


def test_check_mode_reports_no_drift(first_converge: PlaybookRun, emulator: Emulator) -> None:
    run = run_playbook("site.yml", state_dir=emulator.state_dir, args=(*WITHOUT_HUB, "--check", "--diff"))
    assert run.returncode == 0, run.output[-6000:]
    assert run.changed == 0, run.output[-6000:]


def test_status_summarises_the_site(first_converge: PlaybookRun, emulator: Emulator) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "runbook"), "status", "--site", "local"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "EMULATOR_STATE_DIR": str(emulator.state_dir),
            "SITE_OUTPUT_DIR": str(emulator.state_dir / "site-output"),
        },
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"emulator: {emulator.endpoint}"
    text = result.stdout
    assert LOCAL.var("eks_cluster_name") in text and "ACTIVE" in text
    for group in LOCAL.var("eks_cluster_node_groups"):
        assert group["name"] in text
    assert "aws-efs-csi-driver" in text
    # The cluster's own view, through the site's kubeconfig and an EKS token.
    core = LOCAL.var("eks_cluster_node_groups")[0]
    assert any(
        line.split()[:1] == ["node"] and "Ready" in line and f"group {core['name']}" in line for line in lines
    )
    assert any(line.split()[:3] == ["claim", "jhub/homes", "Bound"] for line in lines), text


@pytest.fixture
def kube(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The site's cluster through the kubeconfig the cluster stage wrote: its credential plugin
    (`aws eks get-token`) signs with the emulator's test credentials, as an operator's would with theirs."""
    from kubernetes import client, config

    for key, value in emulator.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return config.new_client_from_config(str(emulator.state_dir / "site-output" / "kubeconfig")), client


def test_the_cluster_is_real_kubernetes_with_the_sites_objects(
    first_converge: PlaybookRun, kube: Any
) -> None:
    api_client, client = kube
    core = client.CoreV1Api(api_client)
    groups = {g["name"]: g for g in LOCAL.var("eks_cluster_node_groups")}
    nodes = core.list_node().items
    assert len(nodes) == sum(int(g["desired_size"]) for g in groups.values())
    for node in nodes:
        labels = node.metadata.labels
        group = groups[labels["eks.amazonaws.com/nodegroup"]]
        assert labels["eks.amazonaws.com/capacityType"] == group["capacity_type"]
        assert labels["node.kubernetes.io/instance-type"] == group["instance_types"][0]
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    namespace, claim = LOCAL.var("efs_storage_kubernetes_namespace"), LOCAL.var("efs_storage_pvc_name")
    pvc = core.read_namespaced_persistent_volume_claim(claim, namespace)
    assert pvc.status.phase == "Bound"
    volume = core.read_persistent_volume(pvc.spec.volume_name)
    assert volume.spec.csi.driver == "efs.csi.aws.com" and volume.status.phase == "Bound"
    assert client.StorageV1Api(api_client).read_csi_driver("efs.csi.aws.com").spec.attach_required is False


def test_the_home_usage_cronjob_runs_on_a_real_node_and_writes_the_figures(
    first_converge: PlaybookRun, emulator: Emulator, kube: Any
) -> None:
    api_client, client = kube
    (file_system,) = [
        fs
        for fs in boto3.client(
            "efs",
            endpoint_url=emulator.endpoint,
            region_name=LOCAL.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).describe_file_systems()["FileSystems"]
        if fs.get("Name") == LOCAL.var("efs_storage_name")
    ]
    homes = efs_path(emulator, file_system["FileSystemId"]) / "home"  # the access point's root
    (homes / "astro9").mkdir(parents=True, exist_ok=True)
    (homes / "astro9" / "spectra.fits").write_bytes(b"\0" * 3 * 1024 * 1024)
    # As EFS makes them: the access point's root as its CreationInfo says, files as its POSIX user
    # (efs_storage_access_points: 1000:1000); the CronJob runs as that user.
    for path in (homes, homes / "astro9", homes / "astro9" / "spectra.fits"):
        os.chown(path, 1000, 1000)

    run = run_playbook("../tests/fixtures/playbooks/home_usage_cronjob.yml", state_dir=emulator.state_dir)
    assert run.returncode == 0, run.output[-6000:]
    namespace = LOCAL.var("efs_storage_kubernetes_namespace")
    batch = client.BatchV1Api(api_client)
    cronjob = batch.read_namespaced_cron_job("sciplat-home-usage", namespace)
    # What `kubectl create job --from=cronjob/sciplat-home-usage` does: a Job from its template.
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "home-usage-now"},
            "spec": api_client.sanitize_for_serialization(cronjob.spec.job_template.spec),
        },
    )
    deadline = time.monotonic() + 240
    while True:
        job = batch.read_namespaced_job("home-usage-now", namespace)
        if job.status.succeeded or job.status.failed:
            break
        assert time.monotonic() < deadline, f"the home-usage job is still running: {job.status}"
        time.sleep(1)
    pods = client.CoreV1Api(api_client).list_namespaced_pod(
        namespace, label_selector="job-name=home-usage-now"
    )
    assert job.status.succeeded == 1, client.CoreV1Api(api_client).read_namespaced_pod_log(
        pods.items[0].metadata.name, namespace
    )
    assert pods.items[0].spec.node_name.startswith("ip-")
    usage = json.loads((homes / ".sciplat-usage" / "usage.json").read_text())
    assert usage["homes"]["astro9"]["bytes"] >= 3 * 1024 * 1024, usage


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root: its bytes and permission bits, by relative path."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode & 0o7777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def efs_path(emulator: Emulator, file_system_id: str) -> Path:
    with urllib.request.urlopen(f"{emulator.endpoint}/_emulator/efs/{file_system_id}") as response:
        return Path(json.load(response)["path"])


def wait_for(describe: Callable[[], dict[str, Any]], status_key: str, timeout: float = 180) -> dict[str, Any]:
    """Poll an AWS Backup job until it ends; it must end COMPLETED."""
    deadline = time.monotonic() + timeout
    while True:
        job = describe()
        if job[status_key] in ("COMPLETED", "FAILED", "ABORTED", "EXPIRED"):
            assert job[status_key] == "COMPLETED", job
            return job
        assert time.monotonic() < deadline, f"job still {job[status_key]} after {timeout} s"
        time.sleep(0.5)


def test_home_filesystem_backs_up_and_restores_byte_for_byte(
    first_converge: PlaybookRun, emulator: Emulator, aws: dict[str, Any]
) -> None:
    session = boto3.session.Session(
        region_name=LOCAL.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    efs = session.client("efs", endpoint_url=emulator.endpoint)
    backup = session.client("backup", endpoint_url=emulator.endpoint)
    (fs,) = [
        f
        for f in efs.describe_file_systems()["FileSystems"]
        if {t["Key"]: t["Value"] for t in f["Tags"]}.get("Site") == LOCAL.tags["Site"]
    ]
    root = efs_path(emulator, fs["FileSystemId"])
    homes = root / "home"
    (homes / "alice" / "data").mkdir(parents=True, exist_ok=True)
    (homes / "bob").mkdir(parents=True, exist_ok=True)
    (homes / "alice" / "notes.md").write_text("# observing log\nM31, 300 s, F606W\n")
    (homes / "alice" / "data" / "frame.fits").write_bytes(os.urandom(64 * 1024))
    (homes / "bob" / "analysis.py").write_text("print('hello')\n")
    (homes / "bob" / "analysis.py").chmod(0o750)
    before = tree(root)

    vaults = backup.list_backup_vaults()["BackupVaultList"]
    (vault,) = [
        v["BackupVaultName"] for v in vaults if v["BackupVaultName"] == LOCAL.var("backup_vault_name")
    ]
    role_arn = aws["iam"].get_role(RoleName=LOCAL.var("backup_iam_role_name"))["Role"]["Arn"]
    job_id = backup.start_backup_job(
        BackupVaultName=vault, ResourceArn=fs["FileSystemArn"], IamRoleArn=role_arn
    )["BackupJobId"]
    job = wait_for(lambda: backup.describe_backup_job(BackupJobId=job_id), "State")
    recovery_point = job["RecoveryPointArn"]

    # The accident: alice's home is deleted and bob's script overwritten.
    shutil.rmtree(homes / "alice")
    (homes / "bob" / "analysis.py").write_text("oops\n")

    def restore(metadata: dict[str, str]) -> dict[str, Any]:
        restore_id = backup.start_restore_job(
            RecoveryPointArn=recovery_point, IamRoleArn=role_arn, ResourceType="EFS", Metadata=metadata
        )["RestoreJobId"]
        return wait_for(lambda: backup.describe_restore_job(RestoreJobId=restore_id), "Status")

    whole = restore(
        {
            "file-system-id": fs["FileSystemId"],
            "newFileSystem": "true",
            "Encrypted": "true",
            "PerformanceMode": "generalPurpose",
            "CreationToken": "e2e-restore",
        }
    )
    new_fs_id = whole["CreatedResourceArn"].split("/")[-1]
    assert new_fs_id != fs["FileSystemId"]
    (restored_root,) = efs_path(emulator, new_fs_id).glob("aws-backup-restore_*")
    assert tree(restored_root) == before

    one = restore(
        {
            "file-system-id": fs["FileSystemId"],
            "newFileSystem": "false",
            "ItemsToRestore": json.dumps(["/home/alice"]),
        }
    )
    assert one["CreatedResourceArn"].split("/")[-1] == fs["FileSystemId"]
    (side,) = root.glob("aws-backup-restore_*")
    alice_before = {
        k.removeprefix("home/alice/"): v for k, v in before.items() if k.startswith("home/alice/")
    }
    assert tree(side / "home" / "alice") == alice_before
    assert not (side / "home" / "bob").exists()
    assert (homes / "bob" / "analysis.py").read_text() == "oops\n"  # item-level restore never overwrites

"""`make bench-kube`: what the real Kubernetes behind the emulated EKS costs.

Figures (wall-clock seconds on a shared machine: compare within one run, quote medians):
- build: the cold build of the components, as the build recorded it when it last built something
  (`~/.cache/sciplat-kit/kube/<version>/build.json`; a cold build is not repeated here);
- control plane: etcd + API server + controller manager + scheduler started with cached binaries,
  to the API server's /readyz, RUNS times;
- CreateCluster to a Ready node: through the emulator, CreateCluster, wait ACTIVE, CreateNodegroup
  (one node), wait ACTIVE (the node Ready), RUNS times; with the split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import boto3
from report import BenchRun

from emulator.kube import build
from emulator.kube.control_plane import ControlPlane
from emulator.launcher import CLIENT_ENV, running_emulator

ROOT = Path(__file__).resolve().parent.parent

ROLE_ARN = "arn:aws:iam::123456789012:role/eks"


def control_plane_start(work: Path) -> float:
    plane = ControlPlane(work / "plane", "bench")
    started = time.monotonic()
    plane.start("https://oidc.eks.us-east-1.amazonaws.com/id/BENCH", None)
    plane.wait_ready()
    seconds = time.monotonic() - started
    plane.destroy()
    return seconds


def cluster_to_ready_node(work: Path, run: int) -> dict[str, float]:
    with running_emulator(work / f"emulator-{run}", time_scale=600) as emulator:

        def client(service: str):
            return boto3.client(
                service,
                endpoint_url=emulator.endpoint,
                region_name="us-east-1",
                aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
            )

        ec2, eks = client("ec2"), client("eks")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
        subnets = [subnet["Subnet"]["SubnetId"]]
        waiter = {"Delay": 0.25, "MaxAttempts": 2000}
        started = time.monotonic()
        eks.create_cluster(name="bench", roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
        eks.get_waiter("cluster_active").wait(name="bench", WaiterConfig=waiter)
        active = time.monotonic()
        eks.create_nodegroup(
            clusterName="bench",
            nodegroupName="core",
            nodeRole=ROLE_ARN,
            subnets=subnets,
            scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1},
        )
        eks.get_waiter("nodegroup_active").wait(
            clusterName="bench", nodegroupName="core", WaiterConfig=waiter
        )
        ready = time.monotonic()
    return {"cluster_active": active - started, "node_ready": ready - active, "total": ready - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "kube.json")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bench_run = BenchRun()
    build.ensure()
    recorded = json.loads(build.record_file().read_text()) if build.record_file().exists() else None
    with tempfile.TemporaryDirectory(prefix="sciplat-bench-kube-") as scratch:
        work = Path(scratch)
        planes = [control_plane_start(work) for _ in range(args.runs)]
        clusters = [cluster_to_ready_node(work, run) for run in range(args.runs)]
    figures = {
        "kubernetes": build.KUBERNETES_VERSION,
        "cold_build_recorded": recorded,
        "control_plane_start_seconds": {
            "runs": [round(x, 2) for x in planes],
            "median": round(statistics.median(planes), 2),
        },
        "create_cluster_to_ready_node_seconds": {
            key: {
                "runs": [round(c[key], 2) for c in clusters],
                "median": round(statistics.median(c[key] for c in clusters), 2),
            }
            for key in ("cluster_active", "node_ready", "total")
        },
    }
    print(json.dumps(figures, indent=1))
    bench_run.write(args.output, **figures)


if __name__ == "__main__":
    main()

"""`make bench`: how fast the local site converges, against the emulator, in one run.

Figures: cold converge and no-op re-converge wall time, task and changed counts, the critical-path
ratio (cold converge wall time / the longest chain of dependent provisioning waits the emulator
recorded), seconds per managed resource on the no-op re-converge, the AWS API calls that no-op
re-converge makes (counted at the emulator, by operation) against the resources it manages, and the
whole-site check mode (`--check --diff`) with its calls, for the mitogen strategy and for Ansible's
default linear strategy. Timings are wall-clock on a shared machine: compare ratios
within one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from ansible_run import WITHOUT_HUB, PlaybookRun, run_playbook
from report import BenchRun

from emulator.launcher import Emulator, running_emulator

ROOT = Path(__file__).resolve().parent.parent

# Which provisioning waits must finish before another can start (AWS's own ordering: node groups
# need an ACTIVE cluster and egress through NAT; add-ons need the cluster; CoreDNS needs nodes).
DEPENDS_ON = {
    "nodegroup": ("cluster", "nat_gateway"),
    "addon": ("cluster",),
    "addon/coredns": ("cluster", "nodegroup"),
}


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def critical_path(lifecycle: list[dict[str, Any]]) -> tuple[float, list[str]]:
    """Longest chain of dependent waits, by the durations the emulator actually applied."""
    waits: dict[str, list[tuple[float, str]]] = {}
    for record in lifecycle:
        if not record.get("ready_at"):
            continue
        kind = str(record["resource_type"]).lower()
        duration = _seconds(record["ready_at"]) - _seconds(record["created_at"])
        key = f"{kind}/{record['id'].split('/')[-1]}" if kind == "addon" else kind
        waits.setdefault(kind, []).append((duration, str(record["id"])))
        if key != kind:
            waits.setdefault(key, []).append((duration, str(record["id"])))

    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(kind: str) -> tuple[float, list[str]]:
        if kind not in memo:
            own, name = max(waits.get(kind, [(0.0, "")]))
            before = max((longest(dep) for dep in DEPENDS_ON.get(kind, ())), default=(0.0, []))
            memo[kind] = (own + before[0], [*before[1], f"{kind} {name} {own:.1f}s"] if name else before[1])
        return memo[kind]

    return max((longest(kind) for kind in waits), default=(0.0, []))


def managed_resources(emulator: Emulator, site_tag: dict[str, str]) -> int:
    """Count what the site owns in the emulator: the denominator of seconds per resource."""
    import boto3

    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ec2 = session.client("ec2", endpoint_url=emulator.endpoint)
    eks = session.client("eks", endpoint_url=emulator.endpoint)
    iam = session.client("iam", endpoint_url=emulator.endpoint)
    tag_filter = [{"Name": f"tag:{k}", "Values": [v]} for k, v in site_tag.items()]
    count = 0
    for call, key in (
        ("describe_vpcs", "Vpcs"),
        ("describe_subnets", "Subnets"),
        ("describe_internet_gateways", "InternetGateways"),
        ("describe_route_tables", "RouteTables"),
        ("describe_nat_gateways", "NatGateways"),
        ("describe_vpc_endpoints", "VpcEndpoints"),
        ("describe_security_groups", "SecurityGroups"),
    ):
        kwargs = {"Filter" if call == "describe_nat_gateways" else "Filters": tag_filter}
        count += len(getattr(ec2, call)(**kwargs)[key])
    for cluster in eks.list_clusters()["clusters"]:
        count += 1 + len(eks.list_nodegroups(clusterName=cluster)["nodegroups"])
        count += len(eks.list_addons(clusterName=cluster)["addons"])
    count += len(ec2.describe_addresses(Filters=tag_filter)["Addresses"])
    kms = session.client("kms", endpoint_url=emulator.endpoint)
    count += len([a for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")])
    count += len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"])
    count += len([r for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")])
    return count


# Ansible's own task timer: each task header gets the time since the run began, read by seconds_by_play.
PROFILE_TASKS = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"}
PROFILE_LINE = re.compile(r"\(\d+:\d\d:[\d.]+\)\s+(\d+):(\d\d):([\d.]+)")


def seconds_by_play(output: str, total_s: float) -> dict[str, float]:
    """Where a run's seconds went, play by play (a stage's plays), from profile_tasks' timestamps: a play
    lasts from its first task to the next play's first task; Ansible's start before the first task and
    the end after the last (the recap, the connection's shutdown) are listed apart."""
    starts: list[tuple[str, float | None]] = []
    last = 0.0
    for line in output.splitlines():
        if line.startswith("PLAY [") and not line.startswith("PLAY RECAP"):
            starts.append((line[len("PLAY [") : line.index("]")], None))
        elif found := PROFILE_LINE.search(line):
            hours, minutes, seconds = found.groups()
            last = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            if starts and starts[-1][1] is None:
                starts[-1] = (starts[-1][0], last)
    timed = [(name, start) for name, start in starts if start is not None]
    if not timed:
        return {}
    spent: Counter[str] = Counter(
        {"(before the first task)": timed[0][1], "(after the last task)": total_s - last}
    )
    for (name, start), end in zip(timed, [start for _, start in timed[1:]] + [last], strict=True):
        spent[name] += end - start
    return {name: round(seconds, 2) for name, seconds in spent.most_common()}


def converge(state_dir: Path, fast: bool, args: tuple[str, ...] = ()) -> tuple[float, PlaybookRun]:
    started = time.monotonic()
    run = run_playbook(
        "site.yml", state_dir=state_dir, fast=fast, args=(*WITHOUT_HUB, *args), env=PROFILE_TASKS
    )
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        sys.exit(f"converge failed:\n{run.output[-4000:]}")
    return elapsed, run


def calls_during(emulator: Emulator, action: Any) -> tuple[Any, Counter[str]]:
    """``action()``'s result and the AWS API calls the emulator answered meanwhile."""
    before = Counter(emulator.calls())
    result = action()
    return result, Counter(emulator.calls()) - before


def measure(strategy: str, time_scale: float) -> dict[str, Any]:
    fast = strategy == "mitogen"
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp), time_scale=time_scale) as emulator:
        print(f"[{strategy}] cold converge of the local site (time scale {time_scale:g})...", flush=True)
        cold_s, cold = converge(emulator.state_dir, fast)
        chain_s, chain = critical_path(emulator.lifecycle())
        print(f"[{strategy}] no-op re-converge...", flush=True)
        (noop_s, noop), noop_calls = calls_during(emulator, lambda: converge(emulator.state_dir, fast))
        print(f"[{strategy}] whole-site check mode (--check --diff)...", flush=True)
        (check_s, check), check_calls = calls_during(
            emulator, lambda: converge(emulator.state_dir, fast, ("--check", "--diff"))
        )
        resources = managed_resources(emulator, {"Site": "local"})
    noop_total = sum(noop_calls.values())
    return {
        "strategy": strategy,
        "cold_converge_s": round(cold_s, 2),
        "cold_tasks": cold.tasks,
        "cold_changed": cold.changed,
        "critical_path_s": round(chain_s, 2),
        "critical_path": chain,
        "critical_path_ratio": round(cold_s / chain_s, 3) if chain_s else None,
        # Seconds the converge spends beyond the chain of waits: Ansible's own cost, which does not
        # shrink when provisioning takes real (unscaled) time.
        "overhead_s": round(cold_s - chain_s, 2),
        "noop_converge_s": round(noop_s, 2),
        "noop_tasks": noop.tasks,
        "noop_changed": noop.changed,
        "managed_resources": resources,
        "noop_s_per_resource": round(noop_s / resources, 3) if resources else None,
        "noop_api_calls": noop_total,
        "noop_api_calls_per_resource": round(noop_total / resources, 2) if resources else None,
        # The operations a no-op converge calls most: where reading the site once would save.
        "noop_api_calls_top": dict(noop_calls.most_common(12)),
        # Where the seconds go, play by play (the stages and their phases), most first.
        "cold_s_by_play": seconds_by_play(cold.output, cold_s),
        "noop_s_by_play": seconds_by_play(noop.output, noop_s),
        "check_s": round(check_s, 2),
        "check_changed": check.changed,
        "check_api_calls": sum(check_calls.values()),
    }


def table(results: list[dict[str, Any]]) -> str:
    rows = [("figure", *(r["strategy"] for r in results))]
    for key, label in (
        ("cold_converge_s", "cold converge (s)"),
        ("critical_path_s", "critical path of waits (s)"),
        ("critical_path_ratio", "critical-path ratio (goal <= 1.2)"),
        ("overhead_s", "converge beyond the waits (s)"),
        ("cold_tasks", "tasks (cold)"),
        ("cold_changed", "changed (cold)"),
        ("noop_converge_s", "no-op re-converge (s)"),
        ("noop_changed", "changed (no-op)"),
        ("managed_resources", "managed resources"),
        ("noop_s_per_resource", "no-op s per resource (goal <= 0.5)"),
        ("noop_api_calls", "AWS API calls (no-op)"),
        ("noop_api_calls_per_resource", "AWS API calls per resource (no-op)"),
        ("check_s", "whole-site check mode (s)"),
        ("check_changed", "changed (check mode)"),
        ("check_api_calls", "AWS API calls (check mode)"),
    ):
        rows.append((label, *(str(r[key]) for r in results)))
    width = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=10.0,
        help="real AWS durations divided by this (default %(default)s: EKS ~1 min)",
    )
    parser.add_argument(
        "--strategies", nargs="+", default=["mitogen", "linear"], choices=["mitogen", "linear"]
    )
    args = parser.parse_args()

    bench_run = BenchRun()
    results = [measure(strategy, args.time_scale) for strategy in args.strategies]
    print(table(results))
    for result in results:
        print(f"critical path ({result['strategy']}): " + " -> ".join(result["critical_path"]))
        top = ", ".join(f"{name} {count}" for name, count in result["noop_api_calls_top"].items())
        print(f"most called in the no-op converge ({result['strategy']}): {top}")
    bench_run.write(args.output, time_scale=args.time_scale, results=results)


if __name__ == "__main__":
    main()

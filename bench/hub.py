"""`make bench-hub`: how fast the local hubs serve a user (after `make demo`, `make demo SITE=local-eks`).

For each local site whose hub is up (the single-node hub on the `hub` machine; the EKS backend's
hub, whose users' servers are pods on the local cluster): the time from the REST API's start request
to the hub reporting a user's server ready (median, min and max of several starts, each after a
stop), and the time from submitting the login form in headless chromium to JupyterLab's main area
showing (default profile, server stopped before). With both sites up, the EKS figures are also given
as ratios to the single-node ones, measured in the same run. Wall-clock on a shared machine: compare
within one run.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from hub_browser import LocalHub, browser_available, chromium, log_in_to_lab
from report import BenchRun

ROOT = Path(__file__).resolve().parent.parent

SITES = {"local": lambda user: LocalHub.find(), "local-eks": LocalHub.find_eks}


def summary(values: list[float]) -> dict[str, float | list[float]]:
    if not values:
        return {}
    return {"median_s": statistics.median(values), "min_s": min(values), "max_s": max(values), "runs": values}


def measure(hub: LocalHub, user: str, spawns: int, logins: int) -> dict[str, dict]:
    times: list[float] = []
    for _ in range(spawns):
        hub.stop_server(user)
        times.append(round(hub.spawn_seconds(user, timeout=300), 2))
    hub.stop_server(user)
    lab: list[float] = []
    if browser_available():
        for _ in range(logins):
            with chromium() as driver:
                lab.append(round(log_in_to_lab(driver, hub, user, timeout=300), 2))
            hub.stop_server(user)
    return {"spawn": summary(times), "login": summary(lab)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "hub_results.json")
    parser.add_argument("--spawns", type=int, default=5, help="server starts to time (default %(default)s)")
    parser.add_argument("--logins", type=int, default=3, help="browser logins to time (default %(default)s)")
    parser.add_argument("--user", default="astro2")
    parser.add_argument(
        "--site",
        action="append",
        choices=sorted(SITES),
        help="only these sites (default: every one that is up)",
    )
    args = parser.parse_args()

    found: dict[str, LocalHub] = {}
    for name in args.site or sorted(SITES):
        try:
            found[name] = SITES[name](args.user)
        except RuntimeError as error:
            if args.site:
                raise SystemExit(f"bench-hub: {error}") from None
            print(f"skipped {name}: {error}")
    if not found:
        raise SystemExit(
            "bench-hub: no local hub is up: run `make demo` and/or `make demo SITE=local-eks` first"
        )

    labels = {
        "spawn": "spawn: REST start request -> server ready",
        "login": "login form submitted -> JupyterLab shown (browser)",
    }
    bench_run = BenchRun()
    figures = {name: measure(hub, args.user, args.spawns, args.logins) for name, hub in found.items()}
    results = [
        {"site": name, "what": labels[kind], **figure}
        for name, site_figures in figures.items()
        for kind, figure in site_figures.items()
    ]
    if {"local", "local-eks"} <= set(figures):
        for kind in labels:
            eks, single = figures["local-eks"][kind], figures["local"][kind]
            if eks and single:
                results.append(
                    {
                        "site": "local-eks / local",
                        "what": labels[kind] + ", ratio of medians",
                        "ratio": round(eks["median_s"] / single["median_s"], 2),
                    }
                )
    for result in results:
        figure = (
            f"ratio {result['ratio']}"
            if "ratio" in result
            else f"median {result.get('median_s', '-')} s over {result.get('runs', [])}"
        )
        print(f"{result['site']}: {result['what']}: {figure}")
    bench_run.write(args.output, results=results)


if __name__ == "__main__":
    main()

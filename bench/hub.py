"""`make bench-hub`: how fast the local single-node hub serves a user, after `make demo`.

Figures: the time from the REST API's start request to the hub reporting a user's server ready
(median, min and max of several starts, each after a stop), and the time from submitting the login
form in headless chromium to JupyterLab's main area showing (default profile, server stopped
before). Wall-clock on a shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hub_browser import LocalHub, browser_available, chromium, log_in_to_lab  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "hub_results.json")
    parser.add_argument("--spawns", type=int, default=5, help="server starts to time (default %(default)s)")
    parser.add_argument("--logins", type=int, default=3, help="browser logins to time (default %(default)s)")
    parser.add_argument("--user", default="astro2")
    args = parser.parse_args()

    hub = LocalHub.find()
    spawns: list[float] = []
    for _ in range(args.spawns):
        hub.stop_server(args.user)
        spawns.append(round(hub.spawn_seconds(args.user), 2))
    hub.stop_server(args.user)
    logins: list[float] = []
    if browser_available():
        for _ in range(args.logins):
            with chromium() as driver:
                logins.append(round(log_in_to_lab(driver, hub, args.user), 2))
            hub.stop_server(args.user)

    def summary(values: list[float]) -> dict[str, float | list[float]]:
        if not values:
            return {}
        return {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "runs": values,
        }

    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} python {platform.python_version()}",
        "command": "make bench-hub",
        "results": [
            {"what": "spawn: REST start request -> server ready", **summary(spawns)},
            {"what": "login form submitted -> JupyterLab shown (browser)", **summary(logins)},
        ],
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for result in report["results"]:
        print(f"{result['what']}: median {result.get('median_s', '-')} s over {result.get('runs', [])}")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()

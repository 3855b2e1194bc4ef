"""`runbook quota-report`: who uses how much of the home file system, against which quota, growing how fast.

The home_usage role measures every home on a schedule and writes, on the home file system itself,
``<home root>/.sciplat-usage/usage.json`` (the latest figures) and ``history.jsonl`` (one line per
UTC day). This report reads both through the site's home access (runbooks/home_access.py: a local
directory, or over SSH on the host that mounts the file system), applies
the site's quota settings (the ``jupyterhub_quota_*`` inventory variables) with the hub's own rules
module (``runbooks.hub_quota``, a link to roles/jupyterhub/files/sciplat_quota.py, so the report and
the hub can never disagree on a quota), and renders a table for a screen or JSON for a machine.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from runbooks import aws
from runbooks import hub_quota as rules
from runbooks.engine import Refused, StepFailed
from runbooks.home_access import home_access, home_root, local_root
from runbooks.site import Site

USAGE_DIR = ".sciplat-usage"
USAGE_FILE = "usage.json"
HISTORY_FILE = "history.jsonl"
# Used when neither the inventory nor the role's defaults set them (the contract's defaults).
# Data older than this is flagged; the inventory may say otherwise (runbook_quota_stale_minutes).
STALE_MINUTES = 60
TOP_GROWTH = 5
NAMES_SHOWN = 3  # over/near names in the header (the table shows the rest)
STATE_WORDS = {"over": "OVER", "warn": "near", "ok": "ok", "unknown": "-"}


# -- where the files are -------------------------------------------------------------------------


def measure_hint(site: Site) -> str:
    """How to run the measurement now, for the backend the site uses."""
    if site.var("jupyterhub_backend") == "single_node":
        return "run the measurement: systemctl start sciplat-home-usage on the hub host"
    namespace = site.var("jupyterhub_eks_namespace") or "jhub"
    return (
        "run the measurement: start a Job from the CronJob, "
        f"kubectl -n {namespace} create job --from=cronjob/sciplat-home-usage home-usage-now"
    )


def home_root_path(site: Site) -> Path:
    """The home root of the site's home file system, as a directory on this machine (local_path)."""
    fs = aws.find_home_fs(site)
    if fs is None:
        raise Refused(f"site {site.name} has no home file system: converge its storage stage first")
    return local_root(site, fs["FileSystemId"]) / home_root(site).strip("/")


def usage_dir(site: Site) -> Path:
    return home_root_path(site) / USAGE_DIR


def read_usage(
    site: Site, directory: Path, shown: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """usage.json and the lines of history.jsonl (unreadable history lines skipped); ``shown`` is
    where the files are for the operator when ``directory`` is a local copy of them."""
    path = directory / USAGE_FILE
    where = shown or str(path)
    if not path.is_file():
        raise Refused(f"no usage file yet ({where}): {measure_hint(site)}")
    try:
        usage = rules.load_usage(path)
    except (OSError, ValueError) as error:
        detail = str(error).replace(str(path), where)
        raise Refused(f"the usage file {where} cannot be read ({detail}): {measure_hint(site)}") from error
    history: list[dict[str, Any]] = []
    history_path = directory / HISTORY_FILE
    if history_path.is_file():
        for line in history_path.read_text().splitlines():
            try:
                entry = json.loads(line)
                date.fromisoformat(entry["date"])
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(entry.get("homes"), dict):
                history.append(entry)
    history.sort(key=lambda entry: entry["date"])
    return usage, history


def read_usage_through_access(site: Site) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The usage files read where the file system is (ssh_host, ...), through the site's way of
    reaching the homes; copied into a temporary directory to be read as local ones."""
    access = home_access(site)  # refuses an unknown or unbuilt kind, naming runbook_home_access
    fs = aws.find_home_fs(site)
    if fs is None:
        raise Refused(f"site {site.name} has no home file system: converge its storage stage first")
    relative = f"{home_root(site).strip('/')}/{USAGE_DIR}"
    where = f"{access.kind} {access.where(fs['FileSystemId'])}/{relative}"
    try:
        texts = access.run(fs["FileSystemId"], "read_files", path=relative, names=[USAGE_FILE, HISTORY_FILE])
    except StepFailed as error:
        raise Refused(f"cannot read the usage files in {where}: {error}") from error
    with tempfile.TemporaryDirectory(prefix="quota-report-") as tmp:
        for name, text in texts.items():
            if text is not None:
                (Path(tmp) / name).write_text(text)
        usage, history = read_usage(site, Path(tmp), f"{where}/{USAGE_FILE}")
    return usage, history, f"{where}/{USAGE_FILE}"


# -- the site's quota settings -------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaSettings:
    enabled: bool
    quotas: Any  # rules.Quotas, or None when quotas are off
    groups_of: dict[str, list[str]]  # user -> the jupyterhub_groups they are in


def quota_settings(site: Site) -> QuotaSettings:
    """The site's quota rules from its inventory; Refused naming the variable when one is wrong."""
    groups = site.var("jupyterhub_groups") or {}
    if not isinstance(groups, dict) or not all(isinstance(m, list) for m in groups.values()):
        raise Refused(f"site {site.name}: jupyterhub_groups must map a group to a list of user names")
    groups_of: dict[str, list[str]] = {}
    for group, members in sorted(groups.items()):
        for member in members:
            groups_of.setdefault(str(member), []).append(str(group))
    enabled = site.setting("jupyterhub_quota_enabled")
    if not isinstance(enabled, bool):
        enabled = str(enabled).strip().lower() in ("true", "yes", "1", "on")
    if not enabled:
        return QuotaSettings(False, None, groups_of)
    values = {
        name: site.setting(f"jupyterhub_quota_{name}")
        for name in ("default", "users", "groups", "warn_percent")
    }
    for name in ("users", "groups"):
        if values[name] is not None and not isinstance(values[name], dict):
            raise Refused(f"site {site.name}: jupyterhub_quota_{name} must map a name to a size")
    try:
        rules.parse_size(values["default"])
    except ValueError as error:
        raise Refused(f"site {site.name}: jupyterhub_quota_default: {error}") from error
    for name in ("users", "groups"):
        for key, size in (values[name] or {}).items():
            try:
                rules.parse_size(size)
            except ValueError as error:
                raise Refused(f"site {site.name}: jupyterhub_quota_{name}[{key}]: {error}") from error
    try:
        quotas = rules.Quotas(values["default"], values["users"], values["groups"], values["warn_percent"])
    except (TypeError, ValueError) as error:
        raise Refused(f"site {site.name}: jupyterhub_quota_warn_percent: {error}") from error
    return QuotaSettings(True, quotas, groups_of)


# -- the report ----------------------------------------------------------------------------------


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stale_rule(site: Site) -> tuple[int, str]:
    """Seconds after which the data is stale, and the rule in words."""
    minutes = site.var("runbook_quota_stale_minutes")
    if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0:
        return minutes * 60, f"{minutes} min (runbook_quota_stale_minutes)"
    return STALE_MINUTES * 60, f"{STALE_MINUTES} min (the default; runbook_quota_stale_minutes sets it)"


def growth_baseline(history: list[dict[str, Any]], day: date, days: int) -> dict[str, Any] | None:
    """The history line growth is counted from: the newest dated ``days`` or more before ``day``,
    else (history shorter than that) the oldest one before ``day``; None without such a line."""
    earlier = [entry for entry in history if date.fromisoformat(entry["date"]) < day]
    if not earlier:
        return None
    cutoff = day - timedelta(days=days)
    old_enough = [entry for entry in earlier if date.fromisoformat(entry["date"]) <= cutoff]
    return old_enough[-1] if old_enough else earlier[0]


def build(
    site: Site,
    usage: dict[str, Any],
    history: list[dict[str, Any]],
    settings: QuotaSettings,
    *,
    growth_days: int = 7,
    usage_file: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the table and the JSON show, as one dict (the JSON output is this dict)."""
    now = now or datetime.now(UTC)
    measured = parse_time(usage.get("measured_at"))
    age = (now - measured).total_seconds() if measured else None
    stale_after, rule = stale_rule(site)
    run = usage.get("run") if isinstance(usage.get("run"), dict) else {}
    day = (measured or now).date()
    baseline = growth_baseline(history, day, growth_days)
    base_day = date.fromisoformat(baseline["date"]) if baseline else None
    complete = run.get("complete") is not False
    run_started = measured - timedelta(seconds=float(run.get("seconds") or 0)) if measured else None

    users: list[dict[str, Any]] = []
    for user, home in usage["homes"].items():
        home = home if isinstance(home, dict) else {}
        groups = settings.groups_of.get(user, [])
        used = home.get("bytes") if isinstance(home.get("bytes"), int) else None
        row: dict[str, Any] = {
            "user": user,
            "bytes": used,
            "files": home.get("files"),
            "groups": groups,
            "measured_at": home.get("measured_at"),
            "full_at": home.get("full_at"),
            "quota": None,
            "percent": None,
            "state": "unknown" if settings.enabled else None,
            "to_delete": None,
        }
        if settings.enabled:
            status = settings.quotas.status(user, groups, home)
            row.update(
                quota=status.quota,
                # A quota of 0 gives an infinite percentage: no number (JSON has none for it).
                percent=round(status.percent, 1) if status.percent not in (None, math.inf) else None,
                state=status.level,
                to_delete=status.to_delete,
            )
        before = baseline["homes"].get(user) if baseline else None
        row["growth_bytes"] = used - before if isinstance(before, int) and used is not None else None
        home_time = parse_time(home.get("measured_at"))
        # Only an incomplete run leaves homes behind: a complete one brought every figure up to date
        # (a home it reused was found unchanged), whatever its measured_at says.
        row["behind"] = bool(not complete and home_time and run_started and home_time < run_started)
        users.append(row)
    users.sort(key=lambda row: (-(row["bytes"] or 0), row["user"]))
    growing = sorted(
        (row for row in users if (row["growth_bytes"] or 0) > 0),
        key=lambda r: (-r["growth_bytes"], r["user"]),
    )
    quotas = settings.quotas
    return {
        "site": site.name,
        "usage_file": usage_file,
        "root": usage.get("root"),
        "measured_at": usage.get("measured_at"),
        "age_seconds": None if age is None else round(age),
        "stale": age is None or age > stale_after,
        "stale_after_seconds": stale_after,
        "stale_rule": rule,
        "run": run,
        "complete": complete,
        "homes": len(users),
        "total_bytes": sum(row["bytes"] or 0 for row in users),
        "behind": sum(1 for row in users if row["behind"]),
        "quotas": {
            "enabled": settings.enabled,
            "default": quotas.default if quotas else None,
            "warn_percent": quotas.warn_percent if quotas else None,
        },
        "over": [row["user"] for row in users if row["state"] == "over"],
        "near": [row["user"] for row in users if row["state"] == "warn"],
        "growth": {
            "days": growth_days,
            "from": baseline["date"] if baseline else None,
            "to": day.isoformat(),
            "span_days": (day - base_day).days if base_day else None,
            "history_lines": len(history),
        },
        "top_growth": [row["user"] for row in growing[:TOP_GROWTH]],
        "users": users,
    }


# -- rendering ------------------------------------------------------------------------------------


def size(value: int | None) -> str:
    return "-" if value is None else rules.format_size(value)


def signed(value: int | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + size(abs(value))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def short_time(text: str | None) -> str:
    moment = parse_time(text)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if moment else "-"


def render(report: dict[str, Any], top: int = 20) -> str:
    lines = [f"Home storage of site {report['site']}: {report['usage_file']}"]
    age = report["age_seconds"]
    measured = f"measured {report['measured_at'] or 'at an unknown time'} ({duration(age)} ago)"
    if report["stale"]:
        lines.append(
            f"STALE: {measured}; data older than {report['stale_rule']} is stale: "
            "is the measurement running? (docs/runbooks/quota-report.md)"
        )
    else:
        lines.append("M" + measured[1:])
    run = report["run"]
    facts = [f"{run.get('mode', '?')} run", f"{run.get('seconds', '?')} s"]
    if "homes_walked" in run:
        facts.append(f"{run['homes_walked']} homes walked, {run.get('homes_reused', 0)} reused")
    if report["complete"]:
        lines.append(f"Last run complete ({', '.join(facts)})")
    else:
        lines += [
            f"INCOMPLETE last run: its time budget ran out ({', '.join(facts)});",
            f"  {plural(report['behind'], 'home')} kept an older figure (marked 'older' below)",
        ]
    lines.append(f"Homes: {report['homes']}, total used {size(report['total_bytes'])}")
    quotas = report["quotas"]
    if quotas["enabled"]:
        lines.append(
            f"Quotas: default {size(quotas['default'])}, near from {quotas['warn_percent']:g}%; "
            f"over quota: {len(report['over'])}, near quota: {len(report['near'])}"
        )
        by_user = {row["user"]: row for row in report["users"]}
        for word, names, note in (
            ("over", report["over"], lambda u: f" (delete {size(by_user[u]['to_delete'])})"),
            ("near", report["near"], lambda u: f" ({by_user[u]['percent']:.0f}%)"),
        ):
            if names:
                shown = ", ".join(f"{user}{note(user)}" for user in names[:NAMES_SHOWN])
                more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
                lines.append(f"  {word}: {shown}{more}")
    else:
        lines.append("Quotas are off on this site (jupyterhub_quota_enabled is not true): usage only")
    growth = report["growth"]
    if growth["from"] is None:
        growth_note = "no history before the measurement day yet: no growth figures"
    elif growth["span_days"] < growth["days"]:
        growth_note = (
            f"growth over {growth['span_days']} days only ({growth['from']} to {growth['to']}): "
            f"the history is shorter than {growth['days']} days"
        )
    else:
        growth_note = f"growth over {growth['span_days']} days ({growth['from']} to {growth['to']})"
    lines.append(growth_note[0].upper() + growth_note[1:])
    lines.append("")

    label = f"growth {growth['days']}d"
    header = f"{'user':<20} {'used':>10} {'quota':>10} {'%':>6} {'state':<5} {label:>11}  measured at"
    lines += [header, "-" * len(header)]
    for row in report["users"][:top]:
        percent = "-" if row["percent"] is None else f"{row['percent']:.0f}%"
        state = STATE_WORDS.get(row["state"], "-") if row["state"] else "-"
        growth_text = signed(row["growth_bytes"]) if row["bytes"] is not None else "-"
        if row["growth_bytes"] is None and growth["from"] is not None and row["bytes"] is not None:
            growth_text = "new"
        mark = " (older)" if row["behind"] else ""
        lines.append(
            f"{row['user'][:20]:<20} {size(row['bytes']):>10} {size(row['quota']):>10} {percent:>6} "
            f"{state:<5} {growth_text:>11}  {short_time(row['measured_at'])}{mark}"
        )
    hidden = len(report["users"]) - top
    if hidden > 0:
        lines.append(f"… {hidden} more (--top {len(report['users'])} shows all)")
    if report["top_growth"]:
        by_user = {row["user"]: row for row in report["users"]}
        lines += ["", f"Top growth over {growth['span_days']} days:"]
        for user in report["top_growth"]:
            row = by_user[user]
            before = row["bytes"] - row["growth_bytes"]
            lines.append(
                f"  {user:<20} {signed(row['growth_bytes']):>11}  ({size(before)} -> {size(row['bytes'])})"
            )
    return "\n".join(lines)


def report(site: Site, *, growth_days: int = 7, now: datetime | None = None) -> dict[str, Any]:
    """Read the site's usage files and quota settings; the report as a dict."""
    settings = quota_settings(site)
    if site.var("runbook_home_access") == "local_path":
        directory = usage_dir(site)
        usage, history = read_usage(site, directory)
        where = str(directory / USAGE_FILE)
    else:
        usage, history, where = read_usage_through_access(site)
    return build(site, usage, history, settings, growth_days=growth_days, usage_file=where, now=now)

"""Drift of one or more sites: `playbooks/site.yml --check --diff` on each, read from ansible-runner's
events (never from the colored text), one line per difference and one summary line per site.

A site is checked only after it is reached: its inventory read (vault password included), its AWS
environment resolved (the local site's emulator endpoint) and one STS GetCallerIdentity answered with
it. A site that fails there is one `unreachable` line and the next site runs. Check mode changes
nothing, so the whole report changes nothing either.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbooks.site import PROJECT_ROOT, Site, SiteError, load_site

# Exit codes of `runbook drift`: documented in docs/runbooks/drift.md.
EXIT_CLEAN, EXIT_DRIFT, EXIT_FAILED = 0, 1, 2
PLAYBOOKS = PROJECT_ROOT / "playbooks"
SITE_PLAYBOOK = "site.yml"
# The inventory variable that keeps a site out of `--all` (it is still checked when named).
OPT_OUT = "runbook_drift"
VALUE_WIDTH = 40
WHAT_WIDTH = 200
ABSENT = object()
SHOWN_CHANGES = 3


@dataclass
class Difference:
    site: str
    stage: str
    task: str
    label: str
    what: str

    def line(self) -> str:
        return "  ".join((self.site, self.stage, self.task, self.label, self.what))


@dataclass
class SiteReport:
    site: str
    # clean, drift, failed (the check run failed), unreachable (never started) or skipped (--all only)
    status: str
    differences: list[Difference] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    output: str = ""

    def summary(self) -> str:
        if self.status == "clean":
            return f"{self.site}: no drift"
        if self.status == "drift":
            count = len(self.differences)
            return f"{self.site}: {count} difference{'s' if count != 1 else ''}"
        if self.status == "skipped":
            return f"{self.site}: skipped ({self.error})"
        where = f" (output in {self.output})" if self.output else ""
        return f"{self.site}: {self.status.upper()}: {self.error}{where}"


# --- what the check run says -------------------------------------------------------------------


def play_stages(playbook: Path) -> dict[str, str]:
    """Play name -> the stage it belongs to (its tag), for every play site.yml runs, imports followed.
    The plays every run has (tag `always`: validation, the site lock) map to their own name."""
    stages: dict[str, str] = {}
    for entry in yaml.safe_load(playbook.read_text()) or []:
        imported = entry.get("ansible.builtin.import_playbook") or entry.get("import_playbook")
        if imported:
            stages.update(play_stages(playbook.parent / imported))
        elif entry.get("name"):
            tags = [tag for tag in entry.get("tags", []) if tag != "always"]
            stages[entry["name"]] = tags[0] if tags else entry["name"]
    return stages


def stages() -> list[str]:
    """The stages a check can be limited to: site.yml's stage tags that have a playbook of their own."""
    found = set(play_stages(PLAYBOOKS / SITE_PLAYBOOK).values())
    return sorted(stage for stage in found if (PLAYBOOKS / f"{stage}.yml").is_file())


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def _paths(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """`key: old -> new` per differing key (dotted into dicts both sides have); a dict only one side
    has is `key: would create` or `key: would delete`."""
    found = []
    for key in {**before, **after}:
        old, new = before.get(key, ABSENT), after.get(key, ABSENT)
        if old == new:
            continue
        path = f"{prefix}{key}"
        if isinstance(old, dict) and isinstance(new, dict) and old and new:
            found += _paths(old, new, f"{path}.")
        elif old in (ABSENT, {}) and isinstance(new, dict):
            found.append(f"{path}: would create")
        elif new in (ABSENT, {}) and isinstance(old, dict):
            found.append(f"{path}: would delete")
        else:
            shown = ["absent" if value is ABSENT else _short(value) for value in (old, new)]
            found.append(f"{path}: {shown[0]} -> {shown[1]}")
    return found


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The first differences and how many more."""
    changed = _paths(before, after)
    shown = changed[:SHOWN_CHANGES]
    if len(changed) > SHOWN_CHANGES:
        shown.append(f"+{len(changed) - SHOWN_CHANGES} more")
    return "; ".join(shown)


def _header(diff: dict[str, Any]) -> str:
    return str(diff.get("before_header") or diff.get("after_header") or "")


def _describe_one(diff: dict[str, Any], named: bool) -> str:
    """One diff; a text diff's file is named when the result has several (else it is the label)."""
    before, after = diff.get("before"), diff.get("after")
    if isinstance(before, str) or isinstance(after, str):
        old = (before or "").splitlines() if isinstance(before, str) else []
        new = (after or "").splitlines() if isinstance(after, str) else []
        added, removed = len(set(new) - set(old)), len(set(old) - set(new))
        text = f"+{added} -{removed} lines" if old else "would create"
        return f"{_header(diff)}: {text}" if named and _header(diff) else text
    if not before and after:
        return "would create"
    if before and not after:
        return "would delete"
    return _changes(before or {}, after or {})


def _tag_changes(result: dict[str, Any]) -> str:
    """For a module that returns no diff (amazon.aws's ec2_vpc_net, ec2_vpc_subnet, ...): the tags it
    was given against the tags of the resource it returns, the drift most often made by hand."""
    args = (result.get("invocation") or {}).get("module_args") or {}
    wanted = args.get("tags")
    # The resource is returned under its kind (vpc, subnet, ...) or at the top of the result.
    skip = ("invocation", "item", "diff")
    returned = [value for key, value in result.items() if isinstance(value, dict) and key not in skip]
    current = next((r["tags"] for r in [*returned, result] if isinstance(r.get("tags"), dict)), None)
    if not isinstance(wanted, dict) or current is None or current is wanted:
        return ""
    if not args.get("purge_tags", True):
        current = {key: value for key, value in current.items() if key in wanted}
    return _changes({"tags": current}, {"tags": wanted})


def _diffs(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A result's diffs: Ansible gives one dict or a list of them."""
    diffs = result.get("diff") or []
    return [d for d in (diffs if isinstance(diffs, list) else [diffs]) if isinstance(d, dict) and d]


def what_differs(result: dict[str, Any], action: str = "") -> str:
    """One short phrase (at most WHAT_WIDTH characters) for a result that would change."""
    text = _what(result, action)
    return text if len(text) <= WHAT_WIDTH else text[: WHAT_WIDTH - 3] + "..."


def _what(result: dict[str, Any], action: str) -> str:
    """The keys its diff changes (before -> after), what a text diff adds and removes, the tags it
    would set, or the task's message."""
    if "censored" in result:
        return "details hidden (no_log)"
    diffs = _diffs(result)
    described = [_describe_one(d, len(diffs) > 1) for d in diffs]
    described = [text for text in described if text]
    if described:
        return "; ".join(described)
    tags = _tag_changes(result)
    message = _first_line(result.get("msg"))
    if tags or message:
        return "; ".join(part for part in (tags, message) if part)
    return f"would change ({action} reports no diff)" if action else "would change"


def _name_of(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("name", "Name", "id", "key", "dest", "path"):
            if value.get(key):
                return str(value[key])
        tags = value.get("tags") or value.get("Tags")
        if isinstance(tags, dict) and tags.get("Name"):
            return str(tags["Name"])
        return ""
    return "" if value is None else str(value)


def resource_label(result: dict[str, Any]) -> str:
    """The loop item's label, else the name in the diff or in the module's arguments, else the file a
    text diff is about, else '-'."""
    if "_ansible_item_label" in result or "item" in result:
        return _name_of(result.get("_ansible_item_label", result.get("item"))) or "-"
    diffs = _diffs(result)
    sides = [d[side] for d in diffs for side in ("after", "before") if isinstance(d.get(side), dict)]
    arguments = (result.get("invocation") or {}).get("module_args")
    names = [_name_of(value) for value in (*sides, arguments)] + [_header(d) for d in diffs]
    return next((name for name in names if name), "-")


def _first_line(text: Any) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def differences(site: str, events: Iterable[dict[str, Any]], stages: dict[str, str]) -> list[Difference]:
    """Every result of the run that would change: one per changed loop item, else one per task."""
    found = []
    for event in events:
        if event.get("event") != "runner_on_ok":
            continue
        data = event.get("event_data", {})
        result = data.get("res") or {}
        if not result.get("changed"):
            continue
        stage = stages.get(str(data.get("play", "")), str(data.get("play", "")))
        task = str(data.get("task", ""))
        action = str(data.get("resolved_action") or data.get("task_action") or "")
        items = result.get("results")
        changed = [item for item in items if item.get("changed")] if isinstance(items, list) else [result]
        found += [Difference(site, stage, task, resource_label(r), what_differs(r, action)) for r in changed]
    return found


def first_error(events: Iterable[dict[str, Any]], stdout: str) -> str:
    """The first failure of the run: `<task>: <message's first line>`, else ansible-playbook's ERROR."""
    for event in events:
        kind = event.get("event")
        data = event.get("event_data", {})
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            result = data.get("res") or {}
            items = result.get("results") if isinstance(result.get("results"), list) else []
            message = next((i.get("msg") for i in items if i.get("failed") and i.get("msg")), None)
            text = _first_line(message or result.get("msg") or result.get("censored") or kind)
            return f"{data.get('task', '')}: {text}"
    for line in stdout.splitlines():
        if line.startswith(("ERROR!", "[ERROR]")):
            return line.strip()
    return _first_line(stdout.strip().splitlines()[-1] if stdout.strip() else "") or "no output"


# --- running it ----------------------------------------------------------------------------------


def opted_out(site: Site) -> bool:
    """Whether `--all` leaves the site out (runbook_drift: false); ValueError for a value not a bool."""
    value = site.var(OPT_OUT, True)
    if not isinstance(value, bool):
        raise ValueError(f"site {site.name!r}: {OPT_OUT} must be true or false, not {value!r}")
    return not value


def reach(site: Site) -> None:
    """One STS call with the site's environment: SiteError naming what is missing when it fails
    (no emulator endpoint, no profile or credentials, an endpoint that does not answer)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})
    try:
        with site.aws():
            boto3.session.Session(region_name=site.region).client("sts", config=config).get_caller_identity()
    except SiteError:
        raise
    except Exception as error:  # botocore's: profile, credentials, endpoint
        raise SiteError(f"cannot reach AWS: {type(error).__name__}: {_first_line(error)}") from error


def check_site(
    site: Site,
    artifacts: Path,
    playbook: str = SITE_PLAYBOOK,
    args: tuple[str, ...] = (),
    timeout: int = 3600,
) -> SiteReport:
    """<playbook> --check --diff on a reached site; its differences, or its first error."""
    from runbooks.ansible import launch

    events: list[dict[str, Any]] = []

    def keep(event: dict[str, Any]) -> bool:
        if event.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            events.append(event)
        return True

    # The last run's artifacts only: a daily job would otherwise pile them up.
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True, mode=0o700)
    started = time.monotonic()
    runner = launch(
        artifacts,
        playbook,
        site.inventory,
        args=("--check", "--diff", *args),
        event_handler=keep,
        timeout=timeout,
    )
    seconds = round(time.monotonic() - started, 1)
    found = differences(site.name, events, play_stages(PLAYBOOKS / playbook))
    if runner.status != "successful" or runner.rc != 0:
        outputs = (artifacts / "artifacts").rglob("stdout")
        stdout = "".join(path.read_text(errors="replace") for path in outputs)
        error = first_error(events, stdout)
        if runner.status == "timeout":
            error = f"timed out after {timeout} s; {error}"
        return SiteReport(
            site.name, "failed", found, error=error, seconds=seconds, output=str(artifacts / "artifacts")
        )
    return SiteReport(site.name, "drift" if found else "clean", found, seconds=seconds)


def report_sites(
    names: list[str],
    *,
    everything: bool,
    playbook: str = SITE_PLAYBOOK,
    args: tuple[str, ...] = (),
    echo: Callable[[str], None] = print,
    root: Path = PROJECT_ROOT,
) -> list[SiteReport]:
    """Each site in turn (one at a time: see docs/runbooks/drift.md), its lines echoed as it ends."""
    from runbooks.engine import output_dir

    reports = []
    for name in names:
        started = time.monotonic()
        try:
            site = load_site(name, root)
            if everything and opted_out(site):
                report = SiteReport(name, "skipped", error=f"{OPT_OUT}: false")
            else:
                reach(site)
                report = check_site(site, output_dir(site) / "drift" / name, playbook, args)
        except SiteError as error:
            report = SiteReport(name, "unreachable", error=str(error).removeprefix(f"site {name!r}: "))
        except ValueError as error:  # the inventory's runbook_drift
            report = SiteReport(name, "failed", error=str(error))
        except Exception as error:  # one line, and the next sites still run; the trace on demand
            if os.environ.get("RUNBOOK_DEBUG"):
                raise
            report = SiteReport(name, "failed", error=f"{type(error).__name__}: {_first_line(error)}")
        if not report.seconds:
            report.seconds = round(time.monotonic() - started, 1)
        for difference in report.differences:
            echo(difference.line())
        echo(report.summary())
        reports.append(report)
    return reports


def exit_code(reports: list[SiteReport]) -> int:
    """2 when a site failed or was unreachable, else 1 when one drifted, else 0."""
    if any(r.status in ("failed", "unreachable") for r in reports):
        return EXIT_FAILED
    return EXIT_DRIFT if any(r.status == "drift" for r in reports) else EXIT_CLEAN


def as_json(reports: list[SiteReport]) -> dict[str, Any]:
    return {"exit_code": exit_code(reports), "sites": [asdict(report) for report in reports]}

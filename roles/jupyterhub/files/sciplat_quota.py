"""Per-user storage quotas on a shared home filesystem: the rules and the user-facing messages.

EFS has no per-user quota. The home_usage role measures each home on a schedule and writes
``<home root>/.sciplat-usage/usage.json``; this module turns those figures and the site's quota
settings into a status per user (ok, warn, over, unknown) and the words a user or an admin reads.
The hub imports it (both backends: a file beside jupyterhub_config.py, or a z2jh extraFile) and so
does the admin report (``runbook quota-report``). Standard library only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

# Binary units, as the profiles' memory limits: 10G = 10 GiB.
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
SIZE_FORMS = "a number and a unit K, M, G or T (binary: 1G = 1024M), e.g. 500M, 10G, 1.5T"


def parse_size(text) -> int:
    """Bytes of a size such as ``10G`` or ``1.5T``; ValueError naming the accepted forms otherwise."""
    if isinstance(text, bool) or not re.fullmatch(r"[0-9]+(\.[0-9]+)?[KMGT]", str(text)):
        raise ValueError(f"{text!r} is not a size: use {SIZE_FORMS}")
    return int(float(str(text)[:-1]) * UNITS[str(text)[-1]])


def format_size(size: int) -> str:
    """A size for people: 1.5 GiB, 300 MiB, 12 KiB, 512 B (rounded up, never below the truth)."""
    for unit, name in (("T", "TiB"), ("G", "GiB"), ("M", "MiB"), ("K", "KiB")):
        if size >= UNITS[unit]:
            value = math.ceil(size * 10 / UNITS[unit]) / 10
            return f"{value:g} {name}"
    return f"{size} B"


def load_usage(path) -> dict:
    """The measurement file (home_usage's usage.json) as a dict; OSError or ValueError if unreadable."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("homes"), dict):
        raise ValueError(f"{path}: not a usage file (no 'homes' mapping)")
    return data


@dataclass(frozen=True)
class QuotaStatus:
    user: str
    used: int | None  # bytes; None when the home has not been measured yet
    quota: int
    percent: float | None
    level: str  # ok | warn | over | unknown
    to_delete: int  # bytes to delete to get back under the quota (0 unless over)
    measured_at: str | None


class Quotas:
    """A site's quota rules: a default, per-user overrides, per-group overrides, a warning threshold.

    A user's quota is their own override, else the largest override of the groups they are in,
    else the default.
    """

    def __init__(self, default, users=None, groups=None, warn_percent=90):
        self.default = parse_size(default)
        self.users = {name: parse_size(size) for name, size in (users or {}).items()}
        self.groups = {name: parse_size(size) for name, size in (groups or {}).items()}
        warn = float(warn_percent)
        if not 0 <= warn <= 100:
            raise ValueError(f"the warning threshold is a percentage from 0 to 100, not {warn_percent!r}")
        self.warn_percent = warn

    def quota_for(self, user: str, groups=()) -> int:
        if user in self.users:
            return self.users[user]
        overrides = [self.groups[group] for group in groups if group in self.groups]
        return max(overrides) if overrides else self.default

    def status(self, user: str, groups=(), home: dict | None = None) -> QuotaStatus:
        quota = self.quota_for(user, groups)
        if not home or not isinstance(home.get("bytes"), int):
            return QuotaStatus(user, None, quota, None, "unknown", 0, None)
        used = home["bytes"]
        percent = 100.0 * used / quota if quota else math.inf
        if used > quota:
            level = "over"
        elif percent >= self.warn_percent:
            level = "warn"
        else:
            level = "ok"
        return QuotaStatus(user, used, quota, percent, level, max(0, used - quota), home.get("measured_at"))


def user_message(status: QuotaStatus, help_text: str = "", recovery_profile: str = "") -> str:
    """What the user reads at spawn (refusal or warning) and in JupyterLab's notification."""
    if status.level not in ("warn", "over"):
        return ""
    used, quota = format_size(status.used), format_size(status.quota)
    when = f" (measured {status.measured_at})" if status.measured_at else ""
    if status.level == "warn":
        return (
            f"Your home directory uses {used} of your {quota} quota ({status.percent:.0f}%){when}. "
            "Above the quota, new servers will not start: delete or move files you no longer need "
            "(your storage page on the hub shows the largest folders)."
        )
    ways = []
    if recovery_profile:
        ways.append(f"start the '{recovery_profile}' environment, allowed over quota, to delete files")
    if help_text:
        ways.append(help_text.rstrip("."))
    reach = ("To reach your files without a normal server: " + "; or ".join(ways) + ". ") if ways else ""
    return (
        f"Your home directory uses {used}, over your {quota} quota{when}. "
        f"New servers will not start until you delete at least {format_size(status.to_delete)}. "
        f"{reach}Usage is measured again every few minutes; try again once you are under the quota."
    )


class HubQuota:
    """The hub's side (both backends): the pre-spawn check and the spawn-page warning. The pages a
    user sees (the refusal, the storage page, the endpoint JupyterLab's notice asks) are in
    sciplat_pages.py, which sets ``refuse``. Tornado is imported only here, so that the report can use
    the rules above without it.

    settings: default, users, groups, warn_percent, recovery_profile, help (the jupyterhub_quota_* vars).
    """

    def __init__(self, settings: dict, usage_file, log, home_name=None):
        self.settings = settings
        # The name of a user's home directory in the measurements: the user's name on the single-node
        # hub; on EKS the spawner's expansion of the claim's subPath, which escapes names such as
        # e-mail addresses ("a@b.org" -> "a-b-org---<hash>").
        self.home_name = home_name or (lambda user: user.name)
        self.quotas = Quotas(
            settings["default"], settings["users"], settings["groups"], settings["warn_percent"]
        )
        self.usage_file = Path(usage_file)
        self.log = log
        self._cache = {"mtime": None, "homes": {}}
        # How a refusal is raised: sciplat_pages.SitePages sets its refusal page here.
        self.refuse = None

    def home(self, user) -> dict | None:
        """The user's last figures from usage.json (bytes, largest, ...), as last read by status()."""
        return self._cache["homes"].get(self.home_name(user))

    def status(self, user):
        """The user's QuotaStatus; None when the measurements cannot be read (logged: fail open)."""
        try:
            mtime = self.usage_file.stat().st_mtime_ns
            if mtime != self._cache["mtime"]:
                self._cache.update(mtime=mtime, homes=load_usage(self.usage_file)["homes"])
        except (OSError, ValueError) as error:
            self.log.warning(
                "storage quota: cannot read %s (%s); failing open, not enforcing quotas",
                self.usage_file,
                error,
            )
            return None
        groups = [group.name for group in getattr(user, "groups", [])]
        return self.quotas.status(user.name, groups, self._cache["homes"].get(self.home_name(user)))

    def message(self, user) -> str:
        status = self.status(user)
        if status is None:
            return ""
        return user_message(status, self.settings["help"], self.settings["recovery_profile"])

    async def pre_spawn_hook(self, spawner):
        """Refuse a new server over the quota (HTTP 403, the message on the spawn page)."""
        from tornado import web

        status = self.status(spawner.user)
        if status is None or status.level != "over":
            return
        recovery = self.settings["recovery_profile"]
        if recovery and (spawner.user_options or {}).get("profile") == recovery:
            spawner.log.warning(
                "storage quota: %s is over quota; starting the recovery profile", spawner.user.name
            )
            return
        message = user_message(status, self.settings["help"], recovery)
        spawner.log.warning("storage quota: refused %s's server: %s", spawner.user.name, message)
        if self.refuse is not None:
            raise self.refuse(status)
        error = web.HTTPError(403, "%s", message)
        error.jupyterhub_message = message  # what the spawn page shows
        raise error

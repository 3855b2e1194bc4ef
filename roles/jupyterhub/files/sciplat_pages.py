"""What a scientist sees on the hub (issue 21): refusal pages, the storage page, the notice's API.

Both hub backends load this file and its templates (sciplat_templates/): the single-node backend
from beside jupyterhub_config.py, the EKS backend from the chart's hub.extraFiles (one entry per
file, the same directory layout) with the same few lines in hub.extraConfig:

    pages = sciplat_pages.SitePages(settings, quota=<sciplat_quota.HubQuota or None>, log=...)
    pages.configure(c)                      # templates, template variables, the hub's handlers
    c.Spawner.pre_spawn_hook = ...          # each check raises pages.refusal(...) to refuse

A refusal is an HTTP 403 whose ``jupyterhub_html_message`` is one page (why no server starts, what
the user can do now: how much to delete, where the files are, whom to ask, when to try again) and
whose ``jupyterhub_message`` is the same in plain text (the REST API, the logs). The templates show
it instead of the spawn form, the progress bar or "Spawn failed", once.

settings (the role's jupyterhub_* variables; every key optional):
    help_text        jupyterhub_user_help_text: the site's sentence on where to get help
    contact_url      jupyterhub_user_contact_url: https://... or mailto:...
    contact_label    jupyterhub_user_contact_label: the link's text
    files_help       jupyterhub_quota_help: how users reach their files without a server
    recovery_profile jupyterhub_quota_recovery_profile
    check_every_seconds  how often JupyterLab's notice asks again (jupyterhub_quota_notice_every)
    measure_every    words for how often usage is measured ("every few minutes")
"""

from __future__ import annotations

import datetime
import html
import json
import re
from pathlib import Path

import sciplat_quota

TEMPLATES = Path(__file__).resolve().parent / "sciplat_templates"
# JupyterLab's notifications show at most 140 characters: the notice is kept under that.
NOTICE_MAX = 140
WEEKS_SHOWN = 8


def when(stamp: str | None) -> str:
    """2026-12-05T00:31:02Z -> 2026-12-05 00:31 UTC (as people read it)."""
    if not stamp:
        return ""
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: UP017


def short_notice(status: sciplat_quota.QuotaStatus) -> str:
    """The JupyterLab notice: the whole message in one short sentence (at most NOTICE_MAX)."""
    if status.level == "warn":
        text = (
            f"Your home uses {sciplat_quota.format_size(status.used)} of your "
            f"{sciplat_quota.format_size(status.quota)} storage quota ({status.percent:.0f}%). "
            "Over the quota, new servers will not start."
        )
    elif status.level == "over":
        text = (
            f"Your home uses {sciplat_quota.format_size(status.used)}, over your "
            f"{sciplat_quota.format_size(status.quota)} quota: delete "
            f"{sciplat_quota.format_size(status.to_delete)} or your next server will not start."
        )
    else:
        return ""
    return text if len(text) <= NOTICE_MAX else text[: NOTICE_MAX - 1] + "…"


class SitePages:
    def __init__(self, settings: dict, quota=None, log=None, base_url: str = "/hub/"):
        self.settings = settings
        self.quota = quota
        self.log = log
        self.hub_base = base_url
        self._history = {"mtime": None, "days": []}
        if quota is not None:
            quota.refuse = self.storage_refusal

    # --- refusals -------------------------------------------------------------------------------
    def _contact(self) -> str:
        """The help sentence (html), ending with the contact link when there is one."""
        text = self.settings.get("help_text", "").strip()
        label = self.settings.get("contact_label", "").strip() or "Contact the site's operators"
        url = self.settings.get("contact_url", "").strip()
        parts = [html.escape(text)] if text else []
        if url:
            address = url.removeprefix("mailto:")
            parts.append(
                f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a> ({html.escape(address)}).'
            )
        elif not text:
            parts.append("Ask the site's operators.")
        return " ".join(parts)

    def refusal(self, kind: str, title: str, lead: str, steps: list[tuple[str, str]], recovery: str = ""):
        """An HTTP 403 carrying the refusal page (html) and its plain text. steps: (heading, html)."""
        from tornado import web

        items = "".join(
            f"<li><strong>{html.escape(heading)}</strong> <span>{body}</span></li>" for heading, body in steps
        )
        page = (
            f'<section class="sciplat-refusal" data-sciplat-refusal="{kind}"'
            f"{' data-sciplat-recovery=' + json.dumps(recovery) if recovery else ''}"
            ' aria-labelledby="sciplat-refusal-title">'
            f'<h1 id="sciplat-refusal-title">{html.escape(title)}</h1>'
            f'<p class="lead">{html.escape(lead)}</p>'
            '<h2 class="h4">What you can do</h2>'
            f'<ul class="sciplat-steps">{items}</ul></section>'
        )
        plain = " ".join(
            [title + ".", lead]
            + [f"{heading} {re.sub(r'<[^>]+>', '', html.unescape(body))}" for heading, body in steps]
        )
        error = web.HTTPError(403, "%s", plain)
        error.jupyterhub_message = plain
        error.jupyterhub_html_message = page
        return error

    def _storage_link(self, text: str) -> str:
        return f'<a href="{self.hub_base}storage">{html.escape(text)}</a>'

    def storage_refusal(self, status: sciplat_quota.QuotaStatus):
        size = sciplat_quota.format_size
        measured = when(status.measured_at)
        recovery = self.settings.get("recovery_profile", "")
        files_help = self.settings.get("files_help", "").strip().rstrip(".")
        contact_html = self._contact()
        reach = []
        if recovery:
            reach.append(
                f"start the '{html.escape(recovery, quote=False)}' environment below: it starts even "
                "over the quota, to delete or download files"
            )
        if files_help:
            reach.append(html.escape(files_help[0].lower() + files_help[1:] if files_help else ""))
        steps = [
            (
                f"Delete or move at least {size(status.to_delete)}.",
                "Your storage page shows which folders take the most room: "
                + self._storage_link("open your storage page")
                + ".",
            ),
        ]
        if reach:
            steps.append(("Reach your files without a server:", "; or ".join(reach) + "."))
        steps.append(("Need more room or help?", contact_html))
        steps.append(
            (
                "Try again after the next measurement.",
                f"Usage is measured again {self.settings.get('measure_every', 'every few minutes')}; "
                "once you are under the quota your server starts as usual. "
                "Nothing in your home has been deleted.",
            )
        )
        return self.refusal(
            "storage",
            "Your server cannot start: your home directory is over its storage quota",
            f"Your home directory uses {size(status.used)}; your quota is {size(status.quota)}"
            + (f" (measured {measured})." if measured else "."),
            steps,
            recovery=recovery,
        )

    def cost_cap_refusal(self, record: dict, contact: str = ""):
        since = when(record.get("since")) or "an unknown time"
        reason = record.get("reason") or "no reason given"
        contact_html = self._contact()
        if contact:
            ask = html.escape(contact.rstrip(".") + ".")
            if self.settings.get("contact_url"):
                ask += " " + contact_html
        else:
            ask = contact_html
        steps = [
            ("Your files are safe.", "Nothing in your home is changed, and servers already running go on."),
            ("Who can tell you more:", ask),
            ("Try again later.", "New servers start again as soon as the site's operators lift the pause."),
        ]
        return self.refusal(
            "cost-cap",
            "New servers are paused: the site has reached its spending limit",
            f"The site's cost cap has been on since {since} ({reason}).",
            steps,
        )

    def compute_quota_refusal(self, error):
        """The refusal for a spawn Kubernetes refused with 403 "exceeded quota"; None for any other error."""
        status = getattr(error, "status", None)
        body = str(getattr(error, "body", "") or "") + " " + str(getattr(error, "reason", "") or "")
        if status != 403 or "exceeded quota" not in body:
            return None
        contact_html = self._contact()
        detail = ""
        match = re.search(r"limited: ([a-z.]+)=", body)
        if match:
            names = {"limits.cpu": "processor cores", "requests.cpu": "processor cores", "pods": "servers"}
            what = names.get(match.group(1), "memory" if "memory" in match.group(1) else match.group(1))
            detail = f" (the limit on {what} in use at once)"
        steps = [
            ("Try a smaller environment,", "if one suits your work: it may fit in what is left."),
            (
                "Or try again in a few minutes.",
                "Idle servers are stopped after a while, which makes room. Your files are safe.",
            ),
            ("If this keeps happening:", contact_html),
        ]
        return self.refusal(
            "compute-quota",
            "Your server cannot start: the platform is full right now",
            f"All users' servers together have reached the site's compute limit{detail}.",
            steps,
        )

    def missing_image_refusal(self, environment: str):
        steps = [
            ("Choose another environment,", "if one suits your work: the others are not affected."),
            ("Your files are safe.", "Nothing in your home is changed."),
            ("Tell us if you need this one:", self._contact()),
        ]
        return self.refusal(
            "missing-image",
            f"Your server cannot start: the {environment} environment is not available",
            "Its software has not been published to the platform (or has been withdrawn), so a server with "
            "it would never start. The site's operators can see this refusal in the hub's log.",
            steps,
        )

    def explain_spawn_errors(self, spawner_class, after_profile=()):
        """A subclass of spawner_class whose start turns a Kubernetes "exceeded quota" into a refusal page,
        and which runs the after_profile checks (each `async check(spawner)`, raising a refusal) once
        KubeSpawner has applied the chosen profile (the image, the limits), before the pod is made."""
        import asyncio

        pages = self

        class ExplainedSpawner(spawner_class):
            async def load_user_options(self):
                await super().load_user_options()
                for check in after_profile:
                    await check(self)

            def start(self):
                started = super().start()

                async def explained():
                    try:
                        return await started
                    except Exception as error:
                        refusal = pages.compute_quota_refusal(error)
                        if refusal is None:
                            raise
                        self.log.warning("compute quota: refused %s's server: %s", self.user.name, error)
                        raise refusal from error

                return asyncio.ensure_future(explained())

        ExplainedSpawner.__name__ = spawner_class.__name__
        return ExplainedSpawner

    # --- the storage page -----------------------------------------------------------------------
    def history(self) -> list:
        """history.jsonl (beside usage.json) as [{date, homes}], cached by mtime; [] if unreadable."""
        if self.quota is None:
            return []
        path = self.quota.usage_file.parent / "history.jsonl"
        try:
            mtime = path.stat().st_mtime_ns
            if mtime != self._history["mtime"]:
                days = []
                for line in path.read_text().splitlines():
                    try:
                        day = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(day, dict) and isinstance(day.get("homes"), dict):
                        days.append(day)
                self._history.update(mtime=mtime, days=sorted(days, key=lambda d: str(d.get("date"))))
        except OSError:
            return []
        return self._history["days"]

    def storage_view(self, user) -> dict:
        """What the storage page shows for this user (all strings ready for people)."""
        size = sciplat_quota.format_size
        status = self.quota.status(user) if self.quota is not None else None
        home = self.quota.home(user) if self.quota is not None else None
        view = {"level": "unknown", "measured": "", "largest": [], "weeks": []}
        if status is None or status.used is None:
            view["quota"] = size(status.quota) if status is not None else ""
            return view
        percent = status.percent or 0.0
        view.update(
            level=status.level,
            used=size(status.used),
            quota=size(status.quota),
            percent=f"{percent:.0f}",
            bar=f"{min(percent, 100.0):.1f}",
            to_delete=size(status.to_delete),
            free=size(max(0, status.quota - status.used)),
            measured=when(status.measured_at),
            warn_percent=f"{self.quota.quotas.warn_percent:g}",
        )
        for name, used in (home or {}).get("largest", [])[:10]:
            view["largest"].append(
                {
                    "name": name + "/" if name else "Files directly in your home folder",
                    "size": size(used),
                    "share": f"{100.0 * used / status.used:.0f}" if status.used else "0",
                }
            )
        # Growth: the figure at the end of each of the last weeks, oldest first, and the change.
        name = self.quota.home_name(user)
        days = [(d["date"], d["homes"][name]) for d in self.history() if name in d["homes"]]
        # history.jsonl keeps each day's first figure: today's is the newest measurement.
        today = (status.measured_at or "")[:10]
        if today:
            days = [(day, used) for day, used in days if day != today] + [(today, status.used)]
        if days:
            last = datetime.date.fromisoformat(days[-1][0])
            weeks = []
            for back in range(WEEKS_SHOWN - 1, -1, -1):
                end = last - datetime.timedelta(days=7 * back)
                known = [used for day, used in days if datetime.date.fromisoformat(day) <= end]
                if known:
                    weeks.append((end, known[-1]))
            previous = None
            for end, used in weeks:
                change = ""
                if previous is not None:
                    delta = used - previous
                    change = ("+" if delta >= 0 else "-") + size(abs(delta))
                view["weeks"].append(
                    {
                        "end": end.isoformat(),
                        "size": size(used),
                        "change": change,
                        "bar": f"{min(100.0, 100.0 * used / status.quota):.1f}" if status.quota else "0",
                    }
                )
                previous = used
        return view

    # --- wiring ---------------------------------------------------------------------------------
    def template_vars(self) -> dict:
        return {
            "sciplat_storage_url": f"{self.hub_base}storage" if self.quota is not None else "",
            "sciplat_help_html": self._contact(),
            "sciplat_files_help": self.settings.get("files_help", ""),
            "sciplat_recovery_profile": self.settings.get("recovery_profile", ""),
        }

    def handlers(self) -> list:
        """The hub's extra handlers (mounted under the hub's prefix: /hub/storage, /hub/api/sciplat/quota)."""
        if self.quota is None:
            return []
        return [(r"/storage", self.storage_handler()), (r"/api/sciplat/quota", self.notice_handler())]

    def configure(self, c) -> None:
        """Templates first in the hub's search path, their variables, and the handlers."""
        c.JupyterHub.template_paths = [str(TEMPLATES)]
        c.JupyterHub.template_vars = self.template_vars()
        # The only way to add a page inside the hub (deprecated for services since 3.1; the hub logs
        # a warning at start): a service would need a token scope that servers' tokens lack.
        c.JupyterHub.extra_handlers = self.handlers()

    def storage_handler(self):
        from jupyterhub.handlers.base import BaseHandler
        from tornado import web

        pages = self

        class StoragePageHandler(BaseHandler):
            @web.authenticated
            async def get(self):
                user = self.current_user
                page = await self.render_template(
                    "sciplat_storage.html",
                    storage=pages.storage_view(user),
                    spawn_url=f"{self.hub.base_url}spawn/{user.escaped_name}",
                )
                self.finish(page)

        return StoragePageHandler

    def notice_handler(self):
        """GET /hub/api/sciplat/quota: the caller's own state, the notice and where the storage page is."""
        from jupyterhub.apihandlers.base import APIHandler
        from tornado import web

        pages = self

        class QuotaNoticeHandler(APIHandler):
            @web.authenticated
            def get(self):
                user = self.current_user
                status = pages.quota.status(user) if hasattr(user, "groups") else None
                body = {
                    "level": "unknown",
                    "message": "",
                    "notice": "",
                    "storage_url": f"{self.hub.base_url}storage",
                    "check_every_seconds": int(pages.settings.get("check_every_seconds", 300)),
                }
                if status is not None:
                    body.update(
                        level=status.level,
                        used=status.used,
                        quota=status.quota,
                        measured_at=status.measured_at,
                        message=pages.quota.message(user),
                        notice=short_notice(status),
                    )
                self.set_header("Cache-Control", "no-store")
                self.finish(json.dumps(body))

        return QuotaNoticeHandler

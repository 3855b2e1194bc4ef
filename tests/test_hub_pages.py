"""The users' pages of the hub (roles/jupyterhub/files/sciplat_pages.py, issue 21), without a hub.

The storage page's figures from a usage file and a daily history as home_usage writes them (with the
largest folders, which home_usage measures: checked here on a real tree), the JupyterLab notice's
short message, the Kubernetes "exceeded quota" refusal of the EKS backend, and the page templates
rendered with JupyterHub's own templates as the hub loads them. The browser test
(test_hub_quota_browser.py) shows the same on the local hub.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2
import jupyterhub
import pytest
from ansible_run import ROOT

FILES = ROOT / "roles" / "jupyterhub" / "files"
sys.path.insert(0, str(FILES))
sciplat_quota = importlib.import_module("sciplat_quota")
sciplat_pages = importlib.import_module("sciplat_pages")
MiB = 1024**2
SETTINGS = {
    "help_text": "The platform team answers within a day.",
    "contact_url": "https://help.example.org/hub",
    "contact_label": "Ask the platform team",
    "files_help": "",
    "recovery_profile": "",
    "check_every_seconds": 60,
}


def pages_for(tmp_path: Path, homes: dict, history: list | None = None) -> sciplat_pages.SitePages:
    usage = tmp_path / "usage.json"
    usage.write_text(json.dumps({"version": 1, "homes": homes}))
    if history is not None:
        (tmp_path / "history.jsonl").write_text("".join(json.dumps(line) + "\n" for line in history))
    quota = sciplat_quota.HubQuota(
        {"default": "50M", "users": {}, "groups": {}, "warn_percent": 90, "recovery_profile": "", "help": ""},
        usage,
        SimpleNamespace(warning=lambda *a: None),
    )
    return sciplat_pages.SitePages(SETTINGS, quota)


def user(name: str = "astro1") -> SimpleNamespace:
    return SimpleNamespace(name=name, groups=[], escaped_name=name)


def test_the_storage_page_figures_largest_folders_and_weekly_growth(tmp_path: Path) -> None:
    today = datetime.date(2026, 12, 5)
    history = [
        {"date": (today - datetime.timedelta(days=back)).isoformat(), "homes": {"astro1": (50 - back) * MiB}}
        for back in range(28, 0, -1)
    ]
    home = {
        "bytes": 47 * MiB,
        "measured_at": "2026-12-05T00:31:02Z",
        "largest": [["data", 40 * MiB], ["", 5 * MiB], ["notes", 2 * MiB]],
    }
    view = pages_for(tmp_path, {"astro1": home}, history).storage_view(user())
    assert (view["level"], view["used"], view["quota"], view["percent"]) == ("warn", "47 MiB", "50 MiB", "94")
    assert view["measured"] == "2026-12-05 00:31 UTC" and view["free"] == "3 MiB"
    assert [(f["name"], f["size"], f["share"]) for f in view["largest"]] == [
        ("data/", "40 MiB", "85"),
        ("Files directly in your home folder", "5 MiB", "11"),
        ("notes/", "2 MiB", "4"),
    ]
    # One row a week, oldest first, ending today with the newest measurement (not the day's first).
    assert [w["end"] for w in view["weeks"]] == [
        "2026-11-07",
        "2026-11-14",
        "2026-11-21",
        "2026-11-28",
        "2026-12-05",
    ]
    assert [w["size"] for w in view["weeks"]][-2:] == ["43 MiB", "47 MiB"]
    assert view["weeks"][0]["change"] == "" and view["weeks"][-1]["change"] == "+4 MiB"


def test_a_home_not_measured_yet_says_so(tmp_path: Path) -> None:
    view = pages_for(tmp_path, {}).storage_view(user())
    assert view["level"] == "unknown" and view["quota"] == "50 MiB" and not view["largest"]


@pytest.mark.parametrize(("used", "level"), [(47 * MiB, "warn"), (60 * MiB, "over"), (10 * MiB, "ok")])
def test_the_lab_notice_is_whole_and_short(tmp_path: Path, used: int, level: str) -> None:
    status = pages_for(tmp_path, {"astro1": {"bytes": used}}).quota.status(user())
    text = sciplat_pages.short_notice(status)
    assert status.level == level
    if level == "ok":
        assert text == ""
        return
    # JupyterLab's notifications show at most 140 characters: the whole message fits.
    assert 0 < len(text) <= sciplat_pages.NOTICE_MAX and not text.endswith("…"), text
    assert ("of your 50 MiB storage quota (94%)" if level == "warn" else "delete 10 MiB") in text


def test_a_kubernetes_exceeded_quota_becomes_a_refusal_page() -> None:
    pages = sciplat_pages.SitePages(SETTINGS)
    body = (
        '{"kind":"Status","message":"pods \\"jupyter-astro1\\" is forbidden: exceeded quota: user-quota, '
        'requested: limits.cpu=2, used: limits.cpu=63, limited: limits.cpu=64",'
        '"reason":"Forbidden","code":403}'
    )
    refusal = pages.compute_quota_refusal(SimpleNamespace(status=403, body=body, reason="Forbidden"))
    assert refusal.status_code == 403
    assert refusal.jupyterhub_message.startswith("Your server cannot start: the platform is full right now.")
    assert "(the limit on processor cores in use at once)" in refusal.jupyterhub_message
    assert (
        '<a href="https://help.example.org/hub">Ask the platform team</a>' in refusal.jupyterhub_html_message
    )
    assert pages.compute_quota_refusal(SimpleNamespace(status=403, body="forbidden: RBAC")) is None
    assert pages.compute_quota_refusal(ValueError("boom")) is None

    class ApiError(Exception):
        """kubernetes_asyncio's ApiException as KubeSpawner lets it through."""

        status = 403
        reason = "Forbidden"

    ApiError.body = body

    class Refused:
        """A spawner whose start fails as KubeSpawner's does when the API refuses the pod."""

        user = SimpleNamespace(name="astro1")
        log = SimpleNamespace(warning=lambda *a: None)

        def start(self):
            async def fail():
                raise ApiError()

            return asyncio.ensure_future(fail())

    spawner = pages.explain_spawn_errors(Refused)()

    async def start():
        return await spawner.start()

    with pytest.raises(Exception, match="the platform is full right now") as refused:
        asyncio.run(start())
    assert refused.value.jupyterhub_html_message.count("the platform is full right now") == 1


def test_home_usage_measures_the_largest_folders(tmp_path: Path) -> None:
    home = tmp_path / "homes" / "astro1"
    (home / "data" / "deep").mkdir(parents=True)
    (home / "notes").mkdir()
    (home / "data" / "deep" / "big.bin").write_bytes(b"x" * 300_000)
    (home / "notes" / "a.txt").write_bytes(b"x" * 40_000)
    script = ROOT / "roles" / "home_usage" / "files" / "home_usage.py"
    subprocess.run(
        [sys.executable, script, "measure", "--root", tmp_path / "homes"], check=True, capture_output=True
    )
    figures = json.loads((tmp_path / "homes" / ".sciplat-usage" / "usage.json").read_text())["homes"][
        "astro1"
    ]
    names = [name for name, _ in figures["largest"]]
    assert names[:2] == ["data", "notes"] and "" in names
    assert sum(size for _, size in figures["largest"]) == figures["bytes"]


def render(name: str, **variables) -> str:
    """A template as the hub renders it: ours first, JupyterHub's as templates/... behind them."""
    base = str(Path(jupyterhub.__file__).resolve().parents[4] / "share" / "jupyterhub" / "templates")
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({"templates": jinja2.FileSystemLoader([base])}, "/"),
            jinja2.FileSystemLoader([str(FILES / "sciplat_templates"), base]),
        ]
    )
    environment = jinja2.Environment(loader=loader, autoescape=True)
    environment.globals["static_url"] = lambda path, **_: "/hub/static/" + path
    return environment.get_template(name).render(base_url="/hub/", **variables)


def test_the_spawn_page_shows_a_refusal_instead_of_its_form_and_progress(tmp_path: Path) -> None:
    pages = pages_for(tmp_path, {"astro1": {"bytes": 60 * MiB, "measured_at": "2026-12-05T00:31:02Z"}})
    refusal = pages.storage_refusal(pages.quota.status(user()))
    hub_user = SimpleNamespace(name="astro1", spawner=SimpleNamespace(options_form=""), admin=False)
    common = {"user": hub_user, "parsed_scopes": set(), **pages.template_vars()}
    html = render(
        "spawn.html",
        error_message=refusal.jupyterhub_message,
        html_error_message=refusal.jupyterhub_html_message,
        spawner_options_form="<select id='profile'></select>",
        url="/hub/spawn/astro1",
        **common,
    )
    assert html.count("over its storage quota") == 1 and "Error:" not in html and "id='profile'" not in html
    assert ">Storage</a>" in html and "Try again" in html
    failed = render(
        "not_running.html",
        failed=True,
        failed_message=refusal.jupyterhub_message,
        failed_html_message=refusal.jupyterhub_html_message,
        spawn_url="/hub/spawn/astro1",
        **common,
    )
    assert failed.count("over its storage quota") == 1 and "Spawn failed" not in failed
    # Any other error keeps JupyterHub's own page.
    plain = render(
        "spawn.html", error_message="boom", spawner_options_form="<select id='profile'></select>", **common
    )
    assert "Error: boom" in plain and "id='profile'" in plain

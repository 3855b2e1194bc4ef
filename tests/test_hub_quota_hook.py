"""The single-node hub's storage-quota checks and the quota rules module (roles/jupyterhub/files).

The spawn checks are rendered with quotas on (tests/hub_config.py) over a real usage file written
the way the home_usage role writes it: over the quota a spawn is refused with the message the spawn
page shows, near it the spawn goes on with a warning, the recovery profile may start over quota, a
new measurement is read at the next spawn, and an unreadable file lets spawns through (logged).
The browser test (tests/test_hub_browser.py) covers the running hub.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest
from hub_config import ROLE_FILES, spawn_checks, spawner
from log_alarms import counted
from tornado import web

MiB = 1024**2
_spec = importlib.util.spec_from_file_location("sciplat_quota", ROLE_FILES / "sciplat_quota.py")
sciplat_quota = sys.modules.setdefault("sciplat_quota", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(sciplat_quota)


def write_usage(path: Path, **homes: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    measured = "2026-11-26T06:00:00Z"
    entries = {name: {"bytes": used, "files": 1, "measured_at": measured} for name, used in homes.items()}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"version": 1, "measured_at": measured, "homes": entries}))
    temporary.replace(path)  # a new inode and mtime, as the role's atomic write


def checks(usage: Path, recovery: str = "", help_text: str = "") -> dict:
    return spawn_checks(
        jupyterhub_quota_enabled=True,
        jupyterhub_quota_usage_file=str(usage),
        jupyterhub__quota_settings={
            "default": "100M",
            "users": {"astro9": "1G"},
            "groups": {"staff": "200M", "survey": "300M"},
            "warn_percent": 90,
            "recovery_profile": recovery,
            "help": help_text,
        },
        jupyterhub__pages_settings={
            "help_text": "The platform team answers within a day.",
            "contact_url": "mailto:help@example.org",
            "contact_label": "Write to the platform team",
            "files_help": help_text,
            "recovery_profile": recovery,
            "check_every_seconds": 300,
        },
    )


def test_over_quota_is_refused_with_what_to_delete_and_back_under_it_is_let_through(tmp_path: Path) -> None:
    usage = tmp_path / ".sciplat-usage" / "usage.json"
    write_usage(usage, astro1=130 * MiB)
    namespace = checks(usage, help_text="Download or delete files over SFTP at files.example.org.")
    hook = namespace["c"].Spawner.pre_spawn_hook
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(hook(spawner("astro1")))
    assert refused.value.status_code == 403
    message = refused.value.jupyterhub_message
    assert message.startswith("Your server cannot start: your home directory is over its storage quota.")
    assert (
        "Your home directory uses 130 MiB; your quota is 100 MiB (measured 2026-11-26 06:00 UTC)." in message
    )
    assert "Delete or move at least 30 MiB." in message
    assert "download or delete files over SFTP at files.example.org" in message
    assert "The platform team answers within a day. Write to the platform team (help@example.org)." in message
    assert "Try again after the next measurement." in message
    # The page the spawn page shows instead of its form: the reason once, the links.
    page = refused.value.jupyterhub_html_message
    assert 'data-sciplat-refusal="storage"' in page and page.count("over its storage quota") == 1
    assert '<a href="/hub/storage">' in page and '<a href="mailto:help@example.org">' in page

    write_usage(usage, astro1=40 * MiB)  # the user deleted files; the next measurement says so
    assert asyncio.run(hook(spawner("astro1"))) is None


def test_near_the_quota_the_spawn_goes_on_and_the_progress_warns(tmp_path: Path) -> None:
    usage = tmp_path / "usage.json"
    write_usage(usage, astro1=95 * MiB, astro2=10 * MiB)
    namespace = checks(usage)
    assert asyncio.run(namespace["c"].Spawner.pre_spawn_hook(spawner("astro1"))) is None
    warning = namespace["QUOTA"].message(spawner("astro1").user)
    assert warning.startswith("Your home directory uses 95 MiB of your 100 MiB quota (95%)")
    assert namespace["QUOTA"].message(spawner("astro2").user) == ""


def test_overrides_user_first_then_the_largest_group_then_the_default(tmp_path: Path) -> None:
    usage = tmp_path / "usage.json"
    write_usage(usage, astro1=250 * MiB, astro2=250 * MiB, astro9=250 * MiB)
    hook = checks(usage)["c"].Spawner.pre_spawn_hook
    assert asyncio.run(hook(spawner("astro1", groups=("staff", "survey")))) is None  # 300M: the larger group
    with pytest.raises(web.HTTPError, match="your quota is 200 MiB"):
        asyncio.run(hook(spawner("astro2", groups=("staff",))))
    assert asyncio.run(hook(spawner("astro9", groups=("staff",)))) is None  # own 1G wins


def test_the_recovery_profile_starts_over_quota_and_only_it(tmp_path: Path) -> None:
    usage = tmp_path / "usage.json"
    write_usage(usage, astro1=500 * MiB)
    hook = checks(usage, recovery="cleanup")["c"].Spawner.pre_spawn_hook
    assert asyncio.run(hook(spawner("astro1", profile="cleanup"))) is None
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(hook(spawner("astro1", profile="python")))
    message = refused.value.jupyterhub_message
    assert "start the 'cleanup' environment below: it starts even over the quota" in message
    assert 'data-sciplat-recovery="cleanup"' in refused.value.jupyterhub_html_message


def test_no_measurement_yet_lets_the_spawn_through_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    usage = tmp_path / "usage.json"
    hook = checks(usage)["c"].Spawner.pre_spawn_hook
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        assert asyncio.run(hook(spawner("astro1"))) is None  # no file at all
    assert f"storage quota: cannot read {usage}" in caplog.text
    assert len(counted("hub-fail-open", caplog.text)) == 1  # the operators' alarm counts it
    usage.write_text("{not json")
    assert asyncio.run(hook(spawner("astro1"))) is None
    write_usage(usage, astro2=1)
    assert asyncio.run(hook(spawner("astro1"))) is None  # astro1's home not measured yet


@pytest.mark.parametrize(
    ("text", "size"),
    [("500M", 500 * MiB), ("10G", 10 * 1024 * MiB), ("1.5T", int(1.5 * 1024**4)), ("64K", 65536)],
)
def test_sizes_are_binary_units(text: str, size: int) -> None:
    assert sciplat_quota.parse_size(text) == size


@pytest.mark.parametrize("text", ["10", "10GB", "ten", "-1G", "", True, "1,5G"])
def test_a_size_that_is_not_one_names_the_accepted_forms(text: object) -> None:
    with pytest.raises(ValueError, match="is not a size: use a number and a unit K, M, G or T"):
        sciplat_quota.parse_size(text)


@pytest.mark.parametrize("percent", [-1, 101, 250])
def test_a_threshold_outside_0_to_100_is_refused(percent: int) -> None:
    with pytest.raises(ValueError, match="from 0 to 100"):
        sciplat_quota.Quotas("10G", warn_percent=percent)


def test_sizes_for_people_round_up() -> None:
    assert [sciplat_quota.format_size(n) for n in (512, 1536, 30 * MiB + 1, 3 * 1024**3)] == [
        "512 B",
        "1.5 KiB",
        "30.1 MiB",
        "3 GiB",
    ]

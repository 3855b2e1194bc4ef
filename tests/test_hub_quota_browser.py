"""Storage quotas on the local single-node hub, in a real browser (marker `browser`; issue 8).

Needs the local hub (`make demo`); `make browser` runs it. astro1's quota is the local site's
default (50M, inventories/local/group_vars/all/hub.yml). Real files are written into astro1's home
on the hub host and the real measurement runs (the home_usage role's systemd service); then:
- over the quota, the start is refused on the spawn page with the usage, the quota, how much to
  delete and how to reach the files, and no server runs (docs/img/hub-quota-refused.png);
- after deleting and a new measurement, the next start is allowed; near the quota (over 90%) it
  starts and JupyterLab shows the warning as a notification (docs/img/hub-quota-warning.png).
"""

from __future__ import annotations

import subprocess

import pytest
from hub_browser import (
    ROOT,
    STATE_DIR,
    LocalHub,
    browser_available,
    chromium,
    log_in,
    submit_spawn_form,
    waiter,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser_available(), reason="needs chromium and chromium-driver (make host-deps)"),
]

USER = "astro1"
QUOTA_MIB = 50
FILLER = f"/home/{USER}/quota-filler.bin"


def on_hub(*command: str) -> str:
    from machines.machine import Machine

    result = subprocess.run(
        Machine("hub", STATE_DIR).ssh_argv(*command), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


def fill_home(mebibytes: int) -> None:
    """Write real data into the user's home, as the user (dd from /dev/urandom: no sparse blocks)."""
    on_hub("rm", "-f", FILLER)
    if mebibytes:
        on_hub(
            "runuser",
            "-u",
            USER,
            "--",
            "dd",
            "if=/dev/urandom",
            f"of={FILLER}",
            "bs=1M",
            f"count={mebibytes}",
        )


def measure() -> None:
    """The home_usage role's measurement, run now instead of at the timer's next tick."""
    on_hub("systemctl", "start", "sciplat-home-usage.service")


def body_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def test_over_quota_is_refused_with_the_way_out_and_back_under_it_starts_with_a_warning() -> None:
    hub = LocalHub.find()
    hub.stop_server(USER)
    (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
    try:
        fill_home(QUOTA_MIB + 10)
        measure()
        with chromium() as driver:
            wait = waiter(driver, 120)
            log_in(driver, hub, USER)
            assert "/hub/spawn" in driver.current_url, driver.current_url
            submit_spawn_form(driver, hub, USER)
            wait.until(lambda d: "over your 50 MiB quota" in body_text(d))
            page = body_text(driver)
            assert "Your home directory uses 60." in page or "Your home directory uses 61" in page, page
            assert "New servers will not start until you delete at least 10" in page, page
            assert "ask the local site's operators" in page, page
            driver.save_screenshot(str(ROOT / "docs" / "img" / "hub-quota-refused.png"))
            assert hub.api("GET", f"/users/{USER}")[1].get("servers") == {}

            # Deleted (here by the operators, as the message offers), measured again: near the
            # quota (about 94%), the start goes on and JupyterLab warns.
            fill_home(QUOTA_MIB - 3)
            measure()
            submit_spawn_form(driver, hub, USER)
            wait.until(expected_conditions.presence_of_element_located((By.ID, "jp-main-dock-panel")))
            assert f"/user/{USER}/lab" in driver.current_url and hub.server_ready(USER)
            wait.until(lambda d: "of your 50 MiB quota" in body_text(d))
            assert "Above the quota, new servers will not start" in body_text(driver)
            driver.save_screenshot(str(ROOT / "docs" / "img" / "hub-quota-warning.png"))
    finally:
        hub.stop_server(USER)
        fill_home(0)
        measure()

"""A user's first minutes on the local single-node hub, in a real browser (marker `browser`).

Needs the local hub (`make demo`); `make browser` runs it. Logs in as astro2 with the dummy
password, starts the default profile, sees JupyterLab, finds the demo notebook placed in the new
home, opens a fresh notebook (no outputs), runs its cell in the profile's kernel, reads the output.
Saves docs/img/hub-single-node-lab.png.

The cost cap (issue 6): with the cap on (the real `runbook run cost-cap on` procedure, which writes
/sciplat/local/cost-cap in the emulator and scales the user node group), astro1's start is refused on
the spawn page with the cap's message and no server runs; after `off` the next start reaches
JupyterLab. Saves docs/img/hub-single-node-cost-cap.png.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_browser import (
    ROOT,
    LocalHub,
    browser_available,
    chromium,
    log_in,
    log_in_to_lab,
    run_notebook_cell,
    submit_spawn_form,
    waiter,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from runbooks import aws
from runbooks.site import load_site

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser_available(), reason="needs chromium and chromium-driver (make host-deps)"),
]

USER = "astro2"


def test_log_in_start_lab_and_run_the_demo_notebook() -> None:
    hub = LocalHub.find()
    hub.stop_server(USER)
    try:
        with chromium() as driver:
            log_in_to_lab(driver, hub, USER)
            assert f"/user/{USER}/lab" in driver.current_url
            assert hub.server_ready(USER)
            # The demo notebook was placed in the new home; a fresh notebook (no outputs) is run.
            assert "demo.ipynb" in hub.home_files(USER)
            name = f"browser-check-{secrets.token_hex(4)}.ipynb"
            hub.put_notebook(
                USER,
                name,
                "import os, platform, sys\n"
                "print(40 + 2, platform.python_version(), os.environ['SCIPLAT_PROFILE'], sys.prefix)",
            )
            output = run_notebook_cell(driver, hub, USER, name)
            assert output.split() == ["42", "3.11.2", "python", "/opt/jupyterhub/profiles/python"], output
            (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ROOT / "docs" / "img" / "hub-single-node-lab.png"))
            hub.delete_file(USER, name)
    finally:
        hub.stop_server(USER)


CAP_USER = "astro1"
CAP_PARAMETER = "/sciplat/local/cost-cap"
CAP_REASON = f"browser test {secrets.token_hex(3)}"
# The hub reuses a reading of the parameter for 5 s (CostCap.cache_seconds, files/sciplat_costcap.py).
CAP_CACHE_SECONDS = 5


def runbook(*args: str) -> subprocess.CompletedProcess[str]:
    """The operators' CLI, as they run it (the emulator's endpoint comes from the local inventory)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "runbook"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"EMULATOR_STATE_DIR": str(ROOT / ".emulator"), **os.environ},
    )


def lift_the_cap() -> None:
    """Turn the cap off (the procedure restores the node groups); delete the parameter whatever happens."""
    if runbook("cost-cap", "--site", "local").stdout.strip() != "cost cap: off":
        runbook("run", "cost-cap", "off", "--site", "local", "--apply", "--yes")
    site = load_site("local")
    ssm = aws.client(site, "ssm")
    with contextlib.suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=CAP_PARAMETER)


def test_the_cost_cap_refuses_new_servers_until_it_is_lifted() -> None:
    hub = LocalHub.find()
    hub.stop_server(CAP_USER)
    try:
        on = runbook("run", "cost-cap", "on", "--site", "local", "--apply", "--yes", "--reason", CAP_REASON)
        assert on.returncode == 0, on.stdout + on.stderr
        status = runbook("cost-cap", "--site", "local").stdout
        assert status.startswith("cost cap: ON since") and f"({CAP_REASON})" in status, status
        time.sleep(CAP_CACHE_SECONDS + 1)  # a reading from before the cap has expired
        with chromium() as driver:
            wait = waiter(driver, 60)
            log_in(driver, hub, CAP_USER, 60)
            assert "/hub/spawn" in driver.current_url, driver.current_url
            submit_spawn_form(driver, hub, CAP_USER)
            # The refusal: the error page (a fast refusal) or the spawn-pending page's failure line.
            wait.until(lambda d: "New servers are paused" in d.find_element(By.TAG_NAME, "body").text)
            page = driver.find_element(By.TAG_NAME, "body").text
            # One page (issue 21): why, what to do, whom to ask, when to try again; once, no commands.
            assert page.count("New servers are paused: the site has reached its spending limit") == 1, page
            assert "The site's cost cap has been on since" in page, page
            assert f"({CAP_REASON})" in page and "Your files are safe." in page, page
            assert "Who can tell you more: the local site's operators." in page, page
            assert "Try again later." in page, page
            for absent in ("runbook", "Error:", "starting up", "Server Options"):
                assert absent not in page, (absent, page)
            (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ROOT / "docs" / "img" / "hub-single-node-cost-cap.png"))
            # No server runs, nor is one pending.
            assert hub.api("GET", f"/users/{CAP_USER}")[1].get("servers") == {}

            off = runbook("run", "cost-cap", "off", "--site", "local", "--apply", "--yes")
            assert off.returncode == 0, off.stdout + off.stderr
            assert runbook("cost-cap", "--site", "local").stdout.strip() == "cost cap: off"
            time.sleep(CAP_CACHE_SECONDS + 1)
            submit_spawn_form(driver, hub, CAP_USER)
            waiter(driver, 120).until(
                expected_conditions.presence_of_element_located((By.ID, "jp-main-dock-panel"))
            )
            assert f"/user/{CAP_USER}/lab" in driver.current_url
            assert hub.server_ready(CAP_USER)
    finally:
        lift_the_cap()
        hub.stop_server(CAP_USER)

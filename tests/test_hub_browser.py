"""A user's first minutes on the local single-node hub, in a real browser (marker `browser`).

Needs the local hub (`make demo`); `make browser` runs it. Logs in as astro2 with the dummy
password, starts the default profile, sees JupyterLab, opens the demo notebook that was placed in
the new home, runs its cell and reads the output. Saves docs/img/hub-single-node-lab.png.
"""

from __future__ import annotations

import pytest
from hub_browser import ROOT, LocalHub, browser_available, chromium, log_in_to_lab, run_demo_cell

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
            output = run_demo_cell(driver, hub, USER)
            assert "Python 3.11" in output
            assert f"profile python, home /home/{USER}" in output
            (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ROOT / "docs" / "img" / "hub-single-node-lab.png"))
    finally:
        hub.stop_server(USER)

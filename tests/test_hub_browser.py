"""A user's first minutes on the local single-node hub, in a real browser (marker `browser`).

Needs the local hub (`make demo`); `make browser` runs it. Logs in as astro2 with the dummy
password, starts the default profile, sees JupyterLab, finds the demo notebook placed in the new
home, opens a fresh notebook (no outputs), runs its cell in the profile's kernel, reads the output.
Saves docs/img/hub-single-node-lab.png.
"""

from __future__ import annotations

import secrets

import pytest
from hub_browser import ROOT, LocalHub, browser_available, chromium, log_in_to_lab, run_notebook_cell

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

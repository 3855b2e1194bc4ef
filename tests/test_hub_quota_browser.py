"""What a scientist sees of the storage quota on the local single-node hub, in a real browser
(marker `browser`; issues 8 and 21).

Needs the local hub (`make demo`); `make browser` runs it. astro1's quota is the local site's
default (50M, inventories/local/group_vars/all/hub.yml). Real files are written into astro1's home
on the hub host and the real measurement runs (the home_usage role's systemd service); then:
- over the quota, the start is refused with one page (why, how much to delete, where the files are,
  whom to ask, when to try again; no progress bar, no "starting up", the message once), readable at
  1280x720 and at a phone's width, its links reachable with the keyboard
  (docs/img/hub-quota-refused.png, hub-quota-refused-phone.png);
- the storage page shows the usage and quota with a bar, when measured, the largest folders and the
  growth over past weeks, in the light and the dark theme and at a phone's width (hub-storage-page.png,
  hub-storage-page-dark.png, hub-storage-page-phone.png);
- near the quota the start goes on and JupyterLab shows the whole warning as a notification with
  "Open storage page" (hub-quota-warning.png); past the quota while JupyterLab stays open, the
  notification shows again at the new level (hub-quota-notice-over.png).
"""

from __future__ import annotations

import datetime
import json
import subprocess

import pytest
from hub_browser import (
    ROOT,
    STATE_DIR,
    LocalHub,
    body_text,
    browser_available,
    chromium,
    log_in,
    notice,
    open_from_notice,
    submit_spawn_form,
    waiter,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser_available(), reason="needs chromium and chromium-driver (make host-deps)"),
]

USER = "astro1"
QUOTA_MIB = 50
FILLER_DIR = f"/home/{USER}/observations"
FILLER = f"{FILLER_DIR}/quota-filler.bin"
HISTORY = "/home/.sciplat-usage/history.jsonl"
IMG = ROOT / "docs" / "img"


def on_hub(*command: str, stdin: str | None = None) -> str:
    from machines.machine import Machine

    result = subprocess.run(
        Machine("hub", STATE_DIR).ssh_argv(*command),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


def fill_home(mebibytes: int) -> None:
    """Write real data into a folder of the user's home, as the user (from /dev/urandom: no sparse blocks)."""
    on_hub("rm", "-f", FILLER)
    if mebibytes:
        on_hub("runuser", "-u", USER, "--", "mkdir", "-p", FILLER_DIR)
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


def seed_history() -> str:
    """Daily figures of the past seven weeks, as the measurement writes them; returns the file as it was."""
    before = on_hub("cat", HISTORY)
    today = datetime.datetime.now(datetime.UTC).date()
    lines = [json.loads(line) for line in before.splitlines() if line.strip()]
    known = {line["date"] for line in lines}
    for back in range(49, 0, -7):
        day = (today - datetime.timedelta(days=back)).isoformat()
        if day not in known:
            lines.append({"date": day, "homes": {USER: (2 + (49 - back) // 7 * 7) * 1024**2}})
    lines.sort(key=lambda line: line["date"])
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    on_hub("sh", "-c", f"cat > {HISTORY}.tmp && mv {HISTORY}.tmp {HISTORY}", stdin=text)
    return before


def tab_to(driver, text: str, presses: int = 30) -> bool:
    """Press Tab until the focused element's text is `text` (keyboard reachability)."""
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(presses):
        body.send_keys(Keys.TAB)
        if driver.switch_to.active_element.text.strip() == text:
            return True
    return False


def test_refusal_storage_page_and_lab_notice_as_a_scientist_sees_them() -> None:
    hub = LocalHub.find()
    hub.stop_server(USER)
    IMG.mkdir(parents=True, exist_ok=True)
    history = None
    try:
        fill_home(QUOTA_MIB + 10)
        measure()
        history = seed_history()
        with chromium() as driver:
            driver.set_window_size(1280, 720)
            wait = waiter(driver, 120)
            log_in(driver, hub, USER)
            assert "/hub/spawn" in driver.current_url, driver.current_url
            submit_spawn_form(driver, hub, USER)

            # The refusal: one page, the reason once, what to do; no form, no progress, no operator talk.
            wait.until(lambda d: "over its storage quota" in body_text(d))
            page = body_text(driver)
            assert page.count("over its storage quota") == 1, page
            assert "Your server cannot start: your home directory is over its storage quota" in page, page
            assert "Your home directory uses 60" in page and "your quota is 50 MiB (measured 20" in page, page
            assert "Delete or move at least 10" in page, page
            assert "the local site's operators can copy your files out of your home for you" in page, page
            assert "Write to the local site's operators" in page and "within one working day" in page, page
            assert "Try again after the next measurement." in page, page
            for absent in ("starting up", "Error:", "Spawn failed", "runbook", "<you>", "Server Options"):
                assert absent not in page, (absent, page)
            assert not driver.find_elements(By.CSS_SELECTOR, ".progress, #spawn_form"), (
                "a progress bar or form"
            )
            assert hub.api("GET", f"/users/{USER}")[1].get("servers") == {}
            driver.save_screenshot(str(IMG / "hub-quota-refused.png"))
            # The progress page of that refused start (where a slow refusal lands, e.g. Kubernetes'
            # "exceeded quota" on EKS) shows the same page, not "Spawn failed" with a red bar.
            driver.get(f"{hub.url}/hub/spawn-pending/{USER}")
            wait.until(lambda d: "over its storage quota" in body_text(d))
            pending = body_text(driver)
            assert pending.count("over its storage quota") == 1 and "Delete or move at least 10" in pending
            for absent in ("Spawn failed", "starting up", "Relaunch"):
                assert absent not in pending, (absent, pending)
            driver.find_element(By.LINK_TEXT, "Try again").click()
            wait.until(lambda d: "/hub/spawn/" in d.current_url)
            submit_spawn_form(driver, hub, USER)
            wait.until(lambda d: "over its storage quota" in body_text(d))
            assert tab_to(driver, "Try again") and tab_to(driver, "Open storage page")
            driver.set_window_size(390, 844)
            headline = driver.find_element(By.ID, "sciplat-refusal-title")
            assert headline.size["width"] <= 390 and driver.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth"
            ), "the page is wider than a phone"
            driver.save_screenshot(str(IMG / "hub-quota-refused-phone.png"))
            driver.set_window_size(1280, 720)

            # The storage page, from the refusal's link: usage, bar, when, largest folders, growth.
            driver.find_element(By.LINK_TEXT, "Open storage page").click()
            wait.until(lambda d: "Your storage" in body_text(d))
            page = body_text(driver)
            assert "Your home directory uses 60" in page and "of your 50 MiB quota (12" in page, page
            assert (
                "Over your quota: new servers will not start until you delete or move at least 10" in page
            ), page
            assert "Measured 20" in page and " UTC." in page, page
            assert "observations/" in page, page
            assert "Growth over the past weeks" in page and "Week ending" in page, page
            assert len(driver.find_elements(By.CSS_SELECTOR, "#growth-title + div tbody tr")) >= 7
            bar = driver.find_element(By.CSS_SELECTOR, ".sciplat-bar")
            assert bar.get_attribute("role") == "progressbar" and "(12" in bar.get_attribute("aria-valuetext")
            driver.set_window_size(1280, 1400)  # the whole page in one picture for the docs
            driver.save_screenshot(str(IMG / "hub-storage-page.png"))
            driver.execute_script("document.documentElement.setAttribute('data-bs-theme', 'dark')")
            driver.save_screenshot(str(IMG / "hub-storage-page-dark.png"))
            driver.set_window_size(1280, 720)
            color = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
            assert color not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), color
            driver.execute_script("document.documentElement.setAttribute('data-bs-theme', 'light')")
            driver.set_window_size(390, 844)
            assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
            driver.save_screenshot(str(IMG / "hub-storage-page-phone.png"))
            driver.set_window_size(1280, 720)

            # The home page links to it.
            driver.get(f"{hub.url}/hub/home")
            assert "open your storage page" in body_text(driver)

            # Near the quota (about 94%): the server starts and JupyterLab shows the whole warning.
            fill_home(QUOTA_MIB - 3)
            measure()
            submit_spawn_form(driver, hub, USER)
            wait.until(expected_conditions.presence_of_element_located((By.ID, "jp-main-dock-panel")))
            assert f"/user/{USER}/lab" in driver.current_url and hub.server_ready(USER)
            wait.until(lambda d: "of your 50 MiB storage quota" in body_text(d))
            _, toast = notice(driver, "of your 50 MiB storage quota")
            assert (
                "Your home uses 47" in toast and "(94%). Over the quota, new servers will not start." in toast
            )
            assert "…" not in toast and "Open storage page" in toast and "Ignore" not in toast, toast
            wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".jp-Launcher")))
            driver.save_screenshot(str(IMG / "hub-quota-warning.png"))

            # Over the quota while JupyterLab stays open: the notice shows again, at the new level.
            fill_home(QUOTA_MIB + 10)
            measure()
            waiter(driver, 60).until(lambda d: "or your next server will not start" in body_text(d))
            _, toast = notice(driver, "next server")
            assert "over your 50 MiB quota: delete 10" in toast and "Open storage page" in toast, toast
            driver.save_screenshot(str(IMG / "hub-quota-notice-over.png"))
            # This notice's own button: the earlier warning's may still be on the page, closing.
            driver.switch_to.window(open_from_notice(driver, "next server", "Open storage page"))
            wait.until(lambda d: "Your storage" in body_text(d))
    finally:
        hub.stop_server(USER)
        fill_home(0)
        if history is not None:
            on_hub("sh", "-c", f"cat > {HISTORY}.tmp && mv {HISTORY}.tmp {HISTORY}", stdin=history)
        measure()

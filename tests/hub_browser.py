"""Drive the local sites' hubs in headless Debian chromium (selenium + chromedriver).

Shared by tests/test_hub_browser.py (marker `browser`) and bench/hub.py. The single-node hub is the
one `make demo` converged on the local `hub` machine (docs/hosts.md); its port is read from the
machine's config.json, its operators' API token over SSH. The local EKS site's hub (`make demo
SITE=local-eks`) is found at its inventory's public URL, with a token the user asks for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("MACHINES_STATE_DIR", ROOT / ".machines"))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The local site's demo users and password (inventories/local/group_vars/all/hub.yml).
PASSWORD = "sciplat-demo"
# A JupyterLab notification (the storage notice): its toast, in JupyterLab 4's two toast libraries' classes.
NOTICE = ".jp-Notification-Toast-Container, .Toastify__toast"


@dataclass
class LocalHub:
    url: str
    token: str

    @classmethod
    def find(cls) -> LocalHub:
        from machines.machine import Machine

        machine = Machine("hub", STATE_DIR)
        if not machine.running():
            raise RuntimeError("the local hub machine is not running: run `make demo` first")
        port = machine.config()["ports"]["http"]
        token = subprocess.run(
            machine.ssh_argv("cat", "/var/lib/jupyterhub/ops_api_token"),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return cls(f"http://127.0.0.1:{port}", token)

    @classmethod
    def find_eks(cls, user: str, site: str = "local-eks") -> LocalHub:
        """The local EKS site's hub (`make demo SITE=local-eks`): its public URL from the inventory, and
        a token the user asks for (see ``for_user``). The chart's hub has no operators' token to read,
        unlike the single-node host."""
        from runbooks.site import load_site

        url = str(load_site(site).var("jupyterhub_eks_public_url")).rstrip("/")
        try:
            return cls.for_user(url, user)
        except ConnectionError as error:
            raise RuntimeError(
                f"the {site} hub does not answer at {url}: run `make demo SITE={site}` first"
            ) from error

    @classmethod
    def for_user(cls, url: str, user: str) -> LocalHub:
        """The hub at ``url`` with a token the user asks for after logging in with the dummy password
        (the token acts for that user: their own server and its files)."""
        import requests

        session = requests.Session()
        try:
            session.get(f"{url}/hub/login", timeout=30)
        except requests.ConnectionError as error:
            raise ConnectionError(f"the hub does not answer at {url}") from error
        xsrf = session.cookies.get("_xsrf")
        session.post(
            f"{url}/hub/login", data={"username": user, "password": PASSWORD, "_xsrf": xsrf}, timeout=30
        ).raise_for_status()
        answer = session.post(
            f"{url}/hub/api/users/{user}/tokens",
            json={"note": "tests/hub_browser.py", "expires_in": 3600},
            # The hub's own: a running server the login led to sets another _xsrf under /user/<name>/.
            headers={"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/") or xsrf},
            timeout=30,
        )
        answer.raise_for_status()
        return cls(url, answer.json()["token"])

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}

    def put_notebook(self, user: str, name: str, source: str, kernel: str = "python3") -> None:
        """Write a one-cell notebook (no outputs) into the user's home through their server, for the
        server's kernel named ``kernel`` (a science environment's, e.g. hst-2026.11)."""
        notebook = {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": {},
                    "outputs": [],
                    "source": source,
                }
            ],
            "metadata": {
                "kernelspec": {
                    "display_name": "Python 3" if kernel == "python3" else kernel,
                    "language": "python",
                    "name": kernel,
                }
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        request = urllib.request.Request(
            f"{self.url}/user/{user}/api/contents/{name}",
            method="PUT",
            data=json.dumps({"type": "notebook", "format": "json", "content": notebook}).encode(),
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status in (200, 201)

    def delete_file(self, user: str, name: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/user/{user}/api/contents/{name}",
            method="DELETE",
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 204

    def home_files(self, user: str) -> list[str]:
        request = urllib.request.Request(
            f"{self.url}/user/{user}/api/contents/", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return [item["name"] for item in json.loads(response.read())["content"]]

    def server_ready(self, user: str) -> bool:
        return bool(self.api("GET", f"/users/{user}")[1].get("servers", {}).get("", {}).get("ready"))

    def stop_server(self, user: str, timeout: float = 60) -> None:
        """Stop the user's server (if any) and wait until the hub has no server for them."""
        try:
            self.api("DELETE", f"/users/{user}/server")
        except urllib.error.HTTPError as error:
            if error.code not in (400, 404):
                raise
        deadline = time.monotonic() + timeout
        while self.api("GET", f"/users/{user}")[1].get("servers"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{user}'s server did not stop in {timeout:.0f} s")
            time.sleep(0.5)

    def spawn_seconds(self, user: str, timeout: float = 120) -> float:
        """Start the user's server through the REST API; seconds until the hub reports it ready."""
        started = time.monotonic()
        self.api("POST", f"/users/{user}/server", {})
        while not self.server_ready(user):
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{user}'s server was not ready in {timeout:.0f} s")
            time.sleep(0.2)
        return time.monotonic() - started


def body_text(driver: WebDriver) -> str:
    """What a person reads on the page."""
    return driver.find_element(By.TAG_NAME, "body").text


def waiter(driver: WebDriver, timeout: float) -> WebDriverWait:
    """A wait that reads again when the page changed under it (a redirect between a find and a read)."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def notice(driver: WebDriver, containing: str, timeout: float = 10) -> tuple[WebElement, str]:
    """The innermost JupyterLab notification whose text holds `containing`, and that text.

    A container around every toast matches NOTICE too, and an earlier toast may be closing (leaving
    the page) while it is read: element and text are taken in one script, again if the page changed.
    """
    script = (
        "const found = [...document.querySelectorAll(arguments[0])]"
        ".filter(e => e.innerText.includes(arguments[1]))"
        ".sort((a, b) => a.innerText.length - b.innerText.length);"
        "return found.length ? [found[0], found[0].innerText] : null;"
    )
    element, text = waiter(driver, timeout).until(lambda d: d.execute_script(script, NOTICE, containing))
    return element, text


def open_from_notice(driver: WebDriver, containing: str, label: str, timeout: float = 60) -> str:
    """Click the button `label` of the notification holding `containing` until it opens a new tab, as a
    person clicks again when nothing happened; the new tab's handle.

    The button is clicked once the notification stops moving (one sliding in takes a click on its frame,
    not its button), found again whenever it was drawn anew under the click; a click that lands while
    JupyterLab redraws the notification opens nothing (CI saw it), so each click gets 10 s to open a tab.
    """
    before = set(driver.window_handles)

    def clicked(d: WebDriver) -> bool:
        element, _ = notice(d, containing)
        element.find_element(By.XPATH, f".//button[normalize-space()='{label}']").click()
        return True

    def opened(d: WebDriver) -> list[str]:
        return [handle for handle in d.window_handles if handle not in before]

    deadline = time.monotonic() + timeout
    while True:
        WebDriverWait(
            driver, 10, ignored_exceptions=(ElementClickInterceptedException, StaleElementReferenceException)
        ).until(clicked)
        try:
            return WebDriverWait(driver, 10).until(opened)[0]
        except TimeoutException:
            if time.monotonic() > deadline:
                raise


def browser_available() -> bool:
    return shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Headless chromium as root on loopback, with a fresh profile directory."""
    with tempfile.TemporaryDirectory(prefix="sciplat-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,900",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            yield driver
        finally:
            driver.quit()


def log_in(driver: WebDriver, hub: LocalHub, user: str, timeout: float = 120) -> None:
    """Log in with the dummy password; returns on the spawn page (or the user's running server)."""
    wait = waiter(driver, timeout)
    driver.get(f"{hub.url}/hub/login")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "username_input"))).send_keys(user)
    driver.find_element(By.ID, "password_input").send_keys(PASSWORD)
    driver.find_element(By.ID, "login_submit").click()
    wait.until(lambda d: "/hub/spawn" in d.current_url or "/user/" in d.current_url)


def submit_spawn_form(driver: WebDriver, hub: LocalHub, user: str, profile: str | None = None) -> None:
    """Open the user's spawn page and start a profile: the preselected (default) one, or the one whose
    slug is ``profile``."""
    driver.get(f"{hub.url}/hub/spawn/{user}")
    # The profiles: the single-node hub's select, KubeSpawner's radio list.
    choices = (By.CSS_SELECTOR, "form select[name=profile], form input[type=radio][name=profile]")
    waiter(driver, 60).until(expected_conditions.presence_of_element_located(choices))
    if profile is not None:
        choose_profile(driver, profile)
    driver.find_element(By.CSS_SELECTOR, "form input[type=submit], form button[type=submit]").click()


def choose_profile(driver: WebDriver, slug: str) -> None:
    """Choose the profile ``slug`` on the spawn form, as a user does: click its entry in KubeSpawner's
    radio list (the whole entry is the radio's label), or pick it in the single-node hub's select."""
    radios = driver.find_elements(By.CSS_SELECTOR, f"form input[type=radio][name=profile][value='{slug}']")
    if radios:
        radios[0].find_element(By.XPATH, "ancestor::label").click()
        if not radios[0].is_selected():
            raise AssertionError(f"clicking the {slug} profile's entry did not choose it")
        return
    Select(driver.find_element(By.CSS_SELECTOR, "form select[name=profile]")).select_by_value(slug)


def refusal_text(driver: WebDriver, kind: str, timeout: float = 60) -> str:
    """Wait for the hub's refusal page of ``kind`` (sciplat_pages.py: storage, compute-quota, cost-cap,
    missing-image) and return the page's visible text."""
    refusal = (By.CSS_SELECTOR, f"[data-sciplat-refusal='{kind}']")
    waiter(driver, timeout).until(expected_conditions.visibility_of_element_located(refusal))
    return str(driver.find_element(By.TAG_NAME, "body").text)


def log_in_to_lab(driver: WebDriver, hub: LocalHub, user: str, timeout: float = 120) -> float:
    """Log in with the dummy password, start the default profile; seconds until JupyterLab shows."""
    wait = waiter(driver, timeout)
    started = time.monotonic()
    log_in(driver, hub, user, timeout)
    # The spawn page offers the profiles (the default preselected: the single-node hub's select, KubeSpawner's
    # radio list); a running server skips it.
    if "/hub/spawn" in driver.current_url:
        driver.find_element(By.CSS_SELECTOR, "form input[type=submit], form button[type=submit]").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "jp-main-dock-panel")))
    return time.monotonic() - started


def run_notebook_cell(driver: WebDriver, hub: LocalHub, user: str, name: str, timeout: float = 120) -> str:
    """Open notebook `name` in JupyterLab, run its first cell, return the cell's output text."""
    wait = waiter(driver, timeout)
    # ?reset: a fresh workspace, so that only this notebook is open; selectors stay within its
    # (visible) panel anyway, as JupyterLab keeps other tabs' panels in the page, hidden.
    driver.get(f"{hub.url}/user/{user}/lab/tree/{name}?reset")
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    prompt = (By.CSS_SELECTOR, f"{panel} .jp-CodeCell .jp-InputPrompt")
    run_button = "[data-command='notebook:run-cell-and-select-next']"
    run = (By.CSS_SELECTOR, f"{panel} .jp-NotebookPanel-toolbar {run_button}")
    outputs = (By.CSS_SELECTOR, f"{panel} .jp-CodeCell .jp-OutputArea-output")
    # Wait for the kernel (the notebook's execution indicator says idle), select the cell, run it.
    idle = f"{panel} .jp-Notebook-ExecutionIndicator[data-status='idle']"
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, idle))
    # A run asked for while the kernel's connection is still being set up can be dropped: ask
    # again (running this cell twice is harmless) until an output shows or the deadline passes.
    deadline = time.monotonic() + timeout
    while True:
        try:
            wait.until(expected_conditions.element_to_be_clickable(prompt)).click()
            wait.until(expected_conditions.element_to_be_clickable(run)).click()
        except ElementClickInterceptedException:
            # A JupyterLab dialog over the notebook (seen once on a freshly installed server): accept
            # its default and ask again; the cell's output is still checked by the caller.
            dialogs = driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog")
            accept = driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept")
            if not accept or time.monotonic() > deadline:
                raise
            print(f"dismissed a JupyterLab dialog: {dialogs[0].text if dialogs else ''!r}")
            accept[0].click()
            continue
        try:
            waiter(driver, 15).until(
                lambda d: d.find_elements(*outputs) and d.find_elements(*outputs)[0].text.strip()
            )
            return driver.find_elements(*outputs)[0].text
        except TimeoutException:
            if time.monotonic() > deadline:
                raise

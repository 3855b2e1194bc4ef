"""The hub's REST API (JupyterHub /hub/api), for the steps that stop and start a user's server.

A site has a hub for the runbooks when its inventory has ``jupyterhub_out_url`` (the hub stage's
output: the hub's public URL) and ``runbook_hub_api_token`` (a token of a hub service or admin
allowed to manage servers). Without them the hub steps are skipped and the reason printed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from runbooks.engine import StepFailed
from runbooks.site import Site


def no_hub_reason(site: Site) -> str | None:
    url, token = site.var("jupyterhub_out_url"), site.var("runbook_hub_api_token")
    if not url or not isinstance(url, str) or "{{" in url:
        return f"site {site.name} has no hub URL (jupyterhub_out_url is not set in its inventory)"
    if not token or not isinstance(token, str) or "{{" in token:
        return f"site {site.name} has no hub API token (runbook_hub_api_token is not set in its inventory)"
    return None


class Hub:
    def __init__(self, site: Site, timeout: float = 30) -> None:
        self.base = str(site.var("jupyterhub_out_url")).rstrip("/") + "/hub/api"
        self.token = str(site.var("runbook_hub_api_token"))
        self.timeout = timeout

    def _call(self, method: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                return response.status, json.loads(body) if body else None
        except urllib.error.HTTPError as error:
            return error.code, None
        except urllib.error.URLError as error:
            raise StepFailed(f"hub API {self.base} unreachable: {error.reason}") from error

    def user(self, name: str) -> dict[str, Any] | None:
        status, body = self._call("GET", f"/users/{urllib.parse.quote(name)}")
        if status == 404:
            return None
        if status != 200:
            raise StepFailed(f"hub API: GET user {name} answered {status}")
        return body

    def server_running(self, name: str) -> bool:
        user = self.user(name) or {}
        return bool((user.get("servers") or {}).get("", {}).get("ready")) or bool(user.get("server"))

    def stop_server(self, name: str, wait: float) -> str:
        status, _ = self._call("DELETE", f"/users/{urllib.parse.quote(name)}/server")
        if status not in (202, 204, 400):  # 400: no server running
            raise StepFailed(f"hub API: stopping {name}'s server answered {status}")
        deadline = time.monotonic() + wait
        while self.server_running(name):
            if time.monotonic() > deadline:
                raise StepFailed(f"{name}'s server still running {wait:.0f} s after the stop request")
            time.sleep(1)
        return f"{name}'s server is stopped"

    def start_server(self, name: str, wait: float) -> str:
        status, _ = self._call("POST", f"/users/{urllib.parse.quote(name)}/server")
        if status not in (201, 202, 400):  # 400: already running
            raise StepFailed(f"hub API: starting {name}'s server answered {status}")
        deadline = time.monotonic() + wait
        while not self.server_running(name):
            if time.monotonic() > deadline:
                raise StepFailed(f"{name}'s server not ready {wait:.0f} s after the start request")
            time.sleep(1)
        return f"{name}'s server is running"

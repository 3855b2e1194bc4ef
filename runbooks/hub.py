"""The hub's REST API (JupyterHub /hub/api) and its login page, for the steps that stop and start a
user's server and the checks that the hub answers and a user can log in.

A site has a hub for the runbooks when its inventory gives the hub's URL (``runbook_hub_url``, else
``jupyterhub_out_url``) and a token of a hub service allowed to manage users and servers: the token
itself (``runbook_hub_api_token``, from the vault) or a file holding it
(``runbook_hub_api_token_file``, written by the hub stage on the control node; read when used, so a
hub re-created with a new token is seen). Without them the hub steps are skipped and say why.
"""

from __future__ import annotations

import base64
import hashlib
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from runbooks.engine import StepFailed
from runbooks.site import Site


def _text(value: Any) -> str | None:
    """A resolved, non-empty string, else None (unset, or still a template: its facts are missing)."""
    return value if isinstance(value, str) and value and "{{" not in value else None


def hub_url(site: Site) -> str | None:
    return _text(site.var("runbook_hub_url")) or _text(site.var("jupyterhub_out_url"))


def hub_token(site: Site) -> str | None:
    token = _text(site.var("runbook_hub_api_token"))
    if token:
        return token
    path = _text(site.var("runbook_hub_api_token_file"))
    if path and Path(path).expanduser().is_file():
        return Path(path).expanduser().read_text().strip() or None
    return None


def no_hub_reason(site: Site) -> str | None:
    if not hub_url(site):
        return (
            f"site {site.name} has no hub URL (runbook_hub_url / jupyterhub_out_url is not set in its "
            "inventory, or names a host that does not exist yet)"
        )
    if not hub_token(site):
        where = _text(site.var("runbook_hub_api_token_file"))
        return f"site {site.name} has no hub API token (runbook_hub_api_token is not set in its inventory" + (
            f"; {where}, which the hub stage writes, does not exist)" if where else ")"
        )
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Hub:
    def __init__(self, site: Site, timeout: float = 30) -> None:
        url, token = hub_url(site), hub_token(site)
        if not url or not token:
            raise StepFailed(no_hub_reason(site) or "no hub")
        self.url = url.rstrip("/")
        self.base = self.url + "/hub/api"
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, base: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            (base or self.base) + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise StepFailed(f"hub {self.url} unreachable: {reason}") from error

    # -- checks -----------------------------------------------------------------------------------

    def answers(self) -> str:
        """GET /hub/api (the version) and /hub/api/user with the token (who the token is)."""
        status, body = self._call("GET", "")
        if status != 200 or not isinstance(body, dict) or "version" not in body:
            raise StepFailed(f"hub API {self.base} answered {status}")
        status, who = self._call("GET", "/user")
        if status != 200 or not isinstance(who, dict):
            raise StepFailed(f"hub API: the operators' token was refused ({status} from GET /hub/api/user)")
        name = who.get("name")
        return f"hub {self.url} answers: JupyterHub {body['version']}, the token is {who.get('kind')} {name}"

    def login(self, user: str, password: str) -> str:
        """A real login: GET /hub/login (the form's _xsrf), POST the form; the hub must redirect and
        set its login cookie. Raises StepFailed when it refuses."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
        login = f"{self.url}/hub/login"
        try:
            with opener.open(login, timeout=self.timeout) as response:
                page = response.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as error:
            raise StepFailed(f"hub login page {login} unreachable: {error}") from error
        match = re.search(r'name="_xsrf"\s+value="([^"]+)"', page)
        form = {"username": user, "password": password, **({"_xsrf": match.group(1)} if match else {})}
        request = urllib.request.Request(login, data=urllib.parse.urlencode(form).encode(), method="POST")
        try:
            with opener.open(request, timeout=self.timeout) as response:
                status, location = response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            status, location = error.code, error.headers.get("Location", "")
        except (urllib.error.URLError, OSError) as error:
            raise StepFailed(f"hub login {login} unreachable: {error}") from error
        cookies = {cookie.name for cookie in jar}
        if status != 302 or "jupyterhub-hub-login" not in cookies:
            raise StepFailed(f"the hub refused {user}'s login (POST /hub/login answered {status})")
        return f"{user} logged in (302 to {location or '?'})"

    def server_answers(self, user: str) -> str:
        """The user's server, through the proxy: GET /user/NAME/api/status with the token."""
        status, body = self._call("GET", "/api/status", base=f"{self.url}/user/{urllib.parse.quote(user)}")
        if status != 200 or not isinstance(body, dict):
            raise StepFailed(f"{user}'s server did not answer (GET /user/{user}/api/status: {status})")
        return f"{user}'s server answers (started {body.get('started', '?')})"

    # -- users' servers and files -----------------------------------------------------------------

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
        if status == 404:
            return f"the hub has no user {name}: no server to stop"
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
        if status == 404:
            return f"the hub has no user {name}: no server to start"
        if status not in (201, 202, 400):  # 400: already running
            raise StepFailed(f"hub API: starting {name}'s server answered {status}")
        deadline = time.monotonic() + wait
        while not self.server_running(name):
            if time.monotonic() > deadline:
                raise StepFailed(f"{name}'s server not ready {wait:.0f} s after the start request")
            time.sleep(1)
        return f"{name}'s server is running"

    def _contents(self, user: str, path: str) -> str:
        quoted = "/".join(urllib.parse.quote(part) for part in path.split("/"))
        return f"{self.url}/user/{urllib.parse.quote(user)}/api/contents/{quoted}"

    def put_file(self, user: str, path: str, data: bytes) -> None:
        """Write a file into the user's home through their running server (the Jupyter contents API),
        so it is created as the user, where the user's server sees their home."""
        parent = path.rpartition("/")[0]
        if parent:
            self._call("PUT", "", {"type": "directory"}, base=self._contents(user, parent))
        body = {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}
        status, _ = self._call("PUT", "", body, base=self._contents(user, path))
        if status not in (200, 201):
            raise StepFailed(f"writing {path} through {user}'s server answered {status}")

    def get_file(self, user: str, path: str) -> bytes:
        query = "?type=file&format=base64&content=1"
        status, body = self._call("GET", query, base=self._contents(user, path))
        if status != 200 or not isinstance(body, dict):
            raise StepFailed(f"reading {path} through {user}'s server answered {status}")
        return base64.b64decode(body["content"])

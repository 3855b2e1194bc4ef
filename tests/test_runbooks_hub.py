"""The runbooks' hub checks (the hub answers, a user logs in) and the hub-host drill's refusals,
against a small stand-in for JupyterHub's login page and REST API on a loopback port.

The whole hub-host drill (lose the local hub machine, re-create it, re-converge the hub) takes minutes
and runs in `make drill` (docs/drills.md), not here."""

from __future__ import annotations

import base64
import dataclasses
import http.server
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from runbooks import drills, procedures
from runbooks.engine import Refused, Run, StepFailed
from runbooks.hub import Hub, no_hub_reason
from runbooks.procedures.common import hub_answers, user_logs_in
from runbooks.site import load_site

LOCAL = load_site("local")
TOKEN = "ops-t0ken"
PASSWORD = "s3cret"


class FakeHub:
    """Login form with an _xsrf field and cookie; POST /hub/login (302 and the login cookie for the
    right password and _xsrf, 403 otherwise); /hub/api, /hub/api/user, users' servers, a server's
    /api/status and contents API; only with the operators' token."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.logins: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                return self.headers.get("Authorization") == f"token {TOKEN}"

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                if path == "/hub/login":
                    page = b'<form><input type="hidden" name="_xsrf" value="x5rf"/></form>'
                    self.send_response(200)
                    self.send_header("Set-Cookie", "_xsrf=x5rf; Path=/hub/")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                elif path == "/hub/api":
                    self._send(200, {"version": "6.1.1"})
                elif not self._authorized():
                    self._send(403, {"message": "forbidden"})
                elif path == "/hub/api/user":
                    self._send(200, {"kind": "service", "name": "sciplat-ops"})
                elif path == "/hub/api/users/astro1":
                    ready = "astro1" in hub.running
                    self._send(200, {"name": "astro1", "servers": {"": {"ready": True}} if ready else {}})
                elif path == "/user/astro1/api/status" and "astro1" in hub.running:
                    self._send(200, {"started": "2026-11-26T06:00:00Z"})
                elif path.startswith("/user/astro1/api/contents/") and "astro1" in hub.running:
                    name = path.removeprefix("/user/astro1/api/contents/")
                    if name in hub.files:
                        self._send(200, {"content": base64.b64encode(hub.files[name]).decode()})
                    else:
                        self._send(404)
                else:
                    self._send(404)

            def do_POST(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                if path == "/hub/login":
                    form = urllib.parse.parse_qs(self._body().decode())
                    cookie = self.headers.get("Cookie", "")
                    user = form.get("username", [""])[0]
                    ok = form.get("password") == [PASSWORD] and form.get("_xsrf") == ["x5rf"]
                    if ok and "_xsrf=x5rf" in cookie:
                        hub.logins.append(user)
                        self._send(
                            302,
                            headers={
                                "Location": "/hub/spawn",
                                "Set-Cookie": "jupyterhub-hub-login=c; Path=/hub/",
                            },
                        )
                    else:
                        self._send(403)
                elif self._authorized() and path == "/hub/api/users/astro1/server":
                    hub.running.add("astro1")
                    self._send(201)
                else:
                    self._send(404)

            def do_DELETE(self) -> None:
                if self._authorized() and self.path == "/hub/api/users/astro1/server":
                    hub.running.discard("astro1")
                    self._send(204)
                else:
                    self._send(404)

            def do_PUT(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                body = json.loads(self._body() or b"{}")
                if not (self._authorized() and "astro1" in hub.running):
                    self._send(403)
                elif path.startswith("/user/astro1/api/contents/"):
                    if body.get("type") == "file":
                        name = path.removeprefix("/user/astro1/api/contents/")
                        hub.files[name] = base64.b64decode(body["content"])
                    self._send(201, {})
                else:
                    self._send(404)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_hub() -> Any:
    hub = FakeHub()
    yield hub
    hub.server.shutdown()


def site_with(**variables: Any) -> Any:
    base = {"runbook_hub_url": None, "runbook_hub_api_token": None, "runbook_hub_api_token_file": None}
    return dataclasses.replace(LOCAL, hostvars={**LOCAL.hostvars, **base, **variables})


def test_the_token_is_read_from_the_file_the_hub_stage_writes_when_used(tmp_path: Path) -> None:
    token_file = tmp_path / "ops_api_token"
    site = site_with(runbook_hub_url="http://127.0.0.1:9/", runbook_hub_api_token_file=str(token_file))
    assert "does not exist" in (no_hub_reason(site) or "")
    token_file.write_text("abc\n")
    assert no_hub_reason(site) is None and Hub(site).token == "abc"
    token_file.write_text("def\n")  # a re-created hub has a new token: the next Hub sees it
    assert Hub(site).token == "def"
    assert "no hub URL" in (no_hub_reason(site_with(runbook_hub_api_token="t")) or "")
    template = site_with(runbook_hub_url="http://127.0.0.1:{{ site_hub_machine.ports.http }}/")
    assert "no hub URL" in (no_hub_reason(template) or "")


def test_the_hub_answers_and_a_user_logs_in_starts_and_stops_a_server(fake_hub: FakeHub) -> None:
    site = site_with(
        runbook_hub_url=fake_hub.url,
        runbook_hub_api_token=TOKEN,
        runbook_hub_login_user="astro1",
        jupyterhub_dummy_password=PASSWORD,
    )
    assert hub_answers(site) == (
        f"hub {fake_hub.url.rstrip('/')} answers: JupyterHub 6.1.1, the token is service sciplat-ops"
    )
    note = user_logs_in(site)
    assert fake_hub.logins == ["astro1"]
    assert "astro1 logged in (302 to /hub/spawn)" in note and "astro1's server answers" in note
    assert note.endswith("astro1's server is stopped") and fake_hub.running == set()


def test_a_wrong_password_or_token_fails_the_check(fake_hub: FakeHub) -> None:
    site = site_with(
        runbook_hub_url=fake_hub.url,
        runbook_hub_api_token=TOKEN,
        runbook_hub_login_user="astro1",
        jupyterhub_dummy_password="wrong",
    )
    with pytest.raises(StepFailed, match=r"the hub refused astro1's login \(POST /hub/login answered 403\)"):
        user_logs_in(site)
    assert fake_hub.logins == [] and fake_hub.running == set()
    bad_token = site_with(
        runbook_hub_url=fake_hub.url, runbook_hub_api_token="stolen", runbook_hub_wait_timeout=0
    )
    with pytest.raises(StepFailed, match="the operators' token was refused"):
        hub_answers(bad_token)


def test_a_hub_that_does_not_answer_fails_after_its_deadline() -> None:
    site = site_with(
        runbook_hub_url="http://127.0.0.1:9/", runbook_hub_api_token=TOKEN, runbook_hub_wait_timeout=1
    )
    with pytest.raises(
        StepFailed, match=r"timed out after 1 s waiting for the hub to answer: hub .* unreachable"
    ):
        hub_answers(site)


def test_files_go_through_the_users_server_and_unknown_users_are_no_error(fake_hub: FakeHub) -> None:
    hub = Hub(site_with(runbook_hub_url=fake_hub.url, runbook_hub_api_token=TOKEN))
    hub.start_server("astro1", wait=5)
    hub.put_file("astro1", "drill/hub-host.bin", b"\x00\x01payload")
    assert fake_hub.files == {"drill/hub-host.bin": b"\x00\x01payload"}
    assert hub.get_file("astro1", "drill/hub-host.bin") == b"\x00\x01payload"
    assert hub.stop_server("drill-user", wait=1) == "the hub has no user drill-user: no server to stop"
    assert hub.start_server("drill-user", wait=1) == "the hub has no user drill-user: no server to start"


def test_rebuild_hub_host_refuses_without_a_machine_to_recreate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path / "out"))
    module = procedures.get("rebuild-hub-host")
    site = site_with(runbook_hub_machine=None)
    run = Run(
        site, module.NAME, module.steps, {}, apply=True, yes=True, interactive=False, echo=lambda _: None
    )
    with pytest.raises(
        Refused, match="runbook_hub_machine is not set: this kit re-creates local machines only"
    ):
        run.execute()
    eks = site_with(jupyterhub_backend="eks")
    run = Run(
        eks, module.NAME, module.steps, {}, apply=True, yes=True, interactive=False, echo=lambda _: None
    )
    with pytest.raises(Refused, match="its hub is not single_node; use rebuild-cluster for EKS"):
        run.execute()
    steps = [step.name for step in module.steps(run.ctx)]
    assert steps == [
        "check-inputs",
        "recreate-host",
        "reconverge-hub",
        "reread-inventory",
        "check-hub-answers",
        "check-user-login",
    ]


def test_hub_host_drill_refuses_a_site_without_a_single_node_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path / "out"))
    with pytest.raises(Refused, match="the hub-host drill is for single-node hubs"):
        drills.run_drill(site_with(jupyterhub_backend="eks"), "hub-host", echo=lambda _: None)
    with pytest.raises(Refused, match="has no hub URL"):
        drills.run_drill(site_with(), "hub-host", echo=lambda _: None)
    assert not (tmp_path / "out" / "drills").exists()  # refused before any step: no report


def test_the_report_says_the_hub_was_checked_and_what_happened_to_its_database() -> None:
    report = {
        "scenario": "hub-host",
        "what": drills.SCENARIOS["hub-host"],
        "site": "local",
        "started": "s",
        "finished": "f",
        "rto_s": 90.0,
        "total_s": 120.0,
        "result": "recovered",
        "steps": [{"step": "user-login", "result": "done", "duration_s": 4.2, "note": "astro1 logged in"}],
        "hub_verified": True,
        "hub_database": {
            "where": "/var/lib/jupyterhub/jupyterhub.sqlite on the hub host",
            "backup": None,
            "lost": True,
        },
    }
    text = drills.markdown(report)
    assert "| hub answers, a user logs in | checked (steps hub-answers, user-login) |" in text
    assert (
        "| hub database (/var/lib/jupyterhub/jupyterhub.sqlite on the hub host) "
        "| lost with the host; no copy existed |" in text
    )
    assert "| user-login | done | 4.2 | astro1 logged in |" in text


def test_restore_hub_database_does_not_pretend_to_stop_a_single_node_hub() -> None:
    from types import SimpleNamespace

    from runbooks.procedures.restore_hub_database import _hub_skip

    reachable = {"runbook_hub_url": "http://127.0.0.1:9/", "runbook_hub_api_token": TOKEN}
    single = SimpleNamespace(site=site_with(jupyterhub_backend="single_node", **reachable))
    assert "its database is on the hub host" in (_hub_skip(single) or "")  # type: ignore[arg-type]
    eks = SimpleNamespace(site=site_with(jupyterhub_backend="eks", **reachable))
    assert _hub_skip(eks) is None  # type: ignore[arg-type]

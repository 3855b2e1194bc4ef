"""The runbook engine and CLI without a site: plans, refusals, locks, resume, the file merge."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runbooks import procedures
from runbooks.cli import app
from runbooks.engine import Context, Refused, Run, Step, StepFailed, procedure_lock, wait_until
from runbooks.procedures.restore_user_home import merge_tree
from runbooks.site import load_site

LOCAL = load_site("local")


@pytest.fixture(autouse=True)
def output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path / "out"))
    return tmp_path / "out"


def touch_steps(target: Path, log: list[str], fail_at: str | None = None) -> Any:
    """Three steps writing files under target; the middle one destructive."""

    def make(name: str, destructive: bool = False) -> Step:
        def act(ctx: Context) -> str:
            log.append(name)
            if name == fail_at:
                raise StepFailed(f"{name} broke")
            (target / name).write_text(name)
            return f"wrote {name}"

        return Step(
            name,
            lambda c: f"write {target / name}",
            act,
            lambda c: None if (target / name).exists() else "missing",
            destructive=destructive,
        )

    return lambda ctx: [make("one"), make("two", destructive=True), make("three")]


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path, output_dir: Path) -> None:
    log: list[str] = []
    lines: list[str] = []
    results = Run(LOCAL, "demo", touch_steps(tmp_path, log), {}, echo=lines.append).execute()
    assert [r["result"] for r in results] == ["planned"] * 3
    assert log == [] and not list(tmp_path.glob("one"))
    assert not output_dir.exists()  # no run directory, no audit log, no lock
    assert "DRY RUN" in lines[0] and "[2/3] two (DESTRUCTIVE): would write" in lines[2]


def test_destructive_steps_need_yes_without_a_terminal(tmp_path: Path) -> None:
    log: list[str] = []
    run = Run(
        LOCAL, "demo", touch_steps(tmp_path, log), {}, apply=True, interactive=False, echo=lambda _: None
    )
    with pytest.raises(Refused, match=r"no terminal to confirm.*--yes"):
        run.execute()
    assert log == []


def test_declined_confirmation_changes_nothing(tmp_path: Path) -> None:
    log: list[str] = []
    run = Run(
        LOCAL,
        "demo",
        touch_steps(tmp_path, log),
        {},
        apply=True,
        interactive=True,
        confirm=lambda _: False,
        echo=lambda _: None,
    )
    with pytest.raises(Refused, match="not confirmed"):
        run.execute()
    assert log == []


def test_apply_writes_state_and_a_json_lines_audit_log(tmp_path: Path) -> None:
    log: list[str] = []
    run = Run(LOCAL, "demo", touch_steps(tmp_path, log), {"x": 1}, apply=True, yes=True, echo=lambda _: None)
    run.execute()
    assert log == ["one", "two", "three"]
    events = [json.loads(line) for line in (run.run_dir / "audit.jsonl").read_text().splitlines()]
    steps = [e for e in events if e["action"] == "step"]
    assert [(e["step"], e["result"]) for e in steps] == [("one", "done"), ("two", "done"), ("three", "done")]
    assert all({"who", "when", "step", "action", "result", "duration_s"} <= e.keys() for e in steps)
    assert events[0]["action"] == "confirm" and events[0]["destructive"] == ["two"]
    state = json.loads((run.run_dir / "state.json").read_text())
    assert state["params"] == {"x": 1} and state["finished"]


def test_resume_skips_the_steps_done_and_continues(tmp_path: Path) -> None:
    log: list[str] = []
    first = Run(
        LOCAL,
        "demo",
        touch_steps(tmp_path, log, fail_at="three"),
        {},
        apply=True,
        yes=True,
        echo=lambda _: None,
    )
    with pytest.raises(StepFailed, match="three broke"):
        first.execute()
    assert log == ["one", "two", "three"]
    log.clear()
    lines: list[str] = []
    Run(
        LOCAL,
        "demo",
        touch_steps(tmp_path, log),
        {},
        apply=True,
        yes=True,
        resume=first.run_id,
        echo=lines.append,
    ).execute()
    assert log == ["three"]
    assert any("[1/3] one: already done in this run, skipping" in line for line in lines)
    assert (tmp_path / "three").exists()


def test_resume_of_an_unknown_run_is_refused() -> None:
    with pytest.raises(Refused, match="no run 'nope' of demo on site local to resume"):
        Run(LOCAL, "demo", lambda c: [], {}, apply=True, resume="nope")


def test_a_second_run_while_one_holds_the_lock_is_refused(tmp_path: Path) -> None:
    log: list[str] = []
    with procedure_lock(LOCAL, "demo", "first-run"):
        run = Run(LOCAL, "demo", touch_steps(tmp_path, log), {}, apply=True, yes=True, echo=lambda _: None)
        with pytest.raises(
            Refused, match=r"demo is already running on site local: run first-run by .* \(pid \d+\)"
        ):
            run.execute()
    assert log == []
    Run(LOCAL, "demo", touch_steps(tmp_path, log), {}, apply=True, yes=True, echo=lambda _: None).execute()
    assert log == ["one", "two", "three"]


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path, output_dir: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    with procedure_lock(LOCAL, "demo", "x") as path:
        holder = json.loads(path.read_text())
    path.write_text(json.dumps({**holder, "pid": gone.pid, "run_id": "crashed"}))
    log: list[str] = []
    Run(LOCAL, "demo", touch_steps(tmp_path, log), {}, apply=True, yes=True, echo=lambda _: None).execute()
    assert log == ["one", "two", "three"] and not path.exists()


def test_waits_have_deadlines() -> None:
    start = time.monotonic()
    with pytest.raises(StepFailed, match="timed out after 0 s waiting for godot"):
        wait_until("godot", lambda: None, timeout=0.3, interval=0.1)
    assert time.monotonic() - start < 5


def test_procedure_arguments_are_parsed_and_checked() -> None:
    module = procedures.get("restore-user-home")
    assert procedures.parse_args(module, ["--user", "alice", "--overwrite"])["overwrite"] is True
    with pytest.raises(Refused, match="--user is required"):
        procedures.parse_args(module, [])
    with pytest.raises(Refused, match="unknown argument --usr"):
        procedures.parse_args(module, ["--usr", "alice"])
    cap = procedures.get("cost-cap")
    assert procedures.parse_args(cap, ["on"])["mode"] == "on"
    with pytest.raises(Refused, match="mode must be one of on, off"):
        procedures.parse_args(cap, ["sideways"])
    with pytest.raises(Refused, match="unknown procedure 'restore-everything'"):
        procedures.get("restore-everything")


def test_merge_keeps_newer_files_unless_overwrite(tmp_path: Path) -> None:
    restored, home = tmp_path / "restored", tmp_path / "home"
    (restored / "sub").mkdir(parents=True)
    home.mkdir()
    for name, text in (
        ("gone.txt", "backup"),
        ("same.txt", "same"),
        ("newer.txt", "backup"),
        ("older.txt", "b"),
    ):
        (restored / name).write_text(text)
    (restored / "sub" / "deep.txt").write_text("deep")
    (home / "same.txt").write_text("same")
    (home / "newer.txt").write_text("edited after the backup")
    (home / "older.txt").write_text("old")
    os.utime(home / "older.txt", (1, 1))
    outcome = merge_tree(restored, home, overwrite=False)
    assert sorted(outcome["moved"]) == ["gone.txt", "sub/deep.txt"]
    assert outcome["identical"] == ["same.txt"]
    assert outcome["kept_newer"] == ["newer.txt"] and outcome["replaced"] == ["older.txt"]
    assert (home / "newer.txt").read_text() == "edited after the backup"
    assert (home / "older.txt").read_text() == "b" and (home / "sub" / "deep.txt").read_text() == "deep"
    assert (restored / "newer.txt").read_text() == "backup"  # the backup's copy stays beside
    again = merge_tree(restored, home, overwrite=True)
    assert again["replaced"] == ["newer.txt"] and (home / "newer.txt").read_text() == "backup"


def test_cli_lists_and_shows_procedures() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()] == list(procedures.registry())
    shown = runner.invoke(app, ["show", "restore-filesystem"])
    assert (
        shown.exit_code == 0
        and "--remove-old" in shown.output
        and "docs/runbooks/restore-filesystem.md" in shown.output
    )
    for name in procedures.registry():
        assert (Path(__file__).parent.parent / "docs" / "runbooks" / f"{name}.md").exists(), name


def test_cli_refuses_an_unknown_site_and_procedure() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["run", "restore-user-home", "--site", "atlantis", "--user", "alice"])
    assert result.exit_code == 2 and "unknown site 'atlantis': known sites are " in result.output
    result = runner.invoke(app, ["run", "fix-everything", "--site", "local"])
    assert result.exit_code == 2 and "unknown procedure 'fix-everything'" in result.output
    result = runner.invoke(app, ["drill", "meteor", "--site", "local"])
    assert result.exit_code == 2 and "unknown drill scenario 'meteor'" in result.output


class HubAPI:
    """JupyterHub's REST API for one user's default server, as far as the runbooks use it
    (GET /hub/api/users/NAME, POST and DELETE /hub/api/users/NAME/server), on a loopback port."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.running = True
        self.calls: list[tuple[str, str, str]] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, code: int, body: Any = None) -> None:
                api.calls.append((self.command, self.path, self.headers.get("Authorization", "")))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/hub/api/users/alice":
                    self._answer(
                        200, {"name": "alice", "servers": {"": {"ready": api.running}} if api.running else {}}
                    )
                else:
                    self._answer(404, {"message": "Not found"})

            def do_DELETE(self) -> None:
                api.running = False
                self._answer(204)

            def do_POST(self) -> None:
                api.running = True
                self._answer(201)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_hub_steps_stop_and_start_the_users_server_through_the_api() -> None:
    import dataclasses

    from runbooks.hub import Hub, no_hub_reason

    unset = {"runbook_hub_url": None, "runbook_hub_api_token_file": None, "jupyterhub_out_url": None}
    no_hub = dataclasses.replace(LOCAL, hostvars={**LOCAL.hostvars, **unset})
    assert "jupyterhub_out_url is not set" in (no_hub_reason(no_hub) or "")
    api = HubAPI()
    try:
        site = dataclasses.replace(
            LOCAL,
            hostvars={
                **LOCAL.hostvars,
                **unset,
                "jupyterhub_out_url": api.url,
                "runbook_hub_api_token": "t0ken",
            },
        )
        assert no_hub_reason(site) is None
        hub = Hub(site)
        assert hub.user("alice") is not None and hub.user("mallory") is None
        assert hub.stop_server("alice", wait=5) == "alice's server is stopped" and not api.running
        assert hub.start_server("alice", wait=5) == "alice's server is running" and api.running
        assert ("DELETE", "/hub/api/users/alice/server", "token t0ken") in api.calls
        assert ("POST", "/hub/api/users/alice/server", "token t0ken") in api.calls
    finally:
        api.server.shutdown()


def test_home_access_settings_that_cannot_work_refuse_naming_the_variable() -> None:
    import dataclasses

    from runbooks.home_access import home_access

    for settings, message in (
        (
            {"runbook_home_access": "ssh_host"},
            "runbook_home_access is ssh_host but runbook_home_ssh does not",
        ),
        (
            {"runbook_home_access": "local_path", "runbook_home_local": {"root": "/mnt/efs"}},
            "runbook_home_access is local_path but runbook_home_local.root does not say",
        ),
        (
            {"runbook_home_access": "nfs_magic"},
            "runbook_home_access must be one of local_path, ssh_host, kub",
        ),
        (
            {"runbook_home_access": "kubernetes_job", "runbook_home_job": "python"},
            "runbook_home_job must be a",
        ),
        (
            {"runbook_home_access": "kubernetes_job", "runbook_home_job": {"image": "py", "namespce": "x"}},
            "runbook_home_job has unknown keys namespce; the keys are image, namespace",
        ),
        (
            {"runbook_home_access": "kubernetes_job", "runbook_home_job": {}},
            "runbook_home_access is kubernetes_job but runbook_home_job.image is not set",
        ),
    ):
        unset = {"runbook_home_ssh": None, "home_usage_kubernetes_image": None, **settings}
        site = dataclasses.replace(LOCAL, hostvars={**LOCAL.hostvars, **unset})
        with pytest.raises(Refused, match=message):
            home_access(site)


def test_a_refusal_at_the_first_step_says_nothing_changed(tmp_path: Path) -> None:
    def refuse(ctx: Context) -> None:
        raise Refused("unknown user 'mallory'")

    steps = [Step("check", lambda c: "check", lambda c: "ok", precondition=refuse)]
    lines: list[str] = []
    with pytest.raises(Refused):
        Run(LOCAL, "demo", lambda c: steps, {}, apply=True, echo=lines.append).execute()
    assert lines[-1] == "[1/1] check: REFUSED: unknown user 'mallory'\nnothing was changed"


def test_drills_leave_the_usage_measurement_state_out_of_the_files_they_compare(tmp_path: Path) -> None:
    from runbooks.drills import tree

    (tmp_path / "home" / "astro1").mkdir(parents=True)
    (tmp_path / "home" / "astro1" / "data.txt").write_text("science")
    (tmp_path / "home" / ".sciplat-usage" / "cache").mkdir(parents=True)
    (tmp_path / "home" / ".sciplat-usage" / "usage.json").write_text("{}")
    (tmp_path / "home" / ".sciplat-usage" / "cache" / "astro1.json").write_text("{}")
    (tmp_path / "aws-backup-restore_2026").mkdir()
    (tmp_path / "aws-backup-restore_2026" / "old.txt").write_text("side")
    assert sorted(tree(tmp_path)) == ["home/astro1/data.txt"]

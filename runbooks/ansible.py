"""Ansible work of a procedure, through ansible-runner: one fresh private data dir per run under the
run's directory, the site's own inventory, and the run's events in the procedure's audit log."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbooks import vault
from runbooks.engine import Context, StepFailed, make_private, private_dir
from runbooks.site import PROJECT_ROOT

STRATEGY_DIR = Path(__file__).resolve().parent / "strategy"
RECORDED_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped")


def strategy_env() -> dict[str, str]:
    """The mitogen strategy when it is installed (halves Ansible's per-task cost), as `make demo` runs
    it: from runbooks/strategy, mitogen's linear strategy without its CPU pinning, the AWS SDK imported
    once per run."""
    try:
        import ansible_mitogen  # noqa: F401
    except ImportError:
        return {}
    return {"ANSIBLE_STRATEGY_PLUGINS": str(STRATEGY_DIR), "ANSIBLE_STRATEGY": "mitogen_linear"}


def playbook_path(name: str) -> Path:
    return PROJECT_ROOT / "playbooks" / name


def launch(
    private: Path,
    playbook: str,
    inventory: Path,
    *,
    extravars: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    event_handler: Callable[[dict[str, Any]], bool] | None = None,
    timeout: int = 1800,
) -> Any:
    """ansible-playbook playbooks/<playbook> on ``inventory`` through ansible-runner in the (new, private)
    data dir ``private``, as the runbooks run it: the kit's config, roles and collection, the fast
    strategy, the vault password the runbook was given; ``args`` are more ansible-playbook options.
    Returns the finished runner (its status, rc and stats)."""
    import ansible_runner

    venv_bin = str(Path(sys.executable).parent)
    envvars = {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(PROJECT_ROOT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(PROJECT_ROOT / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        **strategy_env(),
    }
    if os.environ.get("EMULATOR_STATE_DIR"):
        envvars["EMULATOR_STATE_DIR"] = os.environ["EMULATOR_STATE_DIR"]
    # The inventory's vault password as the runbook got it: files by path, a prompted one answered at
    # ansible-playbook's prompt; never on the command line nor in the artifacts (env files suppressed).
    cmdline, vault_env, passwords = vault.runner_options()
    envvars.update(vault_env)
    cmdline = " ".join(part for part in (cmdline, shlex.join(args)) if part)
    # The artifacts (the run's output and events) are the operator's only: 0700 from the start, every file
    # 0600 once the run ends. Tasks with no_log (the hub's secrets) are censored in them by Ansible.
    try:
        return ansible_runner.run(
            private_data_dir=str(private),
            playbook=str(playbook_path(playbook)),
            inventory=str(inventory),
            extravars=extravars or {},
            envvars=envvars,
            cmdline=cmdline or None,
            passwords=passwords or None,
            event_handler=event_handler,
            quiet=True,
            timeout=timeout,
            suppress_env_files=True,
        )
    finally:
        make_private(private)


def run_playbook(
    ctx: Context, playbook: str, *, extravars: dict[str, Any] | None = None, timeout: int = 1800
) -> dict[str, int]:
    """Run playbooks/<playbook> against the site; StepFailed unless it succeeds. Returns the recap
    (ok, changed, failed) summed over hosts."""
    private_dir(ctx.run_dir)
    runs = private_dir(ctx.run_dir / "ansible")
    private = runs / f"{len(list(runs.iterdir())) + 1:02d}-{Path(playbook).stem}"
    private.mkdir(mode=0o700)
    private.chmod(0o700)

    def on_event(event: dict[str, Any]) -> bool:
        if event.get("event") in RECORDED_EVENTS:
            data = event.get("event_data", {})
            result = event["event"].removeprefix("runner_on_")
            if result == "ok" and data.get("res", {}).get("changed"):
                result = "changed"
            ctx.audit(
                step=f"ansible:{playbook}",
                action=str(data.get("task", ""))[:200],
                result=result,
                duration_s=data.get("duration"),
                host=data.get("host"),
            )
        return True

    ctx.audit(
        step=f"ansible:{playbook}", action="ansible-runner", result="started", private_data_dir=str(private)
    )
    runner = launch(
        private, playbook, ctx.site.inventory, extravars=extravars, event_handler=on_event, timeout=timeout
    )
    recap = {"ok": 0, "changed": 0, "failed": 0}
    for key, stats_key in (("ok", "ok"), ("changed", "changed"), ("failed", "failures")):
        recap[key] = sum((runner.stats or {}).get(stats_key, {}).values())
    ctx.audit(step=f"ansible:{playbook}", action="ansible-runner", result=runner.status, **recap)
    if runner.status != "successful" or runner.rc != 0:
        tail = ""
        stdout = private / "artifacts"
        outputs = sorted(stdout.rglob("stdout"))
        if outputs:
            tail = outputs[-1].read_text(errors="replace")[-3000:]
        raise StepFailed(
            f"playbooks/{playbook} {runner.status} (rc {runner.rc}); output in {private}/artifacts\n{tail}"
        )
    return recap

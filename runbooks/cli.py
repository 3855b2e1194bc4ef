"""`runbook`: the operator's command line for a site."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from runbooks import cost as cost_module
from runbooks import procedures, site_lock, vault
from runbooks import status as status_module
from runbooks.engine import Refused, Run, StepFailed
from runbooks.site import SiteError, load_site

app = typer.Typer(
    help="Operate a science platform site: status, recovery procedures, drills.", no_args_is_help=True
)
SITE_HELP = "inventory name under inventories/"
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
# The vault password of an encrypted inventory, as ansible-playbook takes it (runbooks/vault.py).
VaultFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--vault-password-file",
        help="file holding the inventory's vault password, or a script printing it (repeatable; "
        "also ANSIBLE_VAULT_PASSWORD_FILE)",
        show_default=False,
    ),
]
AskVaultPass = Annotated[
    bool,
    typer.Option("--ask-vault-pass", help="prompt for the inventory's vault password (needs a terminal)"),
]
VaultIds = Annotated[
    list[str] | None,
    typer.Option(
        "--vault-id",
        help="a vault id: LABEL@FILE, LABEL@prompt, FILE or prompt (repeatable, as ansible-playbook's; "
        "also ANSIBLE_VAULT_IDENTITY_LIST)",
        show_default=False,
    ),
]


def _configure_vault(files: list[Path] | None, ask: bool, ids: list[str] | None) -> None:
    """The vault password sources of a command; one line and exit 2 when a vault id is malformed."""
    try:
        vault.configure(files, ask, ids)
    except vault.VaultError as error:
        raise _fail(error) from error


OutputFormat = Annotated[str, typer.Option("--format", help="text (for a screen) or json (for a machine)")]


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"runbook {version('sciplat-kit')}"
    except PackageNotFoundError:
        return "runbook (sciplat-kit, not installed: version unknown)"


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the kit's version and exit"),
    ] = False,
) -> None:
    """Keep subcommands explicit."""


def _check_format(output: str, allowed: tuple[str, ...] = ("text", "json")) -> None:
    if output not in allowed:
        raise _fail(ValueError(f"--format must be {' or '.join(allowed)}, not {output!r}"))


def _fail(error: Exception, code: int = 2) -> typer.Exit:
    typer.echo(f"runbook: {error}", err=True)
    return typer.Exit(code)


@app.command()
def status(
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    output: OutputFormat = "text",
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """Show what exists for a site: network, cluster, node groups, add-ons."""
    _check_format(output)
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    try:
        loaded = load_site(site)
        lines = status_module.collect(loaded)
        if output == "json":
            typer.echo(json.dumps(status_module.as_json(loaded, lines), indent=2))
        else:
            typer.echo(status_module.render(loaded, lines))
    except SiteError as error:
        raise _fail(error) from error


@app.command("list")
def list_procedures() -> None:
    """List the recovery procedures."""
    for name, module in procedures.registry().items():
        typer.echo(f"{name:<22} {module.SUMMARY}")


def procedure_help(module: Any) -> str:
    """What a procedure is for and its arguments (runbook show NAME, runbook run NAME --help)."""
    lines = [f"{module.NAME}: {module.SUMMARY}", "", f"When: {module.WHEN}", "", "Arguments:"]
    for param_name, param in module.PARAMS.items():
        form = param_name if param.positional else f"--{param_name}" + ("" if param.flag else " VALUE")
        extra = " (required)" if param.required else ""
        extra += f" [{'|'.join(param.choices)}]" if param.choices else ""
        extra += f" (default: {param.default})" if param.default not in (None, False) else ""
        lines.append(f"  {form:<26} {param.help}{extra}")
    if not module.PARAMS:
        lines.append("  (none)")
    lines += [
        "",
        "Options of every run: --site SITE, --apply (act; default: a dry run), --yes (confirm destructive",
        "steps), --resume RUN_ID, --vault-password-file FILE, --vault-id LABEL@FILE, --ask-vault-pass",
        "",
        f"Run: runbook run {module.NAME} --site SITE [args]  (a dry run; --apply to act)",
        f"Operator page: docs/runbooks/{module.NAME}.md",
    ]
    return "\n".join(lines)


@app.command()
def show(name: str = typer.Argument(..., help="procedure name (runbook list)")) -> None:
    """Show what a procedure is for, its arguments and its steps' purpose."""
    try:
        module = procedures.get(name)
    except Refused as error:
        raise _fail(error) from error
    typer.echo(procedure_help(module))


@app.command(context_settings=EXTRA, add_help_option=False)
def run(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="procedure name (runbook list)", show_default=False),
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    apply: bool = typer.Option(False, "--apply", help="act (default: a dry run that prints the plan)"),
    yes: bool = typer.Option(False, "--yes", help="confirm destructive steps without asking"),
    resume: str = typer.Option(None, "--resume", help="run id of an interrupted run to continue"),
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
    show_help: bool = typer.Option(False, "--help", "-h", help="this help; with a procedure, its arguments"),
) -> None:
    """Run a procedure: a dry run by default; --apply acts. Procedure arguments follow, e.g. --user alice.

    `runbook run PROCEDURE --help` lists that procedure's arguments."""
    if show_help or not name:
        if name:
            try:
                typer.echo(procedure_help(procedures.get(name)))
            except Refused as error:
                raise _fail(error) from error
        else:
            typer.echo(ctx.get_help())
        raise typer.Exit(0 if show_help else 2)
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    try:
        module = procedures.get(name)
        loaded = load_site(site)
        params = procedures.parse_args(module, list(ctx.args))
        Run(
            loaded,
            module.NAME,
            module.steps,
            params,
            apply=apply,
            yes=yes,
            resume=resume,
            site_lock=site_lock.hold,
        ).execute()
    except (SiteError, Refused) as error:
        raise _fail(error) from error
    except StepFailed as error:
        raise _fail(error, 1) from error
    except Exception as error:  # an AWS or file error: one line for the operator, the trace on demand
        if os.environ.get("RUNBOOK_DEBUG"):
            raise
        raise _fail(
            RuntimeError(f"{type(error).__name__}: {error} (RUNBOOK_DEBUG=1 shows the trace)"), 1
        ) from error


@app.command()
def drill(
    scenario: str = typer.Argument(..., help="user-files, filesystem, cluster or hub-host"),
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    user: str = typer.Option(None, "--user", help="user-files: whose files to delete (runbook_drill_user)"),
    yes: bool = typer.Option(False, "--yes", help="go ahead without asking, after printing the plan"),
    production_site: str = typer.Option(
        None,
        "--production-site",
        help="a site marked production (runbook_production) is drilled only when this names it again",
    ),
    output: OutputFormat = "text",
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """Break the site on purpose, recover it, and report RTO and RPO against the site's targets.

    Prints the plan first (what it breaks, what restores it, the expected cost) and asks before
    breaking anything (--yes: do not ask). With --format json the report is printed as JSON on
    stdout, the progress on stderr."""
    _check_format(output)
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    from runbooks import drills

    def echo(line: str) -> None:
        typer.echo(line, err=output == "json")

    try:
        loaded = load_site(site)
        report = drills.run_drill(
            loaded,
            scenario,
            user=user,
            echo=echo,
            yes=yes,
            production_site=production_site,
            site_lock=site_lock.hold,
        )
    except (SiteError, Refused) as error:
        raise _fail(error) from error
    except StepFailed as error:
        raise _fail(error, 1) from error
    if output == "json":
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        typer.echo(f"report: {report['paths']['markdown']}\n        {report['paths']['json']}")
    if report["result"] != "recovered":
        raise typer.Exit(1)


@app.command()
def lock(
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    release: str = typer.Option(None, "--release", help="remove the lock held by this run id (it is gone)"),
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """Show who holds the site's lock (a procedure or drill running), or release a dead run's lock."""
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    try:
        loaded = load_site(site)
        if release:
            typer.echo(site_lock.release(loaded, release))
        else:
            typer.echo(f"site {loaded.name}: {site_lock.describe(site_lock.holder(loaded))}")
    except (SiteError, Refused) as error:
        raise _fail(error) from error


@app.command("cost-cap")
def cost_cap_status(
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """Show whether the cost cap is on (turn it on or off with: runbook run cost-cap on|off)."""
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    from runbooks.procedures import cost_cap

    try:
        typer.echo(cost_cap.describe(cost_cap.state(load_site(site))))
    except SiteError as error:
        raise _fail(error) from error


@app.command()
def cost(
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    compare: str = typer.Option("", "--compare", help="a second site, shown side by side"),
    output: OutputFormat = "text",
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """Print a site's expected monthly AWS cost from its inventory and the price table."""
    _check_format(output)
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    try:
        columns, restores = [], []
        prices = None
        for name in [site, compare] if compare else [site]:
            loaded = load_site(name)
            table = cost_module.load_prices(loaded.region)
            prices = prices or table
            variables = cost_module.site_variables(loaded)
            columns.append((name, cost_module.estimate(variables, table)))
            restores.append((name, cost_module.restores(variables, table)))
        assert prices is not None
        if output == "json":
            typer.echo(json.dumps(cost_module.as_json(columns, prices, restores), indent=2))
        else:
            typer.echo(cost_module.render(columns, prices, restores))
    except (SiteError, cost_module.PriceError) as error:
        raise _fail(error) from error


@app.command()
def drift(
    sites: Annotated[
        list[str] | None,
        typer.Option("--site", help=f"{SITE_HELP} (repeatable; default: local)", show_default=False),
    ] = None,
    every: bool = typer.Option(
        False, "--all", help="every inventory with a hosts.yml, except those with runbook_drift: false"
    ),
    stage: str = typer.Option(
        "", "--stage", help="check one stage only (playbooks/STAGE.yml): network, cluster, storage, ..."
    ),
    skip_tags: str = typer.Option(
        "", "--skip-tags", help="leave these stages out of site.yml (e.g. hub: the local hub machine is down)"
    ),
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the report as JSON to this file")
    ] = None,
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """What a converge would change on each site (site.yml --check --diff), changing nothing.

    One line per difference (site, stage, task, resource, what differs), then one per site: N
    differences, no drift, UNREACHABLE or FAILED. Sites run one after another. Exit code: 0 no drift,
    1 drift found, 2 a site could not be checked (docs/runbooks/drift.md)."""
    from runbooks import drift as drift_module
    from runbooks.site import known_sites

    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    if every and sites:
        raise _fail(ValueError("give --site SITE (repeatable) or --all, not both"))
    if stage and stage not in drift_module.stages():
        raise _fail(ValueError(f"--stage must be one of {', '.join(drift_module.stages())}, not {stage!r}"))
    names = known_sites() if every else list(dict.fromkeys(sites or ["local"]))
    reports = drift_module.report_sites(
        names,
        everything=every,
        playbook=f"{stage}.yml" if stage else drift_module.SITE_PLAYBOOK,
        args=("--skip-tags", skip_tags) if skip_tags else (),
        echo=typer.echo,
    )
    if json_file:
        json_file.write_text(json.dumps(drift_module.as_json(reports), indent=2) + "\n")
    raise typer.Exit(drift_module.exit_code(reports))


@app.command("quota-report")
def quota_report(
    site: str = typer.Option("local", "--site", help=SITE_HELP),
    top: int = typer.Option(20, "--top", min=1, help="rows of the table (largest homes first)"),
    growth_days: int = typer.Option(7, "--growth-days", min=1, help="growth over this many days"),
    output: str = typer.Option("table", "--format", help="table (for a screen) or json (every home)"),
    vault_password_file: VaultFiles = None,
    ask_vault_pass: AskVaultPass = False,
    vault_id: VaultIds = None,
) -> None:
    """Storage used per home against its quota: largest homes, over/near quota, growth."""
    _configure_vault(vault_password_file, ask_vault_pass, vault_id)
    from runbooks import quota_report as quota

    if output not in ("table", "json"):
        raise _fail(ValueError(f"--format must be table or json, not {output!r}"))
    try:
        report = quota.report(load_site(site), growth_days=growth_days)
    except (SiteError, Refused) as error:
        raise _fail(error) from error
    except Exception as error:  # the AWS endpoint or the file system: one line, the trace on demand
        if os.environ.get("RUNBOOK_DEBUG"):
            raise
        raise _fail(
            RuntimeError(f"{type(error).__name__}: {error} (RUNBOOK_DEBUG=1 shows the trace)"), 1
        ) from error
    typer.echo(json.dumps(report, indent=2) if output == "json" else quota.render(report, top=top))


def main() -> None:
    app()

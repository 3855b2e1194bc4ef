"""`runbook`: the operator's command line for a site."""

from __future__ import annotations

import typer

from runbooks import status as status_module
from runbooks.site import SiteError, load_site

app = typer.Typer(
    help="Operate a science platform site: status, recovery procedures, drills.", no_args_is_help=True
)


@app.callback()
def _root() -> None:
    """Keep subcommands explicit even while there is only one."""


@app.command()
def status(site: str = typer.Option("local", "--site", help="inventory name under inventories/")) -> None:
    """Show what exists for a site: network, cluster, node groups, add-ons."""
    try:
        loaded = load_site(site)
        typer.echo(status_module.render(loaded, status_module.collect(loaded)))
    except SiteError as error:
        typer.echo(f"runbook: {error}", err=True)
        raise typer.Exit(2) from error


def main() -> None:
    app()

"""`runbook`: the operator's command line for a site."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from runbooks import cost as cost_module
from runbooks import cost_cap
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


class CapAction(StrEnum):
    on = "on"
    off = "off"
    status = "status"


@app.command("cost-cap")
def cost_cap_command(
    action: Annotated[CapAction, typer.Argument(help="on: engage the cap; off: lift it; status: show it")],
    site: str = typer.Option("local", "--site", help="inventory name under inventories/"),
    reason: str = typer.Option("engaged by hand", "--reason", help="recorded with the cap (on)"),
) -> None:
    """Engage, lift or show the cost cap: the user node group held at its floor."""
    try:
        loaded = load_site(site)
        if action is CapAction.on:
            result = cost_cap.engage(loaded, reason)
        elif action is CapAction.off:
            result = cost_cap.lift(loaded)
            if result.get("changed"):
                typer.echo("cost cap: lifted; node group sizes restored")
                return
        else:
            result = cost_cap.state(loaded)
        typer.echo(cost_cap.describe(result))
    except (SiteError, cost_cap.CostCapError) as error:
        typer.echo(f"runbook: {error}", err=True)
        raise typer.Exit(2) from error


@app.command()
def cost(
    site: str = typer.Option("local", "--site", help="inventory name under inventories/"),
    compare: str = typer.Option("", "--compare", help="a second site, shown side by side"),
) -> None:
    """Print a site's expected monthly AWS cost from its inventory and the price table."""
    try:
        columns = []
        prices = None
        for name in [site, compare] if compare else [site]:
            loaded = load_site(name)
            table = cost_module.load_prices(loaded.region)
            prices = prices or table
            columns.append((name, cost_module.estimate(cost_module.site_variables(loaded), table)))
        assert prices is not None
        typer.echo(cost_module.render(columns, prices))
    except (SiteError, cost_module.PriceError) as error:
        typer.echo(f"runbook: {error}", err=True)
        raise typer.Exit(2) from error


def main() -> None:
    app()

"""``maintcal customer set`` (reminders, lifecycle notices) and ``maintcal customer endpoint ...``."""

from __future__ import annotations

from dataclasses import asdict

import click

from commands.common import AppContext, pass_app, print_json, print_table
from commands.customers import customer
from scheduler.catalogue import endpoints as service
from scheduler.notices.channels import EVENTS


@customer.command("set")
@click.argument("key")
@click.option(
    "--reminders",
    "reminders",
    multiple=True,
    help="Reminder lead times before each window, e.g. 48h or 7d,24h (repeatable); 'none' for no reminders.",
)
@click.option(
    "--lifecycle-notices/--no-lifecycle-notices",
    default=None,
    help="Also send 'started' and 'finished' notices for planned windows (always sent for unplanned ones).",
)
@pass_app
def customer_set(app: AppContext, key: str, reminders: tuple[str, ...], lifecycle_notices: bool | None) -> None:
    """Set customer KEY's notice options."""
    options = service.set_notice_options(
        app.db(), app.now, key, reminders=list(reminders) or None, lifecycle_notices=lifecycle_notices
    )
    leads = ", ".join(options.reminders) or "none"
    state = "on" if options.lifecycle_notices else "off"
    click.echo(f"{key}: reminders {leads}; started/finished notices for planned windows {state}")


@customer.group("endpoint")
def endpoint() -> None:
    """Webhook, Slack and Teams endpoints of a customer (contacts that are not email addresses)."""


@endpoint.command("add")
@click.argument("key")
@click.option("--kind", type=click.Choice(["webhook", "slack", "teams"]), required=True, help="Endpoint kind.")
@click.option("--url", required=True, help="The HTTPS URL to post to.")
@click.option("--events", "events", multiple=True, help=f"Only these events (comma-separated): {', '.join(EVENTS)}.")
@pass_app
def endpoint_add(app: AppContext, key: str, kind: str, url: str, events: tuple[str, ...]) -> None:
    """Add an endpoint to customer KEY; prints a webhook's signing secret (shown only here)."""
    info = service.add_endpoint(app.db(), app.now, app.settings, key, kind, url, list(events) or None)
    click.echo(f"added {kind} endpoint {info.id} to {key}")
    if info.secret:
        click.echo(f"signing secret (shown only now): {info.secret}")


@endpoint.command("list")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def endpoint_list(app: AppContext, key: str, as_json: bool) -> None:
    """List the endpoints of customer KEY (secrets are never shown)."""
    found = service.list_endpoints(app.db(), key)
    if as_json:
        print_json([{k: v for k, v in asdict(e).items() if k != "secret"} for e in found])
        return
    print_table(["ID", "KIND", "URL", "EVENTS"], [(e.id, e.kind, e.url, ", ".join(e.events or ["all"])) for e in found])


@endpoint.command("remove")
@click.argument("key")
@click.argument("endpoint_id", type=int)
@pass_app
def endpoint_remove(app: AppContext, key: str, endpoint_id: int) -> None:
    """Stop sending to endpoint ENDPOINT_ID of customer KEY."""
    info = service.remove_endpoint(app.db(), app.now, key, endpoint_id)
    click.echo(f"removed {info.kind} endpoint {info.id} from {key}")


@endpoint.command("rotate-secret")
@click.argument("key")
@click.argument("endpoint_id", type=int)
@pass_app
def endpoint_rotate(app: AppContext, key: str, endpoint_id: int) -> None:
    """Give webhook endpoint ENDPOINT_ID a new signing secret (shown only here)."""
    info = service.rotate_secret(app.db(), key, endpoint_id)
    click.echo(f"new signing secret for endpoint {info.id} (shown only now): {info.secret}")


COMMANDS: list[click.Command] = []  # subcommands of 'maintcal customer'

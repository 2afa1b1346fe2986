"""``maintcal occurrence cancel|move`` and ``maintcal customer api-key``."""

from __future__ import annotations

from datetime import datetime

import click

from commands.common import INSTANT, AppContext, instant, pass_app
from commands.customers import customer
from scheduler.catalogue.apikeys import issue_api_key, revoke_api_key
from scheduler.occurrences.changes import ChangeResult, change_occurrence
from windows.errors import InvalidInput
from windows.schedule import Scheduled
from windows.timezones import format_utc


@click.group()
def occurrence() -> None:
    """Change one occurrence: cancel it or move it (product-wide or for one customer)."""


def _report(result: ChangeResult) -> None:
    """A product-wide decision says so, then how each customer now sees the occurrence."""
    verb = "cancelled" if result.action == "cancel" else "moved"
    if result.product_wide and result.items:
        click.echo(f"{verb} {result.base_id} product-wide (every customer of {result.items[0].occurrence.product})")
        for item in result.items:
            own_id = f"{item.id} " if item.id != result.base_id else ""
            click.echo(f"  {item.customer}: {own_id}{_state(item)}")
    elif result.items:
        for item in result.items:
            click.echo(f"{verb} {item.id} for {item.customer}{_state(item).removeprefix(item.status)}")
    else:
        click.echo(f"{result.action} recorded for {result.occurrence}; no subscribed customers to notify")
    click.echo(f"notices queued: {result.deliveries} to contacts of {', '.join(result.customers) or 'nobody'}")


def _state(item: Scheduled) -> str:
    """``moved to START - END (sequence N)`` or ``cancelled (sequence N)``."""
    if item.status == "cancelled":
        return f"cancelled (sequence {item.sequence})"
    return f"{item.status} to {format_utc(item.start)} - {format_utc(item.end)} (sequence {item.sequence})"


@occurrence.command("cancel")
@click.argument("occurrence_id", metavar="ID")
@click.option("--customer", help="Only for this customer (default: every customer of the product).")
@click.option("--reason", required=True, help="Why; sent to the customers.")
@pass_app
def occurrence_cancel(app: AppContext, occurrence_id: str, customer: str | None, reason: str) -> None:
    """Cancel occurrence ID (e.g. premier-edition.nightly.20270316) and notify (METHOD:CANCEL)."""
    _report(
        change_occurrence(
            app.db(), app.now, app.settings, occurrence_id, action="cancel", reason=reason, customer=customer
        )
    )


@occurrence.command("move")
@click.argument("occurrence_id", metavar="ID")
@click.option("--customer", help="Only for this customer (default: every customer of the product).")
@click.option("--to", "to", type=INSTANT, required=True, help="New start (ISO 8601 with offset or Z).")
@click.option("--end", "end", type=INSTANT, help="New end (default: keep the window's length).")
@click.option("--reason", required=True, help="Why; sent to the customers.")
@click.option("--waive-notice", help="Allow a start inside the notice period; recorded, counts as not noticed.")
@pass_app
def occurrence_move(
    app: AppContext,
    occurrence_id: str,
    customer: str | None,
    to: datetime | str,
    end: datetime | str | None,
    reason: str,
    waive_notice: str | None,
) -> None:
    """Move occurrence ID to a new start and notify the affected contacts at once.

    \b
    Example:
      maintcal occurrence move premier-edition.nightly.20270316 --to 2027-03-18T03:00:00Z --reason "DB upgrade"
    """
    result = change_occurrence(
        app.db(),
        app.now,
        app.settings,
        occurrence_id,
        action="move",
        reason=reason,
        customer=customer,
        new_start=instant(to, app.now),
        new_end=instant(end, app.now),
        waive_notice=waive_notice,
    )
    _report(result)


@customer.command("api-key")
@click.argument("key")
@click.option("--rotate", is_flag=True, help="Revoke the current key and issue a new one.")
@click.option("--revoke", is_flag=True, help="Stop the current key working, without issuing a new one.")
@pass_app
def customer_api_key(app: AppContext, key: str, rotate: bool, revoke: bool) -> None:
    """Print customer KEY's API key for /api/v1 (shown only here, once).

    With --revoke the key stops working (401) and nothing new is issued; a later 'api-key KEY'
    issues a new one.
    """
    if revoke:
        if rotate:
            raise InvalidInput("give --rotate (a new key) or --revoke (none), not both")
        revoked = revoke_api_key(app.db(), app.now, key)
        click.echo(f"revoked the API key of {key}" if revoked else f"customer {key} had no API key to revoke")
        return
    api_key = issue_api_key(app.db(), app.now, key, rotate)
    click.echo(api_key)
    click.echo(f"use it as 'Authorization: Bearer <key>' on {app.settings.base_url}/api/v1/", err=True)


COMMANDS = [occurrence]

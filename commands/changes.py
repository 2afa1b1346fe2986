"""``maintcal occurrence cancel|move`` and ``maintcal customer api-key``."""

from __future__ import annotations

from datetime import datetime

import click

from commands.common import INSTANT, AppContext, instant, pass_app
from commands.customers import customer
from scheduler.apikeys import issue_api_key
from scheduler.changes import ChangeResult, change_occurrence
from windows.timezones import format_utc


@click.group()
def occurrence() -> None:
    """Change one occurrence: cancel it or move it (product-wide or for one customer)."""


def _report(result: ChangeResult) -> None:
    for item in result.items:
        if result.action == "cancel":
            click.echo(f"cancelled {item.id} for {item.customer} (sequence {item.sequence})")
        else:
            click.echo(
                f"moved {item.id} for {item.customer} to {format_utc(item.start)} - {format_utc(item.end)} "
                f"(sequence {item.sequence})"
            )
    if not result.items:
        click.echo(f"{result.action} recorded for {result.occurrence}; no subscribed customers to notify")
    click.echo(f"notices queued: {result.deliveries} to contacts of {', '.join(result.customers) or 'nobody'}")


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
@pass_app
def customer_api_key(app: AppContext, key: str, rotate: bool) -> None:
    """Print customer KEY's API key for /api/v1 (shown only here, once)."""
    api_key = issue_api_key(app.db(), app.now, key, rotate)
    click.echo(api_key)
    click.echo(f"use it as 'Authorization: Bearer <key>' on {app.settings.base_url}/api/v1/", err=True)


COMMANDS = [occurrence]

"""``maintcal reschedule request|list|approve|reject``."""

from __future__ import annotations

from datetime import datetime

import click

from commands.common import INSTANT, AppContext, instant, pass_app, print_json, print_table
from scheduler.occurrences import reschedule as service
from scheduler.serialize import request_json
from windows.timezones import format_utc


@click.group()
def reschedule() -> None:
    """Customers' requests to move a planned occurrence, and ops' decisions."""


@reschedule.command("request")
@click.argument("occurrence_id", metavar="ID")
@click.option("--customer", required=True, help="The customer asking (resellers act on its behalf).")
@click.option("--to", "to", type=INSTANT, required=True, help="Proposed new start.")
@click.option("--reason", help="Why the customer asks.")
@pass_app
def request(app: AppContext, occurrence_id: str, customer: str, to: datetime | str, reason: str | None) -> None:
    """Ask to move occurrence ID for a customer; prints the request id."""
    start = instant(to, app.now)
    assert start is not None
    info = service.request(
        app.db(), app.now, customer=customer, occurrence_id=occurrence_id, proposed_start=start, reason=reason
    )
    click.echo(info.id)


@reschedule.command("list")
@click.option("--status", type=click.Choice(service.STATUSES), help="Only requests in this state.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def list_(app: AppContext, status: str | None, as_json: bool) -> None:
    """List reschedule requests."""
    items = service.list_requests(app.db(), status)
    if as_json:
        print_json([request_json(i) for i in items])
        return
    print_table(
        ["ID", "STATUS", "OCCURRENCE", "CUSTOMER", "PROPOSED START", "PROPOSED END", "REASON"],
        [
            (
                i.id,
                i.status,
                i.occurrence,
                i.customer,
                format_utc(i.proposed_start),
                format_utc(i.proposed_end),
                i.reason,
            )
            for i in items
        ],
    )


@reschedule.command("approve")
@click.argument("request_id", metavar="ID", type=int)
@click.option("--note", help="Note sent with the decision.")
@pass_app
def approve(app: AppContext, request_id: int, note: str | None) -> None:
    """Approve request ID: re-check the policy, move the occurrence for that customer, notify."""
    info = service.approve(app.db(), app.now, app.settings, request_id, note)
    new_start = format_utc(info.proposed_start)
    click.echo(f"approved request {info.id}: {info.occurrence} for {info.customer} now starts {new_start}")


@reschedule.command("reject")
@click.argument("request_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why; sent to the customer.")
@pass_app
def reject(app: AppContext, request_id: int, reason: str) -> None:
    """Reject request ID with a reason and notify the customer."""
    info = service.reject(app.db(), app.now, app.settings, request_id, reason)
    click.echo(f"rejected request {info.id} of {info.customer}")


COMMANDS = [reschedule]

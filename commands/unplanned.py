"""``maintcal unplanned declare|extend|end|list``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

import click

from commands.common import DURATION, INSTANT, AppContext, instant, pass_app, print_json, print_table
from scheduler.occurrences import unplanned as service
from windows.timezones import format_utc


@click.group()
def unplanned() -> None:
    """Unplanned (emergency) maintenance: customers are told at once."""


RECORD_PAST_HELP = (
    "The past is meant: a start or end more than 15 minutes ago, or a window that has already ended. "
    "Recorded as downtime; a window already over is recorded without any notice."
)


def _report(verb: str, result: service.UnplannedResult) -> None:
    info = result.info
    click.echo(f"{verb} {info.id}: {format_utc(info.start)} - {format_utc(info.end)} (sequence {info.sequence})")
    click.echo(f"affected customers: {', '.join(result.affected) or 'none (no subscribers)'}")
    if result.notified:
        click.echo(f"contacts notified: {result.deliveries}")
    else:
        click.echo("recorded after the fact: no notice sent (the window is over); it counts as downtime in the SLA")


@unplanned.command("declare")
@click.argument("product")
@click.option("--customer", "customers", multiple=True, help="Only these customers (repeatable; default: all).")
@click.option("--start", type=INSTANT, default="now", show_default=True, help="Start instant or 'now'.")
@click.option("--duration", type=DURATION, help="Length, e.g. 2h.")
@click.option("--end", type=INSTANT, help="End instant.")
@click.option("--reason", required=True, help="What is happening; sent to the customers.")
@click.option("--record-past", is_flag=True, help=RECORD_PAST_HELP)
@pass_app
def declare(
    app: AppContext,
    product: str,
    customers: tuple[str, ...],
    start: datetime | str,
    duration: timedelta | None,
    end: datetime | str | None,
    reason: str,
    record_past: bool,
) -> None:
    """Declare unplanned maintenance of PRODUCT and notify every affected contact now.

    A start more than 15 minutes ago, or a window that has already ended, needs --record-past.

    \b
    Examples:
      maintcal unplanned declare premier-edition --duration 2h --reason "emergency security patch"
      maintcal unplanned declare premier-edition --start 2027-03-02T10:00:00Z --end 2027-03-02T10:40:00Z \\
          --reason "failover, recorded after the fact" --record-past
    """
    begin = instant(start, app.now)
    assert begin is not None
    result = service.declare(
        app.db(),
        app.now,
        app.settings,
        product,
        customers=list(customers),
        start=begin,
        end=instant(end, app.now),
        duration=duration,
        reason=reason,
        record_past=record_past,
    )
    _report("declared" if result.notified else "recorded", result)


@unplanned.command("extend")
@click.argument("occurrence_id", metavar="ID")
@click.option("--by", type=DURATION, help="Extend by this long.")
@click.option("--until", type=INSTANT, help="New end instant.")
@click.option("--record-past", is_flag=True, help="Correct the end of a window that has already ended (no notice).")
@pass_app
def extend(
    app: AppContext, occurrence_id: str, by: timedelta | None, until: datetime | str | None, record_past: bool
) -> None:
    """Extend unplanned maintenance ID (e.g. premier-edition.unplanned-3); sends an update."""
    result = service.extend(
        app.db(), app.now, app.settings, occurrence_id, by=by, until=instant(until, app.now), record_past=record_past
    )
    _report("extended", result)


@unplanned.command("end")
@click.argument("occurrence_id", metavar="ID")
@click.option("--at", type=INSTANT, default="now", show_default=True, help="End instant or 'now'.")
@click.option(
    "--record-past", is_flag=True, help="The end is more than 15 minutes ago, or corrects a window already over."
)
@pass_app
def end_(app: AppContext, occurrence_id: str, at: datetime | str, record_past: bool) -> None:
    """End unplanned maintenance ID; sends an update (none when correcting a window already over)."""
    when = instant(at, app.now)
    assert when is not None
    _report("ended", service.end(app.db(), app.now, app.settings, occurrence_id, at=when, record_past=record_past))


@unplanned.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """Open, upcoming and recently ended unplanned maintenance."""
    items = service.list_unplanned(app.db(), app.now)
    if as_json:
        print_json([{**asdict(i), "start": format_utc(i.start), "end": format_utc(i.end)} for i in items])
        return
    print_table(
        ["ID", "STATE", "START (UTC)", "END (UTC)", "CUSTOMERS", "SEQ", "REASON"],
        [
            (
                i.id,
                i.state,
                format_utc(i.start),
                format_utc(i.end),
                ", ".join(i.customers) or "all",
                i.sequence,
                i.reason,
            )
            for i in items
        ],
    )


COMMANDS = [unplanned]

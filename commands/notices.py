"""``maintcal notices plan [--dry-run] | send [--once] | status [--json]``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from commands.common import AppContext, pass_app, print_json, print_table, warn
from notifications.drain import DrainStats
from scheduler.notices.outbox_status import DeliveryInfo, next_due, notices_status
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import describe_transport, send_all, send_due
from windows.errors import CheckFailed
from windows.timezones import format_utc

PROGRESS_FROM = 20  # deliveries; fewer are sent without a progress bar


@click.group()
def notices() -> None:
    """Advance notices: plan digests, send the outbox, show what is pending or failed."""


@notices.command("plan")
@click.option("--dry-run", is_flag=True, help="Show what would be queued; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.option("--everyone", is_flag=True, help="Read every customer, not only those with changes since the last run.")
@pass_app
def plan(app: AppContext, dry_run: bool, as_json: bool, everyone: bool) -> None:
    """Queue one digest per contact announcing the windows that entered the notice horizon."""
    result = plan_notices(app.db(), app.now, app.settings, dry_run, everyone=everyone)
    for digest in result.digests:
        if digest.problem:
            outcome = "would fail" if dry_run else "recorded as failed"
            warn(f"contact of {digest.customer} not told ({outcome}; the others are): {digest.problem}")
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "deliveries": result.deliveries,
                "customers": result.customers,
                "occurrences": result.occurrences,
                "digests": [
                    {"customer": d.customer, "contact": d.email, "occurrences": list(d.occurrences)}
                    for d in result.digests
                ],
            }
        )
        return
    if result.digests:
        print_table(
            ["CUSTOMER", "CONTACT", "WINDOWS", "FIRST", "LAST"],
            [(d.customer, d.email, len(d.occurrences), d.occurrences[0], d.occurrences[-1]) for d in result.digests],
        )
    verb = "would queue" if dry_run else "queued"
    click.echo(
        f"{verb} {result.deliveries} digest(s) to contacts of {result.customers} customer(s), "
        f"announcing {result.occurrences} occurrence(s)"
    )


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    console = Console(stderr=True)
    if total < PROGRESS_FROM or not console.is_terminal:
        yield None
        return
    columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("send", total=total)
        yield lambda n: bar.advance(task, n)


@notices.command("send")
@click.option("--once", is_flag=True, help="Send what is due now and return (retries stay queued).")
@pass_app
def send(app: AppContext, once: bool) -> None:
    """Send the outbox; without --once, wait for retries until nothing is left to send."""
    db, settings = app.db(), app.settings
    transport = describe_transport(settings)
    with _progress(due_now(db, app.now)) as progress:
        if once:
            stats = send_due(db, settings, app.clock, progress=progress)
        else:
            stats = send_all(db, settings, app.clock, progress=progress).stats
    _summary(stats, transport)
    if stats.failed:
        raise CheckFailed(f"{stats.failed} delivery(ies) failed permanently (see 'maintcal notices status')")


def due_now(db: Any, now: datetime) -> int:
    """How many deliveries are due (sizes the progress bar: a count, never the messages)."""
    with db.transaction() as session:
        return next_due(session, now)[0]


def _summary(stats: DrainStats, transport: str) -> None:
    uncertain = f" ({stats.uncertain} possibly delivered already)" if stats.uncertain else ""
    click.echo(f"sent {stats.sent}, to retry {stats.retried}{uncertain}, failed {stats.failed} via {transport}")
    for failure in stats.failures:
        click.echo(f"  failed: {failure}", err=True)


def _delivery_json(d: DeliveryInfo) -> dict[str, Any]:
    return {
        "id": d.id,
        "customer": d.customer,
        "kind": d.kind,
        "contact": d.email,
        "message_id": d.message_id,
        "status": d.status,
        "attempts": d.attempts,
        "uncertain": d.uncertain,
        "deadline": format_utc(d.deadline) if d.deadline else None,
        "next_attempt_at": format_utc(d.next_attempt_at),
        "last_error": d.last_error,
    }


@notices.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Counts by state, deliveries at risk of missing their notice deadline, permanent failures."""
    s = notices_status(app.db(), app.now, app.settings)
    if as_json:
        print_json(
            {
                "counts": s.counts,
                "due_now": s.due_now,
                "next_attempt_at": format_utc(s.next_attempt_at) if s.next_attempt_at else None,
                "uncertain": s.uncertain,
                "at_risk": [
                    _delivery_json(d) | {"overdue": bool(d.deadline and d.deadline < app.now)} for d in s.at_risk
                ],
                "failed": [_delivery_json(d) for d in s.failed],
                "channels": s.channels or {},
            }
            | ({"at_risk_more": s.at_risk_total - len(s.at_risk)} if s.at_risk_total > len(s.at_risk) else {})
        )
        return
    counts = ", ".join(f"{name} {count}" for name, count in s.counts.items())
    click.echo(f"deliveries: {counts}; due now {s.due_now}")
    if s.channels and set(s.channels) != {"email"}:  # endpoints too: each channel on its own
        for channel, by_status in s.channels.items():
            shown = ", ".join(f"{name} {count}" for name, count in by_status.items() if count)
            click.echo(f"  {channel}: {shown}")
    if s.next_attempt_at and not s.due_now:
        click.echo(f"next attempt at {format_utc(s.next_attempt_at)}")
    if s.uncertain:
        click.echo(f"{s.uncertain} unsent delivery(ies) may already have been delivered once (uncertain)")
    if s.at_risk:
        click.secho(
            f"WARNING: {max(s.at_risk_total, len(s.at_risk))} delivery(ies) unsent close to or past their notice "
            "deadline",
            fg="red",
            bold=True,
            err=True,
        )
        _table(s.at_risk, app.now)
        if s.at_risk_total > len(s.at_risk):
            click.echo(f"... and {s.at_risk_total - len(s.at_risk)} more (the soonest deadlines are listed)")
    if s.failed:
        click.secho(f"{len(s.failed)} delivery(ies) failed permanently:", fg="red", err=True)
        _table(s.failed, app.now)


def _table(rows: list[DeliveryInfo], now: datetime) -> None:
    print_table(
        ["ID", "CUSTOMER", "CONTACT", "KIND", "STATUS", "DEADLINE", "ATTEMPTS", "LAST ERROR"],
        [
            (
                d.id,
                d.customer,
                d.email,
                d.kind,
                d.status,
                (format_utc(d.deadline) + (" (passed)" if d.deadline < now else "")) if d.deadline else "",
                d.attempts,
                d.last_error or "",
            )
            for d in rows
        ],
    )


COMMANDS = [notices]

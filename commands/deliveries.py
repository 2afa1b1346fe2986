"""``maintcal deliveries --occurrence ID [--json]``: who was told what about one occurrence, when, how."""

from __future__ import annotations

from typing import Any

import click

from commands.common import AppContext, pass_app, print_json, print_table
from scheduler.notices.deliveries_report import DeliveryRecord, deliveries_for
from windows.timezones import format_utc


def _json(d: DeliveryRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": d.id,
        "occurrence": d.occurrence,
        "customer": d.customer,
        "channel": d.channel,
        "recipient": d.recipient,
        "kind": d.kind,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "start": format_utc(d.start),
        "end": format_utc(d.end),
        "sequence": d.sequence,
        "due_at": format_utc(d.due_at) if d.status in ("queued", "sending") else None,
        "sent_at": format_utc(d.sent_at) if d.sent_at else None,
    }
    item["webhook_id" if d.webhook_id else "message_id"] = d.message_id
    return item


@click.command("deliveries")
@click.option("--occurrence", "occurrence_id", required=True, help="Occurrence id, e.g. pe.nightly.20270316.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def deliveries(app: AppContext, occurrence_id: str, as_json: bool) -> None:
    """Every notice about one occurrence: recipient, channel, kind, status and when it was sent."""
    found = deliveries_for(app.db(), occurrence_id)
    if as_json:
        print_json([_json(d) for d in found])
        return
    if not found:
        click.echo(f"no deliveries about {occurrence_id}")
        return
    print_table(
        ["CUSTOMER", "CHANNEL", "RECIPIENT", "KIND", "TIMES GIVEN", "STATUS", "SENT AT / DUE"],
        [
            (
                d.customer,
                d.channel,
                d.recipient,
                d.kind,
                f"{format_utc(d.start)} - {format_utc(d.end)} (seq {d.sequence})",
                d.status,
                format_utc(d.sent_at) if d.sent_at else (f"due {format_utc(d.due_at)}" if d.status == "queued" else ""),
            )
            for d in found
        ],
    )


COMMANDS = [deliveries]

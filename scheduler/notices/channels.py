"""A notice's deliveries to a customer's endpoints (webhook, Slack, Teams; DESIGN §11).

One delivery per endpoint and occurrence, queued beside the email deliveries of the same notice:
its stored body is the webhook JSON (``{"type", "id", "timestamp", "data"}``), the Slack Block Kit
message or the Teams Adaptive Card, and its ``message_id`` is the ``webhook-id`` sent with every
attempt. An endpoint that lists ``events`` gets only those. Digests are announced to an endpoint
once per occurrence and times, like to an address.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.chat import slack_message, teams_card
from notifications.content import ANNOUNCE, Notice
from notifications.webhook import shown_url
from scheduler.occurrences.shape import occurrence_json
from scheduler.settings import Settings
from scheduler.store.models import Customer
from scheduler.store.models_endpoints import SLACK, TEAMS, Endpoint
from scheduler.store.models_outbox import QUEUED, SUPERSEDED, Delivery, DeliveryOccurrence
from windows.schedule import Scheduled
from windows.timezones import format_utc

EVENT_OF_KIND = {
    ANNOUNCE: "occurrence.announced",
    "update": "occurrence.moved",
    "cancel": "occurrence.cancelled",
    "unplanned": "unplanned.declared",
    "reschedule-approved": "occurrence.moved",
    "reschedule-rejected": "reschedule.rejected",
    "reminder": "occurrence.reminder",
    "started": "occurrence.started",
    "finished": "occurrence.finished",
}
EVENTS = (
    "occurrence.announced",
    "occurrence.reminder",
    "occurrence.started",
    "occurrence.finished",
    "occurrence.moved",
    "occurrence.cancelled",
    "unplanned.declared",
    "unplanned.extended",
    "unplanned.ended",
    "reschedule.rejected",
)


def event_for(kind: str, event: str | None = None) -> str:
    return event or EVENT_OF_KIND[kind]


def active_endpoints(session: Session, customer_id: int) -> list[Endpoint]:
    return list(
        session.scalars(
            select(Endpoint)
            .where(Endpoint.customer_id == customer_id, Endpoint.removed_at.is_(None))
            .order_by(Endpoint.id)
        )
    )


def endpoint_label(endpoint: Endpoint) -> str:
    """How a delivery names its endpoint: kind, id and host (Slack and Teams URLs hide a secret)."""
    return f"{endpoint.kind} endpoint {endpoint.id} ({shown_url(endpoint.url)})"[:320]


def wants(endpoint: Endpoint, event: str) -> bool:
    return endpoint.events is None or event in json.loads(endpoint.events)


def endpoint_deliveries(
    session: Session,
    *,
    notice_id: int,
    customer: Customer,
    notice: Notice,
    items: Sequence[Scheduled],
    event: str,
    at: datetime,
    due_key: str | None,
    extra: dict[str, Any],
    settings: Settings,
    method: str,
    only: set[int] | None = None,
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Delivery rows (with what each covers) for ``customer``'s endpoints that want ``event``
    (``only``: of those, these endpoint ids)."""
    pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for endpoint in active_endpoints(session, customer.id):
        if not wants(endpoint, event) or (only is not None and endpoint.id not in only):
            continue
        label = f"endpoint:{endpoint.id}"
        told = _announced(session, customer.id, label, items) if notice.kind == ANNOUNCE else set()
        for number, (item, entry) in enumerate(zip(items, notice.entries, strict=True)):
            if (item.id, item.start, item.end) in told:
                continue
            webhook_id = f"msg_{notice_id}_{endpoint.id}_{number}"
            if endpoint.kind == SLACK:
                body: dict[str, Any] = slack_message(notice, entry)
            elif endpoint.kind == TEAMS:
                body = teams_card(notice, entry)
            else:
                data = {"occurrence": occurrence_json(item, settings.uid_domain), "customer": customer.key} | extra
                body = {"type": event, "id": webhook_id, "timestamp": format_utc(at), "data": data}
            delivery = {
                "notice_id": notice_id,
                "contact_id": None,
                "email": endpoint_label(endpoint),
                "message_id": webhook_id,
                "mime": json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
                "status": QUEUED,
                "attempts": 0,
                "next_attempt_at": at,
                "uncertain": False,
                "deadline": None,
                "created_at": notice.created_at,
                "failed_at": None,
                "last_error": None,
                "channel": endpoint.kind,
                "endpoint_id": endpoint.id,
                "event": event,
                "due_key": f"{due_key}/e{endpoint.id}" if due_key else None,
            }
            cover = {
                "customer_id": customer.id,
                "occurrence_id": item.id,
                "product_key": item.occurrence.product,
                "start": item.start,
                "end": item.end,
                "sequence": item.sequence,
                "method": method,
                "announced_to": label if notice.kind == ANNOUNCE else None,
            }
            pending.append((delivery, [cover]))
    return pending


def _announced(
    session: Session, customer_id: int, label: str, items: Sequence[Scheduled]
) -> set[tuple[str, datetime, datetime]]:
    rows = session.execute(
        select(DeliveryOccurrence.occurrence_id, DeliveryOccurrence.start, DeliveryOccurrence.end)
        .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
        .where(
            DeliveryOccurrence.customer_id == customer_id,
            DeliveryOccurrence.announced_to == label,
            DeliveryOccurrence.occurrence_id.in_({s.id for s in items}),
            Delivery.status != SUPERSEDED,
        )
    )
    return {(o, s, e) for o, s, e in rows}

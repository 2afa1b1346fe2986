"""Writing notices into the outbox: one notice row per customer and one delivery per contact, with
its final MIME bytes and .ics attachment made now, and the occurrences (at which times) it covers.

Nothing is sent here; the planning run (``planning``) and the change notices (``change_notices``)
call ``write_notices`` inside their transaction, and the worker sends the deliveries later.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.addresses import address_problem
from notifications.content import ANNOUNCE, Entry, Notice, method_for
from notifications.message import Rendered, build_message, message_id, render
from scheduler.feeds.ical import CalendarInfo, CalendarMemo, FeedEvent, render_calendar
from scheduler.notices.bulk_rows import insert_rows
from scheduler.notices.channels import endpoint_deliveries, event_for
from scheduler.settings import Settings
from scheduler.store.models import Contact, Customer
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import FAILED, QUEUED, Delivery, DeliveryOccurrence
from scheduler.store.models_outbox import Notice as NoticeRow
from windows.errors import InvalidInput
from windows.schedule import Scheduled

_FLUSH_EVERY = 500


@dataclass(frozen=True)
class Outgoing:
    """One notice to write: to ``customer``, each contact's digest (a ``None`` contact only lists
    occurrences for the endpoints), and what ``write_notices`` takes for it (see there)."""

    customer: Customer
    digests: Sequence[tuple[Contact | None, tuple[Scheduled, ...]]]
    kind: str
    note: str | None
    endpoints: set[int] | None = None
    event: str | None = None
    due_at: datetime | None = None
    due_key: str | None = None
    extra: dict[str, Any] | None = None


def write_notices(
    session: Session,
    now: datetime,
    settings: Settings,
    kind: str,
    note: str | None,
    batches: Sequence[tuple[Customer, Sequence[tuple[Contact | None, tuple[Scheduled, ...]]]]],
    product_names: dict[str, str],
    *,
    endpoints: set[int] | None = None,
    event: str | None = None,
    due_at: datetime | None = None,
    due_key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Write one notice per customer and one delivery (bytes made now) per contact, in bulk.

    The customer's endpoints (webhook, Slack, Teams) that want the notice's event get one delivery
    per occurrence too. A lifecycle notice is due at ``due_at`` (else now) and named by ``due_key``
    (each delivery's key adds its contact or endpoint), so that queueing it again adds nothing.
    A ``None`` contact only lists occurrences for the endpoints; ``endpoints``: only those.
    """
    notices = [
        Outgoing(customer, digests, kind, note, endpoints, event, due_at, due_key, extra)
        for customer, digests in batches
    ]
    return write_outgoing(session, now, settings, notices, product_names)


def write_outgoing(
    session: Session, now: datetime, settings: Settings, notices: Sequence[Outgoing], product_names: dict[str, str]
) -> int:
    """Write ``notices`` (each with its own kind, note and due key) as ``write_notices`` writes one
    kind: one multi-row INSERT of the notices, then of their deliveries and of what these cover per
    ``_FLUSH_EVERY`` deliveries, in order (so ids and bytes are as if written one by one). Returns
    how many deliveries were queued."""
    if not notices:
        return 0
    notice_ids = insert_rows(
        session,
        NoticeRow,
        [
            {
                "kind": n.kind,
                "method": method_for(n.kind),
                "customer_id": n.customer.id,
                "note": n.note,
                "created_at": now,
            }
            for n in notices
        ],
        ids=True,
    )
    queued = 0
    pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    hooked = _with_endpoints(session, [n.customer.id for n in notices if n.endpoints is None or n.endpoints])
    calendar = CalendarMemo()  # an event shared by many notices is written once
    for notice_id, notice in zip(notice_ids, notices, strict=True):
        customer, kind, note, due_key = notice.customer, notice.kind, notice.note, notice.due_key
        method = method_for(kind)
        event = event_for(kind, notice.event)
        at = notice.due_at or now
        # Contacts told the same things share a rendering (keyed by values, not by their text: formatting
        # two datetimes per occurrence was 6 % of a first plan).
        rendered: dict[tuple[tuple[str, datetime, datetime, int], ...], Rendered] = {}
        for contact, items in notice.digests:
            if contact is None:
                continue
            cache_key = tuple([(s.id, s.start, s.end, s.sequence) for s in items])
            if cache_key not in rendered:
                content = _content(customer, items, kind, note, now, settings, product_names)
                ics = _attachment(customer, items, method, now, settings, product_names, calendar)
                rendered[cache_key] = render(content, sender=settings.mail_from, ics=ics)
            mid = message_id(settings.uid_domain, now, notice_id, contact.id)
            problem = address_problem(contact.email)  # checked once per process (addresses.py)
            mime, problem = _message(rendered[cache_key], settings, contact.email, mid, now, problem)
            delivery = {
                "channel": "email",
                "endpoint_id": None,
                "event": event,
                "due_key": f"{due_key}/c{contact.id}" if due_key else None,
                "notice_id": notice_id,
                "contact_id": contact.id,
                "email": contact.email,
                "message_id": mid,
                "mime": mime,
                "status": QUEUED if problem is None else FAILED,
                "attempts": 0,
                "next_attempt_at": at,
                "uncertain": False,
                "deadline": None if due_key else _deadline(items, kind, now),
                "created_at": now,
                "failed_at": None if problem is None else now,
                "last_error": None if problem is None else f"not sent: {problem}",
            }
            covers = [
                {
                    "customer_id": customer.id,
                    "occurrence_id": s.id,
                    "product_key": s.occurrence.product,
                    "start": s.start,
                    "end": s.end,
                    "sequence": s.sequence,
                    "method": method,
                    "announced_to": contact.email if kind == ANNOUNCE else None,
                }
                for s in items
            ]
            pending.append((delivery, covers))
            if len(pending) >= _FLUSH_EVERY:
                queued += _insert(session, pending)
                pending = []
        told = {s.id: s for _, items in notice.digests for s in items}
        if told and customer.id in hooked and (notice.endpoints is None or notice.endpoints):
            union = tuple(sorted(told.values(), key=lambda s: (s.start, s.id)))
            pending.extend(
                endpoint_deliveries(
                    session,
                    notice_id=notice_id,
                    customer=customer,
                    notice=_content(customer, union, kind, note, now, settings, product_names),
                    items=union,
                    event=event,
                    at=at,
                    due_key=due_key,
                    extra={"note": note} | (notice.extra or {}),
                    settings=settings,
                    method=method,
                    only=notice.endpoints,
                )
            )
    return queued + _insert(session, pending)


def _with_endpoints(session: Session, customer_ids: list[int]) -> set[int]:
    """Which of ``customer_ids`` have an endpoint (most have none: one query for all, not one each)."""
    found: set[int] = set()
    ordered = sorted(set(customer_ids))
    for i in range(0, len(ordered), 1000):
        found.update(
            session.scalars(
                select(Endpoint.customer_id)
                .where(Endpoint.customer_id.in_(ordered[i : i + 1000]), Endpoint.removed_at.is_(None))
                .distinct()
            )
        )
    return found


def _message(
    rendered: Rendered, settings: Settings, to: str, mid: str, now: datetime, problem: str | None
) -> tuple[bytes, str | None]:
    """The MIME bytes for one contact, or why there are none (``problem``: its address's, from
    ``address_problem``): a recipient stored before addresses were checked (or checked less
    strictly) fails for that contact alone, never for the others."""
    if problem is None:
        try:
            return build_message(rendered, sender=settings.mail_from, recipient=to, message_id=mid, date=now), None
        except InvalidInput as error:
            problem = error.message
    return b"", problem


def _insert(session: Session, pending: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    if not pending:
        return 0
    ids = insert_rows(session, Delivery, [d for d, _ in pending], ids=True)
    queued = sum(1 for d, _ in pending if d["status"] == QUEUED)
    covers = [
        cover | {"delivery_id": delivery_id}
        for delivery_id, (_, rows) in zip(ids, pending, strict=True)
        for cover in rows
    ]
    insert_rows(session, DeliveryOccurrence, covers, ids=False)
    return queued


def _content(
    customer: Customer,
    items: Iterable[Scheduled],
    kind: str,
    note: str | None,
    now: datetime,
    settings: Settings,
    product_names: dict[str, str],
) -> Notice:
    entries = tuple(
        Entry(
            uid=f"{s.id}@{settings.uid_domain}",
            occurrence_id=s.id,
            product=s.occurrence.product,
            product_name=product_names.get(s.occurrence.product, s.occurrence.product),
            start=s.start,
            end=s.end,
            zone=customer.timezone,
            sequence=s.sequence,
            status=s.status,
            kind=s.kind,
            window_zone=s.timezone,
        )
        for s in items
    )
    portal = f"{settings.base_url.rstrip('/')}/portal/" if settings.base_url else None
    return Notice(kind, customer.key, customer.name, customer.timezone, entries, now, note, portal)


def _attachment(
    customer: Customer,
    items: Sequence[Scheduled],
    method: str,
    now: datetime,
    settings: Settings,
    product_names: dict[str, str],
    memo: CalendarMemo | None = None,
) -> bytes:
    """The .ics rendered exactly as the feed renders these events (same UIDs, SEQUENCEs, text)."""
    events = [
        FeedEvent(s, product_names.get(s.occurrence.product, s.occurrence.product), now, viewer_zone=customer.timezone)
        for s in items
    ]
    info = CalendarInfo(
        uid=f"notice-{customer.key}@{settings.uid_domain}",
        name=f"{customer.name} maintenance",
        description=f"Maintenance notice for {customer.name}",
        method=method,
    )
    return render_calendar(events, info, settings=settings, memo=memo)


def _deadline(items: Iterable[Scheduled], kind: str, now: datetime) -> datetime | None:
    """The earliest deadline this delivery can still meet (None when none is ahead)."""
    if kind == "cancel":
        return None
    deadlines = [
        s.notice_deadline
        for s in items
        if s.notice_deadline is not None
        and s.notice_deadline >= now
        and s.kind == "planned"
        and s.status != "cancelled"
        and not s.waived
    ]
    return min(deadlines, default=None)

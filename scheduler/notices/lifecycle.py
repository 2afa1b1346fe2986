"""Queueing the lifecycle notices (issue 15): reminders before a window, "started" and "finished".

Each is queued a little ahead (``lifecycle_ahead_hours``) as an outbox delivery due at its instant
(``next_attempt_at``), so the worker sends it then and not before. Its ``due_key`` (customer,
kind, occurrence, times, lead, contact or endpoint) makes queueing it again a no-op. It gives the
occurrence's times as they are when it is queued; a change that moves or cancels the occurrence
supersedes it (``supersede``: never sent) and queues the ones for the new times (a lead time
already past gets none). ``plan_lifecycle`` runs in the planning pass and inside every change's
transaction; it also supersedes queued, never-attempted ones nobody wants any more (reminders
switched off, a lead time dropped, an opt-out).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from scheduler.notices.channels import active_endpoints
from scheduler.notices.enqueue import write_notices
from scheduler.notices.supersede import supersede
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.models import Contact, Customer, Product, Unplanned
from scheduler.store.models_outbox import QUEUED, Delivery, Notice
from windows.lifecycle import FINISHED, REMINDER, STARTED, Due, human_duration, lifecycle_due, stored_leads
from windows.parsing import parse_duration
from windows.schedule import Scheduled
from windows.timezones import format_utc


def due_key(customer: str, item: Scheduled, due: Due) -> str:
    """``acme/reminder/pe.tue.20270209/2027-02-09T05:00:00Z/2027-02-09T11:00:00Z/24h``."""
    return "/".join((customer, due.kind, item.id, format_utc(item.start), format_utc(item.end), due.lead or "-"))


def plan_lifecycle(session: Session, now: datetime, settings: Settings, customers: Iterable[str] | None = None) -> int:
    """Queue the lifecycle notices due within the next ``lifecycle_ahead_hours``; returns how many
    deliveries were queued. ``customers``: only those (a change's); None: every customer."""
    ahead = timedelta(hours=settings.lifecycle_ahead_hours)
    query = select(Customer).options(selectinload(Customer.contacts)).order_by(Customer.key)
    if customers is not None:
        query = query.where(Customer.key.in_(sorted(set(customers))))
    names: dict[str, str] = {key: name for key, name in session.execute(select(Product.key, Product.name))}
    queued = 0
    for customer in session.scalars(query):
        leads = stored_leads(customer.reminders)
        longest = max((parse_duration(lead) for lead in leads), default=timedelta(0))
        wanted: dict[str, tuple[Scheduled, Due]] = {}
        for item in occurrences(session, now, now + ahead + longest, customer=customer.key):
            for due in lifecycle_due(item, leads, planned_notices=customer.lifecycle_notices, now=now):
                if due.at <= now + ahead:
                    wanted[due_key(customer.key, item, due)] = (item, due)
        supersede(session, now, _unwanted(session, customer.id, set(wanted), now))
        if not wanted:
            continue
        contacts = [c for c in customer.contacts if c.removed_at is None]
        endpoints = [e.id for e in active_endpoints(session, customer.id)]
        targets = {key: [f"{key}/c{c.id}" for c in contacts] + [f"{key}/e{e}" for e in endpoints] for key in wanted}
        existing = set(
            session.scalars(
                select(Delivery.due_key).where(Delivery.due_key.in_([t for ts in targets.values() for t in ts]))
            )
        )
        for key, (item, due) in sorted(wanted.items(), key=lambda pair: (pair[1][1].at, pair[0])):
            missing_contacts: list[Contact | None] = [c for c in contacts if f"{key}/c{c.id}" not in existing]
            missing_endpoints = {e for e in endpoints if f"{key}/e{e}" not in existing}
            if not missing_contacts and not missing_endpoints:
                continue
            digests = [(c, (item,)) for c in missing_contacts] or [(None, (item,))]
            queued += write_notices(
                session,
                now,
                settings,
                due.kind,
                _note(session, item, due),
                [(customer, digests)],
                names,
                due_at=due.at,
                due_key=key,
                extra={"lead": due.lead} if due.lead else {},
                endpoints=missing_endpoints,
            )
    return queued


def _unwanted(session: Session, customer_id: int, wanted: set[str], now: datetime) -> list[int]:
    """Queued lifecycle deliveries, never tried and not yet due, whose notice is no longer wanted."""
    rows = session.execute(
        select(Delivery.id, Delivery.due_key)
        .join(Notice, Notice.id == Delivery.notice_id)
        .where(
            Notice.customer_id == customer_id,
            Delivery.status == QUEUED,
            Delivery.due_key.is_not(None),
            Delivery.attempts == 0,
            Delivery.next_attempt_at > now,
        )
    )
    return [delivery for delivery, key in rows if key is not None and key.rsplit("/", 1)[0] not in wanted]


def _note(session: Session, item: Scheduled, due: Due) -> str:
    """What the notice adds to the times: the lead, the state and, for unplanned, the reason."""
    reason = _reason(session, item) if item.kind == "unplanned" else None
    if due.kind == REMINDER and due.lead:
        text = f"Starts in {human_duration(parse_duration(due.lead))}."
    elif due.kind == STARTED:
        text = f"In progress until {format_utc(item.end)} ({human_duration(item.end - item.start)})."
    elif due.kind == FINISHED:
        text = f"Finished at {format_utc(item.end)} after {human_duration(item.end - item.start)}."
    else:  # pragma: no cover - every kind is named above
        text = ""
    return f"{text} Reason: {reason}" if reason else text


def _reason(session: Session, item: Scheduled) -> str | None:
    product, _, tail = item.id.partition(".unplanned-")
    if not tail.isdigit():
        return None
    return session.scalar(
        select(Unplanned.reason).join(Product).where(Product.key == product, Unplanned.number == int(tail))
    )

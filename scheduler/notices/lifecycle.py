"""Queueing the lifecycle notices (issue 15): reminders before a window, "started" and "finished".

Each is queued a little ahead (``lifecycle_ahead_hours``) as an outbox delivery due at its instant
(``next_attempt_at``), so the worker sends it then and not before. Its ``due_key`` (customer,
kind, occurrence, times, lead, contact or endpoint) makes queueing it again a no-op. It gives the
occurrence's times as they are when it is queued; a change that moves or cancels the occurrence
supersedes it (``supersede``: never sent) and queues the ones for the new times (a lead time
already past gets none). ``plan_lifecycle`` runs in the planning pass and inside every change's
transaction; it also supersedes queued, never-attempted ones nobody wants any more (reminders
switched off, a lead time dropped, an opt-out). A correction recorded after the fact sends no
change notice, but ``follow_correction`` makes the lifecycle notices still queued follow it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from scheduler.notices.enqueue import Outgoing, write_outgoing
from scheduler.notices.supersede import outdated_by, supersede
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.models import Contact, Customer, Product, Unplanned
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import QUEUED, Delivery, Notice
from windows.lifecycle import FINISHED, REMINDER, STARTED, Due, human_duration, lifecycle_due, stored_leads
from windows.parsing import parse_duration
from windows.schedule import Scheduled
from windows.timezones import format_utc


def due_key(customer: str, item: Scheduled, due: Due) -> str:
    """``acme/reminder/pe.tue.20270209/2027-02-09T05:00:00Z/2027-02-09T11:00:00Z/24h``."""
    return "/".join((customer, due.kind, item.id, format_utc(item.start), format_utc(item.end), due.lead or "-"))


ItemsOf = Callable[[Customer], Iterable[Scheduled]]


def plan_lifecycle(
    session: Session,
    now: datetime,
    settings: Settings,
    items_of: ItemsOf | None = None,
    customers: Iterable[str] | None = None,
    *,
    sweep: bool = False,
) -> int:
    """Queue the lifecycle notices due within the next ``lifecycle_ahead_hours``; returns how many
    deliveries were queued.

    ``items_of`` gives a customer's occurrences to consider (the planning run's views; a change's
    items); without it each customer's view is read. ``customers``: only those (a change's): then
    nothing else is superseded (the change superseded what it outdated). Every customer (the
    planning run), or ``sweep``: queued ones of those customers no longer wanted are superseded too.
    """
    ahead = timedelta(hours=settings.lifecycle_ahead_hours)
    keys = None if customers is None else sorted(set(customers))
    query = select(Customer).options(selectinload(Customer.contacts)).order_by(Customer.key)
    if keys is not None:
        query = query.where(Customer.key.in_(keys))
    names: dict[str, str] = {key: name for key, name in session.execute(select(Product.key, Product.name))}
    endpoints_of: dict[int, list[int]] = defaultdict(list)
    for endpoint_id, customer_id in session.execute(
        select(Endpoint.id, Endpoint.customer_id).where(Endpoint.removed_at.is_(None)).order_by(Endpoint.id)
    ):
        endpoints_of[customer_id].append(endpoint_id)
    queued_now = _queued(session, now, keys) if customers is None or sweep else {}
    wanted: dict[str, tuple[Customer, Scheduled, Due]] = {}
    stale: list[int] = []
    for customer in session.scalars(query):
        leads = stored_leads(customer.reminders)
        longest = max((parse_duration(lead) for lead in leads), default=timedelta(0))
        items = (
            items_of(customer)
            if items_of is not None
            else occurrences(session, now, now + ahead + longest, customer=customer.key)
        )
        mine: set[str] = set()
        for item in items:
            if item.start - longest > now + ahead:
                continue
            for due in lifecycle_due(item, leads, planned_notices=customer.lifecycle_notices, now=now):
                if due.at <= now + ahead:
                    key = due_key(customer.key, item, due)
                    wanted[key] = (customer, item, due)
                    mine.add(key)
        stale.extend(d for d, key in queued_now.get(customer.id, []) if key.rsplit("/", 1)[0] not in mine)
    supersede(session, now, stale)
    targets = {
        key: [f"{key}/c{c.id}" for c in customer.contacts if c.removed_at is None]
        + [f"{key}/e{e}" for e in endpoints_of[customer.id]]
        for key, (customer, _, _) in wanted.items()
    }
    every = [t for ts in targets.values() for t in ts]
    existing: set[str | None] = set()
    for chunk in range(0, len(every), 500):
        existing.update(
            session.scalars(select(Delivery.due_key).where(Delivery.due_key.in_(every[chunk : chunk + 500])))
        )
    notices: list[Outgoing] = []
    for key, (customer, item, due) in sorted(wanted.items(), key=lambda pair: (pair[1][2].at, pair[0])):
        contacts = [c for c in customer.contacts if c.removed_at is None]
        missing_contacts: list[Contact | None] = [c for c in contacts if f"{key}/c{c.id}" not in existing]
        missing_endpoints = {e for e in endpoints_of[customer.id] if f"{key}/e{e}" not in existing}
        if not missing_contacts and not missing_endpoints:
            continue
        notices.append(_due_notice(session, customer, item, due, missing_contacts, missing_endpoints))
    # All in one write (a few multi-row INSERTs), in the order above: the ids are as if one by one.
    return write_outgoing(session, now, settings, notices, names)


def follow_correction(session: Session, now: datetime, settings: Settings, items: Iterable[Scheduled]) -> int:
    """Make the lifecycle notices still queued for ``items`` give their corrected times.

    For a change recorded after the fact (``--record-past``: the window is over, no change notice
    is sent). Each queued lifecycle delivery that gives an item other times is superseded and
    queued again for the same contact or endpoint with the current times, due at its instant for
    those times (already past: sent at once). A 'finished' notice waiting for the old end thus
    says the corrected end. Returns how many deliveries were queued.
    """
    names: dict[str, str] = {key: name for key, name in session.execute(select(Product.key, Product.name))}
    queued = 0
    for item in items:
        customer = session.scalar(
            select(Customer).options(selectinload(Customer.contacts)).where(Customer.key == item.customer)
        )
        if customer is None:
            continue
        outdated = outdated_by(session, customer.id, [item], cancel=False)
        rows = session.execute(
            select(Delivery.id, Delivery.due_key, Delivery.contact_id, Delivery.endpoint_id)
            .where(Delivery.id.in_(sorted(outdated)), Delivery.due_key.is_not(None))
            .order_by(Delivery.id)
        ).all()
        supersede(session, now, [row.id for row in rows])
        wanted: dict[Due, tuple[set[int], set[int]]] = {}
        for row in rows:
            due = _again(item, str(row.due_key))
            if due is not None:
                to_contacts, to_endpoints = wanted.setdefault(due, (set(), set()))
                if row.contact_id is not None:
                    to_contacts.add(row.contact_id)
                elif row.endpoint_id is not None:
                    to_endpoints.add(row.endpoint_id)
        notices: list[Outgoing] = []
        for due, (contact_ids, endpoint_ids) in sorted(wanted.items(), key=lambda pair: (pair[0].at, pair[0].kind)):
            told: list[Contact | None] = [c for c in customer.contacts if c.id in contact_ids and c.removed_at is None]
            if not told and not endpoint_ids:
                continue
            notices.append(_due_notice(session, customer, item, due, told, endpoint_ids))
        queued += write_outgoing(session, now, settings, notices, names)
    return queued


def _due_notice(
    session: Session,
    customer: Customer,
    item: Scheduled,
    due: Due,
    contacts: list[Contact | None],
    endpoints: set[int],
) -> Outgoing:
    """``due``'s notice about ``item`` to ``contacts`` and ``endpoints`` (either may be empty), due
    at its instant under its due key, to write with ``write_outgoing``."""
    return Outgoing(
        customer,
        [(c, (item,)) for c in contacts] or [(None, (item,))],
        due.kind,
        _note(session, item, due),
        endpoints=endpoints,
        due_at=due.at,
        due_key=due_key(customer.key, item, due),
        extra={"lead": due.lead} if due.lead else {},
    )


def _again(item: Scheduled, key: str) -> Due | None:
    """The lifecycle notice a superseded delivery's due key named, at ``item``'s current times."""
    _, kind, _, _, _, lead, _ = key.rsplit("/", 6)
    if kind == STARTED:
        return Due(STARTED, item.start)
    if kind == FINISHED:
        return Due(FINISHED, item.end)
    if kind == REMINDER and lead != "-":
        return Due(REMINDER, item.start - parse_duration(lead), lead)
    return None


def _queued(session: Session, now: datetime, keys: list[str] | None) -> dict[int, list[tuple[int, str]]]:
    """Per customer (of ``keys``; None: every one), the queued lifecycle deliveries never tried and
    not yet due (id, due key)."""
    query = (
        select(Notice.customer_id, Delivery.id, Delivery.due_key)
        .join(Notice, Notice.id == Delivery.notice_id)
        .where(
            Delivery.status == QUEUED,
            Delivery.due_key.is_not(None),
            Delivery.attempts == 0,
            Delivery.next_attempt_at > now,
        )
    )
    if keys is not None:
        query = query.join(Customer, Customer.id == Notice.customer_id).where(Customer.key.in_(keys))
    rows = session.execute(query)
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for customer_id, delivery, key in rows:
        if key is not None and customer_id is not None:
            found[customer_id].append((delivery, key))
    return found


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

"""Customers' blackouts: declare, list, remove, and ops' approval of late ones (DESIGN §9).

A blackout is declared at least ``blackout_lead_days`` before it (next) starts: the largest lead
of the customer's products (30 without products). A later one is recorded ``pending``: it has no
effect until ops approve it (``approve``), like a reschedule request; ``reject`` records why not.
An active blackout changes the customer's ``local`` occurrences at once (skipped or moved) and
the change notices go out in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.effects import blackout_spec
from scheduler.blackouts.notify import apply_and_notify
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product, Subscription
from scheduler.store.models_blackouts import ACTIVE, PENDING, REJECTED, REMOVED, Blackout
from scheduler.store.repository import get_customer
from windows.blackouts import ONCE, BlackoutSpec, intervals, parse_monthly, parse_once, parse_yearly
from windows.errors import Conflict, InvalidInput, NotFound
from windows.text import clean_text
from windows.timezones import format_utc, to_utc, zone_by_name

DEFAULT_LEAD_DAYS = 30


@dataclass(frozen=True)
class BlackoutInfo:
    id: int
    customer: str
    label: str
    kind: str
    spec: str  # as typed: "2027-11-22T00:00/2027-11-30T00:00", "11-22:11-30", "last-3"
    status: str
    start: datetime | None  # once: UTC
    end: datetime | None
    note: str | None
    deliveries: int = 0  # notices queued by the call that returned this


def spec_from_inputs(start: str | None, end: str | None, yearly: str | None, monthly: str | None) -> BlackoutSpec:
    """The spec of exactly one of: a one-off ``start``/``end`` (local), ``yearly`` or ``monthly``
    (what the API and the portal's form take; empty strings count as not given)."""
    shapes = [s for s in ((start or end), yearly, monthly) if s]
    if len(shapes) != 1:
        raise InvalidInput("give exactly one of start and end, yearly, or monthly")
    if yearly:
        return parse_yearly(yearly)
    if monthly:
        return parse_monthly(monthly)
    if start and end:
        return parse_once(start, end)
    raise InvalidInput("a one-off blackout needs both start and end")


def lead_days(session: Session, cust: Customer) -> int:
    """The largest ``blackout_lead_days`` of the customer's products (30 without products)."""
    leads = session.scalars(
        select(Product.blackout_lead_days).join(Subscription).where(Subscription.customer_id == cust.id)
    ).all()
    return max(leads, default=DEFAULT_LEAD_DAYS)


def add_blackout(
    db: Database,
    now: datetime,
    settings: Settings,
    customer: str,
    spec: BlackoutSpec,
    label: str,
    *,
    actor: str | None = None,
) -> BlackoutInfo:
    """Declare a blackout for ``customer``: active if it starts ``lead_days`` ahead, else pending.

    ``actor``: the portal contact who declared it (None: ops or the API)."""
    label = clean_text("--label", label)
    with db.transaction() as session:
        cust = get_customer(session, customer)
        upcoming = intervals(spec, cust.timezone, now, now + timedelta(days=800))
        if not upcoming:
            raise InvalidInput(f"this blackout ends before now ({format_utc(now)}): nothing to declare")
        lead = lead_days(session, cust)
        status = ACTIVE if upcoming[0][0] >= now + timedelta(days=lead) else PENDING
        row = Blackout(
            customer_id=cust.id,
            label=label,
            kind=spec.kind,
            local_start=spec.start.isoformat() if spec.start else None,
            local_end=spec.end.isoformat() if spec.end else None,
            spec=None if spec.kind == ONCE else spec.text(),
            status=status,
            created_at=now,
            declared_by=actor,
        )
        deliveries = 0
        if status == ACTIVE:
            deliveries = apply_and_notify(
                session, now, settings, [cust], lambda: session.add(row), f"customer blackout: {label}"
            )
        else:
            session.add(row)
            session.flush()
        return _info(row, cust, deliveries)


def approve(db: Database, now: datetime, settings: Settings, blackout_id: int, note: str | None = None) -> BlackoutInfo:
    """Ops accept a late blackout: it takes effect now, with its change notices."""
    with db.transaction() as session:
        row, cust = _load(session, blackout_id)
        if row.status != PENDING:
            raise Conflict(f"blackout {blackout_id} is {row.status}, not pending")

        def activate() -> None:
            row.status, row.decided_at, row.decision_note = ACTIVE, now, note

        deliveries = apply_and_notify(session, now, settings, [cust], activate, f"customer blackout: {row.label}")
        return _info(row, cust, deliveries)


def reject(db: Database, now: datetime, blackout_id: int, reason: str) -> BlackoutInfo:
    reason = clean_text("--reason", reason, max_length=2000)
    with db.transaction() as session:
        row, cust = _load(session, blackout_id)
        if row.status != PENDING:
            raise Conflict(f"blackout {blackout_id} is {row.status}, not pending")
        row.status, row.decided_at, row.decision_note = REJECTED, now, reason
        return _info(row, cust)


def remove(
    db: Database,
    now: datetime,
    settings: Settings,
    blackout_id: int,
    customer: str | None = None,
    *,
    actor: str | None = None,
) -> BlackoutInfo:
    """Remove a blackout (only ``customer``'s, when given); occurrences it skipped or moved come
    back (with update notices). ``actor``: the portal contact who removed it."""
    with db.transaction() as session:
        row, cust = _load(session, blackout_id)
        if customer is not None and cust.key != customer:
            raise NotFound(f"no blackout {blackout_id}")
        info = _info(row, cust)
        deliveries = apply_and_notify(
            session,
            now,
            settings,
            [cust],
            lambda: retire(session, row, now, actor),
            f"customer blackout removed: {row.label}",
        )
        return replace(info, deliveries=deliveries)


def retire(session: Session, row: Blackout, now: datetime, actor: str | None = None) -> None:
    """Remove a blackout: one that was active is kept as ``removed`` (its occurrences come back at a
    higher SEQUENCE than their cancellation, RFC 5545 §3.8.7.4); a pending or rejected one goes."""
    if row.status == ACTIVE:
        row.status, row.decided_at, row.removed_by = REMOVED, now, actor
    else:
        session.delete(row)


def list_blackouts(db: Database, customer: str | None = None) -> list[BlackoutInfo]:
    with db.transaction() as session:
        query = (
            select(Blackout, Customer)
            .join(Customer, Customer.id == Blackout.customer_id)
            .where(Blackout.status != REMOVED)
        )
        if customer is not None:
            query = query.where(Customer.id == get_customer(session, customer).id)
        rows = session.execute(query.order_by(Blackout.id)).all()
        return [_info(row, cust) for row, cust in rows]


def _load(session: Session, blackout_id: int) -> tuple[Blackout, Customer]:
    row = session.get(Blackout, blackout_id)
    if row is None or row.status == REMOVED:
        raise NotFound(f"no blackout {blackout_id} (see 'maintcal blackout list')")
    cust = session.get(Customer, row.customer_id)
    assert cust is not None
    return row, cust


def _info(row: Blackout, cust: Customer, deliveries: int = 0) -> BlackoutInfo:
    spec = blackout_spec(row)
    start = end = None
    if spec.start and spec.end:
        zone = zone_by_name(cust.timezone)
        start = to_utc(spec.start, zone).replace(tzinfo=UTC)
        end = to_utc(spec.end, zone).replace(tzinfo=UTC)
    return BlackoutInfo(
        row.id, cust.key, row.label, row.kind, spec.text(), row.status, start, end, row.decision_note, deliveries
    )

"""Unplanned (emergency) maintenance declared by ops: declare, extend, end, list (DESIGN §3, §4).

Unplanned windows are exempt from the notice deadline, are announced at once to every affected
contact, appear in feeds, and count as downtime in the SLA. Changes keep the UID and raise the
sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from scheduler.db import Database
from scheduler.decisions import LostRace, serialised
from scheduler.models import Customer, Product, Unplanned, UnplannedCustomer
from scheduler.notify import queue_notices
from scheduler.repository import bump_version, get_customer, get_product
from scheduler.schedule import affected_customers, unplanned_scheduled
from scheduler.settings import Settings
from windows.errors import Conflict, InvalidInput, NotFound
from windows.text import clean_text
from windows.timezones import format_utc

MAX_LENGTH = timedelta(days=7)


@dataclass(frozen=True)
class UnplannedInfo:
    id: str
    product: str
    customers: list[str]  # empty: every subscriber
    start: datetime
    end: datetime
    reason: str
    sequence: int
    state: str  # upcoming | open | ended


@dataclass(frozen=True)
class UnplannedResult:
    info: UnplannedInfo
    affected: list[str]
    deliveries: int


def declare(
    db: Database,
    now: datetime,
    settings: Settings,
    product_key: str,
    *,
    customers: list[str],
    start: datetime,
    end: datetime | None = None,
    duration: timedelta | None = None,
    reason: str,
) -> UnplannedResult:
    """Record an emergency window and notify every affected contact at once."""
    reason = clean_text("--reason", reason, max_length=2000)
    if (end is None) == (duration is None):
        raise InvalidInput("give exactly one of --duration or --end")
    end = end if end is not None else start + (duration or timedelta(0))
    _check_span(start, end)

    def record(session: Session) -> UnplannedResult:
        product = get_product(session, product_key)
        named = [get_customer(session, key) for key in dict.fromkeys(customers)]
        subscribers = {c.id for c in affected_customers(session, product)}
        for customer in named:
            if customer.id not in subscribers:
                raise InvalidInput(f"customer '{customer.key}' does not subscribe to '{product.key}'")
        number = (session.scalar(select(func.max(Unplanned.number)).where(Unplanned.product_id == product.id)) or 0) + 1
        row = Unplanned(
            product_id=product.id,
            number=number,
            start=start,
            end=end,
            reason=reason,
            sequence=0,
            declared_at=now,
            updated_at=now,
            customers=[UnplannedCustomer(customer_id=c.id) for c in named],
        )
        session.add(row)
        session.flush()
        bump_version(session, now)
        return _notify(session, now, settings, row, product, reason)

    return serialised(db, record)  # two declarations at once: the later one takes the next number


def extend(
    db: Database, now: datetime, settings: Settings, occurrence_id: str, *, by: timedelta | None, until: datetime | None
) -> UnplannedResult:
    """Push the end of an unplanned window later (same UID, sequence + 1).

    Changes of one unplanned window are serialised on its row (locked on PostgreSQL; SQLite runs
    the change again if another one committed after it read): ``--by`` adds to the end the last
    committed change left, and every change raises the sequence exactly once.
    """
    if (by is None) == (until is None):
        raise InvalidInput("give exactly one of --by or --until")

    def change(session: Session) -> UnplannedResult:
        row, product = _get(session, occurrence_id, lock=db.is_postgres)
        new_end = until if until is not None else row.end + (by or timedelta(0))
        if new_end <= row.end:
            raise InvalidInput(
                f"--until {format_utc(new_end)} is not after the current end {format_utc(row.end)}; "
                "use 'maintcal unplanned end' to finish earlier"
            )
        _check_span(row.start, new_end)
        _save(session, row, new_end, now)
        bump_version(session, now)
        return _notify(session, now, settings, row, product, f"extended until {format_utc(new_end)}")

    return serialised(db, change)


def end(db: Database, now: datetime, settings: Settings, occurrence_id: str, *, at: datetime) -> UnplannedResult:
    """Finish an unplanned window at ``at`` (default now); serialised like ``extend``."""

    def change(session: Session) -> UnplannedResult:
        row, product = _get(session, occurrence_id, lock=db.is_postgres)
        if at <= row.start:
            raise InvalidInput(f"--at {format_utc(at)} is not after the start {format_utc(row.start)}")
        if at > row.end:
            raise InvalidInput(f"--at {format_utc(at)} is after the planned end {format_utc(row.end)}: use extend")
        if at == row.end and row.end <= now:
            raise Conflict(f"'{occurrence_id}' already ended at {format_utc(row.end)}")
        _save(session, row, at, now)
        bump_version(session, now)
        return _notify(session, now, settings, row, product, f"ended at {format_utc(at)}")

    return serialised(db, change)


def list_unplanned(db: Database, now: datetime, recent_days: int = 30) -> list[UnplannedInfo]:
    """Open and upcoming unplanned windows, and those that ended in the last ``recent_days``."""
    with db.transaction() as session:
        rows = session.execute(
            select(Unplanned, Product)
            .join(Product)
            .options(selectinload(Unplanned.customers))
            .where(Unplanned.end > now - timedelta(days=recent_days))
            .order_by(Unplanned.start, Product.key, Unplanned.number)
        ).all()
        return [_info(session, row, product, now) for row, product in rows]


def _check_span(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput(f"the end {format_utc(end)} is not after the start {format_utc(start)}")
    if end - start > MAX_LENGTH:
        raise InvalidInput("unplanned maintenance may last at most 7 days; extend it later if needed")


def _get(session: Session, occurrence_id: str, *, lock: bool = False) -> tuple[Unplanned, Product]:
    product_key, _, tail = occurrence_id.partition(".")
    if not tail.startswith("unplanned-") or not tail[len("unplanned-") :].isdigit():
        raise InvalidInput(f"invalid unplanned id '{occurrence_id}': expected <product>.unplanned-<n>")
    product = get_product(session, product_key)
    query = (
        select(Unplanned)
        .options(selectinload(Unplanned.customers))
        .where(Unplanned.product_id == product.id, Unplanned.number == int(tail[len("unplanned-") :]))
    )
    if lock:  # waits for a concurrent change of this window, then reads what it committed
        query = query.with_for_update(of=Unplanned)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no unplanned maintenance '{occurrence_id}'")
    return row, product


def _save(session: Session, row: Unplanned, new_end: datetime, now: datetime) -> None:
    """Write the new end and raise the sequence, only if nobody changed the row since it was read."""
    done = session.execute(
        update(Unplanned)
        .where(Unplanned.id == row.id, Unplanned.sequence == row.sequence)
        .values(end=new_end, sequence=row.sequence + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise LostRace(f"unplanned window {row.id} changed concurrently")
    session.refresh(row)


def _info(session: Session, row: Unplanned, product: Product, now: datetime) -> UnplannedInfo:
    keys = sorted(session.scalars(select(Customer.key).where(Customer.id.in_([c.customer_id for c in row.customers]))))
    state = "upcoming" if row.start > now else "open" if row.end > now else "ended"
    return UnplannedInfo(
        f"{product.key}.unplanned-{row.number}", product.key, keys, row.start, row.end, row.reason, row.sequence, state
    )


def _notify(
    session: Session, now: datetime, settings: Settings, row: Unplanned, product: Product, note: str
) -> UnplannedResult:
    only = [c.customer_id for c in row.customers]
    customers = affected_customers(session, product, only)
    items = [unplanned_scheduled(row, product.key, c) for c in customers]
    deliveries = queue_notices(session, now, settings, items, "unplanned", note) if items else 0
    return UnplannedResult(_info(session, row, product, now), [c.key for c in customers], deliveries)

"""Unplanned (emergency) maintenance declared by ops: declare, extend, end, list (DESIGN §3, §4).

Unplanned windows are exempt from the notice deadline, are announced at once to every affected
contact, appear in feeds, and count as downtime in the SLA. Changes keep the UID and raise the
sequence.

The past is recorded only on purpose (``record_past``, the CLI's ``--record-past``): a start more
than ``PAST_TOLERANCE`` (15 minutes, for a declaration typed late) before now, an end already
passed, or any change to a window that has already ended is refused without it. With it, the
window is recorded for the SLA (downtime as any unplanned maintenance); customers are told only
what is news to them: a window still open (declared late, or ended retroactively) is notified as
usual with its real times, a window wholly in the past is recorded without any email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from scheduler.blackouts.guard import refuse_frozen
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.notices.lifecycle import follow_correction
from scheduler.occurrences.decisions import LostRace, serialised
from scheduler.occurrences.schedule import affected_customers, unplanned_scheduled
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product, Unplanned, UnplannedCustomer
from scheduler.store.repository import bump_version_for, get_customer, get_product
from windows.errors import Conflict, InvalidInput, NotFound
from windows.lifecycle import human_duration
from windows.parsing import check_instant
from windows.text import clean_text
from windows.timezones import format_utc

MAX_LENGTH = timedelta(days=7)
PAST_TOLERANCE = timedelta(minutes=15)
CORRECT_HINT = "add --record-past to correct the record after the fact (no notice is sent)"


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
    notified: bool = True  # False: recorded after the fact, no notice sent


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
    record_past: bool = False,
) -> UnplannedResult:
    """Record an emergency window and notify every affected contact at once.

    A start more than 15 minutes ago or an end already passed needs ``record_past``; a window
    that has already ended is then recorded without any notice.
    """
    reason = clean_text("--reason", reason, max_length=2000)
    if (end is None) == (duration is None):
        raise InvalidInput("give exactly one of --duration or --end")
    end = end if end is not None else start + (duration or timedelta(0))
    check_instant(start, "the start")
    check_instant(end, "the end")
    _check_span(start, end)
    if not record_past:
        if end <= now:
            raise InvalidInput(
                f"this window ended at {format_utc(end)}, before now ({format_utc(now)}): add --record-past "
                "to record it after the fact (counted as downtime, no notice is sent)"
            )
        if start < now - PAST_TOLERANCE:
            raise InvalidInput(
                f"--start {format_utc(start)} is more than 15 minutes ago: check the date, or add --record-past "
                "to record the real start (customers are told now)"
            )

    def record(session: Session) -> UnplannedResult:
        product = get_product(session, product_key)
        if not record_past:
            refuse_frozen(session, product, start, end, "the window")
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
        bump_version_for(session, now, [(product.id, None)])
        return _notify(session, now, settings, row, product, "declared", send=end > now)

    return serialised(db, record)  # two declarations at once: the later one takes the next number


def extend(
    db: Database,
    now: datetime,
    settings: Settings,
    occurrence_id: str,
    *,
    by: timedelta | None,
    until: datetime | None,
    record_past: bool = False,
) -> UnplannedResult:
    """Push the end of an unplanned window later (same UID, sequence + 1).

    Changes of one unplanned window are serialised on its row (locked on PostgreSQL; SQLite runs
    the change again if another one committed after it read): ``--by`` adds to the end the last
    committed change left, and every change raises the sequence exactly once. A window that has
    already ended can only be corrected after the fact (``record_past``, new end still in the
    past, no notice); to go on, declare new unplanned maintenance.
    """
    if (by is None) == (until is None):
        raise InvalidInput("give exactly one of --by or --until")

    def change(session: Session) -> UnplannedResult:
        row, product = _get(session, occurrence_id, lock=db.is_postgres)
        new_end = until if until is not None else row.end + (by or timedelta(0))
        check_instant(new_end, "the new end")
        if new_end <= row.end:
            raise InvalidInput(
                f"--until {format_utc(new_end)} is not after the current end {format_utc(row.end)}; "
                "use 'maintcal unplanned end' to finish earlier"
            )
        _check_span(row.start, new_end)
        if row.end <= now:
            if new_end > now:
                raise Conflict(
                    f"'{occurrence_id}' ended at {format_utc(row.end)}: declare new unplanned maintenance "
                    "instead of reopening it"
                )
            if not record_past:
                raise Conflict(f"'{occurrence_id}' ended at {format_utc(row.end)}: {CORRECT_HINT}")
        _save(session, row, new_end, now)
        bump_version_for(session, now, [(product.id, None)])
        return _notify(session, now, settings, row, product, "extended", send=new_end > now)

    return serialised(db, change)


def end(
    db: Database, now: datetime, settings: Settings, occurrence_id: str, *, at: datetime, record_past: bool = False
) -> UnplannedResult:
    """Finish an unplanned window at ``at`` (default now); serialised like ``extend``.

    Ending an open window more than 15 minutes ago, or correcting the end of a window that has
    already ended, needs ``record_past``; only the former sends a notice (customers learn it ended).
    """

    def change(session: Session) -> UnplannedResult:
        row, product = _get(session, occurrence_id, lock=db.is_postgres)
        if at <= row.start:
            raise InvalidInput(f"--at {format_utc(at)} is not after the start {format_utc(row.start)}")
        if at > row.end:
            raise InvalidInput(f"--at {format_utc(at)} is after the planned end {format_utc(row.end)}: use extend")
        if at == row.end and row.end <= now:
            raise Conflict(f"'{occurrence_id}' already ended at {format_utc(row.end)}")
        was_open = row.end > now
        if not record_past:
            if not was_open:
                raise Conflict(f"'{occurrence_id}' already ended at {format_utc(row.end)}: {CORRECT_HINT}")
            if at < now - PAST_TOLERANCE:
                raise InvalidInput(
                    f"--at {format_utc(at)} is more than 15 minutes ago: check the date, or add --record-past "
                    "to record the real end"
                )
        _save(session, row, at, now)
        bump_version_for(session, now, [(product.id, None)])
        return _notify(session, now, settings, row, product, "ended", send=was_open)

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


def state_note(row: Unplanned, what: str, now: datetime) -> str:
    """What an unplanned notice says besides the times: what happened, the state now, the reason.

    ``Extended until 2027-01-04T15:30:00Z; in progress, 3 h 30 min in all. Reason: disk failure``
    """
    length = human_duration(row.end - row.start)
    if what == "ended" or row.end <= now:
        state = f"Ended at {format_utc(row.end)} after {length}."
    elif row.start > now:
        state = f"Starts at {format_utc(row.start)}; expected to last {length}."
    else:
        state = (
            f"In progress since {format_utc(row.start)}; expected to end at {format_utc(row.end)} ({length} in all)."
        )
    if what == "extended":
        state = f"Extended until {format_utc(row.end)}. {state}"
    elif what == "ended" and row.end > now:
        state = f"Ends early, at {format_utc(row.end)} ({length} in all)."
    return f"{state} Reason: {row.reason}"


def _notify(
    session: Session, now: datetime, settings: Settings, row: Unplanned, product: Product, what: str, *, send: bool
) -> UnplannedResult:
    """Queue the notice for every affected contact; with ``send`` False (history) no notice, but
    the lifecycle notices still queued (a 'finished' for the old end) follow the corrected times.

    ``what``: declared, extended or ended (the endpoints' event ``unplanned.<what>``).
    """
    only = [c.customer_id for c in row.customers]
    customers = affected_customers(session, product, only)
    items = [unplanned_scheduled(row, product.key, c) for c in customers]
    note = state_note(row, what, now)
    deliveries = 0
    if items and send:
        deliveries = enqueue_change_notices(session, now, settings, items, "unplanned", note, f"unplanned.{what}")
    elif items:
        follow_correction(session, now, settings, items)
    return UnplannedResult(_info(session, row, product, now), [c.key for c in customers], deliveries, send)

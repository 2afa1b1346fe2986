"""The vendor's change freezes: declare, list, remove (DESIGN §9).

A freeze covers one product or all of them, between two local times of a named zone (end
exclusive). It cancels every planned occurrence it overlaps, in every view, with change notices;
``scheduler.blackouts.guard`` refuses moves and new windows into it. A removed freeze is kept
(``removed_at``), no longer listed nor in force: its occurrences come back with update notices at
a SEQUENCE 2 higher than before it (``effects``), never lower than their cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.notify import apply_and_notify
from scheduler.occurrences.schedule import affected_customers
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product
from scheduler.store.models_blackouts import Freeze
from scheduler.store.repository import get_product
from windows.errors import InvalidInput, NotFound
from windows.parsing import parse_local_datetime
from windows.text import clean_text
from windows.timezones import format_utc, resolve_zone, to_utc


@dataclass(frozen=True)
class FreezeInfo:
    id: int
    product: str | None  # None: all products
    start: datetime
    end: datetime
    timezone: str
    reason: str
    deliveries: int = 0
    warning: str | None = None


def add_freeze(
    db: Database,
    now: datetime,
    settings: Settings,
    *,
    product: str | None,
    start: str,
    end: str,
    tz: str,
    reason: str,
) -> FreezeInfo:
    """Freeze ``product`` (None: all products) from local ``start`` to ``end`` in zone ``tz``."""
    reason = clean_text("--reason", reason, max_length=2000)
    zone = resolve_zone(tz)
    local_start, local_end = parse_local_datetime(start), parse_local_datetime(end)
    utc_start = to_utc(local_start, zone.zone).replace(tzinfo=UTC)
    utc_end = to_utc(local_end, zone.zone).replace(tzinfo=UTC)
    if utc_end <= utc_start:
        raise InvalidInput(f"freeze end {end} is not after its start {start}")
    if utc_end <= now:
        raise InvalidInput(f"this freeze ended at {format_utc(utc_end)}, before now ({format_utc(now)})")
    with db.transaction() as session:
        prod = get_product(session, product) if product else None
        row = Freeze(
            product_id=prod.id if prod else None,
            start=utc_start,
            end=utc_end,
            timezone=zone.name,
            reason=reason,
            created_at=now,
        )
        deliveries = apply_and_notify(
            session, now, settings, _customers(session, prod), lambda: session.add(row), f"change freeze: {reason}"
        )
        return FreezeInfo(row.id, product, utc_start, utc_end, zone.name, reason, deliveries, zone.warning)


def remove_freeze(db: Database, now: datetime, settings: Settings, freeze_id: int) -> FreezeInfo:
    with db.transaction() as session:
        row = session.get(Freeze, freeze_id)
        if row is None or row.removed_at is not None:
            raise NotFound(f"no freeze {freeze_id} (see 'maintcal freeze list')")
        prod = session.get(Product, row.product_id) if row.product_id else None
        info = FreezeInfo(row.id, prod.key if prod else None, row.start, row.end, row.timezone, row.reason)

        def remove() -> None:
            row.removed_at = now  # kept: what it cancelled comes back at a higher SEQUENCE

        deliveries = apply_and_notify(session, now, settings, _customers(session, prod), remove, "change freeze lifted")
        return FreezeInfo(info.id, info.product, info.start, info.end, info.timezone, info.reason, deliveries)


def list_freezes(db: Database) -> list[FreezeInfo]:
    with db.transaction() as session:
        rows = session.execute(
            select(Freeze, Product.key)
            .outerjoin(Product, Product.id == Freeze.product_id)
            .where(Freeze.removed_at.is_(None))
            .order_by(Freeze.id)
        ).all()
        return [FreezeInfo(f.id, key, f.start, f.end, f.timezone, f.reason) for f, key in rows]


def _customers(session: Session, prod: Product | None) -> list[Customer]:
    if prod is not None:
        return affected_customers(session, prod)
    return list(session.scalars(select(Customer).order_by(Customer.key)))

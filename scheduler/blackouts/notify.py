"""Notices for what a blackout or freeze did to the schedule: compare each affected view before
and after, in the same transaction, and queue an update (or a CANCEL) for what changed.

Only the announcement horizon (notice days + lead days) is compared: later occurrences are
announced in their new state by the planning run. The rows behind each changed occurrence are
stamped (``updated_at``), so its DTSTAMP/LAST-MODIFIED move with its SEQUENCE.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.occurrences.schedule import occurrences
from scheduler.settings import Settings
from scheduler.store.models import Customer, Product
from scheduler.store.repository import bump_version
from windows.schedule import Scheduled

Snapshot = dict[tuple[str, str | None], Scheduled]


def _snapshot(session: Session, now: datetime, customers: list[Customer], days: int) -> Snapshot:
    found: Snapshot = {}
    for cust in customers:
        for item in occurrences(session, now, now + timedelta(days=days), customer=cust.key, include_cancelled=True):
            if item.kind == "planned":
                found[(item.id, cust.key)] = item
    return found


def _horizon(session: Session, settings: Settings) -> int:
    days = [p.notice_days for p in session.query(Product).all()] or [30]
    return max(days) + settings.lead_days + 1


def apply_and_notify(
    session: Session,
    now: datetime,
    settings: Settings,
    customers: list[Customer],
    change: Callable[[], None],
    note: str,
) -> int:
    """Run ``change`` (which writes rows), bump the data version, and queue notices for the
    occurrences of ``customers`` whose status or times it changed. Returns the deliveries queued."""
    days = _horizon(session, settings)
    before = _snapshot(session, now, customers, days)
    change()
    session.flush()
    bump_version(session, now)
    after = _snapshot(session, now, customers, days)
    cancelled: list[Scheduled] = []
    updated: list[Scheduled] = []
    for key, item in after.items():
        old = before.get(key)
        if old is not None and (old.status, old.start, old.end) == (item.status, item.start, item.end):
            continue
        if item.end <= now:
            continue
        (cancelled if item.status == "cancelled" else updated).append(item)
    _touch(session, now, customers, [*cancelled, *updated])
    deliveries = 0
    if cancelled:
        deliveries += enqueue_change_notices(session, now, settings, cancelled, "cancel", note)
    if updated:
        deliveries += enqueue_change_notices(session, now, settings, updated, "update", note)
    return deliveries


def _touch(session: Session, now: datetime, customers: list[Customer], items: list[Scheduled]) -> None:
    """Stamp the rows the feeds date changed events by (DTSTAMP/LAST-MODIFIED): the customer for
    its ``local`` occurrences, the product for product-wide ones."""
    by_key = {c.key: c for c in customers}
    products: set[str] = set()
    for item in items:
        if item.occurrence.customer is not None and item.occurrence.customer in by_key:
            by_key[item.occurrence.customer].updated_at = now
        else:
            products.add(item.occurrence.product)
    for product in session.query(Product).filter(Product.key.in_(products)) if products else []:
        product.updated_at = now

"""Occurrences that a catalogue change takes away are withdrawn from customers who were told.

Retiring a window, moving its ``until`` earlier or its ``from`` later, or changing its shape can
make occurrences disappear from the schedule; unsubscribing a customer from a product takes that
product's occurrences out of the customer's view. Nobody needs to hear about one that was never
announced; one that was announced (a PUBLISH notice sent, or possibly sent) gets a cancellation
exactly like ``occurrence cancel`` sends: METHOD:CANCEL, same UID, a higher SEQUENCE. Unsent
notices about it are superseded (never sent). All of it runs in the caller's transaction:

    before = announced(session, now, ["pe"])
    ...change the rules, flush...
    withdrawn = withdraw_vanished(session, now, settings, before, "window pe.w1 retired")
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from notifications.content import PUBLISH
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.notices.supersede import outdated_by, supersede
from scheduler.occurrences.schedule import find_occurrences
from scheduler.settings import Settings
from scheduler.store.models import Customer, Product, Subscription
from scheduler.store.models_outbox import QUEUED, SUPERSEDED, Delivery, DeliveryOccurrence
from windows.schedule import Scheduled

_BATCH = 500  # customers per query


@dataclass(frozen=True)
class Announced:
    """An occurrence as a customer currently sees it, and whether a notice about it may have arrived."""

    item: Scheduled
    customer_id: int
    reached: bool  # False: only queued notices (superseding them is enough)


def announced(
    session: Session, now: datetime, product_keys: Collection[str], customer_ids: Collection[int] = ()
) -> list[Announced]:
    """The not yet ended occurrences that some customer was notified about and still sees (it
    subscribes to their product): of these products (for every customer), and of every product for
    these customers."""
    reached: dict[tuple[int, str, str], bool] = {}

    def read(scope: ColumnElement[bool]) -> None:
        rows = session.execute(
            select(DeliveryOccurrence.customer_id, Customer.key, DeliveryOccurrence.occurrence_id, Delivery.status)
            .select_from(DeliveryOccurrence)
            .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
            .join(Customer, Customer.id == DeliveryOccurrence.customer_id)
            .where(
                scope,
                DeliveryOccurrence.method == PUBLISH,
                DeliveryOccurrence.end > now,
                Delivery.status != SUPERSEDED,
            )
        )
        for customer_id, key, occurrence_id, status in rows:
            name = (customer_id, key, occurrence_id)
            reached[name] = reached.get(name, False) or status != QUEUED

    if product_keys:
        read(DeliveryOccurrence.product_key.in_(sorted(product_keys)))
    ids = sorted(set(customer_ids))
    for first in range(0, len(ids), _BATCH):
        read(DeliveryOccurrence.customer_id.in_(ids[first : first + _BATCH]))
    result = []
    found = find_occurrences(session, [(occurrence_id, key) for _, key, occurrence_id in sorted(reached)])
    # Only what the customer still sees: one it was unsubscribed from was withdrawn then.
    subscribed = _subscribed(session, {customer_id for customer_id, _, _ in reached})
    for (customer_id, key, occurrence_id), was_reached in sorted(reached.items()):
        item = found[(occurrence_id, key)]
        if (
            item is not None
            and item.kind == "planned"
            and item.status != "cancelled"
            and item.end > now
            and (customer_id, item.occurrence.product) in subscribed
        ):
            result.append(Announced(item, customer_id, was_reached))
    return result


def withdraw_vanished(
    session: Session, now: datetime, settings: Settings, before: list[Announced], note: str
) -> list[Scheduled]:
    """Cancel, for its customer, every occurrence of ``before`` that is no longer scheduled, or whose
    product the customer no longer subscribes to.

    Returns the cancelled items (status ``cancelled``, sequence one above what was announced),
    ordered by start; a notice is queued only for those a notice may have reached.
    """
    session.flush()
    found = find_occurrences(session, [(a.item.id, a.item.customer) for a in before])
    subscribed = _subscribed(session, {a.customer_id for a in before})
    gone = [
        a
        for a in before
        if found[(a.item.id, a.item.customer)] is None or (a.customer_id, a.item.occurrence.product) not in subscribed
    ]
    cancelled = [(a, replace(a.item, status="cancelled", sequence=a.item.sequence + 1)) for a in gone]
    for a, item in cancelled:
        if not a.reached:
            supersede(session, now, outdated_by(session, a.customer_id, [item], cancel=True))
    told = [item for a, item in cancelled if a.reached]
    if told:
        enqueue_change_notices(session, now, settings, told, "cancel", note)
    return sorted((item for _, item in cancelled), key=lambda s: (s.start, s.id, s.customer or ""))


def _subscribed(session: Session, customer_ids: Collection[int]) -> set[tuple[int, str]]:
    """(customer id, product key) of these customers' subscriptions now."""
    found: set[tuple[int, str]] = set()
    ids = sorted(customer_ids)
    for first in range(0, len(ids), _BATCH):
        rows = session.execute(
            select(Subscription.customer_id, Product.key)
            .join(Product, Product.id == Subscription.product_id)
            .where(Subscription.customer_id.in_(ids[first : first + _BATCH]))
        )
        found.update((customer_id, key) for customer_id, key in rows)
    return found

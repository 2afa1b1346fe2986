"""The immediate notices of changes (update, cancel, unplanned, reschedule decisions), queued in
the caller's transaction so a change and the notice it causes are committed together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.content import CHANGE_KINDS
from scheduler.notices.channels import active_endpoints
from scheduler.notices.enqueue import write_notices
from scheduler.notices.lifecycle import plan_lifecycle
from scheduler.notices.supersede import outdated_by, supersede
from scheduler.settings import Settings
from scheduler.store.models import Contact, Customer, Product
from scheduler.store.repository import get_customer
from windows.errors import InvalidInput
from windows.schedule import Scheduled


def enqueue_change_notices(
    session: Session,
    now: datetime,
    settings: Settings,
    items: list[Scheduled],
    kind: str,
    note: str | None = None,
    event: str | None = None,
) -> int:
    """Queue an immediate notice about ``items`` to the current contacts of each item's customer.

    Runs inside the caller's transaction. ``items`` are occurrences in customers' views (customer
    set); ``kind``: update, cancel, unplanned, reschedule-approved or reschedule-rejected. A cancel
    carries METHOD:CANCEL, the others METHOD:PUBLISH with each item's current start, end and
    sequence. One notice per customer lists all of that customer's items. Unsent notices that give
    these occurrences other times (any time, for a cancel) are superseded: never sent. Returns the
    number of deliveries queued (a customer without contacts gets none; compliance reports it). A
    contact whose address cannot be used gets a failed delivery instead, not counted.
    The current contacts are those not removed, whatever the clocks of the processes that nominated
    them and of this one say.
    """
    if kind not in CHANGE_KINDS:
        raise InvalidInput(f"unknown change notice kind '{kind}' (use one of: {', '.join(CHANGE_KINDS)})")
    by_customer: dict[str, list[Scheduled]] = defaultdict(list)
    for item in items:
        if item.customer is None:
            raise ValueError(f"occurrence {item.id} is not in a customer's view")
        by_customer[item.customer].append(item)
    batches: list[tuple[Customer, list[tuple[Contact | None, tuple[Scheduled, ...]]]]] = []
    for key in sorted(by_customer):
        customer = get_customer(session, key)
        # The contacts as committed (not removed), not as a clock sees them: a decision taken on a
        # host whose clock is behind the one that nominated a contact still tells that contact.
        contacts = sorted((c for c in customer.contacts if c.removed_at is None), key=lambda c: c.email)
        group = tuple(sorted(by_customer[key], key=lambda s: (s.start, s.id)))
        supersede(session, now, outdated_by(session, customer.id, group, cancel=kind == "cancel"))
        if contacts:
            batches.append((customer, [(c, group) for c in contacts]))
        elif active_endpoints(session, customer.id):
            batches.append((customer, [(None, group)]))
    queued = 0
    if batches:
        product_keys = {s.occurrence.product for s in items}
        names = dict(session.execute(select(Product.key, Product.name).where(Product.key.in_(product_keys))).all())
        queued = write_notices(session, now, settings, kind, note, batches, names, event=event)
    # Reminders and started/finished notices for the new times (the old ones were superseded above).
    plan_lifecycle(session, now, settings, lambda c: by_customer[c.key], by_customer)
    return queued

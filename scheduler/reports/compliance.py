"""Proof of notice: for every occurrence and customer, was it announced in time? (DESIGN §3, §5)

One item per (occurrence, customer) in the range: ``noticed`` (when, to whom), ``pending`` (the
deadline is ahead), ``violated`` (which contact lacked it and why: no contact, not sent, failed,
sent late), ``waived`` or ``exempt``. Built from the customers' views of the schedule, the contact
history (who was nominated at each deadline) and what the outbox recorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from notifications.content import PUBLISH
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product, Subscription, WindowRule
from scheduler.store.models_outbox import SUPERSEDED, Delivery, DeliveryOccurrence
from scheduler.store.repository import get_customer, get_product
from windows.notice import VIOLATED, ContactPeriod, Dispatch, Verdict, assess
from windows.schedule import Scheduled
from windows.timezones import format_utc

_BATCH = 500  # customers whose outbox records are read in one query


@dataclass(frozen=True)
class ComplianceItem:
    item: Scheduled
    customer: str
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "occurrence": self.item.id,
            "customer": self.customer,
            "product": self.item.occurrence.product,
            "kind": self.item.kind,
            "status": self.item.status,
            "start": format_utc(self.item.start),
            "end": format_utc(self.item.end),
            "sequence": self.item.sequence,
            "deadline": format_utc(v.deadline) if v.deadline else None,
            "state": v.state,
            "noticed_at": format_utc(v.noticed_at) if v.noticed_at else None,
            "notified": list(v.notified),
            "reasons": [{"contact": r.contact, "reason": r.reason, "detail": r.detail} for r in v.reasons],
            "note": v.note,
        }


def compliance(
    db: Database,
    now: datetime,
    start: datetime,
    end: datetime,
    *,
    product: str | None = None,
    customer: str | None = None,
) -> list[ComplianceItem]:
    """Every occurrence overlapping [start, end) in every (or one) customer's view, assessed at ``now``."""
    with db.transaction() as session:
        return assess_range(session, now, start, end, product=product, customer=customer)


def assess_range(
    session: Session,
    now: datetime,
    start: datetime,
    end: datetime,
    *,
    product: str | None = None,
    customer: str | None = None,
    reader: ScheduleReader | None = None,
) -> list[ComplianceItem]:
    """Like ``compliance`` inside an open session (for reports that need it, e.g. the SLA).

    Customers are assessed in batches of ``_BATCH``: one query reads what the outbox did for a batch.
    """
    query = select(Customer).options(selectinload(Customer.contacts)).order_by(Customer.key)
    if customer:
        query = query.where(Customer.id == get_customer(session, customer).id)
    if product:
        subscribers = select(Subscription.customer_id).where(
            Subscription.product_id == get_product(session, product).id
        )
        query = query.where(Customer.id.in_(subscribers))
    waivers = _rule_waivers(session)
    reader = reader or ScheduleReader(session)
    result = []
    customers = list(session.scalars(query))
    reader.know(customers)
    for first in range(0, len(customers), _BATCH):
        batch = customers[first : first + _BATCH]
        dispatches = _dispatches(session, [c.id for c in batch], start, end, product)
        for cust in batch:
            items = occurrences(session, start, end, product=product, customer=cust.key, reader=reader)
            if not items:
                continue
            contacts = [ContactPeriod(c.email, c.nominated_at, c.removed_at) for c in cust.contacts]
            mine = dispatches[cust.id]
            for item in items:
                verdict = assess(item, now, contacts, mine.get(item.id, []), waiver=_waiver(item, waivers))
                result.append(ComplianceItem(item, cust.key, verdict))
    result.sort(key=lambda c: (c.item.start, c.item.id, c.customer))
    return result


def violations(items: list[ComplianceItem]) -> list[ComplianceItem]:
    return [c for c in items if c.verdict.state == VIOLATED]


def _dispatches(
    session: Session, customer_ids: list[int], start: datetime, end: datetime, product: str | None = None
) -> dict[int, dict[str, list[Dispatch]]]:
    """Per customer, what the outbox did about occurrences (only notices at times overlapping the range can match)."""
    rows = session.execute(
        select(
            DeliveryOccurrence.customer_id,
            DeliveryOccurrence.occurrence_id,
            DeliveryOccurrence.start,
            DeliveryOccurrence.end,
            Delivery.email,
            Delivery.status,
            Delivery.sent_at,
            Delivery.last_error,
            Delivery.attempts,
        )
        .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
        .where(
            DeliveryOccurrence.customer_id.in_(customer_ids),
            DeliveryOccurrence.method == PUBLISH,
            Delivery.status != SUPERSEDED,
            DeliveryOccurrence.start < end,
            DeliveryOccurrence.end > start,
            *([DeliveryOccurrence.product_key == product] if product else []),
        )
        .order_by(Delivery.id)
    )
    found: dict[int, dict[str, list[Dispatch]]] = defaultdict(lambda: defaultdict(list))
    for customer_id, occurrence_id, start, end, email, status, sent_at, error, attempts in rows:
        found[customer_id][occurrence_id].append(Dispatch(email, start, end, status, sent_at, error, attempts))
    return found


def _rule_waivers(session: Session) -> dict[tuple[str, str], tuple[str, datetime]]:
    rows = session.execute(
        select(Product.key, WindowRule.name, WindowRule.waive_notice, WindowRule.created_at)
        .join(Product, Product.id == WindowRule.product_id)
        .where(WindowRule.waive_notice.is_not(None))
    )
    return {(key, name): (reason, created) for key, name, reason, created in rows if reason}


def _waiver(item: Scheduled, waivers: dict[tuple[str, str], tuple[str, datetime]]) -> str | None:
    """A rule added with ``--waive-notice`` waives the occurrences whose deadline had passed then."""
    found = waivers.get((item.occurrence.product, item.occurrence.rule))
    if found is None or item.notice_deadline is None:
        return None
    reason, created = found
    return reason if item.notice_deadline < created else None

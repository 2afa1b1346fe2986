"""Proof of notice: for every occurrence and customer, was it announced in time? (DESIGN §3, §5)

One item per (occurrence, customer) in the range: ``noticed`` (when, to whom), ``pending`` (the
deadline is ahead), ``violated`` (which contact lacked it and why: no contact, not sent, failed,
sent late), ``waived`` or ``exempt``. Built from the customers' views of the schedule, the contact
history (who was nominated at each deadline) and what the outbox recorded.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, DateTime, bindparam, select, type_coerce
from sqlalchemy.orm import Session

from notifications.content import PUBLISH
from scheduler.gc_pause import gc_paused
from scheduler.notices.channels import endpoint_label
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.occurrences.shared import SharedViews
from scheduler.store.db import Database
from scheduler.store.driver_rows import driver_rows, naive_utc, on_postgresql
from scheduler.store.models import Contact, Customer, Product, Subscription, WindowRule
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import SUPERSEDED, Delivery, DeliveryOccurrence
from scheduler.store.repository import get_customer, get_product
from windows.notice import VIOLATED, ContactPeriod, Dispatch, Verdict, exemption, judge, nominated_at
from windows.schedule import Scheduled
from windows.timezones import format_utc

_UTC = UTC

_BATCH = 500  # customers whose outbox records are read in one query
_DELIVERIES = 5000  # deliveries read by id in one query
_new, _set = object.__new__, object.__setattr__


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
    shared: bool = True,
    views: SharedViews | None = None,
) -> list[ComplianceItem]:
    """Like ``compliance`` inside an open session (for reports that need it, e.g. the SLA).

    Customers are assessed in batches of ``_BATCH``: two queries read what the outbox did for a batch
    (``_dispatches``) and one their contacts. Each customer's view is built from the product-wide one
    (``SharedViews``: the product's occurrences are expanded and judged once, and only a customer's
    own changes are re-done per customer); ``shared=False`` builds every view on its own with
    ``occurrences`` (the same items, slower: kept to compare the two). ``views`` (over [start, end),
    on ``reader``) are shared with the caller. The cyclic garbage collector is paused meanwhile.
    """
    with gc_paused():
        return _assess_range(session, now, start, end, product, customer, reader, shared, views)


def _assess_range(
    session: Session,
    now: datetime,
    start: datetime,
    end: datetime,
    product: str | None,
    customer: str | None,
    reader: ScheduleReader | None,
    shared: bool,
    views: SharedViews | None,
) -> list[ComplianceItem]:
    query = select(Customer).order_by(Customer.key)
    if customer:
        query = query.where(Customer.id == get_customer(session, customer).id)
    if product:
        subscribers = select(Subscription.customer_id).where(
            Subscription.product_id == get_product(session, product).id
        )
        query = query.where(Customer.id.in_(subscribers))
    waivers = _rule_waivers(session)
    channels = {
        key: tuple(json.loads(raw)) if raw else ("email",)
        for key, raw in session.execute(select(Product.key, Product.notice_channels))
    }
    hooks: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in session.scalars(select(Endpoint).order_by(Endpoint.id)):
        hooks[endpoint.customer_id].append(endpoint)
    reader = reader or ScheduleReader(session)
    if views is None and shared:
        views = SharedViews(reader, start, end)
    assert views is None or (views.reader is reader and (views.start, views.end) == (start, end))
    if not shared:
        views = None
    customers = list(session.scalars(query))
    reader.know(customers)
    keyed: list[tuple[datetime, str, str, int, ComplianceItem]] = []  # sort key, then the item
    for first in range(0, len(customers), _BATCH):
        batch = customers[first : first + _BATCH]
        ids = [c.id for c in batch]
        dispatches = _dispatches(session, ids, start, end, product)
        nominated = _contacts(session, ids)
        for cust in batch:
            if views is None:
                items = occurrences(session, start, end, product=product, customer=cust.key, reader=reader)
            else:
                items = _view(views, reader, cust, product)
            if not items:
                continue
            key, cust_id = cust.key, cust.id
            # The contract's channels count (notice_channels, email by default); the others are courtesy.
            periods = [("email", period) for period in nominated.get(cust_id, [])]
            periods += [(e.kind, ContactPeriod(endpoint_label(e), e.created_at, e.removed_at)) for e in hooks[cust_id]]
            mine = dispatches.get(cust_id, {})
            # Per set of counted channels: who was nominated at each deadline.
            recipients_by: dict[tuple[str, ...], Nominated] = {}
            for item in items:
                verdict = exemption(item)
                if verdict is None:
                    counted = channels.get(item.occurrence.product, ("email",))
                    nominated_then = recipients_by.get(counted)
                    if nominated_then is None:
                        nominated_then = recipients_by[counted] = Nominated(
                            [period for channel, period in periods if channel in counted]
                        )
                    deadline = item.notice_deadline
                    assert deadline is not None, "planned occurrences without consent have a deadline"
                    recipients = nominated_then.at(deadline)
                    told = [d for channel, d in mine.get((item.id, item.start, item.end), ()) if channel in counted]
                    verdict = judge(item, now, deadline, recipients, told, _waiver(item, waivers) if waivers else None)
                entry = _new(ComplianceItem)
                _set(entry, "__dict__", {"item": item, "customer": key, "verdict": verdict})
                keyed.append((item.start, item.id, key, len(keyed), entry))
    keyed.sort()
    return [entry for *_, entry in keyed]


class Nominated:
    """``nominated_at(contacts, instant)`` for many instants: the same between two of the instants
    at which a contact was nominated or removed, so worked out once per such interval."""

    def __init__(self, contacts: list[ContactPeriod]) -> None:
        self.contacts = contacts
        self.changes = sorted({c.nominated_at for c in contacts} | {c.removed_at for c in contacts if c.removed_at})
        self.found: dict[int, list[str]] = {}

    def at(self, instant: datetime) -> list[str]:
        interval = bisect_right(self.changes, instant)
        found = self.found.get(interval)
        if found is None:
            found = self.found[interval] = nominated_at(self.contacts, instant)
        return found


def _view(views: SharedViews, reader: ScheduleReader, cust: Customer, product: str | None) -> list[Scheduled]:
    """``cust``'s occurrences over the range (of ``product`` only, when named), not cancelled; the
    same items as ``occurrences`` gives for the view, in another order."""
    products = reader.products(product)
    if product is not None:
        products = [p for p in products if reader.subscribes(cust, p)]
    else:
        subscribed = reader.subscribed(cust)
        products = [p for p in products if p.id in subscribed]
    return [item for prod in products for item in views.view(prod, cust)]


def violations(items: list[ComplianceItem]) -> list[ComplianceItem]:
    return [c for c in items if c.verdict.state == VIOLATED]


def _contacts(session: Session, customer_ids: list[int]) -> dict[int, list[ContactPeriod]]:
    """Per customer, its contacts' nomination history (columns, not ORM objects: one query a batch)."""
    rows = session.execute(
        select(Contact.customer_id, Contact.email, Contact.nominated_at, Contact.removed_at)
        .where(Contact.customer_id.in_(_inline(customer_ids)))
        .order_by(Contact.id)
    )
    found: dict[int, list[ContactPeriod]] = defaultdict(list)
    for customer_id, email, nominated, removed in rows:
        found[customer_id].append(ContactPeriod(email, nominated, removed))
    return found


Told = dict[tuple[str, datetime, datetime], list[tuple[str, Dispatch]]]


def _dispatches(
    session: Session, customer_ids: list[int], start: datetime, end: datetime, product: str | None = None
) -> dict[int, Told]:
    """Per customer, what the outbox did about occurrences (only notices at times overlapping the range
    can match), by (occurrence id, start, end) as the delivery described it: each with its channel,
    in the order of the deliveries.

    Two queries: what the deliveries covered (by customer, on the unique key's index), then those
    deliveries by id. (One join read every delivery of the outbox for each batch on PostgreSQL: a
    merge join on the deliveries' key, 0.5-0.9 s a batch at 50,000 customers.) On PostgreSQL both read
    psycopg's tuples (``driver_rows``): 2.65 million rows for a month at 50,000 customers."""
    covered = _covered(session, customer_ids, start, end, product)
    wanted = sorted({row[0] for row in covered})
    deliveries: dict[int, tuple[str, str, str, datetime | None, str | None, int]] = {}
    for chunk in range(0, len(wanted), _DELIVERIES):
        for delivery_id, channel, email, status, sent_at, error, attempts in _delivered(
            session, wanted[chunk : chunk + _DELIVERIES]
        ):
            deliveries[delivery_id] = (
                channel,
                email,
                status,
                sent_at.replace(tzinfo=_UTC) if sent_at else None,
                error,
                attempts,
            )
    # The instants are read naive (UTC, as stored) and made aware once per distinct value: the
    # rows of one occurrence share its start and end (what UTCDateTime does for every value).
    aware: dict[datetime, datetime] = {}
    found: dict[int, Told] = {}
    for delivery_id, customer_id, occurrence_id, naive_start, naive_end in covered:
        delivery = deliveries.get(delivery_id)
        if delivery is None:
            continue  # superseded
        channel, email, status, accepted, error, attempts = delivery
        begins = aware.get(naive_start)
        if begins is None:
            begins = aware[naive_start] = naive_start.replace(tzinfo=_UTC)
        ends = aware.get(naive_end)
        if ends is None:
            ends = aware[naive_end] = naive_end.replace(tzinfo=_UTC)
        told = _new(Dispatch)
        _set(
            told,
            "__dict__",
            {
                "email": email,
                "start": begins,
                "end": ends,
                "status": status,
                "sent_at": accepted,
                "detail": error,
                "attempts": attempts,
            },
        )
        mine = found.get(customer_id)
        if mine is None:
            mine = found[customer_id] = {}
        key = (occurrence_id, begins, ends)
        listed = mine.get(key)
        if listed is None:
            mine[key] = [(channel, told)]
        else:
            listed.append((channel, told))
    return found


def _covered(
    session: Session, customer_ids: list[int], start: datetime, end: datetime, product: str | None
) -> list[tuple[Any, ...]]:
    """(delivery id, customer id, occurrence id, naive start, naive end) of the PUBLISH notices to
    ``customer_ids`` covering occurrences that overlap [start, end), by delivery id."""
    if on_postgresql(session):
        sql = (
            'SELECT delivery_id, customer_id, occurrence_id, start, "end" FROM delivery_occurrences'
            ' WHERE customer_id = ANY(%s) AND method = %s AND start < %s AND "end" > %s'
            + (" AND product_key = %s" if product else "")
            + " ORDER BY delivery_id"
        )
        params = [customer_ids, PUBLISH, naive_utc(end), naive_utc(start), *([product] if product else [])]
        return driver_rows(session, sql, params)
    rows = session.connection().execute(
        select(
            DeliveryOccurrence.delivery_id,
            DeliveryOccurrence.customer_id,
            DeliveryOccurrence.occurrence_id,
            type_coerce(DeliveryOccurrence.start, DateTime),
            type_coerce(DeliveryOccurrence.end, DateTime),
        )
        .where(
            DeliveryOccurrence.customer_id.in_(_inline(customer_ids)),
            DeliveryOccurrence.method == PUBLISH,
            DeliveryOccurrence.start < end,
            DeliveryOccurrence.end > start,
            *([DeliveryOccurrence.product_key == product] if product else []),
        )
        .order_by(DeliveryOccurrence.delivery_id)
    )
    return [tuple(row) for row in rows]


def _delivered(session: Session, delivery_ids: list[int]) -> list[tuple[Any, ...]]:
    """(id, channel, email, status, naive sent_at, last error, attempts) of these deliveries, unless
    superseded."""
    if on_postgresql(session):
        sql = (
            "SELECT id, channel, email, status, sent_at, last_error, attempts FROM deliveries"
            " WHERE id = ANY(%s) AND status != %s"
        )
        return driver_rows(session, sql, [delivery_ids, SUPERSEDED])
    rows = session.connection().execute(
        select(
            Delivery.id,
            Delivery.channel,
            Delivery.email,
            Delivery.status,
            type_coerce(Delivery.sent_at, DateTime),
            Delivery.last_error,
            Delivery.attempts,
        ).where(Delivery.id.in_(_inline(delivery_ids)), Delivery.status != SUPERSEDED)
    )
    return [tuple(row) for row in rows]


def _inline(ids: list[int]) -> BindParameter[list[int]]:
    """An ``IN`` list of integer ids written into the statement: psycopg parses a statement's
    parameters anew for every new statement, ~10 us each (5,000 ids: 50 ms a query)."""
    return bindparam("ids", ids, expanding=True, literal_execute=True)


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

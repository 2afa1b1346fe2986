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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.gc_pause import gc_paused
from scheduler.notices.channels import endpoint_label
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.occurrences.shared import SharedViews
from scheduler.reports.outbox_read import dispatches, inline_ids
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Product, Subscription, WindowRule
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.repository import get_customer, get_product
from windows.notice import VIOLATED, ContactPeriod, Reason, Verdict, exemption, judge, nominated_at
from windows.schedule import Scheduled
from windows.timezones import format_utc

_BATCH = 500  # customers whose outbox records are read in one query
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
    customers: list[Customer] | None = None,
) -> list[ComplianceItem]:
    """Like ``compliance`` inside an open session (for reports that need it, e.g. the SLA).
    ``customers``: those ``product`` and ``customer`` name, in key order, when the caller has read them.

    Customers are assessed in batches of ``_BATCH``: two queries read what the outbox did for a batch
    (``outbox_read.dispatches``) and one their contacts. Each customer's view is built from the product-wide one
    (``SharedViews``: the product's occurrences are expanded and judged once, and only a customer's
    own changes are re-done per customer); ``shared=False`` builds every view on its own with
    ``occurrences`` (the same items, slower: kept to compare the two). ``views`` (over [start, end),
    on ``reader``) are shared with the caller. The cyclic garbage collector is paused meanwhile.
    """
    with gc_paused():
        if customers is None:
            customers = _customers(session, product, customer)
        if not shared:
            views = None
        elif views is None:
            reader = reader or ScheduleReader(session)
            views = SharedViews(reader, start, end)
        keyed: list[tuple[datetime, str, str, int, ComplianceItem]] = []  # sort key, then the item
        for item, key, verdict in judged(session, now, start, end, product, customers, reader, views):
            entry = _new(ComplianceItem)
            _set(entry, "__dict__", {"item": item, "customer": key, "verdict": verdict})
            keyed.append((item.start, item.id, key, len(keyed), entry))
        keyed.sort()
        return list(map(itemgetter(4), keyed))


def judged(
    session: Session,
    now: datetime,
    start: datetime,
    end: datetime,
    product: str | None,
    customers: list[Customer],
    reader: ScheduleReader | None,
    views: SharedViews | None,
) -> Iterator[tuple[Scheduled, str, Verdict]]:
    """(occurrence, customer key, verdict) of every occurrence overlapping [start, end) in the views of
    ``customers`` (of ``product`` only, when named), customer by customer (with ``product``, each
    customer's by start then id): what ``assess_range`` lists, for a report that needs no
    ``ComplianceItem`` (the SLA).
    ``views`` None: each view built on its own (``occurrences``)."""
    waivers = _rule_waivers(session)
    channels = {
        key: tuple(json.loads(raw)) if raw else ("email",)
        for key, raw in session.execute(select(Product.key, Product.notice_channels))
    }
    hooks: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in session.scalars(select(Endpoint).order_by(Endpoint.id)):
        hooks[endpoint.customer_id].append(endpoint)
    reader = reader or (views.reader if views is not None else ScheduleReader(session))
    assert views is None or (views.reader is reader and (views.start, views.end) == (start, end))
    reader.know(customers)
    for first in range(0, len(customers), _BATCH):
        batch = customers[first : first + _BATCH]
        ids = [c.id for c in batch]
        told_by = dispatches(session, ids, start, end, product)
        nominated = _contacts(session, ids)
        for cust in batch:
            if views is None:
                items = occurrences(session, start, end, product=product, customer=cust.key, reader=reader)
                items.sort(key=lambda s: (s.start, s.id))  # as a shared view of one product gives them
            else:
                items = _view(views, reader, cust, product)
            if not items:
                continue
            key, cust_id = cust.key, cust.id
            # The contract's channels count (notice_channels, email by default); the others are courtesy.
            periods = [("email", period) for period in nominated.get(cust_id, [])]
            periods += [(e.kind, ContactPeriod(endpoint_label(e), e.created_at, e.removed_at)) for e in hooks[cust_id]]
            mine = told_by.get(cust_id, {})
            mixed = any(d.channel != "email" for told in mine.values() for d in told) if hooks[cust_id] else False
            memo: dict[tuple[str, int], Reason] = {}  # why a contact lacks a notice, by the deliveries covering
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
                    told = mine.get((item.id, item.start, item.end), ())
                    # ``judge``'s memo keys on the identity of the shared tuples: not for a filtered one.
                    kept: dict[tuple[str, int], Reason] | None = memo
                    if mixed or "email" not in counted:
                        told, kept = tuple(d for d in told if d.channel in counted), None
                    waiver = _waiver(item, waivers) if waivers else None
                    verdict = judge(item, now, deadline, recipients, told, waiver, kept)
                yield item, key, verdict


def _customers(session: Session, product: str | None, customer: str | None) -> list[Customer]:
    """The customers to assess, by key: ``customer``, or every one (subscribed to ``product``)."""
    query = select(Customer).order_by(Customer.key)
    if customer:
        query = query.where(Customer.id == get_customer(session, customer).id)
    if product:
        subscribers = select(Subscription.customer_id).where(
            Subscription.product_id == get_product(session, product).id
        )
        query = query.where(Customer.id.in_(subscribers))
    return list(session.scalars(query))


class Nominated:
    """``nominated_at(contacts, instant)`` for many instants: the same between two of the instants
    at which a contact was nominated or removed, so worked out once per such interval."""

    def __init__(self, contacts: list[ContactPeriod]) -> None:
        self.contacts = contacts
        self.changes = sorted({c.nominated_at for c in contacts} | {c.removed_at for c in contacts if c.removed_at})
        self.found: dict[int, tuple[str, ...]] = {}

    def at(self, instant: datetime) -> tuple[str, ...]:
        interval = bisect_right(self.changes, instant)
        found = self.found.get(interval)
        if found is None:
            found = self.found[interval] = tuple(nominated_at(self.contacts, instant))
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
        .where(Contact.customer_id.in_(inline_ids(customer_ids)))
        .order_by(Contact.id)
    )
    found: dict[int, list[ContactPeriod]] = defaultdict(list)
    for customer_id, email, nominated, removed in rows:
        found[customer_id].append(ContactPeriod(email, nominated, removed))
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

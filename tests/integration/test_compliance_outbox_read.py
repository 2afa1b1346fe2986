"""Compliance read the fast way equals the way it was read before (SQLite and PostgreSQL, issue 11).

``assess_range`` reads the outbox in two queries (what the deliveries covered, then the
deliveries), keys each dispatch by occurrence, start and end, works out who was nominated once per
interval between contact changes and judges with ``judge``. The reference below is the code it
replaced: one join ordered by delivery, every dispatch of an occurrence passed to ``assess``
(which keeps those covering the current start and end), ``nominated_at`` per item. The catalogue
is ``test_shared_views``'s (violated, noticed, pending, waived, exempt; sent late, no contact, not
sent), with a delivery failed, one accepted in time and one superseded added here, and a contact
removed and one nominated during the range.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, select, type_coerce, update
from sqlalchemy.orm import Session

from notifications.content import PUBLISH
from scheduler.notices.channels import endpoint_label
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.reports.compliance import ComplianceItem, _rule_waivers, _waiver, assess_range
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Product
from scheduler.store.models_endpoints import Endpoint
from scheduler.store.models_outbox import SUPERSEDED, Delivery, DeliveryOccurrence
from tests.integration.test_shared_views import FEB, LATER, MAR, varied
from windows.notice import ContactPeriod, Dispatch, assess

__all__ = ["varied"]  # the fixture, imported


def reference(session: Session, now: datetime, start: datetime, end: datetime) -> list[ComplianceItem]:
    """Compliance of every customer as ``assess_range`` computed it before the fast read."""
    waivers = _rule_waivers(session)
    channels = {
        key: tuple(json.loads(raw)) if raw else ("email",)
        for key, raw in session.execute(select(Product.key, Product.notice_channels))
    }
    hooks: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in session.scalars(select(Endpoint).order_by(Endpoint.id)):
        hooks[endpoint.customer_id].append(endpoint)
    reader = ScheduleReader(session)
    result = []
    for cust in session.scalars(select(Customer).order_by(Customer.key)):
        items = occurrences(session, start, end, customer=cust.key, reader=reader)
        periods = [
            ("email", ContactPeriod(email, nominated, removed))
            for email, nominated, removed in session.execute(
                select(Contact.email, Contact.nominated_at, Contact.removed_at)
                .where(Contact.customer_id == cust.id)
                .order_by(Contact.id)
            )
        ]
        periods += [(e.kind, ContactPeriod(endpoint_label(e), e.created_at, e.removed_at)) for e in hooks[cust.id]]
        mine: dict[str, list[tuple[str, Dispatch]]] = defaultdict(list)
        rows = session.execute(
            select(
                DeliveryOccurrence.occurrence_id,
                type_coerce(DeliveryOccurrence.start, DateTime),
                type_coerce(DeliveryOccurrence.end, DateTime),
                Delivery.email,
                Delivery.status,
                type_coerce(Delivery.sent_at, DateTime),
                Delivery.last_error,
                Delivery.attempts,
                Delivery.channel,
            )
            .join(Delivery, Delivery.id == DeliveryOccurrence.delivery_id)
            .where(
                DeliveryOccurrence.customer_id == cust.id,
                DeliveryOccurrence.method == PUBLISH,
                Delivery.status != SUPERSEDED,
                DeliveryOccurrence.start < end,
                DeliveryOccurrence.end > start,
            )
            .order_by(Delivery.id)
        )
        for occurrence_id, begins, ends, email, status, sent_at, error, attempts, channel in rows:
            utc = [t.replace(tzinfo=UTC) if t else None for t in (begins, ends, sent_at)]
            assert utc[0] and utc[1]
            mine[occurrence_id].append((channel, Dispatch(email, utc[0], utc[1], status, utc[2], error, attempts)))
        for item in items:
            counted = channels.get(item.occurrence.product, ("email",))
            contacts = [period for channel, period in periods if channel in counted]
            told = [d for channel, d in mine.get(item.id, []) if channel in counted]
            verdict = assess(item, now, contacts, told, waiver=_waiver(item, waivers))
            result.append(ComplianceItem(item, cust.key, verdict))
    result.sort(key=lambda c: (c.item.start, c.item.id, c.customer))
    return result


def test_the_fast_read_gives_the_items_and_verdicts_of_the_reference(varied: Database) -> None:
    with varied.transaction() as session:
        # oslo's first delivery to b fails, its first to a is accepted in time; one of lima's is superseded.
        oslo_id, lima_id = (session.scalar(select(Customer.id).where(Customer.key == key)) for key in ("oslo", "lima"))
        first = {}
        for email in ("a@oslo.example", "b@oslo.example"):
            first[email] = session.scalar(
                select(Delivery.id)
                .join(DeliveryOccurrence, DeliveryOccurrence.delivery_id == Delivery.id)
                .where(DeliveryOccurrence.customer_id == oslo_id, Delivery.email == email)
                .order_by(Delivery.id)
                .limit(1)
            )
        failed = update(Delivery).where(Delivery.id == first["b@oslo.example"])
        session.execute(failed.values(status="failed", last_error="550 mailbox unknown"))
        accepted = datetime(2027, 1, 4, 13, 0, 15, tzinfo=UTC)
        session.execute(update(Delivery).where(Delivery.id == first["a@oslo.example"]).values(sent_at=accepted))
        lima_ids = select(DeliveryOccurrence.delivery_id).where(DeliveryOccurrence.customer_id == lima_id)
        session.execute(update(Delivery).where(Delivery.id.in_(lima_ids.limit(1))).values(status=SUPERSEDED))
        # b leaves oslo on 8 January and c joins on 20 January (deadlines fall on both sides).
        session.execute(
            update(Contact)
            .where(Contact.customer_id == oslo_id, Contact.email == "b@oslo.example")
            .values(removed_at=datetime(2027, 1, 8, tzinfo=UTC))
        )
        session.add(
            Contact(customer_id=oslo_id, email="c@oslo.example", nominated_at=datetime(2027, 1, 20, tzinfo=UTC))
        )
    lo, hi = FEB - timedelta(days=3), MAR + timedelta(days=3)
    found = {}
    for now in (LATER, MAR):
        with varied.transaction() as session:
            fast = assess_range(session, now, lo, hi)
        with varied.transaction() as session:
            assert fast == reference(session, now, lo, hi)
        found[now] = fast
    # Every state and reason is reached; oslo's six windows judged against a (b removed, c not yet
    # nominated) were noticed by the delivery accepted in time; b's failure is its last error.
    reasons = Counter({"sent late": 82, "no contact": 78, "not sent": 44, "failed": 7})
    for now, states in (
        (LATER, {"violated": 149, "noticed": 49, "pending": 33, "waived": 18, "exempt": 6}),
        (MAR, {"violated": 182, "noticed": 49, "waived": 18, "exempt": 6}),
    ):
        assert Counter(c.verdict.state for c in found[now]) == Counter(states)
        assert Counter(r.reason for c in found[now] for r in c.verdict.reasons) == reasons
    oslo = [c for c in found[MAR] if c.customer == "oslo"]
    assert Counter(
        (c.verdict.state, c.verdict.noticed_at, tuple(r.contact for r in c.verdict.reasons)) for c in oslo
    ) == (
        Counter(
            {
                ("violated", None, ("a@oslo.example",)): 17,
                ("violated", None, ("c@oslo.example",)): 12,
                ("violated", None, ("a@oslo.example", "c@oslo.example")): 11,
                ("violated", None, (None,)): 7,
                ("violated", None, ("b@oslo.example",)): 7,
                ("noticed", accepted, ()): 6,
                ("waived", None, (None,)): 3,
                ("waived", None, ("a@oslo.example",)): 2,
                ("exempt", None, ()): 1,
            }
        )
    )
    assert {r.detail for c in oslo for r in c.verdict.reasons if r.reason == "failed"} == {"550 mailbox unknown"}

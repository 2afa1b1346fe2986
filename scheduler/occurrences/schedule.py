"""The schedule as customers see it: rules expanded, changes applied, unplanned windows added.

This is the read side every other part builds on (``occurrences``, feeds, notices, compliance,
SLA). A *view* is product-wide (customer None) or one customer's: a customer sees every product it
subscribes to, with ``local`` rules in its own zone and its own changes applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from scheduler.occurrences.reader import ScheduleReader
from scheduler.store.models import Customer, Product, Subscription, Unplanned, UnplannedCustomer
from scheduler.store.repository import get_customer, get_product
from windows.expansion import Occurrence, expand
from windows.parsing import check_date
from windows.rules import Rule
from windows.schedule import Scheduled, apply_changes
from windows.timezones import to_local, zone_by_name

_UTC = UTC


def occurrences(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    product: str | None = None,
    customer: str | None = None,
    include_cancelled: bool = False,
    reader: ScheduleReader | None = None,
) -> list[Scheduled]:
    """Every occurrence overlapping [start, end) in the requested view, ordered by start then id.

    ``reader`` shares what was read between many calls in one transaction (``ScheduleReader``).
    """
    if reader is None:
        cust = get_customer(session, customer) if customer else None
        reader = ScheduleReader(session, only_customer=cust)
    else:
        cust = reader.customer(customer) if customer else None
    products = reader.products(product)
    result: list[Scheduled] = []
    if cust is not None and product is not None:
        products = [p for p in products if reader.subscribes(cust, p)]
    elif cust is not None:
        subscribed = reader.subscribed(cust)
        products = [p for p in products if p.id in subscribed]
    for prod in products:
        result.extend(_product_occurrences(reader, prod, cust, start, end))
    if not include_cancelled:
        result = [s for s in result if s.status != "cancelled"]
    result.sort(key=lambda s: (s.start, s.id))
    return result


def find_occurrence(session: Session, occurrence_id: str, customer: str | None = None) -> Scheduled | None:
    """One occurrence by id, in the view of ``customer`` (taken from the id for ``local`` rules)."""
    parts = occurrence_id.split(".")
    if len(parts) < 2:
        return None
    product = get_product(session, parts[0])
    if parts[1].startswith("unplanned-"):
        return _find_unplanned(session, product, parts[1][len("unplanned-") :], customer)
    if len(parts) not in (3, 4):
        return None
    if len(parts) == 4:
        if customer not in (None, parts[3]):
            return None
        customer = parts[3]
    day = date_of(".".join(parts[:3]))
    if day is None:
        return None
    lo = datetime(day.year, day.month, day.day, tzinfo=_UTC) - timedelta(days=2)
    cust = get_customer(session, customer) if customer else None
    found = _product_occurrences(
        ScheduleReader(session, only_customer=cust),
        product,
        cust,
        lo,
        lo + timedelta(days=5),
        ids={occurrence_id},
    )
    return next((s for s in found if s.id == occurrence_id), None)


def _find_unplanned(session: Session, product: Product, number: str, customer: str | None) -> Scheduled | None:
    if len(parts := number.split(".")) != 1 or not parts[0].isdigit():
        return None
    row = session.scalar(
        select(Unplanned)
        .options(selectinload(Unplanned.customers))
        .where(Unplanned.product_id == product.id, Unplanned.number == int(number))
    )
    if row is None:
        return None
    cust = get_customer(session, customer) if customer else None
    if cust is not None and row.customers and cust.id not in {link.customer_id for link in row.customers}:
        return None
    return unplanned_scheduled(row, product.key, cust)


def date_of(base_id: str) -> date | None:
    """The local start date in an occurrence id; None if it has none; refused outside 1970-2199."""
    try:
        day = datetime.strptime(base_id.rsplit(".", 1)[-1][:8], "%Y%m%d").date()
    except ValueError:
        return None
    return check_date(day, f"invalid occurrence id '{base_id}': date")


def _product_occurrences(
    reader: ScheduleReader,
    prod: Product,
    cust: Customer | None,
    start: datetime,
    end: datetime,
    ids: set[str] | None = None,
) -> list[Scheduled]:
    book = reader.changes(prod)
    views: list[tuple[Rule, Customer | None]] = []
    for rule in reader.rules(prod):
        if cust is not None:
            views.append((rule, cust))
        elif rule.is_local:
            views.extend((rule, c) for c in reader.subscribers(prod))
        else:
            views.append((rule, None))
    result = []
    blocks = reader.blocks(prod, start, end)  # shared by every customer's view (issue 11)
    for rule, viewer in views:
        key = viewer.key if viewer else None
        changes, by_base = book.view(key)  # the product-wide changes and ``key``'s own
        expanded = {o.id: o for o in reader.expand(prod, rule, viewer, start, end)}
        if rule.is_local:  # occurrences a blackout moves into the range (on_blackout = "next")
            for lo, hi in blocks.lookback(viewer):
                expanded.update({o.id: o for o in expand_for(rule, viewer, lo, hi) if o.id not in expanded})
        # Occurrences moved into the range from elsewhere.
        prefix = f"{prod.key}.{rule.name}."
        for change in changes:
            if change.action == "move" and change.base_id.startswith(prefix):
                assert change.new_start and change.new_end
                if change.new_start < end and change.new_end > start:
                    day = date_of(change.base_id)
                    if day is not None:
                        lo = datetime(day.year, day.month, day.day, tzinfo=_UTC) - timedelta(days=2)
                        for o in expand_for(rule, viewer, lo, lo + timedelta(days=5)):
                            if o.base_id == change.base_id:
                                expanded.setdefault(o.id, o)
        for occ in expanded.values():
            if ids is not None and occ.id not in ids:
                continue
            scheduled = apply_changes(occ, by_base.get(occ.base_id, []), key, prod.notice_days)
            scheduled = blocks.apply(rule, scheduled, viewer, partial(expand_for, rule, viewer))
            # Looked up by id: found wherever a move took it; listed: only if it overlaps the range.
            if ids is not None or (scheduled.start < end and scheduled.end > start):
                result.append(scheduled)
    result.extend(_unplanned(reader, prod, cust, start, end))
    return result


def expand_for(rule: Rule, viewer: Customer | None, start: datetime, end: datetime) -> list[Occurrence]:
    """The rule's occurrences in [start, end), a ``local`` rule in ``viewer``'s zone and under its key."""
    if rule.is_local:
        assert viewer is not None
        return expand(rule, start, end, local_tz=viewer.timezone, customer=viewer.key)
    return expand(rule, start, end)


def _subscribers(session: Session, prod: Product) -> list[Customer]:
    return list(
        session.scalars(
            select(Customer).join(Subscription).where(Subscription.product_id == prod.id).order_by(Customer.key)
        )
    )


def _unplanned(
    reader: ScheduleReader, prod: Product, cust: Customer | None, start: datetime, end: datetime
) -> list[Scheduled]:
    result = []
    for row, restricted in reader.unplanned(prod, start, end):
        if cust is not None and restricted and cust.id not in restricted:
            continue
        result.append(unplanned_scheduled(row, prod.key, cust))
    return result


def unplanned_scheduled(row: Unplanned, product_key: str, cust: Customer | None) -> Scheduled:
    zone_name = cust.timezone if cust else "UTC"
    zone = zone_by_name(zone_name)
    occ_id = f"{product_key}.unplanned-{row.number}"
    local_start, local_end = to_local(row.start, zone), to_local(row.end, zone)
    occ = Occurrence(
        id=occ_id,
        base_id=occ_id,
        product=product_key,
        rule="unplanned",
        customer=cust.key if cust else None,
        start=row.start,
        end=row.end,
        timezone=zone_name,
        local_start=local_start,
        local_end=local_end,
        local_date=local_start.date(),
        kind="unplanned",
    )
    return Scheduled(
        occurrence=occ,
        customer=occ.customer,
        status="scheduled",
        start=row.start,
        end=row.end,
        local_start=local_start,
        local_end=local_end,
        sequence=row.sequence,
        notice_deadline=None,
        kind="unplanned",
    )


def affected_customers(session: Session, prod: Product, only: Iterable[int] = ()) -> list[Customer]:
    """Subscribers of ``prod`` (limited to the ids in ``only`` when given)."""
    wanted = set(only)
    return [c for c in _subscribers(session, prod) if not wanted or c.id in wanted]


_ = UnplannedCustomer  # imported for mapper configuration

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


def find_occurrences(
    session: Session, wanted: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str | None], Scheduled | None]:
    """``find_occurrence(session, occurrence_id, customer)`` for each ``(occurrence_id, customer)``,
    read once for all of them (issue 11: ``apply`` looked up each announced occurrence by itself).

    Each is judged exactly as ``find_occurrence`` judges it, over the same range (its id's date, two
    days before to three after: blackouts and freezes are read per range, and a wider one can move
    an occurrence elsewhere), but what those ranges are built from (products, customers, rules,
    changes, freezes, blackouts, expansions, unplanned windows) is read and expanded once, and the
    occurrences of one view, product and date are judged together.
    """
    reader = ScheduleReader(session)
    found: dict[tuple[str, str | None], Scheduled | None] = {}
    # (product key, viewer key, first day of the range) -> ids, and where each pair is answered
    groups: dict[tuple[str, str | None, datetime], set[str]] = {}
    grouped: dict[tuple[str, str | None], tuple[str, str | None, datetime]] = {}
    unplanned: dict[tuple[str, str | None], tuple[Product, int]] = {}
    for pair in wanted:
        occurrence_id, customer = pair
        parts = occurrence_id.split(".")
        if len(parts) < 2:
            found[pair] = None
            continue
        product = reader.products(parts[0])[0]
        if parts[1].startswith("unplanned-"):
            number = parts[1][len("unplanned-") :]
            if len(number.split(".")) != 1 or not number.isdigit():
                found[pair] = None
            else:
                unplanned[pair] = (product, int(number))
            continue
        if len(parts) not in (3, 4):
            found[pair] = None
            continue
        if len(parts) == 4:
            if customer not in (None, parts[3]):
                found[pair] = None
                continue
            customer = parts[3]
        day = date_of(".".join(parts[:3]))
        if day is None:
            found[pair] = None
            continue
        lo = datetime(day.year, day.month, day.day, tzinfo=_UTC) - timedelta(days=2)
        group = (product.key, customer, lo)
        groups.setdefault(group, set()).add(occurrence_id)
        grouped[pair] = group
    _know_customers(reader, sorted({c for _, c, _ in groups if c} | {c for _, c in unplanned if c}))
    results: dict[tuple[str, str | None, datetime], dict[str, Scheduled]] = {}
    for group, ids in groups.items():
        product_key, customer, lo = group
        cust = reader.customer(customer) if customer else None
        by_id: dict[str, Scheduled] = {}
        for s in _product_occurrences(
            reader, reader.products(product_key)[0], cust, lo, lo + timedelta(days=5), ids=ids
        ):
            by_id.setdefault(s.id, s)  # the first, as ``find_occurrence`` takes it
        results[group] = by_id
    for pair, group in grouped.items():
        found[pair] = results[group].get(pair[0])
    found.update(_find_unplanned_many(reader, unplanned))
    return found


def _know_customers(reader: ScheduleReader, keys: list[str]) -> None:
    """Read the customers ``keys`` into ``reader`` in a few queries (a missing one is NotFound later)."""
    for first in range(0, len(keys), 500):
        reader.know(reader.session.scalars(select(Customer).where(Customer.key.in_(keys[first : first + 500]))))


def _find_unplanned_many(
    reader: ScheduleReader, wanted: dict[tuple[str, str | None], tuple[Product, int]]
) -> dict[tuple[str, str | None], Scheduled | None]:
    """``_find_unplanned`` for each pair: the rows of each product read in one query."""
    rows: dict[tuple[int, int], Unplanned] = {}
    numbers: dict[int, set[int]] = {}
    for product, number in wanted.values():
        numbers.setdefault(product.id, set()).add(number)
    for product_id, among in numbers.items():
        for read in reader.session.scalars(
            select(Unplanned)
            .options(selectinload(Unplanned.customers))
            .where(Unplanned.product_id == product_id, Unplanned.number.in_(sorted(among)))
        ):
            rows[(product_id, read.number)] = read
    found: dict[tuple[str, str | None], Scheduled | None] = {}
    for pair, (product, number) in wanted.items():
        row = rows.get((product.id, number))
        if row is None:
            found[pair] = None
            continue
        cust = reader.customer(pair[1]) if pair[1] else None
        if cust is not None and row.customers and cust.id not in {link.customer_id for link in row.customers}:
            found[pair] = None
        else:
            found[pair] = unplanned_scheduled(row, product.key, cust)
    return found


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

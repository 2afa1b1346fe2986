"""Which subscribers may see something in short ranges of time (issue 11): the planning run's fast path.

``touching`` answers, for one product and ranges [start, end), which subscribers may see an
occurrence there for which ``relevant(start, end, zone, planned)`` holds, without reading each
subscriber's view: the product-wide view of the rules in a fixed zone (and the unplanned windows)
once, each ``local`` rule once per time zone of the subscribers, and the customers' own moves and
blackouts from their rows. It may name more customers than needed (the caller reads their views
and decides exactly), never fewer. None stands for every subscriber.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.store.models import Customer, Override, Product, Subscription
from scheduler.store.models_blackouts import ACTIVE, Blackout
from windows.collisions import NEXT
from windows.expansion import expand

Relevant = Callable[[datetime, datetime, str, bool], bool]  # (start, end, zone, planned) -> may be new

# Moves and blackouts shift a window by less than this around the range (a DST day, a blackout's next slot).
_MARGIN = timedelta(days=2)


def touching(
    reader: ScheduleReader, prod: Product, ranges: list[tuple[datetime, datetime]], relevant: Relevant
) -> set[int] | None:
    """Ids of the subscribers of ``prod`` whose view over one of ``ranges`` may hold a ``relevant``
    occurrence (None: every subscriber). ``reader`` is ``wide_only``, shared by the products.

    The rules are expanded over the span of the ranges (``relevant`` is exact; the ranges only
    narrow which customers' own moves are looked at).
    """
    assert reader.wide_only
    session = reader.session
    start, end = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
    for item in occurrences(session, start, end, product=prod.key, reader=reader):
        if relevant(item.start, item.end, item.timezone, item.kind == "planned"):
            return None  # a product-wide occurrence (or an unplanned window): every subscriber sees it
    rules = reader.rules(prod)
    local = [rule for rule in rules if rule.is_local]
    found: set[int] = set()
    if local:
        zones = session.scalars(
            select(Customer.timezone)
            .join(Subscription, Subscription.customer_id == Customer.id)
            .where(Subscription.product_id == prod.id)
            .distinct()
        ).all()
        prefixes = tuple(f"{prod.key}.{rule.name}." for rule in local)
        for change in reader.changes(prod).view(None)[0]:  # product-wide moves of a local occurrence
            if change.base_id.startswith(prefixes) and change.action == "move":
                assert change.new_start and change.new_end
                if any(relevant(change.new_start, change.new_end, zone, True) for zone in zones):
                    return None
        hot = [
            zone
            for zone in zones
            if any(
                relevant(o.start, o.end, o.timezone, True)
                for rule in local
                for o in expand(rule, start, end, local_tz=zone, customer="-")
            )
        ]
        if hot:
            found.update(
                session.scalars(
                    select(Subscription.customer_id)
                    .join(Customer, Customer.id == Subscription.customer_id)
                    .where(Subscription.product_id == prod.id, Customer.timezone.in_(hot))
                )
            )
        if prod.on_blackout == NEXT:  # a blackout may move a local occurrence into the range
            found.update(
                session.scalars(
                    select(Blackout.customer_id)
                    .join(Subscription, Subscription.customer_id == Blackout.customer_id)
                    .where(Subscription.product_id == prod.id, Blackout.status == ACTIVE)
                    .distinct()
                )
            )
    zone_of = {rule.name: rule.timezone for rule in rules if not rule.is_local}
    moves = session.execute(
        select(Override.customer_id, Override.occurrence_id, Override.new_start, Override.new_end, Customer.timezone)
        .join(Customer, Customer.id == Override.customer_id)
        .where(
            Override.product_id == prod.id,
            Override.action == "move",
            or_(*(and_(Override.new_start < hi + _MARGIN, Override.new_end > lo - _MARGIN) for lo, hi in ranges)),
        )
    )
    for customer_id, occurrence_id, new_start, new_end, customer_zone in moves:
        assert customer_id is not None and new_start is not None and new_end is not None
        rule_name = occurrence_id.split(".")[1] if "." in occurrence_id else ""
        zone = zone_of.get(rule_name, customer_zone)
        if relevant(new_start, new_end, zone, True) or relevant(new_start, new_end, customer_zone, True):
            found.add(customer_id)
    return found

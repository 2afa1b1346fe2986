"""What blackouts and freezes do to the schedule, applied once on the read side (DESIGN §9).

``schedule.occurrences`` calls ``Blocks.apply`` on every planned occurrence after ops' changes:

- a freeze over the occurrence's product cancels it in every view (sequence + 1); a removed freeze
  (kept, ``removed_at`` set) adds 2 to the sequence of each occurrence it covered, in every view
  (its cancellation, then its return), so SEQUENCE never goes down, as a removed blackout does;
- a ``local`` occurrence colliding with one of the viewing customer's active blackouts is
  cancelled (``on_blackout = "skip"``) or moved to the rule's next free slot (``"next"``), in that
  customer's view only (sequence + 1). Of several occurrences of one rule in the same blackout
  only the last moves; the earlier ones are skipped (the slot after it exists by then). A ``next``
  slot whose notice deadline had already passed when the blackout took effect (declared, or
  approved late) is not taken: the occurrence is skipped, never moved unannounced.

Product-wide occurrences are left as they are in a blackout: that is a conflict for ops
(``scheduler.blackouts.conflicts``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from scheduler.store.models import Customer, Product
from scheduler.store.models_blackouts import ACTIVE, REMOVED, Blackout, Freeze
from windows.blackouts import BlackoutSpec, intervals, parse_monthly, parse_once, parse_yearly
from windows.collisions import NEXT, Blocked, BlockedIndex, resolve_local
from windows.deadline import notice_deadline
from windows.expansion import Occurrence
from windows.rules import Rule
from windows.schedule import Scheduled
from windows.timezones import to_local, zone_by_name

_MARGIN = timedelta(days=40)
Expander = Callable[[datetime, datetime], list[Occurrence]]
_Span = tuple[datetime, datetime]


@lru_cache(maxsize=4096)
def spec_of(kind: str, local_start: str | None, local_end: str | None, spec: str | None) -> BlackoutSpec:
    """The domain spec of a stored blackout."""
    if kind == "once":
        assert local_start and local_end
        return parse_once(local_start, local_end)
    assert spec
    return parse_yearly(spec) if kind == "yearly" else parse_monthly(spec)


def blackout_spec(row: Blackout) -> BlackoutSpec:
    return spec_of(row.kind, row.local_start, row.local_end, row.spec)


@lru_cache(maxsize=65536)
def _intervals(spec: BlackoutSpec, zone: str, start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], ...]:
    return tuple(intervals(spec, zone, start, end))


def blackout_blocks(rows: list[Blackout], zone: str, start: datetime, end: datetime) -> list[Blocked]:
    """The UTC intervals of ``rows`` (one customer's blackouts) overlapping [start, end)."""
    return spec_blocks([(row.id, blackout_spec(row)) for row in rows], zone, start, end)


def spec_blocks(specs: list[tuple[int, BlackoutSpec]], zone: str, start: datetime, end: datetime) -> list[Blocked]:
    """The UTC intervals of one customer's blackouts (id, spec) near [start, end) (40 days' margin)."""
    lo, hi = _day(start - _MARGIN), _day(end + _MARGIN)
    return [Blocked(f"b{ident}", a, b) for ident, spec in specs for a, b in _intervals(spec, zone, lo, hi)]


def spec_intervals(
    spec: BlackoutSpec, zone: str, start: datetime, end: datetime
) -> tuple[tuple[datetime, datetime], ...]:
    """What ``spec_blocks`` finds for one spec, as (start, end) pairs (cached: shared by customers)."""
    return _intervals(spec, zone, _day(start - _MARGIN), _day(end + _MARGIN))


def _day(instant: datetime) -> datetime:
    """Rounded down to 00:00Z, so that cached interval queries are shared by nearby ranges."""
    return datetime(instant.year, instant.month, instant.day, tzinfo=UTC)


def freeze_span(start: datetime, end: datetime) -> _Span:
    """The range whose freezes ``Blocks`` needs for a query over [start, end) (40 days' margin)."""
    return start - _MARGIN, end + _MARGIN


def freeze_rows(
    session: Session, product_id: int, start: datetime, end: datetime, *, with_removed: bool = False
) -> list[Freeze]:
    """Freezes over ``product_id`` (its own and the all-products ones) overlapping [start, end):
    those in force, and the removed ones too when ``with_removed``."""
    query = (
        select(Freeze)
        .where(or_(Freeze.product_id == product_id, Freeze.product_id.is_(None)))
        .where(Freeze.start < end, Freeze.end > start)
        .order_by(Freeze.id)
    )
    if not with_removed:
        query = query.where(Freeze.removed_at.is_(None))
    return list(session.scalars(query))


@dataclass(frozen=True)
class BlackoutRows:
    """The active and removed blackouts by customer id, read once and shared by every view (issue 11)."""

    active: dict[int, list[Blackout]] = field(default_factory=dict)
    removed: dict[int, list[Blackout]] = field(default_factory=dict)
    taken_effect: dict[int, datetime] = field(default_factory=dict)  # active blackout id -> in effect since

    @classmethod
    def read(cls, session: Session, customer: Customer | None = None) -> BlackoutRows:
        """Every customer's blackouts, or only ``customer``'s."""
        found = cls()
        query = select(Blackout).where(Blackout.status.in_([ACTIVE, REMOVED])).order_by(Blackout.id)
        if customer is not None:
            query = query.where(Blackout.customer_id == customer.id)
        for row in session.scalars(query):
            rows = found.active if row.status == ACTIVE else found.removed
            rows.setdefault(row.customer_id, []).append(row)
            if row.status == ACTIVE:
                found.taken_effect[row.id] = row.decided_at or row.created_at
        return found


_EMPTY = BlockedIndex([])


class Blocks:
    """Freezes of one product and the active blackouts of its customers, over a query range.

    Built once per product and range and shared by every customer's view (``ScheduleReader.blocks``):
    each customer's blackout index is computed on first use and kept.
    """

    def __init__(
        self,
        product: Product,
        start: datetime,
        end: datetime,
        freezes: list[Freeze],
        blackouts: BlackoutRows | None,
    ) -> None:
        """``freezes``: ``freeze_rows`` over ``freeze_span(start, end)``, removed ones included;
        ``blackouts``: None when they do not matter (the product has no ``local`` rules)."""
        self.policy = product.on_blackout
        self.notice_days = product.notice_days
        self.freezes = BlockedIndex([Blocked(f"f{f.id}", f.start, f.end) for f in freezes if f.removed_at is None])
        self.removed_freezes = BlockedIndex(
            [Blocked(f"f{f.id}", f.start, f.end) for f in freezes if f.removed_at is not None]
        )
        self._start, self._end = start, end
        rows = blackouts or BlackoutRows()
        self._rows = rows.active
        self._removed_rows = rows.removed
        self._taken_effect = rows.taken_effect
        self._indexes: dict[int, BlockedIndex] = {}
        self._removed: dict[int, BlockedIndex] = {}

    def blackouts(self, customer: Customer) -> BlockedIndex:
        rows = self._rows.get(customer.id)
        if not rows:
            return _EMPTY
        found = self._indexes.get(customer.id)
        if found is None:
            found = self._indexes[customer.id] = BlockedIndex(
                blackout_blocks(rows, customer.timezone, self._start, self._end)
            )
        return found

    def restored(self, customer: Customer, item: Scheduled) -> int:
        """What removed blackouts add to the sequence of ``customer``'s ``item``: 2 for each one that
        covered it (its cancellation or move, then its return), so SEQUENCE never goes down."""
        rows = self._removed_rows.get(customer.id)
        if not rows:
            return 0
        if customer.id not in self._removed:
            blocks = blackout_blocks(rows, customer.timezone, self._start, self._end)
            self._removed[customer.id] = BlockedIndex(blocks)
        return _covering(self._removed[customer.id], item)

    def lookback(self, customer: Customer | None) -> list[tuple[datetime, datetime]]:
        """Ranges whose ``local`` occurrences may be moved into the query range by ``next``."""
        if customer is None or self.policy != NEXT:
            return []
        return [(b.start, b.end) for b in self.blackouts(customer).items if b.end <= self._start + timedelta(days=1)]

    def apply(self, rule: Rule, item: Scheduled, viewer: Customer | None, expand_near: Expander) -> Scheduled:
        """``item`` as freezes and the viewer's blackouts leave it."""
        if item.kind != "planned":
            return item
        bump = _covering(self.removed_freezes, item) if self.removed_freezes.items else 0
        if rule.is_local and viewer is not None and self._removed_rows:
            bump += self.restored(viewer, item)
        if bump:
            item = replace(item, sequence=item.sequence + bump)
        if item.status == "cancelled":
            return item
        if self.freezes.first_overlap(item.start, item.end) is not None:
            return replace(item, status="cancelled", sequence=item.sequence + 1)
        if not rule.is_local or viewer is None:
            return item
        index = self.blackouts(viewer)
        hit = index.first_overlap(item.start, item.end)
        if hit is None:
            return item
        if self.policy == NEXT and _later_in_same_blackout(item, hit, expand_near):
            return replace(item, status="cancelled", sequence=item.sequence + 1)
        combined = BlockedIndex([*index.items, *self.freezes.items])
        resolution = resolve_local(
            policy=self.policy,
            hit=hit,
            local_start=item.local_start,
            local_end=item.local_end,
            zone_name=item.timezone,
            blocked=combined,
            is_taken=lambda day: _has_occurrence(day, expand_near),
        )
        if resolution.new_start is None or resolution.new_end is None:
            return replace(item, status="cancelled", sequence=item.sequence + 1)
        deadline = notice_deadline(resolution.new_start, item.timezone, self.notice_days)
        if deadline < self._decided(index, hit.start, resolution.new_start):
            # The new slot was already inside its notice period when the move was decided: it
            # would be an unannounced window, so the occurrence is skipped instead (DESIGN §3).
            return replace(item, status="cancelled", sequence=item.sequence + 1)
        zone = zone_by_name(item.timezone)
        return replace(
            item,
            status="moved",
            start=resolution.new_start,
            end=resolution.new_end,
            local_start=to_local(resolution.new_start, zone),
            local_end=to_local(resolution.new_end, zone),
            sequence=item.sequence + 1,
            notice_deadline=deadline,
        )

    def _decided(self, index: BlockedIndex, start: datetime, end: datetime) -> datetime:
        """When the blackouts that push an occurrence from ``start`` to ``end`` took effect (the
        latest of them): declared on time, or approved by ops."""
        blocking = {int(b.ident[1:]) for b in index.items if b.start < end and b.end > start}
        return max((self._taken_effect[ident] for ident in blocking), default=start)


def _covering(removed: BlockedIndex, item: Scheduled) -> int:
    """2 for each removed blackout or freeze in ``removed`` that covered ``item`` (where it was
    planned or where changes put it): its cancellation or move, then its return."""
    spans = {(item.occurrence.start, item.occurrence.end), (item.start, item.end)}
    return 2 * len({b.ident for lo, hi in spans for b in removed.items if b.start < hi and b.end > lo})


def _later_in_same_blackout(item: Scheduled, hit: Blocked, expand_near: Expander) -> bool:
    """Another occurrence of the rule starts later inside the same blackout: that one moves."""
    return any(
        o.start > item.occurrence.start and o.start < hit.end for o in expand_near(item.occurrence.start, hit.end)
    )


def _has_occurrence(day: date, expand_near: Expander) -> bool:
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return any(o.local_date == day for o in expand_near(lo - timedelta(days=2), lo + timedelta(days=3)))

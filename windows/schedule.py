"""Applying ops' and customers' changes to expanded occurrences (DESIGN §2 overrides, sequence).

A change is a cancel or a move of one occurrence, for the whole product (``customer`` None) or for
one customer. Changes apply in the order they were *committed*: ``Change.decision`` is the
occurrence's decision number (1, 2, 3, ...) that the database hands out one at a time, never a
clock, so a decision taken on a host whose clock is behind still comes after the one before it.

The last decision wins for the scope it names. A product-wide decision names every customer, so
in a customer's view the last decision among the product-wide ones and that customer's own wins:

- per-customer move, then product-wide move: the product-wide move wins for that customer too;
- product-wide move, then per-customer move (or an approved reschedule request): that customer's
  move wins for that customer, everyone else keeps the product-wide move;
- a move, then a cancel: cancelled, at the times the move had set (what the CANCEL refers to).

Every change that applies to a view raises the occurrence's sequence in that view by one, so the
sequence is the number of decisions in that view.

>>> from datetime import UTC, date, datetime
>>> at = lambda h: datetime(2027, 3, 2, h, tzinfo=UTC)
>>> occ = Occurrence("p.r.20270302", "p.r.20270302", "p", "r", None, at(5), at(8), "UTC",
...                  at(5), at(8), date(2027, 3, 2))
>>> first = Change("p.r.20270302", None, "move", at(9), at(12), decision=1)
>>> second = Change("p.r.20270302", None, "move", at(13), at(16), decision=2)
>>> s = apply_changes(occ, [second, first], None, 30)  # listed in any order: the decision decides
>>> (s.status, s.start.hour, s.sequence)
('moved', 13, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from windows.deadline import notice_deadline
from windows.expansion import Occurrence
from windows.timezones import to_local, zone_by_name


@dataclass(frozen=True)
class Change:
    base_id: str
    customer: str | None
    action: str  # "cancel" | "move"
    new_start: datetime | None
    new_end: datetime | None
    decision: int  # commit order among the decisions on ``base_id`` (from the database, not a clock)
    customer_consent: bool = False
    waived: str | None = None


@dataclass(frozen=True)
class Scheduled:
    """An occurrence as finally scheduled for one view (product-wide or one customer)."""

    occurrence: Occurrence  # as the rule expands it
    customer: str | None
    status: str  # scheduled | moved | cancelled
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    sequence: int
    notice_deadline: datetime | None
    customer_consent: bool = False
    waived: str | None = None
    kind: str = "planned"

    @property
    def id(self) -> str:
        return self.occurrence.id

    @property
    def timezone(self) -> str:
        return self.occurrence.timezone


def apply_changes(occurrence: Occurrence, changes: list[Change], customer: str | None, notice_days: int) -> Scheduled:
    """The final state of ``occurrence`` in the view of ``customer`` (None: product-wide).

    The changes that apply to the view (product-wide ones and ``customer``'s own) are taken in
    decision order; the last one decides the status and times, and each one counts in the sequence.
    """
    relevant = sorted(
        (c for c in changes if c.base_id == occurrence.base_id and (c.customer is None or c.customer == customer)),
        key=lambda c: c.decision,
    )
    status, start, end = "scheduled", occurrence.start, occurrence.end
    local_start, local_end = occurrence.local_start, occurrence.local_end
    consent, waived = False, None
    if relevant:
        last = relevant[-1]
        if last.action == "cancel":
            status = "cancelled"
            # The start/end stay at the last scheduled times (what a CANCEL refers to).
            for earlier in reversed(relevant):
                if earlier.action == "move" and earlier.new_start and earlier.new_end:
                    start, end = earlier.new_start, earlier.new_end
                    break
        elif last.new_start and last.new_end:
            status, start, end = "moved", last.new_start, last.new_end
        consent = last.customer_consent
        waived = last.waived
        if start != occurrence.start or end != occurrence.end:
            zone = zone_by_name(occurrence.timezone)
            local_start, local_end = to_local(start, zone), to_local(end, zone)
    deadline = None if consent else notice_deadline(start, occurrence.timezone, notice_days)
    return Scheduled(
        occurrence=occurrence,
        customer=customer if customer else occurrence.customer,
        status=status,
        start=start,
        end=end,
        local_start=local_start,
        local_end=local_end,
        sequence=len(relevant),
        notice_deadline=deadline,
        customer_consent=consent,
        waived=waived,
    )

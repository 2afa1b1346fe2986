"""Applying ops' and customers' changes to expanded occurrences (DESIGN §2 overrides, sequence).

A change is a cancel or a move of one occurrence, for the whole product (``customer`` None) or for
one customer. Changes apply in the order they were made; the last one decides the state. Every
change that applies to a view raises the occurrence's sequence by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from windows.expansion import Occurrence
from windows.notice import notice_deadline
from windows.timezones import to_local, zone_by_name


@dataclass(frozen=True)
class Change:
    base_id: str
    customer: str | None
    action: str  # "cancel" | "move"
    new_start: datetime | None
    new_end: datetime | None
    made_at: datetime
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
    """The final state of ``occurrence`` in the view of ``customer`` (None: product-wide)."""
    relevant = sorted(
        (c for c in changes if c.base_id == occurrence.base_id and (c.customer is None or c.customer == customer)),
        key=lambda c: c.made_at,
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
        consent = any(c.customer_consent for c in relevant if c is last)
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

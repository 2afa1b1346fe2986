"""What a notice says: its kind, the customer it is for and the occurrences it lists.

Entries carry instants in UTC and the zone of the contact (the customer's zone); local times are
derived from those, so a notice can never show a local time that disagrees with its UTC time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from windows.errors import InvalidInput
from windows.timezones import display_zone

ANNOUNCE = "announce"
CHANGE_KINDS = ("update", "cancel", "unplanned", "reschedule-approved", "reschedule-rejected")
LIFECYCLE_KINDS = ("reminder", "started", "finished")  # scheduled ahead, sent at their instant
KINDS = (ANNOUNCE, *CHANGE_KINDS, *LIFECYCLE_KINDS)
PUBLISH, CANCEL = "PUBLISH", "CANCEL"


def method_for(kind: str) -> str:
    """The iTIP method of a notice's calendar attachment: CANCEL for cancellations only."""
    return CANCEL if kind == "cancel" else PUBLISH


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown notice kind '{kind}' (use one of: {', '.join(KINDS)})")
    return kind


@dataclass(frozen=True)
class Entry:
    """One occurrence as a notice lists it."""

    uid: str  # <occurrence id>@<uid domain>, as in the feeds
    occurrence_id: str
    product: str
    product_name: str
    start: datetime  # aware UTC
    end: datetime
    zone: str  # the contact's (customer's) zone
    sequence: int
    status: str = "scheduled"  # scheduled | moved | cancelled
    kind: str = "planned"  # planned | unplanned
    window_zone: str = "UTC"  # the zone the window is defined in

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(display_zone(self.zone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(display_zone(self.zone))


@dataclass(frozen=True)
class Notice:
    """The content shared by every delivery of one notice (one customer, one run or one change)."""

    kind: str
    customer: str
    customer_name: str
    zone: str
    entries: tuple[Entry, ...]
    created_at: datetime
    note: str | None = None
    portal_url: str | None = None  # the customer portal, linked from the email

    def __post_init__(self) -> None:
        check_kind(self.kind)
        if not self.entries:
            raise InvalidInput("a notice lists at least one occurrence")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be aware")

    @property
    def method(self) -> str:
        return method_for(self.kind)

    @property
    def stamp(self) -> datetime:
        return self.created_at.astimezone(UTC)


def format_local(instant: datetime, zone: str) -> str:
    """``Tue 2027-03-16 00:00 EDT (UTC-04:00)``: a local time for people, with its offset.

    >>> from datetime import timezone as tz
    >>> format_local(datetime(2027, 3, 16, 4, tzinfo=tz.utc), "America/New_York")
    'Tue 2027-03-16 00:00 EDT (UTC-04:00)'
    >>> format_local(datetime(2040, 7, 3, 4, tzinfo=tz.utc), "America/New_York")   # after pytz's 2037
    'Tue 2040-07-03 00:00 EDT (UTC-04:00)'
    """
    return _format_local(instant.astimezone(UTC), zone)  # keyed in UTC: a fold never aliases


@lru_cache(maxsize=65536)  # the same windows in the same zones recur across customers' notices
def _format_local(instant: datetime, zone: str) -> str:
    local = instant.astimezone(display_zone(zone))
    offset = local.strftime("%z")
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def format_utc_human(instant: datetime) -> str:
    """``Tue 2027-03-16 04:00 UTC``."""
    return f"{instant.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC"

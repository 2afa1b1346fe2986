"""The notice deadline (DESIGN §3): the last instant a notice for an occurrence may be accepted.

The deadline of a planned occurrence starting at S in zone Z is the same local wall-clock time
``notice_days`` calendar days before S, resolved in Z (RFC 5545 gap/fold rules).

>>> from datetime import timezone as tz
>>> # 2027-04-06 00:00 EDT (04:00Z); 30 days earlier is 2027-03-07 00:00 EST (05:00Z)
>>> notice_deadline(datetime(2027, 4, 6, 4, tzinfo=tz.utc), "America/New_York", 30).isoformat()
'2027-03-07T05:00:00+00:00'

Both ``windows.schedule`` (each scheduled occurrence carries its deadline) and ``windows.notice``
(the notice policy) use it; it imports neither, so they depend on each other one way only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from windows.timezones import offset_at, to_utc, zone_by_name


@lru_cache(maxsize=1 << 16)  # every customer's view of a shared occurrence asks the same (issue 11)
def notice_deadline(start: datetime, zone_name: str, notice_days: int) -> datetime:
    """The last instant a notice for an occurrence starting at ``start`` may be accepted.

    Depends only on the instant ``start`` names (equal instants in other zones hash alike). Cached:
    under a frozen test clock the cached value may be a ``FakeDatetime``, equal to the real one.
    """
    zone = zone_by_name(zone_name)
    naive = start.astimezone(UTC).replace(tzinfo=None)
    local = naive + offset_at(naive, zone)
    return to_utc(local - timedelta(days=notice_days), zone).replace(tzinfo=UTC)

"""The one place where ops' changes queue notices, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.settings import Settings
from windows.schedule import Scheduled


def queue_notices(
    session: Session,
    now: datetime,
    settings: Settings,
    items: list[Scheduled],
    kind: str,
    note: str | None = None,
    event: str | None = None,
) -> int:
    """Queue an immediate notice about ``items`` (one per customer view) to their current contacts.

    Returns how many deliveries were queued. ``kind``: update, cancel, unplanned,
    reschedule-approved, reschedule-rejected; ``event``: the endpoints' event when the kind's
    default does not say enough (``unplanned.extended``, ``unplanned.ended``).
    """
    return enqueue_change_notices(session, now, settings, items, kind, note, event)

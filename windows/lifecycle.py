"""What an occurrence's lifecycle asks to be sent, and when: reminders, started, finished (issue 15).

Pure: given an occurrence as scheduled, the customer's reminder lead times and whether it opted in
to started/finished notices for planned windows, ``lifecycle_due`` lists the notices due at future
instants. Nothing is due for a cancelled occurrence, and nothing at an instant already past: a
reminder whose lead time has passed is not sent late, and a window that started before it was
declared is announced by its declaration, not by a "started" notice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from windows.errors import InvalidInput
from windows.parsing import parse_duration
from windows.schedule import Scheduled

REMINDER, STARTED, FINISHED = "reminder", "started", "finished"
DEFAULT_REMINDERS: tuple[str, ...] = ("7d", "24h")
MAX_REMINDERS = 5


@dataclass(frozen=True)
class Due:
    """One lifecycle notice: its kind, the instant it is due, and (reminders) the lead time."""

    kind: str
    at: datetime
    lead: str | None = None


def parse_leads(values: Iterable[str]) -> tuple[str, ...]:
    """Validated lead times, longest first, each once; ``none`` (alone) means no reminders.

    >>> parse_leads(["24h", "7d", "24h"])
    ('7d', '24h')
    >>> parse_leads(["none"])
    ()
    """
    texts = [v.strip().lower() for value in values for v in value.split(",") if v.strip()]
    if texts == ["none"]:
        return ()
    if "none" in texts:
        raise InvalidInput("reminders: 'none' cannot be combined with lead times")
    unique: dict[timedelta, str] = {}
    for text in texts:
        unique.setdefault(parse_duration(text), text)
    if len(unique) > MAX_REMINDERS:
        raise InvalidInput(f"reminders: at most {MAX_REMINDERS} lead times")
    return tuple(unique[d] for d in sorted(unique, reverse=True))


def stored_leads(raw: str | None) -> tuple[str, ...]:
    """The leads as a customer row stores them (JSON list; NULL: the default)."""
    if raw is None:
        return DEFAULT_REMINDERS
    loaded = json.loads(raw)
    return tuple(str(v) for v in loaded)


def lifecycle_due(item: Scheduled, leads: Sequence[str], *, planned_notices: bool, now: datetime) -> list[Due]:
    """The lifecycle notices ``item`` asks for at instants not yet past, in time order.

    Reminders (planned windows) at start - lead for each lead, while that instant is not past;
    "started" at the start and "finished" at the end for unplanned windows, and for planned ones
    when ``planned_notices`` (the customer opted in), while those instants are ahead.
    """
    if item.status == "cancelled":
        return []
    due: list[Due] = []
    if item.kind == "planned":
        for lead in leads:
            at = item.start - parse_duration(lead)
            if at >= now:
                due.append(Due(REMINDER, at, lead))
    if item.kind == "unplanned" or planned_notices:
        if item.start > now:
            due.append(Due(STARTED, item.start))
        if item.end > now:
            due.append(Due(FINISHED, item.end))
    return sorted(due, key=lambda d: (d.at, d.kind))


def human_duration(length: timedelta) -> str:
    """A length for people: whole units, at most two of them, never a fraction of an hour.

    >>> human_duration(timedelta(hours=6)), human_duration(timedelta(minutes=90))
    ('6 h', '1 h 30 min')
    >>> human_duration(timedelta(seconds=3.52)), human_duration(timedelta(days=2, hours=3, minutes=4))
    ('4 s', '2 d 3 h')
    """
    seconds = round(length.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
        elif parts:
            break
    return " ".join(parts[:2])

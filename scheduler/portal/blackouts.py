"""What the portal's Blackouts page shows and does, through ``scheduler.blackouts.declare``.

The rules (which inputs make a spec, the lead days that make a late blackout pending, whose
blackout may be removed) are the service's, the same the CLI and ``/api/v1/blackouts`` use;
here they are only put in words, in the customer's zone with UTC beside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.blackouts import declare
from scheduler.blackouts.effects import spec_of
from scheduler.portal import strings as t
from scheduler.portal.views import fmt_day, fmt_local_range, fmt_utc_range, iso_z
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.repository import get_customer
from windows.blackouts import ONCE, YEARLY, BlackoutSpec, intervals

NEXT_SHOWN = 2
NEXT_HORIZON = timedelta(days=731)
FORM_FIELDS = ("label", "start", "end", "yearly", "monthly")


@dataclass(frozen=True)
class NextInterval:
    local: str
    utc: str
    start_z: str
    end_z: str


@dataclass(frozen=True)
class BlackoutRow:
    id: int
    label: str
    kind: str
    kind_text: str
    spec_text: str
    status: str
    status_text: str
    note: str | None
    upcoming: list[NextInterval]


def spec_words(spec: BlackoutSpec) -> str:
    """A spec as people read it.

    >>> from windows.blackouts import parse_monthly, parse_yearly
    >>> spec_words(parse_yearly("11-22:11-30")), spec_words(parse_monthly("last-3"))
    ('Every year from 22 Nov to 30 Nov, both days included', 'The last 3 days of each month')
    """
    if spec.kind == ONCE:
        assert spec.start and spec.end
        start, end = (f"{fmt_day(d.date())} {d:%H:%M}" for d in (spec.start, spec.end))
        return t.BLACKOUT_ONCE.format(start=start, end=end)
    if spec.kind == YEARLY:
        assert spec.first_day and spec.last_day
        first, last = (datetime(2028, m, d) for m, d in (spec.first_day, spec.last_day))
        return t.BLACKOUT_YEARLY.format(first=f"{first.day} {first:%b}", last=f"{last.day} {last:%b}")
    if spec.last_days is not None:
        return t.BLACKOUT_LAST_DAYS.format(n=spec.last_days)
    assert spec.days
    return t.BLACKOUT_DAYS.format(first=spec.days[0], last=spec.days[1])


def rows(db: Database, now: datetime, customer: str) -> tuple[list[BlackoutRow], str, int]:
    """The customer's blackouts with their next intervals, its zone and its lead days."""
    with db.transaction() as session:
        cust = get_customer(session, customer)
        zone, lead = cust.timezone, declare.lead_days(session, cust)
    found = []
    for info in declare.list_blackouts(db, customer):
        spec = spec_of(
            info.kind,
            info.spec.split("/")[0] if info.kind == ONCE else None,
            info.spec.split("/")[1] if info.kind == ONCE else None,
            None if info.kind == ONCE else info.spec,
        )
        upcoming = [
            NextInterval(fmt_local_range(a, b, zone), fmt_utc_range(a, b), iso_z(a), iso_z(b))
            for a, b in intervals(spec, zone, now, now + NEXT_HORIZON)[:NEXT_SHOWN]
        ]
        found.append(
            BlackoutRow(
                info.id,
                info.label,
                info.kind,
                t.BLACKOUT_KIND[info.kind],
                spec_words(spec),
                info.status,
                t.BLACKOUT_STATUS[info.status],
                info.note,
                upcoming,
            )
        )
    return found, zone, lead


def declare_from_form(
    db: Database, now: datetime, settings: Settings, customer: str, form: dict[str, str], actor: str
) -> declare.BlackoutInfo:
    """Declare what the form holds; ``MaintcalError`` with the API's message when it is wrong."""
    values = {k: form.get(k, "").strip() for k in FORM_FIELDS}
    spec = declare.spec_from_inputs(
        values["start"].replace(" ", "T") or None,
        values["end"].replace(" ", "T") or None,
        values["yearly"] or None,
        values["monthly"] or None,
    )
    return declare.add_blackout(db, now, settings, customer, spec, form.get("label", ""), actor=actor)

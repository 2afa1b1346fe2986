"""``sla report`` from the database: notice records decide what is excluded (hand-worked figures).

Product ``pe`` (notice 30 days): Tue & Thu 00:00-03:00 America/New_York. March 2027 in New York
has 743 h = 2,674,800 s (DST starts on the 14th). Its nine windows (2, 4, 9, 11, 16, 18, 23, 25,
30 March) last 3 h each: 97,200 s. Notices are planned and sent (pickup directory) every week
from 2027-01-04, so every window is announced 30+ days ahead to thames' and harbour's contacts.
``lonely`` subscribes with no contact: its windows are never noticed.

Outages: 2027-03-10 10:00-11:00Z (3,600 s), 2027-03-16 04:30-06:00Z (inside the window of the
16th, 04:00-07:00Z: excluded, not downtime) and one for harbour only, 2027-03-31 23:30Z -
2027-04-01 05:00Z (the month ends at 04:00Z: 16,200 s count). Unplanned maintenance
2027-03-20 12:00-13:00Z for every customer (3,600 s).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from scheduler.catalogue import edits as catalogue
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences import unplanned
from scheduler.reports import outages
from scheduler.reports.sla_report import sla_report
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load, settings, utc

P = 2_674_800
WINDOWS = 9 * 3 * 3600


@pytest.fixture
def loaded(db: Database, db_url: str, tmp_path: Path) -> Database:
    load(db)
    conf = settings(tmp_path, db_url)
    catalogue.add_customer(db, NOW, "lonely", "Lonely", "America/New_York", [])
    catalogue.subscribe(db, NOW, "lonely", ["pe"])
    when = NOW
    while when < utc("2027-03-05T00:00:00Z"):
        plan_notices(db, when, conf)
        send_due(db, conf, lambda: when)  # noqa: B023 - called before `when` changes
        when += timedelta(days=7)
    rows = outages.parse_outages(
        "product,start,end,customer\n"
        "pe,2027-03-10T10:00:00Z,2027-03-10T11:00:00Z,\n"
        "pe,2027-03-16T04:30:00Z,2027-03-16T06:00:00Z,\n"
        "pe,2027-03-31T23:30:00Z,2027-04-01T05:00:00Z,harbour\n",
        "o.csv",
    )
    outages.import_outages(db, NOW, rows, "o.csv")
    unplanned.declare(
        db, NOW, conf, "pe", customers=[], start=utc("2027-03-20T12:00:00Z"), duration=timedelta(hours=1), reason="r"
    )
    return db


def _figures(db: Database, now: datetime, **kwargs: object) -> list[tuple[str | None, int, int, int, str, bool, int]]:
    rows = sla_report(db, now, product="pe", month="2027-03", tz="America/New_York", **kwargs)  # type: ignore[arg-type]
    return [
        (
            r.customer,
            r.result.period_seconds,
            r.result.excluded_seconds,
            r.result.downtime_seconds,
            r.result.availability_percent,
            r.result.met,
            r.result.credit_percent,
        )
        for r in rows
    ]


def test_noticed_windows_are_excluded_per_customer(loaded: Database) -> None:
    after = utc("2027-04-02T00:00:00Z")
    # thames: (P - E - D) / (P - E) = (2,674,800 - 97,200 - 7,200) / 2,577,600 = 99.7207 %
    # harbour: D adds 16,200 s: 2,554,200 / 2,577,600 = 99.0922 %
    # lonely: nothing noticed: D = 97,200 + 3,600 + 3,600 (the outage of the 16th lies in a window)
    #   = 104,400; E = 0: 2,570,400 / 2,674,800 = 96.0969 %
    # product-wide: a window counts as excluded only when every subscriber was noticed: none.
    assert _figures(loaded, after) == [
        ("harbour", P, WINDOWS, 23_400, "99.0922", False, 10),
        ("lonely", P, 0, 104_400, "96.0969", False, 25),
        ("nile", P, WINDOWS, 7_200, "99.7207", False, 10),
        ("thames", P, WINDOWS, 7_200, "99.7207", False, 10),
        (None, P, 0, 104_400, "96.0969", False, 25),
    ]


def test_one_customer_with_reasons_and_the_alternative_formula(loaded: Database) -> None:
    after = utc("2027-04-02T00:00:00Z")
    [row] = sla_report(loaded, after, product="pe", month="2027-03", tz="America/New_York", customer="thames")
    reasons = {v.window.id: (v.qualifies, v.reason) for v in row.result.windows}
    assert reasons["pe.unplanned-1"] == (False, "unplanned maintenance counts as downtime")
    # announced by the run of 2027-02-08 (the horizon then reaches 37 days ahead, to 17 March);
    # deadline: 16 March 00:00 EDT less 30 local days = 14 February 00:00 EST = 05:00Z
    assert reasons["pe.nightly.20270316"] == (True, "noticed 2027-02-08T12:00:00Z, deadline 2027-02-14T05:00:00Z")
    # (P - D) / P = 2,667,600 / 2,674,800 = 99.7308 %; a 99.7 % target is met there.
    assert _figures(loaded, after, customer="thames", excluded_as_up=True, target=Decimal("99.7")) == [
        ("thames", P, WINDOWS, 7_200, "99.7308", True, 10)
    ]
    [lonely] = sla_report(loaded, after, product="pe", month="2027-03", tz="America/New_York", customer="lonely")
    assert {v.reason for v in lonely.result.windows if v.window.kind == "planned"} == {
        "not noticed: no contact: no contact"
    }


def test_month_in_progress_counts_the_elapsed_part(loaded: Database) -> None:
    # 2027-03-11 05:00Z: 10 days (240 h, EST throughout) have elapsed; windows so far: the 2nd, 4th
    # and 9th (the 11th starts at 05:00Z, now) = 3 x 10,800 s; downtime: the outage of the 10th.
    now = utc("2027-03-11T05:00:00Z")
    [row] = sla_report(loaded, now, product="pe", month="2027-03", tz="America/New_York", customer="thames")
    result = row.result
    assert (result.status, result.period_seconds, result.excluded_seconds, result.downtime_seconds) == (
        "in progress",
        864_000,
        32_400,
        3_600,
    )
    assert result.availability_percent == "99.5671"  # (864,000 - 32,400 - 3,600) / 831,600

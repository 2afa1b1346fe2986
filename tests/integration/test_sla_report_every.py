"""The SLA report of every subscriber (SQLite and PostgreSQL): the overridden-conflict policy (issue 14)
is applied to the customers with a kept conflict only, read in one query per product, with exact
seconds and percentages.

The blackout catalogue (``blackout_fixtures``): ``pw`` is Tue & Thu 00:00-03:00 New York, 8 windows of
3 h in February 2027 (05:00-08:00Z); the first was waived (downtime), the others' notices are pending
(assumed noticed) at NOW. Deccan's blackout 8-12 February holds ``pw.nightly.20270211``, which ops keep.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.blackouts import declare
from scheduler.blackouts.conflicts import resolve_override
from scheduler.blackouts.policy import set_policy
from scheduler.blackouts.sla_policy import OVERRIDDEN_REASON
from scheduler.reports.sla_report import sla_report
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.integration.blackout_fixtures import NOW, load
from windows.blackouts import parse_once

KEPT = "pw.nightly.20270211"
Figures = tuple[str | None, int, int, str, bool, int, int, bool, str]


@pytest.fixture
def kept(db: Database, db_url: str, tmp_path: Path) -> Database:
    load(db)
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")
    declare.add_blackout(db, NOW, settings, "deccan", parse_once("2027-02-08T00:00", "2027-02-12T00:00"), "Audit")
    resolve_override(db, NOW, KEPT, "deccan", "security patch cannot wait")
    return db


def figures(db: Database) -> list[Figures]:
    rows = sla_report(db, NOW, product="pw", month="2027-02")
    found: list[Figures] = []
    for row in rows:
        r = row.result
        kept = next(v for v in r.windows if v.window.id == KEPT)
        found.append(
            (
                row.customer,
                r.excluded_seconds,
                r.downtime_seconds,
                r.availability_percent,
                r.met,
                r.credit_percent,
                r.error_budget_seconds,
                kept.qualifies,
                kept.reason,
            )
        )
    return found


def test_only_the_customer_with_a_kept_conflict_counts_it_as_downtime(kept: Database) -> None:
    pending = "notice pending (deadline 2027-01-12T05:00:00Z); assumed noticed"
    assert figures(kept) == [
        # 7 windows excluded but one kept in the blackout: 6 x 3 h excluded, 2 x 3 h down.
        ("deccan", 64_800, 21_600, "99.0826", False, 10, 1177 - 21_600, False, OVERRIDDEN_REASON),
        # 2,332,800 / 2,343,600 s; budget 0.05 % of 2,343,600 s = 1,171.8 s, minus the waived 3 h.
        ("thames", 75_600, 10_800, "99.5392", False, 10, 1171 - 10_800, True, pending),
        (None, 75_600, 10_800, "99.5392", False, 10, 1171 - 10_800, True, "noticed to all 2 subscribed customer(s)"),
    ]


def test_a_kept_conflict_counted_as_maintenance_changes_nothing(kept: Database) -> None:
    set_policy(kept, NOW, "pw", counts_as="maintenance")
    [deccan, thames, _] = figures(kept)
    assert deccan[:8] == ("deccan", 75_600, 10_800, "99.5392", False, 10, 1171 - 10_800, True)
    assert deccan[1:8] == thames[1:8]

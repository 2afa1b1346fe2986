"""Compliance and SLA from shared views equal the per-customer path (SQLite and PostgreSQL, issue 11).

``assess_range`` builds each customer's view from the product-wide one (``SharedViews``); with
``shared=False`` it builds every view on its own with ``occurrences``, as before. The catalogue
holds what can make a customer's view differ from the product-wide one: ``local`` rules (skip and
next, a blackout), product-wide moves and cancellations, per-customer moves into and out of the
range, a per-customer move after a product-wide one, a per-customer cancellation, a move at the
customer's request, a freeze, unplanned windows (for everyone and for one customer), digests sent
late (the first plan ran after some deadlines) and changes announced late (moves with a waiver).
Both paths must give the same items (occurrence, view, verdict) and the same SLA rows.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.blackouts import declare as blackouts
from scheduler.blackouts.freezes import add_freeze
from scheduler.catalogue import edits as catalogue
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences.changes import change_occurrence
from scheduler.occurrences.unplanned import declare
from scheduler.reports.compliance import ComplianceItem, assess_range
from scheduler.reports.sla_report import sla_report
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.integration.blackout_fixtures import NOW, load
from windows.blackouts import parse_once
from windows.rulespec import RuleOptions, build_rule

FEB, MAR = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
FROM = date(2026, 12, 10)  # 35 days after pf's windows were added
LATER = NOW + timedelta(days=20)  # 2027-01-24: after the deadlines of the first February windows


@pytest.fixture
def varied(db: Database, db_url: str, tmp_path: Path) -> Database:
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")
    load(db)  # lc, ln (local), pw (New York); deccan, thames, nyc
    catalogue.add_product(db, NOW - timedelta(days=60), "pf", "Fixed", 30)
    for options in (
        RuleOptions("pf", "weekly", "Europe/Berlin", days="mon,wed,fri", start="22:00", end="01:00", valid_from=FROM),
        RuleOptions("pf", "cron", "Asia/Tokyo", cron="30 1 * * *", duration="2h", valid_from=FROM),
    ):
        rule, _ = build_rule(options)
        catalogue.add_window(db, NOW - timedelta(days=60), rule)
    catalogue.add_customer(db, NOW, "oslo", "Oslo AS", "Europe/Oslo", ["a@oslo.example", "b@oslo.example"])
    catalogue.add_customer(db, NOW, "lima", "Lima SA", "America/Lima", ["ops@lima.example"])
    catalogue.add_customer(db, NOW, "perth", "Perth Ltd", "Australia/Perth", [])
    catalogue.subscribe(db, NOW, "oslo", ["pf", "pw", "lc"])
    catalogue.subscribe(db, NOW, "lima", ["pf", "pw"])
    catalogue.subscribe(db, NOW, "perth", ["pf"])
    catalogue.subscribe(db, NOW, "deccan", ["pf"])
    blackouts.add_blackout(db, NOW, settings, "deccan", parse_once("2027-02-08T00:00", "2027-02-12T00:00"), "Audit")
    plan_notices(db, NOW, settings)  # digests for what is already inside its notice period: late
    send_due(db, settings, lambda: NOW + timedelta(minutes=1))

    def change(occurrence: str, action: str, customer: str | None = None, hours: int = 0, **kw: Any) -> None:
        if action == "move":
            start = datetime.strptime(occurrence.split(".")[2][:8], "%Y%m%d").replace(tzinfo=UTC)
            kw["new_start"] = start + timedelta(hours=hours)
            if kw["new_start"] < LATER + timedelta(days=30) and not kw.get("customer_consent"):
                kw.setdefault("waive_notice", "inside the notice period")  # announced late
        change_occurrence(db, LATER, settings, occurrence, action=action, reason="test", customer=customer, **kw)

    change("pf.weekly.20270203", "move", hours=10, waive_notice="urgent")  # product-wide, announced late
    change("pf.weekly.20270210", "cancel")  # product-wide
    change("pf.weekly.20270303", "move", "oslo", hours=-20 * 24)  # into February, for oslo only
    change("pf.weekly.20270226", "move", "lima", hours=8 * 24)  # out of February, for lima only
    change("pf.weekly.20270217", "move", hours=2)  # product-wide, then ...
    change("pf.weekly.20270217", "move", "perth", hours=4)  # ... perth's own move wins for perth
    change("pf.weekly.20270219", "cancel", "deccan")
    change("pf.cron.20270220", "move", "lima", hours=3, customer_consent=True)  # at lima's request
    change("pw.nightly.20270216", "move", "thames", hours=1, waive_notice="patch")
    add_freeze(
        db, LATER, settings, product="pf", start="2027-02-24T00:00", end="2027-02-25T00:00", tz="UTC", reason="x"
    )
    declare(
        db,
        LATER,
        settings,
        "pf",
        customers=[],
        start=datetime(2027, 2, 5, 9, tzinfo=UTC),
        duration=timedelta(hours=1),
        reason="disk",
    )
    declare(
        db,
        LATER,
        settings,
        "pw",
        customers=["lima"],
        start=datetime(2027, 2, 6, 9, tzinfo=UTC),
        duration=timedelta(hours=2),
        reason="db",
    )
    plan_notices(db, LATER, settings)
    send_due(db, settings, lambda: LATER + timedelta(minutes=1))
    return db


def assessed(
    db: Database, now: datetime, shared: bool, product: str | None = None, customer: str | None = None
) -> list[ComplianceItem]:
    with db.transaction() as session:
        lo, hi = FEB - timedelta(days=3), MAR + timedelta(days=3)
        return assess_range(session, now, lo, hi, product=product, customer=customer, shared=shared)


def test_shared_views_give_the_per_customer_items_and_verdicts(varied: Database) -> None:
    for now in (LATER, MAR):
        assert assessed(varied, now, True) == assessed(varied, now, False)
        for product in ("pf", "pw", "lc", "ln"):
            assert assessed(varied, now, True, product=product) == assessed(varied, now, False, product=product)
        for customer in ("oslo", "lima", "perth", "deccan", "nyc"):
            assert assessed(varied, now, True, customer=customer) == assessed(varied, now, False, customer=customer)
    # The catalogue reaches every state and status, in views that differ from the product-wide one.
    fast = assessed(varied, LATER, True)
    states = {"violated": 131, "noticed": 79, "pending": 21, "waived": 18, "exempt": 6}
    assert Counter(c.verdict.state for c in fast) == Counter(states)
    assert Counter(r.reason for c in fast for r in c.verdict.reasons) == Counter(
        {"sent late": 109, "no contact": 78, "not sent": 13}
    )
    assert sorted((c.item.id, c.customer) for c in fast if c.item.status == "moved") == [
        ("pf.cron.20270220", "lima"),  # at lima's request (exempt)
        *[("pf.weekly.20270203", c) for c in ("deccan", "lima", "oslo", "perth")],
        *[("pf.weekly.20270217", c) for c in ("deccan", "lima", "oslo", "perth")],
        ("pf.weekly.20270303", "oslo"),  # moved into the range for oslo only
        ("pw.nightly.20270216", "thames"),
    ]
    # lima's 26 February window was moved out of the range; deccan's 19 February was cancelled.
    ids = {(c.item.id, c.customer) for c in fast}
    assert ("pf.weekly.20270226", "lima") not in ids and ("pf.weekly.20270226", "oslo") in ids
    assert ("pf.weekly.20270219", "deccan") not in ids and ("pf.weekly.20270219", "perth") in ids


def test_shared_views_give_the_per_customer_sla_rows(varied: Database) -> None:
    for product in ("pf", "pw", "lc", "ln"):
        for now in (LATER, MAR):
            rows = sla_report(varied, now, product=product, month="2027-02")
            assert rows == sla_report(varied, now, product=product, month="2027-02", shared=False)

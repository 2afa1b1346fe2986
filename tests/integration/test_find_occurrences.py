"""``find_occurrences`` (what ``apply`` uses to read announced occurrences, issue 11) gives, for every
(occurrence id, customer), what ``find_occurrence`` gives for it alone. SQLite and PostgreSQL.

The catalogue is the shared-views one (``local`` rules with skip and next and a blackout, a cron
rule, product-wide and per-customer moves and cancellations, a freeze, unplanned windows) plus a
product ``pd`` whose windows cross the DST nights of March 2027 (New York 14 March, Oslo and Berlin
28 March): a ``local`` daily 02:00-03:30, a cron rule at 02:30 Berlin time, and moves on those
nights. The pairs asked are every announced occurrence, every occurrence each customer and the
product-wide view list, the same ids (and their base ids) asked by other views in turn, unplanned
ids, and ids that name nothing; then again after windows are retired and reshaped in the same
transaction (what ``withdraw_vanished`` asks).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.window_rules import retire_row
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences.changes import change_occurrence
from scheduler.occurrences.schedule import find_occurrence, find_occurrences, occurrences
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product, WindowRule
from scheduler.store.models_outbox import DeliveryOccurrence
from tests.integration.blackout_fixtures import NOW
from tests.integration.test_shared_views import LATER, varied  # noqa: F401 (the fixture)
from windows.rulespec import RuleOptions, build_rule
from windows.schedule import Scheduled

MARCH = datetime(2027, 3, 1, 12, tzinfo=UTC)  # plans 30 days ahead: both DST nights are announced
Pair = tuple[str, str | None]


def with_dst_nights(db: Database, db_url: str, tmp_path: Path) -> Settings:
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")
    catalogue.add_product(db, NOW, "pd", "DST nights", 30)
    for options in (
        RuleOptions("pd", "dstl", "local", days="mon,tue,wed,thu,fri,sat,sun", start="02:00", end="03:30"),
        RuleOptions("pd", "cron", "Europe/Berlin", cron="30 2 * * *", duration="1h"),
    ):
        rule, _ = build_rule(options)
        catalogue.add_window(db, NOW, rule, waive_notice="test catalogue")
    catalogue.subscribe(db, NOW, "oslo", ["pd"])
    catalogue.subscribe(db, NOW, "nyc", ["pd"])
    catalogue.subscribe(db, NOW, "lima", ["pd"])
    now = MARCH - timedelta(days=2)
    for occurrence, customer, hours in (
        ("pd.dstl.20270328.oslo", "oslo", 12),  # later on the DST day, for oslo
        ("pd.dstl.20270314.nyc", "nyc", 12),
        ("pd.cron.20270328", None, 1),  # product-wide, on the DST night
        ("pd.cron.20270327", "lima", 24),  # onto the DST night, for lima
    ):
        day = datetime.strptime(occurrence.split(".")[2], "%Y%m%d").replace(tzinfo=UTC)
        change_occurrence(
            db,
            now,
            settings,
            occurrence,
            action="move",
            reason="test",
            customer=customer,
            new_start=day + timedelta(hours=hours),
            waive_notice="test",
        )
    change_occurrence(db, now, settings, "pd.dstl.20270315.lima", action="cancel", reason="test", customer="lima")
    plan_notices(db, MARCH, settings)
    send_due(db, settings, lambda: MARCH + timedelta(minutes=1))
    return settings


def asked(db: Database) -> list[Pair]:
    with db.transaction() as session:
        customers = sorted(session.scalars(select(Customer.key)))
        told = select(DeliveryOccurrence.occurrence_id, Customer.key).join(
            Customer, Customer.id == DeliveryOccurrence.customer_id
        )
        pairs: set[Pair] = set(session.execute(told))
        viewers = [*customers, None]
        for customer in viewers:
            listed = occurrences(session, LATER, MARCH + timedelta(days=40), customer=customer, include_cancelled=True)
            for number, item in enumerate(listed):
                other = viewers[number % len(viewers)]  # the id asked by another view, in turn
                for occurrence_id in (item.id, item.occurrence.base_id):
                    pairs.update([(occurrence_id, customer), (occurrence_id, other)])
    pairs.update((bad, "oslo") for bad in ("pf", "pf.weekly", "pf.weekly.x", "pf.weekly.20270203.a.b"))
    pairs.update(("pf.unplanned-" + n, c) for n in ("1", "2", "9", "x", "1x") for c in ("lima", "oslo", None))
    return sorted(pairs, key=lambda p: (p[0], p[1] or ""))


def one_by_one(db: Database, pairs: list[Pair]) -> dict[Pair, Scheduled | None]:
    with db.transaction() as session:
        return {pair: find_occurrence(session, *pair) for pair in pairs}


def at_once(db: Database, pairs: list[Pair]) -> dict[Pair, Scheduled | None]:
    with db.transaction() as session:
        return find_occurrences(session, pairs)


def test_find_occurrences_gives_what_find_occurrence_gives_for_each(
    varied: Database,  # noqa: F811
    db_url: str,
    tmp_path: Path,
) -> None:
    with_dst_nights(varied, db_url, tmp_path)
    pairs = asked(varied)
    expected = one_by_one(varied, pairs)
    assert at_once(varied, pairs) == expected
    # The lookups reach every kind of answer.
    assert len(pairs) == 3003
    found = [s for s in expected.values() if s is not None]
    assert Counter(s.status for s in found) == Counter({"scheduled": 1917, "moved": 26, "cancelled": 26})
    assert Counter(s.kind for s in found) == Counter({"planned": 1962, "unplanned": 7})
    # The DST nights: 02:00-03:30 local is 1.5 h, but 30 min where 02:00 does not exist.
    at = {pair: (s.start, s.end, s.status) for pair, s in expected.items() if s and pair[0].startswith("pd.dstl")}
    assert at[("pd.dstl.20270314.oslo", "oslo")] == (utc(3, 14, 1), utc(3, 14, 2, 30), "scheduled")
    assert at[("pd.dstl.20270314.nyc", "nyc")] == (utc(3, 14, 12), utc(3, 14, 12, 30), "moved")
    assert at[("pd.dstl.20270328.nyc", "nyc")] == (utc(3, 28, 6), utc(3, 28, 7, 30), "scheduled")
    assert at[("pd.dstl.20270328.oslo", "oslo")] == (utc(3, 28, 12), utc(3, 28, 12, 30), "moved")
    assert at[("pd.dstl.20270328.lima", "lima")] == (utc(3, 28, 7), utc(3, 28, 8, 30), "scheduled")
    assert ("pd.dstl.20270328.oslo", "nyc") not in at
    cron = expected[("pd.cron.20270328", "lima")]
    assert cron is not None and (cron.start, cron.end, cron.status) == (utc(3, 28, 1), utc(3, 28, 2), "moved")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


def test_find_occurrences_after_windows_change_in_the_transaction(
    varied: Database,  # noqa: F811
    db_url: str,
    tmp_path: Path,
) -> None:
    """As ``withdraw_vanished`` asks: after rules are retired and reshaped, flushed, not committed."""
    with_dst_nights(varied, db_url, tmp_path)
    pairs = asked(varied)

    def changed(session_work: str) -> dict[Pair, Scheduled | None]:
        with varied.transaction() as session:
            rules = {(p.key, r.name): r for p, r in session.execute(select(Product, WindowRule).join(WindowRule))}
            retire_row(rules[("pf", "weekly")], date(2027, 2, 20), LATER)
            retire_row(rules[("pd", "dstl")], date(2027, 3, 20), LATER)
            rules[("pd", "cron")].cron = "30 3 * * *"
            rules[("lc", "nightly")].start_time = "01:00"
            session.flush()
            if session_work == "one by one":
                result = {pair: find_occurrence(session, *pair) for pair in pairs}
            else:
                result = find_occurrences(session, pairs)
            session.rollback()
            return result

    expected = changed("one by one")
    assert changed("at once") == expected
    assert len([s for s in expected.values() if s is not None]) == 1704
    assert expected[("pd.dstl.20270328.oslo", "oslo")] is None  # retired from 20 March
    assert expected[("pf.weekly.20270219", "perth")] is not None  # retired from 20 February
    assert expected[("pf.weekly.20270222", "perth")] is None
    reshaped = expected[("lc.nightly.20270302.oslo", "oslo")]  # 01:00 Oslo time now
    assert reshaped is not None and (reshaped.start, reshaped.end) == (utc(3, 2, 0), utc(3, 2, 5))

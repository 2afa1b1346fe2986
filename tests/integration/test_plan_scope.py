"""The planning run reads only the customers with something new (issue 11), on SQLite and PostgreSQL.

Catalogue: ``pe`` (notice_fixtures: Tuesdays 00:00-06:00 New York from 2027-02-09) with acme
(3 contacts) and beta; ``px`` (Wednesdays 02:00-04:00 London from 2027-02-10) with beta and gamma.
At NOW (2027-01-04 12:00Z) the 37-day horizon holds pe.tue.20270209 (it entered 2027-01-03 05:00Z)
and px.wed.20270210 (2027-01-04 02:00Z); pe.tue.20270216 enters 2027-01-10 05:00Z.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
from sqlalchemy import func, select

from scheduler.catalogue import edits as catalogue
from scheduler.catalogue import endpoints
from scheduler.notices.planning import PlanResult, plan_notices
from scheduler.occurrences.changes import change_occurrence
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer
from scheduler.store.models_outbox import Delivery
from scheduler.store.repository import bump_version
from tests.integration.notice_fixtures import FIRST, NOW, build, settings_for
from windows.rules import WeeklyRule

SECOND_PX = "px.wed.20270210"
A_MINUTE = timedelta(minutes=1)


def px_rule(name: str, day: int, valid_from: date) -> WeeklyRule:
    return WeeklyRule("px", name, "Europe/London", valid_from, None, None, days=(day,), start=time(2), end=time(4))


def build_two(db: Database, db_url: str, tmp_path: Path) -> Settings:
    build(db)
    before = NOW - timedelta(days=7)
    catalogue.add_product(db, before, "px", "Premier Extra", notice_days=30)
    catalogue.add_window(db, before, px_rule("wed", 2, date(2027, 2, 10)))
    catalogue.add_customer(db, before, "beta", "Beta Ltd", "Europe/London", ["ops@beta.example"])
    catalogue.subscribe(db, before, "beta", ["pe", "px"])
    catalogue.add_customer(db, before, "gamma", "Gamma plc", "Asia/Kolkata", ["ops@gamma.example"])
    catalogue.subscribe(db, before, "gamma", ["px"])
    return settings_for(db_url, tmp_path)


def told(result: PlanResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(d.customer, d.email, d.occurrences) for d in result.digests]


def deliveries(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)


def planned_once(db: Database, db_url: str, tmp_path: Path, at: datetime = NOW) -> Settings:
    settings = build_two(db, db_url, tmp_path)
    first = plan_notices(db, at, settings)
    assert first.everyone and first.examined == ("acme", "beta", "gamma")
    return settings


def test_a_second_plan_with_nothing_new_reads_no_customer(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = build_two(db, db_url, tmp_path)
    first = plan_notices(db, NOW, settings)
    assert (first.everyone, first.examined) == (True, ("acme", "beta", "gamma"))
    assert told(first) == [
        ("acme", "a@acme.example", (FIRST,)),
        ("acme", "b@acme.example", (FIRST,)),
        ("acme", "c@acme.example", (FIRST,)),
        ("beta", "ops@beta.example", (FIRST, SECOND_PX)),
        ("gamma", "ops@gamma.example", (SECOND_PX,)),
    ]
    assert deliveries(db) == 5
    for minutes in (0, 1, 2):
        again = plan_notices(db, NOW + minutes * A_MINUTE, settings)
        assert (again.digests, again.lifecycle, again.examined, again.everyone) == ([], 0, (), False)
    assert deliveries(db) == 5


def test_a_new_window_on_one_product_reads_only_its_customers(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path)
    catalogue.add_window(db, NOW + A_MINUTE, px_rule("fri", 4, date(2027, 2, 5)))
    again = plan_notices(db, NOW + 2 * A_MINUTE, settings)
    assert (again.examined, again.everyone) == (("beta", "gamma"), False)
    assert told(again) == [
        ("beta", "ops@beta.example", ("px.fri.20270205",)),
        ("gamma", "ops@gamma.example", ("px.fri.20270205",)),
    ]
    assert plan_notices(db, NOW + 3 * A_MINUTE, settings).examined == ()


def test_a_customer_move_reads_only_that_customer(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path)
    # px.wed.20270217 is not in the horizon yet (it enters 2027-01-11 02:00Z); gamma's moves it into it.
    change_occurrence(
        db,
        NOW + A_MINUTE,
        settings,
        "px.wed.20270217",
        action="move",
        customer="gamma",
        new_start=datetime(2027, 2, 8, 2, tzinfo=UTC),
        reason="customer asked",
    )
    again = plan_notices(db, NOW + 2 * A_MINUTE, settings)
    assert (again.examined, again.everyone) == (("gamma",), False)
    assert told(again) == []  # the move's own notice told gamma at the new times already
    assert deliveries(db) == 6


def test_a_new_subscription_reads_only_that_customer(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path)
    catalogue.subscribe(db, NOW + A_MINUTE, "gamma", ["pe"])
    again = plan_notices(db, NOW + 2 * A_MINUTE, settings)
    assert (again.examined, told(again)) == (("gamma",), [("gamma", "ops@gamma.example", (FIRST,))])


def test_a_new_contact_reads_only_that_customer(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path)
    catalogue.add_contact(db, NOW + A_MINUTE, "acme", "d@acme.example")
    again = plan_notices(db, NOW + 2 * A_MINUTE, settings)
    assert (again.examined, told(again)) == (("acme",), [("acme", "d@acme.example", (FIRST,))])


def test_the_horizon_moving_a_day_reads_the_customers_it_reaches(
    db: Database, db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2027-01-09T12:00:00Z")
    settings = planned_once(db, db_url, tmp_path, at=datetime.now(UTC))
    freezer.move_to("2027-01-10T05:00:00Z")  # pe.tue.20270216 enters the horizon at this instant
    again = plan_notices(db, datetime.now(UTC), settings)
    assert (again.examined, again.everyone) == (("acme", "beta"), False)
    assert told(again) == [
        ("acme", "a@acme.example", ("pe.tue.20270216",)),
        ("acme", "b@acme.example", ("pe.tue.20270216",)),
        ("acme", "c@acme.example", ("pe.tue.20270216",)),
        ("beta", "ops@beta.example", ("pe.tue.20270216",)),
    ]
    freezer.move_to("2027-01-11T01:59:00Z")  # px.wed.20270217 enters at 02:00Z: not yet
    assert plan_notices(db, datetime.now(UTC), settings).examined == ()
    freezer.tick(A_MINUTE)
    later = plan_notices(db, datetime.now(UTC), settings)
    assert (later.examined, told(later)) == (
        ("beta", "gamma"),
        [("beta", "ops@beta.example", ("px.wed.20270217",)), ("gamma", "ops@gamma.example", ("px.wed.20270217",))],
    )


def test_a_reminder_entering_the_next_day_is_queued(
    db: Database, db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2027-02-01T04:00:00Z")
    settings = planned_once(db, db_url, tmp_path, at=datetime.now(UTC))
    # pe.tue.20270209 starts 2027-02-09 05:00Z: its 7-day reminder (due 2027-02-02 05:00Z) is queued
    # a day ahead, at 2027-02-01 05:00Z, to acme's 3 contacts and beta's one.
    freezer.move_to("2027-02-01T05:00:00Z")
    again = plan_notices(db, datetime.now(UTC), settings)
    assert (again.examined, again.digests, again.lifecycle) == (("acme", "beta"), [], 4)
    freezer.tick(A_MINUTE)
    assert plan_notices(db, datetime.now(UTC), settings).examined == ()


def test_reminder_settings_read_only_that_customer(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path, at=datetime(2027, 2, 1, 4, tzinfo=UTC))
    endpoints.set_notice_options(
        db, datetime(2027, 2, 1, 4, 1, tzinfo=UTC), "acme", reminders=["8d"], lifecycle_notices=None
    )
    again = plan_notices(db, datetime(2027, 2, 1, 4, 2, tzinfo=UTC), settings)
    # the 8-day reminder of pe.tue.20270209 was due 2027-02-01 05:00Z: queued now for acme's 3 contacts
    assert (again.examined, again.lifecycle) == (("acme",), 3)


def test_a_change_that_names_nothing_and_other_settings_read_everyone(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    settings = planned_once(db, db_url, tmp_path)
    with db.transaction() as session:
        bump_version(session, NOW)  # apply, blackouts, freezes... name no product or customer
    again = plan_notices(db, NOW + A_MINUTE, settings)
    assert (again.everyone, again.examined, again.digests) == (True, ("acme", "beta", "gamma"), [])
    other = plan_notices(db, NOW + 2 * A_MINUTE, replace(settings, lead_days=13))
    assert other.everyone  # 13 days of lead: pe.tue.20270216 (2027-02-16 05:00Z - 43 days) is in the horizon
    assert told(other) == [
        ("acme", "a@acme.example", ("pe.tue.20270216",)),
        ("acme", "b@acme.example", ("pe.tue.20270216",)),
        ("acme", "c@acme.example", ("pe.tue.20270216",)),
        ("beta", "ops@beta.example", ("pe.tue.20270216",)),
    ]


def test_a_dry_run_leaves_the_mark_where_it_was(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path)
    catalogue.add_contact(db, NOW + A_MINUTE, "acme", "d@acme.example")
    for _ in range(2):
        dry = plan_notices(db, NOW + 2 * A_MINUTE, settings, dry_run=True)
        assert (dry.examined, told(dry)) == (("acme",), [("acme", "d@acme.example", (FIRST,))])
    assert deliveries(db) == 5
    assert told(plan_notices(db, NOW + 2 * A_MINUTE, settings)) == [("acme", "d@acme.example", (FIRST,))]


def test_a_local_window_entering_the_horizon_reads_only_the_customers_in_that_zone(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    settings = build_two(db, db_url, tmp_path)
    before = NOW - timedelta(days=7)
    catalogue.add_product(db, before, "pl", "Premier Local", notice_days=30)
    catalogue.add_window(
        db, before, WeeklyRule("pl", "x", "local", date(2027, 2, 10), None, None, days=(2,), start=time(2), end=time(4))
    )
    catalogue.subscribe(db, before, "acme", ["pl"])
    catalogue.subscribe(db, before, "gamma", ["pl"])
    plan_notices(db, datetime(2027, 1, 10, 12, tzinfo=UTC), settings)
    # Wednesday 2027-02-17 02:00 in Kolkata is 2027-02-16 20:30Z: it enters the horizon 37 days
    # before, at 2027-01-10 20:30Z; London's (02:00Z) only at 2027-01-11 02:00Z.
    kolkata = plan_notices(db, datetime(2027, 1, 10, 20, 30, tzinfo=UTC), settings)
    assert (kolkata.examined, told(kolkata)) == (("gamma",), [("gamma", "ops@gamma.example", ("pl.x.20270217.gamma",))])
    london = plan_notices(db, datetime(2027, 1, 11, 2, tzinfo=UTC), settings)
    assert london.examined == ("acme", "beta", "gamma")  # and px.wed.20270217 (beta, gamma) at the same instant
    assert told(london) == [
        ("acme", "a@acme.example", ("pl.x.20270217.acme",)),
        ("acme", "b@acme.example", ("pl.x.20270217.acme",)),
        ("acme", "c@acme.example", ("pl.x.20270217.acme",)),
        ("beta", "ops@beta.example", ("px.wed.20270217",)),
        ("gamma", "ops@gamma.example", ("px.wed.20270217",)),
    ]


def test_everyone_reads_rows_changed_by_hand(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = planned_once(db, db_url, tmp_path)
    with db.transaction() as session:  # no data version: the planning run cannot know
        acme = session.scalar(select(Customer.id).where(Customer.key == "acme"))
        session.add(Contact(customer_id=acme, email="d@acme.example", nominated_at=NOW))
    assert plan_notices(db, NOW + A_MINUTE, settings).examined == ()
    full = plan_notices(db, NOW + A_MINUTE, settings, everyone=True)
    assert (full.everyone, told(full)) == (True, [("acme", "d@acme.example", (FIRST,))])

"""Catalogue use cases on SQLite and PostgreSQL: products, rules, customers, contacts, subscriptions.

``now`` is 2027-01-04T12:00Z (a Monday; conftest). New York is on EST (-05:00) until 2027-03-14.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.edits import CustomerInfo, ProductInfo, RuleInfo
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, WindowRule
from scheduler.store.repository import data_version
from windows.errors import Conflict, InvalidInput, MaintcalError, NotFound, PolicyRefused
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule

NY = "America/New_York"
LATER = timedelta(days=1)


def weekly(
    product: str = "pe",
    name: str = "w1",
    zone: str = NY,
    days: tuple[int, ...] = (1,),
    start: time = time(0),
    end: time = time(6),
    valid_from: date | None = None,
    valid_until: date | None = None,
    label: str | None = None,
) -> WeeklyRule:
    return WeeklyRule(product, name, zone, valid_from, valid_until, label, days=days, start=start, end=end)


def error_of(call: Any, *args: Any, **kw: Any) -> MaintcalError:
    with pytest.raises(MaintcalError) as error:
        call(*args, **kw)
    return error.value


# -- products -----------------------------------------------------------------------------------


def test_products_are_added_and_listed_in_key_order(db: Database, now: datetime) -> None:
    assert catalogue.add_product(db, now, "social-analytics", "Social Analytics") == ProductInfo(
        "social-analytics", "Social Analytics", 30, False, 0
    )
    catalogue.add_product(db, now, "premier-edition", "  Premier Edition ", notice_days=14, public=True)
    catalogue.add_window(db, now, weekly("premier-edition", valid_from=date(2027, 3, 1)))
    assert catalogue.list_products(db) == [
        ProductInfo("premier-edition", "Premier Edition", 14, True, 1),
        ProductInfo("social-analytics", "Social Analytics", 30, False, 0),
    ]


@pytest.mark.parametrize(
    ("key", "name", "notice_days", "error", "message"),
    [
        ("Premier", "P", 30, InvalidInput, "invalid product key 'Premier': use lowercase letters, digits and '-' "
         "(e.g. premier-edition)"),
        ("pe", "  ", 30, InvalidInput, "product name must not be empty"),
        ("pe", "a\nb", 30, InvalidInput, "product name contains a line break (U+000A); use one line of plain text"),
        ("pe", "P", -1, InvalidInput, "--notice-days -1: use 0 to 365"),
        ("pe", "P", 366, InvalidInput, "--notice-days 366: use 0 to 365"),
        ("pe", "P" * 201, 30, InvalidInput, "product name is longer than 200 characters"),
        ("p" * 65, "P", 30, InvalidInput, "invalid product key 'pppppppppppppppppppp...': at most 64 characters"),
    ],
)  # fmt: skip
def test_bad_products_are_refused(
    db: Database, now: datetime, key: str, name: str, notice_days: int, error: type, message: str
) -> None:
    refused = error_of(catalogue.add_product, db, now, key, name, notice_days)
    assert (type(refused), refused.message) == (error, message)
    assert catalogue.list_products(db) == []


def test_a_product_key_is_unique(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    refused = error_of(catalogue.add_product, db, now, "pe", "Other")
    assert (type(refused), refused.message) == (Conflict, "product 'pe' already exists")


# -- window rules -------------------------------------------------------------------------------


def test_rules_of_each_kind_round_trip_through_the_database(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    rules: list[Rule] = [
        weekly(name="nightly", days=(1, 2, 3), start=time(22), end=time(5), valid_from=date(2027, 3, 1)),
        CronRule("pe", "backup", "Europe/London", date(2027, 3, 1), date(2027, 12, 31), "weekly backup",
                 expression="30 2 * * sun", duration=timedelta(minutes=90)),
        OnceRule("pe", "migration", "Asia/Kolkata", None, None, None,
                 start=datetime(2027, 6, 5, 22, 0), end=datetime(2027, 6, 6, 2, 30)),
    ]  # fmt: skip
    for rule in rules:
        assert catalogue.add_window(db, now, rule) == []
    assert catalogue.list_windows(db, "pe") == [
        RuleInfo("pe", "nightly", "weekly", "tue,wed,thu 22:00-05:00", NY, date(2027, 3, 1), None, None, now),
        RuleInfo("pe", "backup", "cron", "cron '30 2 * * sun' for 1h30m", "Europe/London", date(2027, 3, 1),
                 date(2027, 12, 31), "weekly backup", now),
        RuleInfo("pe", "migration", "once", "once 2027-06-05T22:00-2027-06-06T02:30", "Asia/Kolkata", None, None,
                 None, now),
    ]  # fmt: skip
    from scheduler.store.repository import rule_to_domain

    with db.transaction() as session:
        rows = session.scalars(select(WindowRule).order_by(WindowRule.id)).all()
        # Read back, each rule begins when it was added.
        assert [rule_to_domain(row, "pe") for row in rows] == [replace(rule, since=now) for rule in rules]


def test_window_list_without_product_lists_every_product(db: Database, now: datetime) -> None:
    for key in ("b", "a"):
        catalogue.add_product(db, now, key, key.upper())
        catalogue.add_window(db, now, weekly(key, valid_from=date(2027, 3, 1)))
    assert [(r.product, r.name) for r in catalogue.list_windows(db)] == [("a", "w1"), ("b", "w1")]
    refused = error_of(catalogue.list_windows, db, "c")
    assert (type(refused), refused.message) == (NotFound, "no product 'c' (known: a, b)")


def test_rule_names_default_to_the_next_free_wn(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    assert catalogue.next_rule_name(db, "pe") == "w1"
    catalogue.add_window(db, now, weekly(name="w1", valid_from=date(2027, 3, 1)))
    catalogue.add_window(db, now, weekly(name="w3", days=(3,), valid_from=date(2027, 3, 1)))
    assert catalogue.next_rule_name(db, "pe") == "w2"
    refused = error_of(catalogue.add_window, db, now, weekly(name="w3", days=(5,), valid_from=date(2027, 3, 1)))
    assert (type(refused), refused.message) == (
        Conflict,
        "product 'pe' already has a window 'w3' (choose another --name)",
    )


def test_window_of_an_unknown_product_is_refused(db: Database, now: datetime) -> None:
    refused = error_of(catalogue.add_window, db, now, weekly("nope"))
    assert (type(refused), refused.message) == (NotFound, "no product 'nope'")


def test_overlapping_rules_of_a_product_are_added_with_a_warning(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "oe", "Outbound")
    first = weekly("oe", "tue-thu-night", days=(1, 3), start=time(0), end=time(3), valid_from=date(2027, 3, 1))
    nightly = weekly("oe", "nightly", days=(1, 2, 3), start=time(22), end=time(5), valid_from=date(2027, 3, 1))
    assert catalogue.add_window(db, now, first) == []
    assert catalogue.add_window(db, now, nightly) == [
        "rules 'tue-thu-night' and 'nightly' of oe overlap (tue,thu 00:00-03:00 / tue,wed,thu 22:00-05:00)"
    ]
    assert len(catalogue.list_windows(db, "oe")) == 2


# -- the notice period: no new window inside notice_days without a waiver -------------------------


def test_a_window_starting_inside_the_notice_period_is_refused(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    # Tue 2027-01-05 00:00 EST = 05:00Z, tomorrow.
    refused = error_of(catalogue.add_window, db, now, weekly())
    assert (type(refused), refused.message) == (
        PolicyRefused,
        "window 'pe.w1' would start at 2027-01-05T05:00:00Z, less than 30 days from now: "
        "start it later with --from, or give --waive-notice REASON",
    )
    # now + 30 d = 2027-02-03T12:00Z: Tue 2027-02-02 is still inside, Tue 2027-02-09 is not.
    refused = error_of(catalogue.add_window, db, now, weekly(valid_from=date(2027, 2, 2)))
    assert refused.message.startswith("window 'pe.w1' would start at 2027-02-02T05:00:00Z, less than 30 days")
    assert catalogue.list_windows(db, "pe") == []
    assert catalogue.add_window(db, now, weekly(valid_from=date(2027, 2, 3))) == []


def test_the_notice_period_is_the_products(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "fast", "Fast", notice_days=0)
    catalogue.add_product(db, now, "slow", "Slow", notice_days=60)
    assert catalogue.add_window(db, now, weekly("fast")) == []
    refused = error_of(catalogue.add_window, db, now, weekly("slow", valid_from=date(2027, 2, 9)))
    assert refused.message.startswith("window 'slow.w1' would start at 2027-02-09T05:00:00Z, less than 60 days")


def test_a_waiver_allows_it_and_is_recorded(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    assert catalogue.add_window(db, now, weekly(), waive_notice="published in the support guide") == []
    with db.transaction() as session:
        row = session.scalars(select(WindowRule)).one()
        assert (row.waive_notice, row.created_at) == ("published in the support guide", now)


def test_occurrences_already_running_are_not_new(db: Database, now: datetime) -> None:
    # Mon 2027-01-04 06:00-13:00 EST (11:00Z-18:00Z) is running at 12:00Z (now): only the next start counts.
    catalogue.add_product(db, now, "pe", "Premier", notice_days=1)
    rule = weekly(days=(0, 1), start=time(6), end=time(13))
    refused = error_of(catalogue.add_window, db, now, rule)
    assert refused.message.startswith("window 'pe.w1' would start at 2027-01-05T11:00:00Z, less than 1 days")
    assert catalogue.add_window(db, now, weekly(days=(0,), start=time(6), end=time(13))) == []


def test_local_rules_are_checked_in_every_subscribers_zone(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pec", "PureEngage Cloud")
    rule = weekly("pec", "early-morning", zone="local", days=(1, 3))
    # No subscriber yet: nobody sees an occurrence, so nothing is refused.
    assert catalogue.add_window(db, now, rule) == []
    catalogue.retire_window(db, now, "pec", "early-morning", date(2027, 1, 4))
    catalogue.add_customer(db, now, "harbour-health", "Harbour Health", "Australia/Sydney", [])
    catalogue.subscribe(db, now, "harbour-health", ["pec"])
    # Tue 2027-01-05 00:00 AEDT = 2027-01-04T13:00Z.
    refused = error_of(catalogue.add_window, db, now, weekly("pec", "again", zone="local", days=(1, 3)))
    assert refused.message.startswith("window 'pec.again' would start at 2027-01-04T13:00:00Z, less than 30 days")


# -- retiring -----------------------------------------------------------------------------------


def test_retire_stops_a_rule_from_a_date(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    catalogue.add_window(db, now, weekly(), waive_notice="agreed")
    assert catalogue.retire_window(db, now, "pe", "w1", date(2027, 6, 1)) == catalogue.Retired(
        date(2027, 6, 1), None, []
    )
    assert catalogue.list_windows(db, "pe")[0].valid_until == date(2027, 5, 31)
    # A later date never extends the rule again.
    catalogue.retire_window(db, now, "pe", "w1", date(2027, 9, 1))
    assert catalogue.list_windows(db, "pe")[0].valid_until == date(2027, 5, 31)
    # Without --from: from today (UTC).
    catalogue.retire_window(db, now, "pe", "w1", None)
    assert catalogue.list_windows(db, "pe")[0].valid_until == date(2027, 1, 3)


def test_retire_errors(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    catalogue.add_window(db, now, weekly(valid_from=date(2027, 3, 1)))
    refused = error_of(catalogue.retire_window, db, now, "pe", "w1", date(2027, 1, 3))
    assert (type(refused), refused.message) == (
        InvalidInput,
        "--from 2027-01-03 is in the past: occurrences before today (2027-01-04) stay on record",
    )
    refused = error_of(catalogue.retire_window, db, now, "pe", "w9", None)
    assert (type(refused), refused.message) == (NotFound, "product 'pe' has no window 'w9'")


def test_a_window_can_be_retired_before_its_first_day(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    catalogue.add_window(db, now, weekly(valid_from=date(2027, 3, 1)))
    retired = catalogue.retire_window(db, now, "pe", "w1", date(2027, 3, 1))
    assert retired == catalogue.Retired(date(2027, 3, 1), date(2027, 3, 1), [])
    assert retired.describe("pe", "w1") == "retired pe.w1 before its first day 2027-03-01: no occurrences"
    info = catalogue.list_windows(db, "pe")[0]
    assert (info.valid_from, info.valid_until, info.retired_before_start) == (date(2027, 3, 1), date(2027, 2, 28), True)
    # Retiring it again (today) changes nothing stored and says the same.
    again = catalogue.retire_window(db, now, "pe", "w1", None)
    assert again.describe("pe", "w1") == "retired pe.w1 before its first day 2027-03-01: no occurrences"
    assert catalogue.list_windows(db, "pe")[0].valid_until == date(2027, 2, 28)


# -- customers, contacts (with history) and subscriptions ---------------------------------------


def test_customers_with_contacts_and_subscriptions(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    catalogue.add_product(db, now, "sa", "Social")
    contacts = ["NOC@Thames.Example.com", "cto@thames.example.com", "noc@thames.example.com"]
    assert catalogue.add_customer(db, now, "thames", "Thames Telecom", "europe/london", contacts) == []
    assert catalogue.add_customer(db, now, "acme", "Acme", "EST", []) == [
        "time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; consider America/New_York"
    ]
    assert catalogue.subscribe(db, now, "thames", ["sa", "pe", "sa"]) == ["sa", "pe"]
    assert catalogue.subscribe(db, now, "thames", ["pe"]) == []
    assert catalogue.list_customers(db) == [
        CustomerInfo("acme", "Acme", "EST", [], []),
        CustomerInfo("thames", "Thames Telecom", "Europe/London",
                     ["noc@thames.example.com", "cto@thames.example.com"], ["pe", "sa"]),
    ]  # fmt: skip
    assert catalogue.subscribe(db, now, "thames", ["sa", "sa"], subscribed=False) == ["sa"]
    assert catalogue.subscribe(db, now, "thames", ["sa"], subscribed=False) == []
    assert catalogue.list_customers(db)[1].subscriptions == ["pe"]


@pytest.mark.parametrize(
    ("key", "tz", "contacts", "error", "message"),
    [
        ("Acme", "UTC", [], InvalidInput, "invalid customer key 'Acme': use lowercase letters, digits and '-' "
         "(e.g. premier-edition)"),
        ("acme", "Mars/Base", [], InvalidInput, "unknown time zone 'Mars/Base'; use an IANA name like Europe/London"),
        ("acme", "local", [], InvalidInput, "time zone 'local' is only allowed on window rules (it means the "
         "customer's zone)"),
        ("acme", "UTC", ["ops@acme.example.com", "not-an-email"], InvalidInput, "invalid email address "
         "'not-an-email': an email address must have an @-sign"),
        ("acme", "UTC", ["a b@acme.example.com"], InvalidInput, "invalid email address 'a b@acme.example.com': "
         "it contains invalid characters before the @-sign: SPACE"),
        ("acme", "UTC", ["ops@localhost"], InvalidInput, "invalid email address 'ops@localhost': the part after "
         "the @-sign is a special-use or reserved name that cannot be used with email"),
        ("acme", "UTC", ["o" * 320 + "@example.com"], InvalidInput, "invalid email address "
         f"'{'o' * 40}...': at most 254 characters"),
    ],
)  # fmt: skip
def test_bad_customers_are_refused(
    db: Database, now: datetime, key: str, tz: str, contacts: list[str], error: type, message: str
) -> None:
    refused = error_of(catalogue.add_customer, db, now, key, "Acme", tz, contacts)
    assert (type(refused), refused.message) == (error, message)
    assert catalogue.list_customers(db) == []


def test_a_customer_key_is_unique(db: Database, now: datetime) -> None:
    catalogue.add_customer(db, now, "acme", "Acme", "UTC", [])
    refused = error_of(catalogue.add_customer, db, now, "acme", "Acme 2", "UTC", [])
    assert (type(refused), refused.message) == (Conflict, "customer 'acme' already exists")


def test_contacts_keep_their_history(db: Database, now: datetime) -> None:
    catalogue.add_customer(db, now, "acme", "Acme", "UTC", ["ops@acme.example.com"])
    catalogue.add_contact(db, now + LATER, "acme", "Boss@Acme.Example.com")
    catalogue.remove_contact(db, now + 2 * LATER, "acme", "ops@acme.example.com")
    catalogue.add_contact(db, now + 3 * LATER, "acme", "ops@acme.example.com")
    with db.transaction() as session:
        rows = session.scalars(select(Contact).join(Customer).where(Customer.key == "acme").order_by(Contact.id))
        history = [(c.email, c.nominated_at, c.removed_at) for c in rows]
    assert history == [  # the part before the @ is kept as typed, the domain is lowercased
        ("ops@acme.example.com", now, now + 2 * LATER),
        ("Boss@acme.example.com", now + LATER, None),
        ("ops@acme.example.com", now + 3 * LATER, None),
    ]
    assert all(instant.tzinfo is UTC for _, nominated, _ in history for instant in [nominated])
    assert catalogue.list_customers(db)[0].contacts == ["Boss@acme.example.com", "ops@acme.example.com"]


def test_contact_errors(db: Database, now: datetime) -> None:
    catalogue.add_customer(db, now, "acme", "Acme", "UTC", ["ops@acme.example.com"])
    refused = error_of(catalogue.add_contact, db, now, "acme", "OPS@acme.example.com")
    assert (type(refused), refused.message) == (Conflict, "ops@acme.example.com is already a contact of 'acme'")
    refused = error_of(catalogue.remove_contact, db, now, "acme", "boss@acme.example.com")
    assert (type(refused), refused.message) == (InvalidInput, "boss@acme.example.com is not a contact of 'acme'")
    refused = error_of(catalogue.add_contact, db, now, "nobody", "ops@acme.example.com")
    assert (type(refused), refused.message) == (NotFound, "no customer 'nobody' (see 'maintcal customer list')")


def test_subscribing_to_an_unknown_product_changes_nothing(db: Database, now: datetime) -> None:
    catalogue.add_product(db, now, "pe", "Premier")
    catalogue.add_customer(db, now, "acme", "Acme", "UTC", [])
    refused = error_of(catalogue.subscribe, db, now, "acme", ["pe", "nope"])
    assert (type(refused), refused.message) == (NotFound, "no product 'nope' (known: pe)")
    assert catalogue.list_customers(db)[0].subscriptions == []


def test_every_feed_relevant_change_bumps_the_data_version(db: Database, now: datetime) -> None:
    def version() -> tuple[int, datetime]:
        with db.transaction() as session:
            return data_version(session)

    start, _ = version()
    catalogue.add_product(db, now, "pe", "Premier")
    catalogue.add_window(db, now + LATER, weekly(valid_from=date(2027, 3, 1)))
    catalogue.add_customer(db, now, "acme", "Acme", "UTC", [])
    catalogue.subscribe(db, now + 2 * LATER, "acme", ["pe"])
    assert version() == (start + 4, now + 2 * LATER)
    catalogue.subscribe(db, now + 3 * LATER, "acme", ["pe"])  # no change, no bump
    assert version() == (start + 4, now + 2 * LATER)
    catalogue.retire_window(db, now + 3 * LATER, "pe", "w1", date(2027, 6, 1))
    assert version() == (start + 5, now + 3 * LATER)

"""``apply``: the declarative catalogue, planned, applied idempotently, refused as a whole when invalid.

Runs on SQLite and PostgreSQL. ``now`` is 2027-01-04T12:00Z (conftest).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from scheduler.catalogue.apply import PlanItem, apply_catalogue
from scheduler.catalogue.catalogue_file import Catalogue, parse_catalogue
from scheduler.catalogue.edits import CustomerInfo, list_customers, list_products, list_windows
from scheduler.store.db import Database
from scheduler.store.models import Contact, Subscription, WindowRule
from scheduler.store.repository import data_version
from windows.errors import InvalidInput, ManyProblems, PolicyRefused

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "catalogue.toml").read_text(encoding="utf-8")
LATER = timedelta(days=1)


def plan_of(items: list[PlanItem]) -> list[tuple[str, str, str]]:
    return [(i.action, i.what, i.detail) for i in items]


def version(db: Database) -> tuple[int, datetime]:
    with db.transaction() as session:
        return data_version(session)


def apply_text(db: Database, now: datetime, text: str, **kw: Any) -> list[tuple[str, str, str]]:
    return plan_of(apply_catalogue(db, now, parse_catalogue(text), **kw))


EXAMPLE_PLAN = [
    ("add", "product outbound-engagement", "Outbound Engagement"),
    ("add", "product premier-edition", "Premier Edition"),
    ("add", "product social-analytics", "Social Analytics"),
    ("add", "product pureengage-cloud", "PureEngage Cloud"),
    ("add", "customer thames-telecom", "Thames Telecom Ltd (Europe/London)"),
    ("add", "contact thames-telecom noc@thames.example.com", ""),
    ("add", "contact thames-telecom cto@thames.example.com", ""),
    ("add", "subscription thames-telecom -> pureengage-cloud", ""),
    ("add", "subscription thames-telecom -> premier-edition", ""),
    ("add", "customer harbour-health", "Harbour Health Pty (Australia/Sydney)"),
    ("add", "contact harbour-health it-ops@harbour.example.com", ""),
    ("add", "subscription harbour-health -> pureengage-cloud", ""),
    ("add", "subscription harbour-health -> outbound-engagement", ""),
    ("add", "customer deccan-retail", "Deccan Retail Pvt (Asia/Kolkata)"),
    ("add", "contact deccan-retail support@deccan.example.com", ""),
    ("add", "subscription deccan-retail -> pureengage-cloud", ""),
    ("add", "subscription deccan-retail -> social-analytics", ""),
    ("add", "customer pacific-media", "Pacific Media Inc (America/Los_Angeles)"),
    ("add", "contact pacific-media oncall@pacific.example.com", ""),
    ("add", "contact pacific-media vendor-mgmt@pacific.example.com", ""),
    ("add", "subscription pacific-media -> premier-edition", ""),
    ("add", "subscription pacific-media -> social-analytics", ""),
    ("add", "subscription pacific-media -> outbound-engagement", ""),
    ("add", "customer nile-logistics", "Nile Logistics SAE (Africa/Cairo)"),
    ("add", "contact nile-logistics ops@nile.example.com", ""),
    ("add", "subscription nile-logistics -> pureengage-cloud", ""),
    ("add", "window outbound-engagement.tue-thu-night", "tue,thu 00:00-03:00 (America/New_York)"),
    ("add", "window outbound-engagement.sunday-night", "sun 00:00-05:00 (America/New_York)"),
    ("add", "window premier-edition.nightly", "tue,wed,thu 22:00-05:00 (America/New_York)"),
    ("add", "window social-analytics.nightly", "tue,wed,thu 22:00-05:00 (America/New_York)"),
    ("add", "window pureengage-cloud.early-morning", "tue,thu 00:00-06:00 (local)"),
]


def test_the_example_catalogue_is_valid_and_without_warnings() -> None:
    catalogue = parse_catalogue(EXAMPLE)
    assert catalogue.warnings == []
    assert [p.key for p in catalogue.products] == [
        "outbound-engagement",
        "premier-edition",
        "social-analytics",
        "pureengage-cloud",
    ]
    assert [(w.rule.name, w.rule.describe()) for w in catalogue.products[0].windows] == [
        ("tue-thu-night", "tue,thu 00:00-03:00"),
        ("sunday-night", "sun 00:00-05:00"),
    ]
    assert catalogue.products[3].windows[0].rule.label == "Tuesday & Thursday 12:00 am - 6:00 am (Local time)"
    assert {c.key: c.tz for c in catalogue.customers} == {
        "thames-telecom": "Europe/London",
        "harbour-health": "Australia/Sydney",
        "deccan-retail": "Asia/Kolkata",
        "pacific-media": "America/Los_Angeles",
        "nile-logistics": "Africa/Cairo",
    }


def test_apply_then_apply_again_changes_nothing(db: Database, now: datetime) -> None:
    before = version(db)
    assert apply_text(db, now, EXAMPLE) == EXAMPLE_PLAN
    after = version(db)
    assert after == (before[0] + 1, now)
    assert apply_text(db, now + LATER, EXAMPLE) == []
    assert version(db) == after
    assert [p.key for p in list_products(db)] == [
        "outbound-engagement",
        "premier-edition",
        "pureengage-cloud",
        "social-analytics",
    ]
    assert list_customers(db)[0] == CustomerInfo(
        "deccan-retail", "Deccan Retail Pvt", "Asia/Kolkata", ["support@deccan.example.com"],
        ["pureengage-cloud", "social-analytics"],
    )  # fmt: skip
    with db.transaction() as session:
        waivers = set(session.scalars(select(WindowRule.waive_notice)))
        assert waivers == {"published in the Genesys support guide, Table 2"}


def test_dry_run_prints_the_plan_and_changes_nothing(db: Database, now: datetime) -> None:
    before = version(db)
    assert apply_text(db, now, EXAMPLE, dry_run=True) == EXAMPLE_PLAN
    assert (list_products(db), list_customers(db), version(db)) == ([], [], before)
    apply_text(db, now, EXAMPLE)
    changed = EXAMPLE.replace('name = "Premier Edition"', 'name = "Premier Edition (PE)"')
    assert apply_text(db, now, changed, dry_run=True) == [
        ("change", "product premier-edition", "name: 'Premier Edition' -> 'Premier Edition (PE)'")
    ]
    assert [p.name for p in list_products(db) if p.key == "premier-edition"] == ["Premier Edition"]


def test_a_changed_file_is_planned_item_by_item(db: Database, now: datetime) -> None:
    apply_text(db, now, EXAMPLE)
    sunday = EXAMPLE.index('  [[products.windows]]\n  name = "sunday-night"')
    without_sunday = EXAMPLE[:sunday] + EXAMPLE[EXAMPLE.index('[[products]]\nkey = "premier-edition"') :]
    changed = (
        without_sunday.replace('name = "Premier Edition"', 'name = "Premier Edition (PE)"\nnotice_days = 45')
        .replace('"noc@thames.example.com", "cto@thames.example.com"]', '"noc@thames.example.com"]')
        .replace('subscriptions = ["pureengage-cloud", "social-analytics"]', 'subscriptions = ["social-analytics"]')
        .replace('key = "social-analytics"\nname = "Social Analytics"\npublic = true\n\n  [[products.windows]]\n'
                 '  name = "nightly"\n  days = "tue-thu"\n  start = "22:00"',
                 'key = "social-analytics"\nname = "Social Analytics"\npublic = true\n\n  [[products.windows]]\n'
                 '  name = "nightly"\n  days = "tue-thu"\n  start = "23:00"')
        .replace('tz = "Africa/Cairo"', 'tz = "Africa/Cairo"\n')
        + '\n[[customers]]\nkey = "fjord-bank"\nname = "Fjord Bank"\ntz = "Europe/Oslo"\n'
    )  # fmt: skip
    assert apply_text(db, now + LATER, changed) == [
        ("change", "product premier-edition",
         "name: 'Premier Edition' -> 'Premier Edition (PE)', notice_days: 30 -> 45"),
        ("remove", "contact thames-telecom cto@thames.example.com", ""),
        ("remove", "subscription deccan-retail -> pureengage-cloud", ""),
        ("add", "customer fjord-bank", "Fjord Bank (Europe/Oslo)"),
        ("remove", "window outbound-engagement.sunday-night", "retired from 2027-01-05 (not in the file)"),
        ("change", "window social-analytics.nightly", "start_time: '22:00' -> '23:00'"),
    ]  # fmt: skip
    assert apply_text(db, now + 2 * LATER, changed) == []
    sunday_night = next(w for w in list_windows(db, "outbound-engagement") if w.name == "sunday-night")
    assert sunday_night.valid_until == datetime(2027, 1, 4).date()
    with db.transaction() as session:
        removed = session.scalars(select(Contact).where(Contact.email == "cto@thames.example.com")).one()
        assert (removed.nominated_at, removed.removed_at) == (now, now + LATER)
        assert session.scalar(select(func.count()).select_from(Subscription)) == 10 - 1


def test_products_and_customers_missing_from_the_file_are_kept_unless_pruned(db: Database, now: datetime) -> None:
    apply_text(db, now, EXAMPLE)
    only_premier = (
        '[[products]]\nkey = "premier-edition"\nname = "Premier Edition"\npublic = true\n\n'
        '  [[products.windows]]\n  name = "nightly"\n  days = "tue-thu"\n  start = "22:00"\n  end = "05:00"\n'
        '  tz = "America/New_York"\n'
    )
    assert apply_text(db, now, only_premier) == [
        ("keep", "product outbound-engagement", "not in the file; --prune removes it"),
        ("keep", "product pureengage-cloud", "not in the file; --prune removes it"),
        ("keep", "product social-analytics", "not in the file; --prune removes it"),
        ("keep", "customer deccan-retail", "not in the file; --prune removes it"),
        ("keep", "customer harbour-health", "not in the file; --prune removes it"),
        ("keep", "customer nile-logistics", "not in the file; --prune removes it"),
        ("keep", "customer pacific-media", "not in the file; --prune removes it"),
        ("keep", "customer thames-telecom", "not in the file; --prune removes it"),
    ]
    assert len(list_products(db)) == 4
    plan = apply_text(db, now, only_premier, prune=True)
    assert [item for item in plan if item[0] != "remove"] == []
    assert [p.key for p in list_products(db)] == ["premier-edition"]
    assert list_customers(db) == []
    with db.transaction() as session:  # the database cascaded to rules, contacts and subscriptions
        assert session.scalar(select(func.count()).select_from(WindowRule)) == 1
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_subscriptions_to_unknown_products_are_refused(db: Database, now: datetime) -> None:
    text = '[[customers]]\nkey = "acme"\nname = "Acme"\ntz = "UTC"\nsubscriptions = ["nope", "also-nope"]\n'
    with pytest.raises(ManyProblems) as error:
        apply_text(db, now, text)
    assert error.value.problems == [
        "customer 'acme' subscribes to unknown product 'nope'",
        "customer 'acme' subscribes to unknown product 'also-nope'",
    ]
    assert list_customers(db) == []


# -- notice ----------------------------------------------------------------------------------------

WINDOW = """[[products]]
key = "pe"
name = "Premier"

  [[products.windows]]
  name = "nightly"
  days = "tue"
  start = "00:00"
  end = "06:00"
  tz = "America/New_York"
"""


def test_a_new_window_inside_the_notice_period_is_refused_and_nothing_is_applied(db: Database, now: datetime) -> None:
    with pytest.raises(PolicyRefused) as error:
        apply_text(db, now, WINDOW)
    assert error.value.message == (
        "window 'pe.nightly' would start at 2027-01-05T05:00:00Z, less than 30 days from now: "
        "start it later with from = DATE, or set waive_notice = REASON"
    )
    assert list_products(db) == []
    twice = WINDOW + WINDOW.replace('"pe"', '"sa"').replace('"Premier"', '"Social"')
    with pytest.raises(ManyProblems) as many:
        apply_text(db, now, twice)
    assert [p.split(" would")[0] for p in many.value.problems] == ["window 'pe.nightly'", "window 'sa.nightly'"]
    # From a day after now + 30 days (2027-02-03T12:00Z), or with a waiver, it is accepted.
    assert apply_text(db, now, WINDOW + '  from = "2027-02-04"\n')[-1] == (
        "add",
        "window pe.nightly",
        "tue 00:00-06:00 (America/New_York)",
    )


def test_changing_a_running_window_is_refused_only_if_it_creates_or_moves_occurrences(
    db: Database, now: datetime
) -> None:
    apply_text(db, now, WINDOW + '  waive_notice = "agreed by phone"\n')
    # A new label changes no occurrence: no waiver needed, and the old waiver stays recorded.
    assert apply_text(db, now, WINDOW + '  label = "patching"\n') == [
        ("change", "window pe.nightly", "label: None -> 'patching'")
    ]
    # Ending an hour later changes the occurrence of tomorrow: refused.
    with pytest.raises(PolicyRefused) as error:
        apply_text(db, now, WINDOW.replace('"06:00"', '"07:00"') + '  label = "patching"\n')
    assert error.value.message.startswith("window 'pe.nightly' would start at 2027-01-05T05:00:00Z")
    # Ending it earlier (until) creates nothing new.
    assert apply_text(db, now, WINDOW + '  label = "patching"\n  until = "2027-06-30"\n') == [
        ("change", "window pe.nightly", "valid_until: None -> datetime.date(2027, 6, 30)")
    ]
    with db.transaction() as session:
        assert session.scalars(select(WindowRule.waive_notice)).one() == "agreed by phone"


# -- invalid files ---------------------------------------------------------------------------------

BAD = """\
[[products]]
key = "pe"
name = "Premier"
colour = "blue"

  [[products.windows]]
  name = "nightly"
  days = "tue-thu"
  start = "24:00"
  end = "05:00"
  tz = "America/New_York"

[[products]]
key = "sa"
name = "Social"
notice_days = -3

  [[products.windows]]
  name = "nightly"
  days = "tue-thu"
  start = "22:00"
  end = "22:00"
  tz = "America/New_York"

  [[products.windows]]
  days = "someday"
  start = "22:00"
  end = "05:00"
  tz = "UTC"
  colour = "red"

  [[products.windows]]
  name = "backup"
  cron = "0 2 * * sun"
  duration = "8d"
  tz = "Mars/Base"

  [[products.windows]]
  name = "late"
  days = "mon"
  start = "01:00"
  end = "02:00"
  tz = "UTC"
  from = 2027-05-01T00:00:00
  until = 2027-04-01

[[customers]]
key = "acme"
name = "Acme"
tz = "Europe/Londn"
contacts = ["ops@acme.example.com", "not-an-email"]

[[customers]]
key = "Bad Key"
name = "X"
tz = "UTC"

[[customers]]
key = "acme"
name = "Acme again"
tz = "UTC"

[settings]
x = 1
"""


def test_an_invalid_file_is_refused_as_a_whole_with_every_problem_and_its_line(db: Database, now: datetime) -> None:
    with pytest.raises(ManyProblems) as error:
        parse_catalogue(BAD, "bad.toml")
    assert error.value.problems == [
        "bad.toml:63: unknown top-level key 'settings' (expected products, customers, freezes)",
        "bad.toml:4: product 'pe': unknown key 'colour' (allowed: blackout_lead_days, "
        "blackout_overridden_counts_as, key, name, "
        "notice_channels, notice_days, on_blackout, public, "
        "reschedule_cutoff_hours, reschedule_max_shift_days, windows)",
        "bad.toml:9: window 'pe.nightly': invalid time '24:00': use 00:00 (a window ending at midnight ends at 00:00)",
        "bad.toml:16: product 'sa': notice_days must be a whole number from 0 to 365",
        "bad.toml:19: window 'sa.nightly': start and end are both 22:00: a window needs a length",
        "bad.toml:30: window 'sa.w2': unknown key 'colour' (allowed: cron, days, duration, end, from, label, name, "
        "once_end, once_start, start, tz, until, waive_notice)",
        "bad.toml:26: window 'sa.w2': invalid days 'someday': use mon,tue,... or ranges like tue-thu",
        "bad.toml:36: window 'sa.backup': unknown time zone 'Mars/Base'; use an IANA name like Europe/London",
        "bad.toml:44: window 'sa.late': from must be a date YYYY-MM-DD",
        "bad.toml:50: customer 'acme': unknown time zone 'Europe/Londn'; did you mean Europe/London or "
        "Europe/Lisbon or Europe/Oslo?",
        "bad.toml:51: customer 'acme': invalid email address 'not-an-email': an email address must have an @-sign",
        "bad.toml:54: invalid customer key 'Bad Key': use lowercase letters, digits and '-' (e.g. premier-edition)",
        "bad.toml:59: customer 'acme' is listed twice",
    ]
    assert str(error.value).startswith("13 problem(s):\n  bad.toml:63: unknown top-level key")
    assert error.value.exit_code == 2
    assert list_products(db) == []


def test_problems_found_once_the_rest_is_valid() -> None:
    text = (
        '[[products]]\nkey = "pe"\nname = "P"\n\n[[products]]\nkey = "pe"\nname = "P2"\n\n'
        '  [[products.windows]]\n  name = "a"\n  days = "mon"\n  start = "01:00"\n  end = "02:00"\n  tz = "UTC"\n\n'
        '  [[products.windows]]\n  name = "a"\n  days = "tue"\n  start = "01:00"\n  end = "02:00"\n  tz = "UTC"\n\n'
        '  [[products.windows]]\n  name = "late"\n  days = "mon"\n  start = "01:00"\n  end = "02:00"\n  tz = "UTC"\n'
        '  from = 2027-05-01\n  until = "2027-04-01"\n\n'
        '[[customers]]\nkey = "acme"\nname = "Acme"\ntz = "UTC"\n\n'
        '[[customers]]\nkey = "acme"\nname = "A"\ntz = "UTC"\n'
    )
    with pytest.raises(ManyProblems) as error:
        parse_catalogue(text, "c.toml")
    assert error.value.problems == [
        "c.toml:17: product 'pe' has two windows named 'a'",
        "c.toml:24: window 'pe.late': --until 2027-04-01 is before --from 2027-05-01",
        "c.toml:6: product 'pe' is listed twice",
        "c.toml:38: customer 'acme' is listed twice",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[products]]\nkey = "pe"\nname = \n', "c.toml: not valid TOML: Invalid value (at line 3, column 8)"),
        ("products = 3\n", "c.toml:1: 'products' must be an array of tables ([[products]])"),
        ('[[products]]\nname = "P"\n', "c.toml:1: a product needs a key"),
        ('[[products]]\nkey = "pe"\npublic = "yes"\n', "c.toml:2: product 'pe' needs a name"),
        ('[[customers]]\nkey = "acme"\nname = "Acme"\n', "c.toml:2: customer 'acme' needs tz (an IANA zone like "
         "Europe/London)"),
        ('[[customers]]\nkey = "acme"\nname = "Acme"\ntz = "UTC"\ncontacts = "ops@acme.example.com"\n',
         "c.toml:5: customer 'acme': contacts must be a list of strings"),
        ('[[products]]\nkey = "pe"\nname = "P"\n[[products.windows]]\ndays = ["mon"]\n',
         "c.toml:5: window 'pe.w1': days must be a string"),
    ],
)  # fmt: skip
def test_malformed_files(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_catalogue(text, "c.toml")
    problems = getattr(error.value, "problems", [error.value.message])
    assert problems[0] == message


def test_warnings_do_not_refuse_the_file() -> None:
    text = (
        '[[products]]\nkey = "oe"\nname = "Outbound"\n\n'
        '  [[products.windows]]\n  name = "a"\n  days = "tue,thu"\n  start = "00:00"\n  end = "03:00"\n  tz = "EST"\n\n'
        '  [[products.windows]]\n  name = "b"\n  days = "tue-thu"\n  start = "22:00"\n  end = "05:00"\n  tz = "EST"\n\n'
        '[[customers]]\nkey = "acme"\nname = "Acme"\ntz = "HST"\n'
    )
    catalogue: Catalogue = parse_catalogue(text)
    assert catalogue.warnings == [
        "window 'oe.a': time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; consider "
        "America/New_York",
        "window 'oe.b': time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; consider "
        "America/New_York",
        "rules 'a' and 'b' of oe overlap (tue,thu 00:00-03:00 / tue,wed,thu 22:00-05:00)",
        "customer 'acme': time zone 'HST' is a fixed offset (UTC-10:00) without daylight saving time; consider "
        "Pacific/Honolulu",
    ]


def test_instants_are_stored_as_utc(db: Database) -> None:
    plus_two = datetime(2027, 1, 4, 14, 0, tzinfo=UTC).astimezone()
    apply_text(db, plus_two, EXAMPLE)
    with db.transaction() as session:
        nominated = session.scalars(select(Contact.nominated_at)).first()
    assert nominated == datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
    assert nominated is not None and nominated.tzinfo is UTC

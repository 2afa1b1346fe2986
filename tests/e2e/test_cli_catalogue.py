"""The catalogue CLI end to end: click's CliRunner on SQLite and PostgreSQL, and the real console script.

The clock is frozen at 2027-01-04T12:00Z (pytest-freezer), so notice checks are deterministic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg  # noqa: F401  (its C extension must be loaded before freezegun replaces datetime.date)
import pytest
from click.testing import CliRunner, Result

from cli import maintcal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "catalogue.toml"
MAINTCAL = Path(sys.executable).parent / "maintcal"
NOW = "2027-01-04T12:00:00Z"
DESIGN_KEYS = {
    "id",
    "uid",
    "product",
    "customer",
    "kind",
    "status",
    "start",
    "end",
    "timezone",
    "local_start",
    "local_end",
    "sequence",
    "notice_deadline",
}
pytestmark = pytest.mark.freeze_time(NOW)


def cli(db_url: str, *args: str) -> Result:
    env = {"MAINTCAL_DATABASE_URL": db_url, "MAINTCAL_UID_DOMAIN": "maintcal.example.com"}
    return CliRunner().invoke(maintcal, list(args), env=env)


def ok(result: Result) -> str:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def refused(result: Result) -> str:
    """Bad input: exit 2, nothing on stdout, one ``error:`` line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    return result.stderr.removesuffix("\n")


@pytest.fixture
def loaded(db_url: str) -> str:
    ok(cli(db_url, "apply", str(EXAMPLE)))
    return db_url


# -- db upgrade and apply ---------------------------------------------------------------------------


def test_upgrade_a_new_database_then_apply_the_example_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert ok(cli(url, "db", "upgrade")) == f"database at latest schema: {url}\n"
    assert ok(cli(url, "db", "upgrade")) == f"database at latest schema: {url}\n"
    dry = ok(cli(url, "apply", str(EXAMPLE), "--dry-run")).splitlines()
    assert dry[0] == "+ product outbound-engagement: Outbound Engagement"
    assert dry[-2:] == [
        "+ window pureengage-cloud.early-morning: tue,thu 00:00-06:00 (local)",
        "dry run: 31 change(s) not applied",
    ]
    assert ok(cli(url, "product", "list", "--json")) == "[]\n"
    applied = ok(cli(url, "apply", str(EXAMPLE))).splitlines()
    assert applied[:-1] == dry[:-1] and applied[-1] == "applied 31 change(s)"
    assert ok(cli(url, "apply", str(EXAMPLE))) == "nothing to change: the database matches the file\n"


def test_the_global_db_option_wins_over_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    result = CliRunner().invoke(maintcal, ["--db", url, "db", "upgrade"], env={"MAINTCAL_DATABASE_URL": "x://"})
    assert ok(result) == f"database at latest schema: {url}\n"


def test_commands_before_db_upgrade_say_what_to_do(tmp_path: Path) -> None:
    result = cli(f"sqlite:///{tmp_path / 'empty.db'}", "product", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: no such table: products (has 'maintcal db upgrade' been run?)")


def test_an_invalid_catalogue_lists_every_problem(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[products]]\nkey = "pe"\nname = "P"\ncolour = "red"\n\n[[customers]]\nkey = "Acme"\n')
    result = cli(db_url, "apply", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: 4 problem(s):\n"
        f"  {path}:4: product 'pe': unknown key 'colour' (allowed: blackout_lead_days, "
        "blackout_overridden_counts_as, key, name, "
        "notice_channels, notice_days, on_blackout, public, "
        "reschedule_cutoff_hours, reschedule_max_shift_days, windows)\n"
        f"  {path}:7: invalid customer key 'Acme': use lowercase letters, digits and '-' (e.g. premier-edition)\n"
        f"  {path}:7: customer 'Acme' name must not be empty\n"
        f"  {path}:7: customer 'Acme' needs tz (an IANA zone like Europe/London)\n"
    )
    assert ok(cli(db_url, "product", "list", "--json")) == "[]\n"


def test_a_catalogue_cron_that_fires_too_often_is_refused_with_its_line(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "flood.toml"
    path.write_text(
        '[[products]]\nkey = "pe"\nname = "P"\n\n[[products.windows]]\nname = "flood"\n'
        'cron = "* * * * *"\nduration = "1m"\ntz = "UTC"\n'
    )
    result = cli(db_url, "apply", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: 1 problem(s):\n"
        f"  {path}:7: window 'pe.flood': cron '* * * * *' fires 1440 times a day; at most 48 are allowed\n"
    )
    assert ok(cli(db_url, "product", "list", "--json")) == "[]\n"


def test_a_cron_every_30_minutes_is_accepted(loaded: str) -> None:
    args = ["window", "add", "premier-edition", "--name", "half-hourly", "--cron", "*/30 * * * *", "--duration", "10m"]
    assert ok(cli(loaded, *args, "--tz", "UTC", "--from", "2027-03-01")).startswith("added")


def test_apply_warns_on_stderr_and_refuses_windows_inside_the_notice_period(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    window = (
        '[[products]]\nkey = "pe"\nname = "P"\n[[products.windows]]\ndays = "tue"\nstart = "00:00"\nend = "06:00"\n'
    )
    path.write_text(window + 'tz = "EST"\n')
    assert refused(cli(db_url, "apply", str(path))) == (
        "error: window 'pe.w1' would start at 2027-01-05T05:00:00Z, less than 30 days from now: "
        "start it later with from = DATE, or set waive_notice = REASON"
    )
    path.write_text(window + 'tz = "EST"\nwaive_notice = "agreed"\n')
    result = cli(db_url, "apply", str(path))
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: window 'pe.w1': time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; "
        "consider America/New_York\n"
    )
    assert result.stdout == "+ product pe: P\n+ window pe.w1: tue 00:00-06:00 (EST)\napplied 2 change(s)\n"


# -- products -------------------------------------------------------------------------------------


def test_products(db_url: str) -> None:
    assert ok(cli(db_url, "product", "add", "pe", "--name", "Premier Edition", "--public")) == (
        "added product pe (Premier Edition), notice 30 days\n"
    )
    assert ok(cli(db_url, "product", "add", "sa", "--name", "Social", "--notice-days", "45")) == (
        "added product sa (Social), notice 45 days\n"
    )
    assert as_json(cli(db_url, "product", "list", "--json")) == [
        {"key": "pe", "name": "Premier Edition", "notice_days": 30, "public": True, "windows": 0},
        {"key": "sa", "name": "Social", "notice_days": 45, "public": False, "windows": 0},
    ]
    table = ok(cli(db_url, "product", "list")).splitlines()
    assert [line.split() for line in table] == [
        ["KEY", "NAME", "NOTICE", "PUBLIC", "WINDOWS"],
        ["pe", "Premier", "Edition", "30d", "yes", "0"],
        ["sa", "Social", "45d", "no", "0"],
    ]
    assert refused(cli(db_url, "product", "add", "pe", "--name", "Again")) == "error: product 'pe' already exists"
    assert refused(cli(db_url, "product", "add", "P E", "--name", "x")) == (
        "error: invalid product key 'P E': use lowercase letters, digits and '-' (e.g. premier-edition)"
    )
    assert refused(cli(db_url, "product", "add", "x", "--name", "x", "--notice-days", "many")) == (
        "error: Invalid value for '--notice-days': 'many' is not a valid integer."
    )


# -- windows --------------------------------------------------------------------------------------


def test_windows_add_list_retire(loaded: str) -> None:
    db = loaded
    assert ok(cli(db, "window", "add", "premier-edition", "--cron", "30 2 * * sun", "--duration", "90m",
                  "--tz", "Europe/London", "--name", "backup", "--from", "2027-03-01")) == (
        "added window premier-edition.backup: cron '30 2 * * sun' for 1h30m (Europe/London)\n"
    )  # fmt: skip
    assert ok(cli(db, "window", "add", "premier-edition", "--once-start", "2027-06-05T22:00",
                  "--once-end", "2027-06-06T02:30", "--tz", "Asia/Kolkata", "--label", "DB migration")) == (
        "added window premier-edition.w1: once 2027-06-05T22:00-2027-06-06T02:30 (Asia/Kolkata)\n"
    )  # fmt: skip
    assert as_json(cli(db, "window", "list", "premier-edition", "--json")) == [
        {"product": "premier-edition", "name": "nightly", "kind": "weekly", "description": "tue,wed,thu 22:00-05:00",
         "timezone": "America/New_York", "valid_from": None, "valid_until": None, "label": None,
         "effective_from": NOW, "retired_before_start": False},
        {"product": "premier-edition", "name": "backup", "kind": "cron", "description": "cron '30 2 * * sun' for 1h30m",
         "timezone": "Europe/London", "valid_from": "2027-03-01", "valid_until": None, "label": None,
         "effective_from": NOW, "retired_before_start": False},
        {"product": "premier-edition", "name": "w1", "kind": "once",
         "description": "once 2027-06-05T22:00-2027-06-06T02:30", "timezone": "Asia/Kolkata", "valid_from": None,
         "valid_until": None, "label": "DB migration", "effective_from": NOW, "retired_before_start": False},
    ]  # fmt: skip
    assert len(as_json(cli(db, "window", "list", "--json"))) == 7
    assert ok(cli(db, "window", "retire", "premier-edition", "backup", "--from", "2027-06-01")) == (
        "retired premier-edition.backup: no occurrences from 2027-06-01\n"
    )
    assert as_json(cli(db, "window", "list", "premier-edition", "--json"))[1]["valid_until"] == "2027-05-31"
    assert refused(cli(db, "window", "retire", "premier-edition", "nope")) == (
        "error: product 'premier-edition' has no window 'nope'"
    )


def test_overlapping_windows_are_added_with_a_warning(loaded: str) -> None:
    result = cli(loaded, "window", "add", "outbound-engagement", "--days", "thu", "--start", "02:00",
                 "--end", "04:00", "--tz", "America/New_York", "--name", "extra", "--from", "2027-03-01")  # fmt: skip
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: rules 'tue-thu-night' and 'extra' of outbound-engagement overlap "
        "(tue,thu 00:00-03:00 / thu 02:00-04:00)\n"
    )


def test_a_waiver_lets_a_window_start_inside_the_notice_period(loaded: str) -> None:
    args = ["window", "add", "social-analytics", "--days", "sat", "--start", "01:00", "--end", "02:00", "--tz", "UTC"]
    assert refused(cli(loaded, *args)) == (
        "error: window 'social-analytics.w1' would start at 2027-01-09T01:00:00Z, less than 30 days from now: "
        "start it later with --from, or give --waive-notice REASON"
    )
    assert ok(cli(loaded, *args, "--waive-notice", "customer asked")) == (
        "added window social-analytics.w1: sat 01:00-02:00 (UTC)\n"
    )


WEEKLY = ["--days", "sun", "--start", "00:00", "--end", "06:00", "--tz", "America/New_York"]
PREVIEW = ["window", "preview", *WEEKLY, "--from", "2027-03-13", "--to", "2027-03-15"]


def test_preview_shows_the_dst_night_without_a_database() -> None:
    result = CliRunner().invoke(
        maintcal, [*PREVIEW, "--json"], env={"MAINTCAL_DATABASE_URL": "sqlite:////nonexistent/x.db"}
    )
    assert as_json(result) == [
        {
            "id": "preview.w1.20270314",
            "uid": "preview.w1.20270314@maintcal.example.com",
            "product": "preview",
            "rule": "w1",
            "customer": None,
            "kind": "planned",
            "status": "scheduled",
            "start": "2027-03-14T05:00:00Z",
            "end": "2027-03-14T10:00:00Z",
            "timezone": "America/New_York",
            "local_start": "2027-03-14T00:00:00-05:00",
            "local_end": "2027-03-14T06:00:00-04:00",
            "sequence": 0,
            "notice_deadline": "2027-02-12T05:00:00Z",
            "imported": False,
        }
    ]
    table = ok(CliRunner().invoke(maintcal, PREVIEW)).splitlines()
    assert table[0].split() == ["ID", "STATUS", "LOCAL", "START", "LOCAL", "END", "ZONE", "UTC", "START", "UTC", "END",
                                "HOURS"]  # fmt: skip
    assert table[1].split() == ["preview.w1.20270314", "scheduled", "Sun", "2027-03-14", "00:00", "-0500", "Sun",
                                "2027-03-14", "06:00", "-0400", "America/New_York", "2027-03-14", "05:00Z",
                                "2027-03-14", "10:00Z", "5"]  # fmt: skip


def test_preview_of_a_local_rule_needs_a_zone() -> None:
    local = ["window", "preview", "--days", "tue", "--start", "00:00", "--end", "06:00", "--tz", "local"]
    assert refused(CliRunner().invoke(maintcal, [*local, "--from", "2027-04-05", "--to", "2027-04-07"])) == (
        "error: a 'local' rule needs --local-tz ZONE to preview"
    )
    result = CliRunner().invoke(
        maintcal, [*local, "--from", "2027-04-05", "--to", "2027-04-07", "--local-tz", "australia/sydney", "--json"]
    )
    [item] = as_json(result)
    assert (item["id"], item["start"], item["local_start"]) == (
        "preview.w1.20270406.preview",
        "2027-04-05T14:00:00Z",
        "2027-04-06T00:00:00+10:00",
    )


# -- customers ------------------------------------------------------------------------------------


def test_customers_contacts_and_subscriptions(loaded: str) -> None:
    db = loaded
    assert ok(cli(db, "customer", "add", "fjord-bank", "--name", "Fjord Bank", "--tz", "Europe/Oslo",
                  "--contact", "NOC@fjord.example.com", "--contact", "cio@fjord.example.com")) == (
        "added customer fjord-bank with 2 contact(s)\n"
    )  # fmt: skip
    assert ok(cli(db, "customer", "contact", "add", "fjord-bank", "ops@fjord.example.com")) == (
        "ops@fjord.example.com is now a contact of fjord-bank\n"
    )
    assert ok(cli(db, "customer", "contact", "remove", "fjord-bank", "cio@fjord.example.com")) == (
        "cio@fjord.example.com is no longer a contact of fjord-bank\n"
    )
    assert ok(cli(db, "customer", "subscribe", "fjord-bank", "premier-edition", "pureengage-cloud")) == (
        "fjord-bank subscribed to premier-edition, pureengage-cloud\n"
    )
    assert ok(cli(db, "customer", "subscribe", "fjord-bank", "premier-edition")) == (
        "fjord-bank subscribed to nothing new\n"
    )
    assert ok(cli(db, "customer", "unsubscribe", "fjord-bank", "premier-edition")) == (
        "fjord-bank unsubscribed from premier-edition\n"
    )
    customers = as_json(cli(db, "customer", "list", "--json"))
    assert [c["key"] for c in customers] == [
        "deccan-retail",
        "fjord-bank",
        "harbour-health",
        "nile-logistics",
        "pacific-media",
        "thames-telecom",
    ]
    assert customers[1] == {
        "key": "fjord-bank",
        "name": "Fjord Bank",
        "timezone": "Europe/Oslo",
        "contacts": ["noc@fjord.example.com", "ops@fjord.example.com"],
        "subscriptions": ["pureengage-cloud"],
    }
    table = ok(cli(db, "customer", "list")).splitlines()
    assert table[2].split() == ["fjord-bank", "Fjord", "Bank", "Europe/Oslo", "noc@fjord.example.com,",
                                "ops@fjord.example.com", "pureengage-cloud"]  # fmt: skip


def test_customer_with_an_abbreviation_zone_is_added_with_a_warning(db_url: str) -> None:
    result = cli(db_url, "customer", "add", "acme", "--name", "Acme", "--tz", "EST")
    assert (result.exit_code, result.stdout) == (0, "added customer acme with 0 contact(s)\n")
    assert result.stderr == (
        "warning: time zone 'EST' is a fixed offset (UTC-05:00) without daylight saving time; "
        "consider America/New_York\n"
    )


def test_customer_errors(loaded: str) -> None:
    db = loaded
    assert refused(cli(db, "customer", "add", "acme", "--name", "Acme", "--tz", "Europe/Londn")) == (
        "error: unknown time zone 'Europe/Londn'; did you mean Europe/London or Europe/Lisbon or Europe/Oslo?"
    )
    assert refused(cli(db, "customer", "add", "acme", "--name", "Acme", "--tz", "UTC", "--contact", "nope")) == (
        "error: invalid email address 'nope': an email address must have an @-sign"
    )
    assert refused(cli(db, "customer", "add", "thames-telecom", "--name", "T", "--tz", "UTC")) == (
        "error: customer 'thames-telecom' already exists"
    )
    assert refused(cli(db, "customer", "subscribe", "thames-telecom", "nope")) == (
        "error: no product 'nope' (known: outbound-engagement, premier-edition, pureengage-cloud, social-analytics)"
    )
    assert refused(cli(db, "customer", "contact", "remove", "thames-telecom", "x@thames.example.com")) == (
        "error: x@thames.example.com is not a contact of 'thames-telecom'"
    )
    assert refused(cli(db, "customer", "subscribe", "nobody", "premier-edition")) == (
        "error: no customer 'nobody' (see 'maintcal customer list')"
    )


# -- occurrences ----------------------------------------------------------------------------------


def test_occurrences_json_has_exactly_the_design_shape(loaded: str) -> None:
    items = as_json(cli(loaded, "occurrences", "--product", "outbound-engagement", "--from", "2027-03-13",
                        "--to", "2027-03-18", "--json"))  # fmt: skip
    assert items == [
        {
            "id": "outbound-engagement.sunday-night.20270314",
            "uid": "outbound-engagement.sunday-night.20270314@maintcal.example.com",
            "product": "outbound-engagement",
            "rule": "sunday-night",
            "customer": None,
            "kind": "planned",
            "status": "scheduled",
            "start": "2027-03-14T05:00:00Z",
            "end": "2027-03-14T09:00:00Z",  # 00:00 EST to 05:00 EDT: 4 hours
            "timezone": "America/New_York",
            "local_start": "2027-03-14T00:00:00-05:00",
            "local_end": "2027-03-14T05:00:00-04:00",
            "sequence": 0,
            "notice_deadline": "2027-02-12T05:00:00Z",
            "imported": False,
        },
        {
            "id": "outbound-engagement.tue-thu-night.20270316",
            "uid": "outbound-engagement.tue-thu-night.20270316@maintcal.example.com",
            "product": "outbound-engagement",
            "rule": "tue-thu-night",
            "customer": None,
            "kind": "planned",
            "status": "scheduled",
            "start": "2027-03-16T04:00:00Z",
            "end": "2027-03-16T07:00:00Z",
            "timezone": "America/New_York",
            "local_start": "2027-03-16T00:00:00-04:00",
            "local_end": "2027-03-16T03:00:00-04:00",
            "sequence": 0,
            "notice_deadline": "2027-02-14T05:00:00Z",
            "imported": False,
        },
    ]
    assert all(set(item) >= DESIGN_KEYS for item in items)


def test_occurrences_as_a_customer_sees_them(loaded: str) -> None:
    items = as_json(cli(loaded, "occurrences", "--customer", "harbour-health", "--from", "2027-04-05",
                        "--to", "2027-04-07", "--json"))  # fmt: skip
    fields = ("id", "customer", "timezone", "start", "local_start", "notice_deadline")
    assert [tuple(i[f] for f in fields) for i in items] == [
        ("pureengage-cloud.early-morning.20270406.harbour-health", "harbour-health", "Australia/Sydney",
         "2027-04-05T14:00:00Z", "2027-04-06T00:00:00+10:00", "2027-03-06T13:00:00Z"),
        ("outbound-engagement.tue-thu-night.20270406", "harbour-health", "America/New_York",
         "2027-04-06T04:00:00Z", "2027-04-06T00:00:00-04:00", "2027-03-07T05:00:00Z"),
    ]  # fmt: skip
    table = ok(cli(loaded, "occurrences", "--customer", "harbour-health", "--from", "2027-04-05", "--to", "2027-04-07"))
    assert table.splitlines()[1].split()[:3] == [
        "pureengage-cloud.early-morning.20270406.harbour-health",
        "scheduled",
        "Tue",
    ]
    empty = cli(loaded, "occurrences", "--product", "premier-edition", "--from", "2027-03-15", "--to", "2027-03-16")
    assert ok(empty).splitlines()[-1] == "no occurrences in this range"
    assert as_json(cli(loaded, "occurrences", "--product", "premier-edition", "--from", "2027-03-15", "--to",
                       "2027-03-16", "--json", "--all")) == []  # fmt: skip


# -- bad input: exit 2, one line on stderr --------------------------------------------------------

BAD = [
    (["window", "add", "premier-edition", "--days", "mon", "--start", "01:00", "--end", "02:00", "--tz", "Mars/Base"],
     "error: unknown time zone 'Mars/Base'; use an IANA name like Europe/London"),
    (["window", "add", "premier-edition", "--days", "mon", "--start", "24:00", "--end", "02:00", "--tz", "UTC"],
     "error: invalid time '24:00': use 00:00 (a window ending at midnight ends at 00:00)"),
    (["window", "add", "premier-edition", "--days", "mon", "--start", "02:00", "--end", "02:00", "--tz", "UTC"],
     "error: start and end are both 02:00: a window needs a length"),
    (["window", "add", "premier-edition", "--cron", "0 2 * * *", "--duration", "0m", "--tz", "UTC"],
     "error: Invalid value for '--duration': invalid duration '0m': must be longer than zero"),
    (["window", "add", "premier-edition", "--cron", "0 2 * * *", "--duration", "2 hours", "--tz", "UTC"],
     "error: Invalid value for '--duration': invalid duration '2 hours': use forms like 90m, 2h, 1h30m, 7d"),
    (["window", "add", "premier-edition", "--cron", "0 2 1 * *", "--duration", "8d", "--tz", "UTC"],
     "error: duration 8d is longer than 7 days"),
    (["window", "add", "premier-edition", "--cron", "* * * * *", "--duration", "1m", "--tz", "UTC"],
     "error: cron '* * * * *' fires 1440 times a day; at most 48 are allowed"),
    (["window", "preview", "--cron", "*/20 * * * *", "--duration", "5m", "--tz", "UTC", "--from", "2027-03-13",
      "--to", "2027-03-15"],
     "error: cron '*/20 * * * *' fires 72 times a day; at most 48 are allowed"),
    (["window", "add", "premier-edition", "--cron", "0 2 * *", "--duration", "1h", "--tz", "UTC"],
     "error: invalid cron expression '0 2 * *': use five fields, e.g. '0 2 * * sun'"),
    (["window", "add", "premier-edition", "--days", "someday", "--start", "01:00", "--end", "02:00", "--tz", "UTC"],
     "error: invalid days 'someday': use mon,tue,... or ranges like tue-thu"),
    (["window", "add", "premier-edition", "--days", "", "--start", "01:00", "--end", "02:00", "--tz", "UTC"],
     "error: no days given: use --days like tue,thu or tue-thu"),
    (["window", "add", "premier-edition", "--days", "mon", "--start", "01:00", "--end", "02:00"],
     "error: a window needs a time zone: --tz America/New_York (or --tz local for the customer's zone)"),
    (["window", "add", "premier-edition", "--days", "mon", "--cron", "0 2 * * *", "--tz", "UTC"],
     "error: give exactly one window form: --days/--start/--end, --cron/--duration, or --once-start/--once-end"),
    (["window", "add", "premier-edition", "--days", "mon", "--start", "01:00", "--end", "02:00", "--tz", "UTC",
      "--from", "2027-05-01", "--until", "2027-04-30"],
     "error: --until 2027-04-30 is before --from 2027-05-01"),
    (["window", "add", "premier-edition", "--days", "mon", "--start", "01:00", "--end", "02:00", "--tz", "UTC",
      "--from", "2027-02-30"],
     "error: Invalid value for '--from': invalid date '2027-02-30': use YYYY-MM-DD"),
    (["window", "add", "premier-edition", "--once-start", "2027-06-05T22:00", "--once-end", "2027-06-05T21:00",
      "--tz", "UTC"],
     "error: one-off end 2027-06-05T21:00 is not after its start 2027-06-05T22:00"),
    (["window", "add", "nope", "--days", "mon", "--start", "01:00", "--end", "02:00", "--tz", "UTC"],
     "error: no product 'nope' (known: outbound-engagement, premier-edition, pureengage-cloud, social-analytics)"),
    (["window", "add", "premier-edition", "--days", "tue-thu", "--start", "22:00", "--end", "05:00",
      "--tz", "America/New_York", "--name", "nightly", "--from", "2027-06-01"],
     "error: product 'premier-edition' already has a window 'nightly' (choose another --name)"),
    (["window", "list", "nope"],
     "error: no product 'nope' (known: outbound-engagement, premier-edition, pureengage-cloud, social-analytics)"),
    (["occurrences", "--from", "2027-03-10", "--to", "2027-03-01"],
     "error: --to 2027-03-01 must be after --from 2027-03-10"),
    (["occurrences", "--from", "2027-03-10", "--to", "2027-03-10"],
     "error: --to 2027-03-10 must be after --from 2027-03-10"),
    (["occurrences", "--to", "2027-03-10"], "error: Missing option '--from'."),
    (["occurrences", "--from", "0001-01-01", "--to", "0001-01-10"],
     "error: Invalid value for '--from': date 0001-01-01 is outside the accepted range 1970-01-01 to 2199-12-31"),
    (["occurrences", "--from", "2027-01-01", "--to", "2037-01-10"], "error: list at most 10 years at a time"),
    (["window", "preview", "--once-start", "2027-03-14T02:30", "--once-end", "2027-03-14T03:00",
      "--tz", "America/New_York", "--from", "2027-03-01", "--to", "2027-04-01"],
     "error: one-off window 2027-03-14T02:30-03:00 does not exist in America/New_York: it lies in the time "
     "skipped when clocks go forward"),
    (["occurrences", "--from", "2027-03-01", "--to", "2027-03-10", "--product", "nope"],
     "error: no product 'nope' (known: outbound-engagement, premier-edition, pureengage-cloud, social-analytics)"),
    (["window", "preview", "--days", "mon", "--start", "01:00", "--end", "02:00", "--tz", "UTC",
      "--from", "2027-03-10", "--to", "2027-03-01"],
     "error: --to 2027-03-01 must be after --from 2027-03-10"),
    (["apply", "missing.toml"], "error: cannot read missing.toml: No such file or directory"),
    (["product", "nope"], "error: No such command 'nope'."),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD, ids=[m.split(": ", 1)[1][:40] for _, m in BAD])
def test_bad_input_is_one_error_line_and_exit_2(loaded: str, args: list[str], message: str) -> None:
    assert refused(cli(loaded, *args)) == message


def test_invalid_toml_is_one_error_line(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[[products]]\nkey = "pe"\nname = \n')
    assert refused(cli(db_url, "apply", str(path))) == (
        f"error: {path}: not valid TOML: Invalid value (at line 3, column 8)"
    )
    path.write_bytes(b"\xff\xfe[[products]]")
    assert refused(cli(db_url, "apply", str(path))).startswith(f"error: cannot read {path}: ")


# -- the installed console script -------------------------------------------------------------------


def script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MAINTCAL_DATABASE_URL": f"sqlite:///{tmp_path / 'maintcal.db'}",
    }
    return subprocess.run(
        [str(MAINTCAL), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False
    )


def test_the_maintcal_console_script(tmp_path: Path) -> None:
    assert MAINTCAL.exists(), f"{MAINTCAL} is not installed: pip install -e ."
    upgraded = script(tmp_path, "db", "upgrade")
    assert (upgraded.returncode, upgraded.stderr) == (0, "")
    assert upgraded.stdout == f"database at latest schema: sqlite:///{tmp_path / 'maintcal.db'}\n"
    applied = script(tmp_path, "apply", str(EXAMPLE))
    assert (applied.returncode, applied.stderr, applied.stdout.splitlines()[-1]) == (0, "", "applied 31 change(s)")
    again = script(tmp_path, "apply", str(EXAMPLE))
    assert again.stdout == "nothing to change: the database matches the file\n"
    added = script(tmp_path, "product", "add", "reports", "--name", "Reports")
    assert added.stdout == "added product reports (Reports), notice 30 days\n"
    window = script(tmp_path, "window", "add", "reports", "--cron", "0 3 * * sun", "--duration", "1h",
                    "--tz", "Europe/London", "--waive-notice", "internal only")  # fmt: skip
    assert (window.returncode, window.stdout) == (
        0,
        "added window reports.w1: cron '0 3 * * sun' for 1h (Europe/London)\n",
    )
    customer = script(tmp_path, "customer", "add", "fjord-bank", "--name", "Fjord", "--tz", "Europe/Oslo")
    assert customer.returncode == 0
    assert script(tmp_path, "customer", "subscribe", "fjord-bank", "reports").returncode == 0
    listed = script(tmp_path, "occurrences", "--customer", "fjord-bank", "--from", "2027-03-28", "--to", "2027-03-29",
                    "--json")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {
            "id": "reports.w1.20270328",
            "uid": "reports.w1.20270328@maintcal.example.com",
            "product": "reports",
            "rule": "w1",
            "customer": "fjord-bank",
            "kind": "planned",
            "status": "scheduled",
            "start": "2027-03-28T02:00:00Z",  # 03:00 BST: the first day of British summer time
            "end": "2027-03-28T03:00:00Z",
            "timezone": "Europe/London",
            "local_start": "2027-03-28T03:00:00+01:00",
            "local_end": "2027-03-28T04:00:00+01:00",
            "sequence": 0,
            "notice_deadline": "2027-02-26T03:00:00Z",
            "imported": False,
        }
    ]
    bad = script(tmp_path, "window", "add", "reports", "--days", "mon", "--start", "24:00", "--end", "02:00",
                 "--tz", "UTC")  # fmt: skip
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == "error: invalid time '24:00': use 00:00 (a window ending at midnight ends at 00:00)\n"
    unknown = script(tmp_path, "customer", "add", "x", "--name", "X", "--tz", "Mars/Base")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "error: unknown time zone 'Mars/Base'; use an IANA name like Europe/London\n",
    )

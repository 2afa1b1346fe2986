"""Issue 9 §2 through the CLI: a catalogue edited over months never breaks a command.

The clock is pinned with pytest-freezer and moved between steps; SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg  # noqa: F401  (its C extension must be loaded before freezegun replaces datetime.date)
import pytest
from click.testing import CliRunner, Result
from freezegun.api import FrozenDateTimeFactory

from cli import maintcal
from tests.integration.test_catalogue_history import CUSTOMER, HEAD, LAUNCH

pytestmark = pytest.mark.freeze_time("2026-11-20T12:00:00Z")


def cli(db_url: str, tmp_path: Path, *args: str) -> Result:
    env = {
        "MAINTCAL_DATABASE_URL": db_url,
        "MAINTCAL_UID_DOMAIN": "maintcal.example.com",
        "MAINTCAL_PICKUP_DIR": str(tmp_path / "pickup"),
    }
    return CliRunner().invoke(maintcal, list(args), env=env)


def ok(result: Result) -> str:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def test_every_command_works_after_a_window_is_retired_before_its_first_day(
    db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(HEAD + LAUNCH + CUSTOMER, encoding="utf-8")
    second.write_text(HEAD + CUSTOMER, encoding="utf-8")
    ok(cli(db_url, tmp_path, "apply", str(first)))
    freezer.move_to("2026-12-10T12:00:00Z")
    assert ok(cli(db_url, tmp_path, "apply", str(second))) == (
        "- window pe.launch: retired before its first day 2027-02-01: no occurrences (not in the file)\n"
        "applied 1 change(s)\n"
    )
    assert as_json(cli(db_url, tmp_path, "occurrences", "--from", "2026-11-01", "--to", "2027-06-01", "--json")) == []
    [window] = as_json(cli(db_url, tmp_path, "window", "list", "--json"))
    assert (window["valid_from"], window["valid_until"], window["retired_before_start"]) == (
        "2027-02-01",
        "2026-12-09",
        True,
    )
    assert "retired before start" in ok(cli(db_url, tmp_path, "window", "list"))
    for args in (["--customer", "acme"], ["--product", "pe"]):
        feed = ok(cli(db_url, tmp_path, "feed", *args))
        assert feed.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" not in feed
    ok(cli(db_url, tmp_path, "notices", "plan"))
    assert as_json(cli(db_url, tmp_path, "compliance", "--json")) == []
    assert ok(cli(db_url, tmp_path, "apply", str(second))).endswith(
        "nothing to change: the database matches the file\n"
    )
    [row, _] = as_json(cli(db_url, tmp_path, "sla", "report", "--product", "pe", "--month", "2027-02", "--json"))
    assert (row["availability_percent"], row["in_service"], row["windows"]) == ("100.0000", True, [])
    # 'window retire' of a window that has not started.
    third = tmp_path / "c.toml"
    third.write_text(HEAD + LAUNCH.replace("launch", "later").replace("2027-02-01", "2027-03-01") + CUSTOMER)
    ok(cli(db_url, tmp_path, "apply", str(third)))
    assert ok(cli(db_url, tmp_path, "window", "retire", "pe", "later")) == (
        "retired pe.later before its first day 2027-03-01: no occurrences\n"
    )
    assert as_json(cli(db_url, tmp_path, "occurrences", "--from", "2026-11-01", "--to", "2027-06-01", "--json")) == []


def test_a_new_users_first_sla_report_for_last_month_says_nothing_existed(
    db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "catalogue.toml"
    ok(cli(db_url, tmp_path, "apply", str(example)))
    args = ["sla", "report", "--product", "premier-edition", "--customer", "thames-telecom", "--month", "2026-10"]
    text = ok(cli(db_url, tmp_path, *args))
    assert text.startswith(
        "note: thames-telecom: premier-edition was added at 2026-11-20T12:00:00Z, after 2026-10: no service to report\n"
    )
    assert "100.0000 %" in text
    [row] = as_json(cli(db_url, tmp_path, *args, "--json"))
    assert (row["in_service"], row["availability_percent"], row["credit_percent"], row["downtime_seconds"]) == (
        False,
        "100.0000",
        0,
        0,
    )
    listing = ["occurrences", "--product", "premier-edition", "--json", "--from"]
    assert as_json(cli(db_url, tmp_path, *listing, "2026-10-01", "--to", "2026-11-20")) == []
    [first] = as_json(cli(db_url, tmp_path, *listing, "2026-11-20", "--to", "2026-11-26"))
    assert (first["id"], first["imported"]) == ("premier-edition.nightly.20261124", False)

"""Issue 9 §1 end to end: instants after 2037 follow the zone's rule (EDT in a New York summer).

pytz's own tables end in 2037; before the fix, 2040-07-03 00:00-06:00 New York time was listed as
05:00Z-11:00Z (EST). zoneinfo, reading the same tz data, says 04:00Z-10:00Z (EDT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg  # noqa: F401  (its C extension must be loaded before freezegun replaces datetime.date)
import pytest
from click.testing import CliRunner, Result

from cli import maintcal

pytestmark = pytest.mark.freeze_time("2027-01-04T12:00:00Z")


def cli(db_url: str, *args: str) -> Result:
    env = {"MAINTCAL_DATABASE_URL": db_url, "MAINTCAL_UID_DOMAIN": "maintcal.example.com"}
    return CliRunner().invoke(maintcal, list(args), env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def test_a_new_york_window_in_2040_is_on_daylight_time(db_url: str) -> None:
    ok(cli(db_url, "product", "add", "p", "--name", "P"))
    args = ["--days", "tue", "--start", "00:00", "--end", "06:00", "--tz", "America/New_York", "--from", "2040-07-01"]
    assert ok(cli(db_url, "window", "add", "p", *args)) == "added window p.w1: tue 00:00-06:00 (America/New_York)\n"
    listed = as_json(
        cli(db_url, "occurrences", "--product", "p", "--from", "2040-07-01", "--to", "2040-07-08", "--json")
    )
    assert [
        (o["id"], o["start"], o["end"], o["local_start"], o["local_end"], o["notice_deadline"]) for o in listed
    ] == [
        (
            "p.w1.20400703",
            "2040-07-03T04:00:00Z",
            "2040-07-03T10:00:00Z",
            "2040-07-03T00:00:00-04:00",
            "2040-07-03T06:00:00-04:00",
            "2040-06-03T04:00:00Z",  # 30 days earlier, 00:00 EDT
        )
    ]
    feed = ok(cli(db_url, "feed", "--product", "p", "--from", "2040-07-01", "--to", "2040-07-08"))
    assert [line for line in feed.splitlines() if line.startswith(("DTSTART", "DTEND"))] == [
        "DTSTART:20400703T040000Z",
        "DTEND:20400703T100000Z",
    ]
    # The fall-back night of 2150 lasts 7 h: 00:00 EDT to 06:00 EST.
    listed = as_json(
        cli(db_url, "occurrences", "--product", "p", "--from", "2150-10-27", "--to", "2150-10-28", "--json")
    )
    assert [(o["start"], o["end"], o["local_end"]) for o in listed] == [
        ("2150-10-27T04:00:00Z", "2150-10-27T10:00:00Z", "2150-10-27T06:00:00-04:00")
    ]


def test_sla_compute_a_new_york_march_after_2037_has_743_hours(tmp_path: Path) -> None:
    document = tmp_path / "sla.json"
    document.write_text(
        json.dumps({"period": {"month": "2040-03", "tz": "America/New_York"}, "windows": [], "outages": []})
    )
    result = as_json(cli(f"sqlite:///{tmp_path / 'unused.db'}", "sla", "compute", str(document), "--json"))
    assert (result["period_start"], result["period_end"], result["period_seconds"]) == (
        "2040-03-01T05:00:00Z",
        "2040-04-01T04:00:00Z",
        743 * 3600,
    )

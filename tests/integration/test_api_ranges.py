"""Far-past and far-future input at the API and the CLI: refused with 422 / exit 2, never a 500.

Before: ``/api/v1/occurrences?from=0001-01-01`` or ``?from=9999-12-31``, occurrence ids dated
00010101 or 99991231, and ``proposed_start`` 9999-12-31 raised OverflowError (500). The
hypothesis test throws arbitrary dates and instants (year 1 to 9999, with offsets) at every route
that takes one, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import maintcal
from commands.common import AppContext
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load
from tests.integration.changes_fixtures import settings as app_settings

RANGE = "the accepted range 1970-01-01 to 2199-12-31"
FIRST, LAST = date(1970, 1, 1), date(2199, 12, 31)
EDGE_DATES = [date(1, 1, 1), date(1969, 12, 31), FIRST, LAST, date(2200, 1, 1), date(9999, 12, 31)]
EDGE_INSTANTS = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2199-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "9999-12-31T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
]


@pytest.fixture
def api(db: Database, db_url: str, tmp_path: Path) -> Iterator[tuple[ApiClient, str]]:
    load(db)
    client = ApiClient(create_app(app_settings(tmp_path, db_url), database=db, clock=lambda: NOW))
    yield client, issue_api_key(db, NOW, "thames")
    client.close()


def iso_date(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def test_the_reported_cases(api: tuple[ApiClient, str]) -> None:
    client, key = api
    for day in ("0001-01-01", "9999-12-31"):
        response = client.call("GET", f"/api/v1/occurrences?from={day}", key)
        assert (response.status_code, response.json()) == (422, {"error": f"'from' {day} is outside {RANGE}"})
    response = client.call("GET", "/api/v1/occurrences?from=2027-03-01&to=9999-12-31", key)
    assert (response.status_code, response.json()) == (422, {"error": f"'to' 9999-12-31 is outside {RANGE}"})
    for day in ("00010101", "99991231"):
        body = {"occurrence": f"pe.nightly.{day}", "proposed_start": "2027-03-03T05:00:00Z"}
        response = client.call("POST", "/api/v1/reschedule-requests", key, json=body)
        shown = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        assert (response.status_code, response.json()) == (
            422,
            {"error": f"invalid occurrence id 'pe.nightly.{day}': date {shown} is outside {RANGE}"},
        )
    body = {"occurrence": "pe.nightly.20270302", "proposed_start": "9999-12-31T00:00:00Z"}
    response = client.call("POST", "/api/v1/reschedule-requests", key, json=body)
    assert (response.status_code, response.json()) == (
        422,
        {"error": f"proposed_start: instant '9999-12-31T00:00:00Z' is outside {RANGE}"},
    )
    # The default 'to' (from + 90 days) stops at the end of the range instead of overflowing.
    response = client.call("GET", "/api/v1/occurrences?from=2199-12-01", key)
    assert response.status_code == 200


dates = st.one_of(st.sampled_from(EDGE_DATES), st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))


def _instant_text(local: datetime, offset_minutes: int) -> str:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local.year:04d}-{local:%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"


instants = st.one_of(
    st.sampled_from(EDGE_INSTANTS),
    st.builds(
        _instant_text,
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.integers(min_value=-14 * 60, max_value=14 * 60),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(first=dates, second=dates, instant=instants, local=st.booleans())
def test_any_date_or_instant_is_never_a_500(
    api: tuple[ApiClient, str], first: date, second: date, instant: str, local: bool
) -> None:
    client, key = api
    in_range = [FIRST <= d <= LAST for d in (first, second)]

    listing = client.call("GET", f"/api/v1/occurrences?from={iso_date(first)}&to={iso_date(second)}", key)
    if not in_range[0]:
        expected = (422, {"error": f"'from' {iso_date(first)} is outside {RANGE}"})
        assert (listing.status_code, listing.json()) == expected
    elif not in_range[1]:
        assert (listing.status_code, listing.json()) == (422, {"error": f"'to' {iso_date(second)} is outside {RANGE}"})
    elif second <= first:
        assert (listing.status_code, listing.json()) == (422, {"error": "'to' must be after 'from'"})
    elif (second - first).days > 800:
        assert (listing.status_code, listing.json()) == (422, {"error": "ask for at most 800 days at a time"})
    else:
        assert listing.status_code == 200 and isinstance(listing.json(), list)
    alone = client.call("GET", f"/api/v1/occurrences?from={iso_date(first)}", key)
    assert alone.status_code == (200 if in_range[0] else 422)

    stamp = f"{first.year:04d}{first.month:02d}{first.day:02d}"
    occurrence = f"pc.early.{stamp}.thames" if local else f"pe.nightly.{stamp}"
    body = {"occurrence": occurrence, "proposed_start": instant}
    created = client.call("POST", "/api/v1/reschedule-requests", key, json=body)
    assert created.status_code < 500, created.text
    parsed = _utc(instant)
    if parsed is None or not datetime(1970, 1, 1, tzinfo=UTC) <= parsed < datetime(2200, 1, 1, tzinfo=UTC):
        assert (created.status_code, created.json()) == (
            422,
            {"error": f"proposed_start: instant '{instant}' is outside {RANGE}"},
        )
    elif not in_range[0]:
        assert (created.status_code, created.json()["error"]) == (
            422,
            f"invalid occurrence id '{occurrence.removesuffix('.thames')}': date {iso_date(first)} is outside {RANGE}",
        )
    else:
        assert created.status_code in (201, 404, 409, 422), created.text
        assert isinstance(created.json().get("error", ""), str)


def _utc(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except OverflowError:
        return None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["occurrence", "cancel", "pe.nightly.99991231", "--reason", "x"],
            f"invalid occurrence id 'pe.nightly.99991231': date 9999-12-31 is outside {RANGE}",
        ),
        (
            ["occurrence", "move", "pe.nightly.00010101", "--to", "2027-03-03T05:00:00Z", "--reason", "x"],
            f"invalid occurrence id 'pe.nightly.00010101': date 0001-01-01 is outside {RANGE}",
        ),
        (
            ["reschedule", "request", "pe.nightly.20270302", "--customer", "thames", "--to", "9999-12-31T00:00:00Z"],
            f"Invalid value for '--to': instant '9999-12-31T00:00:00Z' is outside {RANGE}",
        ),
        (
            ["outages", "add", "pe", "--start", "0001-01-01T00:00:00+01:00", "--end", "2027-01-01T00:00:00Z"],
            f"Invalid value for '--start': instant '0001-01-01T00:00:00+01:00' is outside {RANGE}",
        ),
        (
            ["compliance", "--from", "0001-01-01", "--to", "2027-01-01"],
            f"Invalid value for '--from': date 0001-01-01 is outside {RANGE}",
        ),
        (
            ["window", "retire", "pe", "nightly", "--from", "9999-12-31"],
            f"Invalid value for '--from': date 9999-12-31 is outside {RANGE}",
        ),
        (
            ["sla", "report", "--product", "pe", "--month", "0001-01", "--tz", "Asia/Tokyo"],
            "month 0001-01 is outside the accepted range 1970-01 to 2199-12",
        ),
        (
            [
                "window",
                "add",
                "pe",
                "--once-start",
                "9999-12-31T22:00",
                "--once-end",
                "9999-12-31T23:00",
                "--tz",
                "UTC",
            ],
            f"local time '9999-12-31T22:00': date 9999-12-31 is outside {RANGE}",
        ),
        (
            ["feed", "--product", "pe", "--from", "9999-12-01", "--to", "9999-12-31"],
            f"Invalid value for '--from': date 9999-12-01 is outside {RANGE}",
        ),
    ],
)
def test_cli_refuses_with_one_line_and_exit_2(
    db: Database, db_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    load(db)
    result = CliRunner().invoke(maintcal, args, obj=AppContext(app_settings(tmp_path, db_url), now=NOW))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


def test_outage_import_lists_rows_out_of_range(db: Database, db_url: str, tmp_path: Path) -> None:
    load(db)
    path = tmp_path / "outages.csv"
    path.write_text(
        "product,start,end\npe,2027-01-02T00:00:00Z,2027-01-02T01:00:00Z\npe,9999-12-31T00:00:00Z,9999-12-31T01:00:00Z\n"
    )
    result = CliRunner().invoke(
        maintcal, ["outages", "import", str(path)], obj=AppContext(app_settings(tmp_path, db_url), now=NOW)
    )
    assert result.exit_code == 2
    assert f"instant '9999-12-31T00:00:00Z' is outside {RANGE}" in result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr

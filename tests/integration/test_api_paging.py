"""GET /api/v1/occurrences in pages (issue 10 §2): ``limit`` and an ``after`` cursor from the
RFC 8288 ``Link: <...>; rel="next"`` header, on both databases.

thames buys ``pe`` (Tue and Thu 00:00-03:00 New York) and ``pc`` (Tue 00:00-06:00 in its own zone,
London): 2027-03-01 .. 2027-03-15 holds six occurrences.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.http.paging import encode_cursor
from scheduler.occurrences.schedule import occurrences
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings
from windows.timezones import format_utc

RANGE = "from=2027-03-01&to=2027-03-15"
ALL = [
    ("pc.early.20270302.thames", "2027-03-02T00:00:00Z"),
    ("pe.nightly.20270302", "2027-03-02T05:00:00Z"),
    ("pe.nightly.20270304", "2027-03-04T05:00:00Z"),
    ("pc.early.20270309.thames", "2027-03-09T00:00:00Z"),
    ("pe.nightly.20270309", "2027-03-09T05:00:00Z"),
    ("pe.nightly.20270311", "2027-03-11T05:00:00Z"),
]


@pytest.fixture
def api(db: Database, db_url: str, tmp_path: Path) -> Iterator[tuple[ApiClient, str]]:
    load(db)
    key = issue_api_key(db, NOW, "thames")
    client = ApiClient(create_app(settings(tmp_path, db_url), database=db, clock=lambda: NOW))
    yield client, key
    client.close()


def ids(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(o["id"], o["start"]) for o in response.json()]


def test_the_default_page_holds_everything_and_has_no_link(api: tuple[ApiClient, str]) -> None:
    client, key = api
    response = client.call("GET", f"/api/v1/occurrences?{RANGE}", key)
    assert ids(response) == ALL
    assert "link" not in response.headers


def test_pages_follow_the_link_header_to_the_end(api: tuple[ApiClient, str]) -> None:
    client, key = api
    first = client.call("GET", f"/api/v1/occurrences?{RANGE}&limit=4", key)
    assert ids(first) == ALL[:4]
    cursor = encode_cursor("2027-03-09T00:00:00Z", "pc.early.20270309.thames")
    assert first.headers["link"] == (
        f'</api/v1/occurrences?from=2027-03-01&to=2027-03-15&limit=4&after={cursor}>; rel="next"'
    )
    second = client.call("GET", first.headers["link"].split(">")[0][1:], key)
    assert ids(second) == ALL[4:]
    assert "link" not in second.headers
    # A page that ends exactly at the last item has no next page either.
    exact = client.call("GET", f"/api/v1/occurrences?{RANGE}&limit=6", key)
    assert (ids(exact), "link" in exact.headers) == (ALL, False)


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("limit=0", 422, "query.limit: Input should be greater than or equal to 1"),
        ("limit=5001", 422, "query.limit: Input should be less than or equal to 5000"),
        ("limit=ten", 422, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
        ("after=!!!", 422, "after: not a cursor from a Link header of this API"),
        ("after=bm90LWEtY3Vyc29y", 422, "after: not a cursor from a Link header of this API"),
    ],
)
def test_bad_paging_values_are_json_errors(api: tuple[ApiClient, str], query: str, status: int, error: str) -> None:
    client, key = api
    response = client.call("GET", f"/api/v1/occurrences?{RANGE}&{query}", key)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_small_pages_over_months_add_up_to_the_whole_listing(db: Database, api: tuple[ApiClient, str]) -> None:
    client, key = api
    with db.transaction() as session:
        whole = occurrences(
            session, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 10, 1, tzinfo=UTC), customer="thames"
        )
    expected = [(s.id, format_utc(s.start)) for s in whole]
    pages, path = [], "/api/v1/occurrences?from=2027-03-01&to=2027-10-01&limit=7"
    while path:
        response = client.call("GET", path, key)
        pages.append(ids(response))
        path = response.headers.get("link", "").partition(">")[0][1:]
    assert [len(p) for p in pages] == [7] * (len(expected) // 7) + ([len(expected) % 7] if len(expected) % 7 else [])
    assert [item for p in pages for item in p] == expected and len(expected) == 93

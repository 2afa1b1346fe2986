"""Issue 9 §5 at the entries the CLI tests do not reach: the HTTP API and outage files.

A reschedule request's reason with a control character is answered 422 with the JSON error body
naming the field (never a 500, nothing stored); an outage file's source or id with one is refused
with the file's line, like every other problem of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.reports import outages
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings
from windows.errors import ManyProblems


@pytest.fixture
def api(db: Database, db_url: str, tmp_path: Path) -> Iterator[ApiClient]:
    load(db)
    client = ApiClient(create_app(settings(tmp_path, db_url), database=db, clock=lambda: NOW))
    yield client
    client.close()


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("freeze\x0b", "reason contains a control character (U+000B); use plain text"),
        ("freeze\x7f", "reason contains a control character (U+007F); use plain text"),
        ("month\u2028end", "reason contains a line separator (U+2028); use one line of plain text"),
        ("line\r\nBcc: x@y.example", "reason contains a line break (U+000D); use one line of plain text"),
    ],
)
def test_the_api_refuses_a_reason_with_control_characters(
    api: ApiClient, db: Database, reason: str, error: str
) -> None:
    key = issue_api_key(db, NOW, "thames")
    body = {"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z", "reason": reason}
    response = api.call("POST", "/api/v1/reschedule-requests", key, json=body)
    assert (response.status_code, response.json()) == (422, {"error": error})
    assert api.call("GET", "/api/v1/reschedule-requests", key).json() == []
    accepted = api.call("POST", "/api/v1/reschedule-requests", key, json=body | {"reason": " month-end close "})
    assert (accepted.status_code, accepted.json()["reason"]) == (201, "month-end close")


def test_an_outage_file_with_control_characters_is_refused_with_each_line() -> None:
    csv = (
        "product,start,end,source,id\n"
        "pe,2027-03-05T00:00:00Z,2027-03-05T01:00:00Z,monitoring\x1b[31m,A1\n"
        "pe,2027-03-06T00:00:00Z,2027-03-06T01:00:00Z,pager,A\x852\n"
        "pe,2027-03-07T00:00:00Z,2027-03-07T01:00:00Z,pager,A3\n"
    )
    with pytest.raises(ManyProblems) as refused:
        outages.parse_outages(csv, "o.csv")
    assert refused.value.problems == [
        "o.csv:2: source contains a control character (U+001B); use plain text",
        "o.csv:3: id contains a control character (U+0085); use plain text",
    ]
    json = '[{"product": "pe", "start": "2027-03-05T00:00:00Z", "end": "2027-03-05T01:00:00Z", "source": "a\\u2029b"}]'
    with pytest.raises(ManyProblems) as refused:
        outages.parse_outages(json, "o.json")
    assert refused.value.problems == [
        "o.json:1: source contains a paragraph separator (U+2029); use one line of plain text"
    ]

"""Outage import: CSV and JSON, all-or-nothing with line numbers, idempotent re-import."""

from __future__ import annotations

import pytest

from scheduler.reports import outages
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load, utc
from windows.errors import InvalidInput, ManyProblems

CSV = (
    "product,start,end,customer,source,id\n"
    "pe,2027-03-01T10:00:00Z,2027-03-01T10:30:00Z,,pingdom,A1\n"
    "pe,2027-03-01T10:15:00+01:00,2027-03-01T09:45:00Z,thames,,\n"
    "pc,2027-02-28T23:00:00Z,2027-03-01T01:00:00Z,,,\n"
)


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def test_csv_import_is_idempotent(loaded: Database) -> None:
    rows = outages.parse_outages(CSV, "o.csv")
    assert outages.import_outages(loaded, NOW, rows, "o.csv") == outages.ImportResult(added=3, known=0)
    assert outages.import_outages(loaded, NOW, rows, "o.csv") == outages.ImportResult(added=0, known=3)
    listed = outages.list_outages(loaded)
    assert [(o.product, o.customer, o.start, o.end, o.source, o.external_id) for o in listed] == [
        ("pc", None, utc("2027-02-28T23:00:00Z"), utc("2027-03-01T01:00:00Z"), None, None),
        ("pe", "thames", utc("2027-03-01T09:15:00Z"), utc("2027-03-01T09:45:00Z"), None, None),
        ("pe", None, utc("2027-03-01T10:00:00Z"), utc("2027-03-01T10:30:00Z"), "pingdom", "A1"),
    ]
    # Same external id with other times: still known (the monitoring system's id wins).
    again = outages.parse_outages("product,start,end,id\npe,2027-03-05T00:00:00Z,2027-03-05T01:00:00Z,A1\n", "b.csv")
    assert outages.import_outages(loaded, NOW, again, "b.csv") == outages.ImportResult(added=0, known=1)


def test_json_import(loaded: Database) -> None:
    text = '{"outages": [{"product": "pe", "start": "2027-03-01T10:00:00Z", "end": "2027-03-01T11:00:00Z", "id": 7}]}'
    rows = outages.parse_outages(text, "o.json")
    assert outages.import_outages(loaded, NOW, rows, "o.json") == outages.ImportResult(added=1, known=0)
    assert [o.external_id for o in outages.list_outages(loaded, "pe")] == ["7"]


def test_every_bad_row_is_listed_and_nothing_imported(loaded: Database) -> None:
    text = (
        "product,start,end\n"
        "pe,2027-03-01T10:00:00Z,2027-03-01T10:30:00Z\n"
        "pe,2027-03-01T10:00:00Z,2027-03-01T09:00:00Z\n"
        "pe,yesterday,2027-03-01T09:00:00Z\n"
        "pe,2027-03-01T10:00:00,2027-03-01T11:00:00Z\n"
        ",2027-03-01T10:00:00Z,2027-03-01T11:00:00Z\n"
    )
    with pytest.raises(ManyProblems) as caught:
        outages.parse_outages(text, "bad.csv")
    assert caught.value.problems == [
        "bad.csv:3: end 2027-03-01T09:00:00Z is not after start 2027-03-01T10:00:00Z",
        "bad.csv:4: invalid instant 'yesterday': use ISO 8601 with offset, e.g. 2027-03-16T04:00:00Z",
        "bad.csv:5: instant '2027-03-01T10:00:00' has no offset: add Z or +HH:MM",
        "bad.csv:6: product, start and end are required",
    ]
    rows = outages.parse_outages(
        "product,start,end,customer\nzz,2027-03-01T10:00:00Z,2027-03-01T11:00:00Z,who\n", "u.csv"
    )
    with pytest.raises(ManyProblems) as unknown:
        outages.import_outages(loaded, NOW, rows, "u.csv")
    assert unknown.value.problems == ["u.csv:2: unknown product 'zz'", "u.csv:2: unknown customer 'who'"]
    assert outages.list_outages(loaded) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start,end\n", "bad header (missing product)"),
        ("product,start,end,colour\n", "unknown column(s) colour"),
        ("[1]", "item 1 is not an object"),
        ("{", "not valid JSON"),
        ("product,start,end\n", "no outages in the file"),
    ],
)
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        outages.parse_outages(text, "f.csv")

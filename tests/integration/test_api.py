"""The customer API (/api/v1) through the real ASGI app, on SQLite and PostgreSQL.

A customer only ever sees and touches its own occurrences and requests: every route is tried with
another customer's key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.occurrences import reschedule
from scheduler.occurrences.schedule import find_occurrence
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings


@pytest.fixture
def api(db: Database, db_url: str, tmp_path: Path) -> Iterator[ApiClient]:
    load(db)
    client = ApiClient(create_app(settings(tmp_path, db_url), database=db, clock=lambda: NOW))
    yield client
    client.close()


@pytest.fixture
def keys(db: Database, api: ApiClient) -> dict[str, str]:
    return {c: issue_api_key(db, NOW, c) for c in ("thames", "harbour")}


def test_authentication_is_required(api: ApiClient, keys: dict[str, str], db: Database) -> None:
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer mcak_wrong"},
        {"Authorization": "Bearer"},
    ):
        response = api.call("GET", "/api/v1/occurrences", headers=headers)
        assert response.status_code == 401
        assert set(response.json()) == {"error"}
    old = keys["thames"]
    issue_api_key(db, NOW, "thames", rotate=True)
    revoked = api.call("GET", "/api/v1/occurrences", old)
    assert (revoked.status_code, revoked.json()) == (401, {"error": "unknown or revoked API key"})


def test_occurrences_are_the_customers_own(api: ApiClient, keys: dict[str, str]) -> None:
    response = api.call("GET", "/api/v1/occurrences?from=2027-03-01&to=2027-03-03", keys["harbour"])
    assert response.status_code == 200
    assert [(o["id"], o["customer"], o["start"], o["end"], o["local_start"]) for o in response.json()] == [
        (
            "pc.early.20270302.harbour",
            "harbour",
            "2027-03-01T13:00:00Z",
            "2027-03-01T19:00:00Z",
            "2027-03-02T00:00:00+11:00",
        ),
        ("pe.nightly.20270302", "harbour", "2027-03-02T05:00:00Z", "2027-03-02T08:00:00Z", "2027-03-02T00:00:00-05:00"),
    ]
    bad = api.call("GET", "/api/v1/occurrences?from=2027-03-03&to=2027-03-01", keys["harbour"])
    assert (bad.status_code, bad.json()) == (422, {"error": "'to' must be after 'from'"})
    garbage = api.call("GET", "/api/v1/occurrences?from=yesterday", keys["harbour"])
    assert garbage.status_code == 422 and "error" in garbage.json()


def test_request_flow_and_isolation(
    api: ApiClient, keys: dict[str, str], db: Database, tmp_path: Path, db_url: str
) -> None:
    body = {"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z", "reason": "freeze"}
    created = api.call("POST", "/api/v1/reschedule-requests", keys["thames"], json=body)
    assert created.status_code == 201
    request = created.json()
    assert {k: request[k] for k in ("id", "occurrence", "customer", "status", "proposed_start", "proposed_end")} == {
        "id": 1,
        "occurrence": "pe.nightly.20270302",
        "customer": "thames",
        "status": "pending",
        "proposed_start": "2027-03-03T05:00:00Z",
        "proposed_end": "2027-03-03T08:00:00Z",
    }
    again = api.call("POST", "/api/v1/reschedule-requests", keys["thames"], json=body)
    assert (again.status_code, again.json()) == (409, {"error": "request 1 for 'pe.nightly.20270302' is still pending"})

    # The other customer sees nothing of it, and cannot touch thames' local occurrences.
    assert api.call("GET", "/api/v1/reschedule-requests/1", keys["harbour"]).status_code == 404
    assert api.call("GET", "/api/v1/reschedule-requests", keys["harbour"]).json() == []
    foreign = api.call(
        "POST",
        "/api/v1/reschedule-requests",
        keys["harbour"],
        json={"occurrence": "pc.early.20270302.thames", "proposed_start": "2027-03-03T00:00:00Z"},
    )
    assert (foreign.status_code, foreign.json()) == (
        404,
        {"error": "no occurrence 'pc.early.20270302.thames' for customer 'harbour'"},
    )

    reschedule.approve(db, NOW, settings(tmp_path, db_url), 1)
    mine = api.call("GET", "/api/v1/reschedule-requests/1", keys["thames"]).json()
    assert (mine["status"], mine["decided_at"]) == ("approved", "2027-01-04T12:00:00Z")
    listed = api.call("GET", "/api/v1/occurrences?from=2027-03-02&to=2027-03-04", keys["thames"]).json()
    moved = [o for o in listed if o["id"] == "pe.nightly.20270302"]
    assert [(o["status"], o["start"], o["sequence"], o["notice_deadline"]) for o in moved] == [
        ("moved", "2027-03-03T05:00:00Z", 1, None)
    ]
    with db.transaction() as session:
        theirs = find_occurrence(session, "pe.nightly.20270302", "harbour")
    assert theirs is not None and (theirs.status, theirs.sequence) == ("scheduled", 0)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"occurrence": "pe.nightly.20270302", "proposed_start": "soon"}, 422, "invalid instant 'soon'"),
        ({"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00"}, 422, "has no offset"),
        ({"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-30T05:00:00Z"}, 422, "within 14 days"),
        (
            {"occurrence": "zz.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z"},
            404,
            "no occurrence 'zz.nightly.20270302' for customer 'thames'",
        ),
        ({"occurrence": "pe.unplanned-1", "proposed_start": "2027-03-03T05:00:00Z"}, 422, "cannot be rescheduled"),
        ({"proposed_start": "2027-03-03T05:00:00Z"}, 422, ""),
    ],
)
def test_bad_requests_are_4xx_json(
    api: ApiClient, keys: dict[str, str], body: dict[str, str], status: int, message: str
) -> None:
    response = api.call("POST", "/api/v1/reschedule-requests", keys["thames"], json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_unknown_request_ids(api: ApiClient, keys: dict[str, str]) -> None:
    for path in ("/api/v1/reschedule-requests/99", "/api/v1/reschedule-requests/0", "/api/v1/reschedule-requests/x"):
        response = api.call("GET", path, keys["thames"])
        assert response.status_code in (404, 422)
        assert set(response.json()) == {"error"}

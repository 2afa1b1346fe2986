"""Every /api/v1 route, taken from the app itself, against every kind of bad credential.

A route added later without an entry in ROUTES fails ``test_every_route_is_covered``; each route
is called with no key, malformed headers, a wrong key, a rotated (old) key, another customer's key
and the owner's key, and must answer exactly as listed, on SQLite and PostgreSQL. Credentials are
checked before anything else, so a caller without a valid key learns nothing from validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from scheduler.blackouts import declare
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.api import api_router
from scheduler.http.app import create_app
from scheduler.occurrences import reschedule
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings, utc

NO_KEY = {"error": "send your API key as 'Authorization: Bearer <key>'"}
BAD_KEY = {"error": "unknown or revoked API key"}

MALFORMED = [
    "Basic dGhhbWVzOnNlY3JldA==",
    "Bearer",
    "Bearer ",
    "Bearer    ",
    "Token mcak_abc",
    "mcak_abc",
    "Bearer\tmcak_abc",
    "",
]
WRONG = [
    "Bearer mcak_" + "A" * 43,
    "Bearer not-a-key",
    "Bearer mcak_" + "x" * 300,
    "bearer mcak_wrong",
    "Bearer mcak_wrong extra",
]


@dataclass(frozen=True)
class Call:
    path: str
    json: dict[str, str] | None = None


@dataclass(frozen=True)
class Route:
    """How to call one route, what its owner gets and what another customer gets."""

    call: Call
    owner: tuple[int, Any]
    other: tuple[int, Any]
    invalid: list[Call] = field(default_factory=list)  # bad input: still 401 without a valid key


def _occurrence(
    occ_id: str, customer: str, start: str, end: str, local_start: str, local_end: str, deadline: str
) -> dict[str, Any]:
    rule = occ_id.split(".")[1]
    local = {"thames": "Europe/London", "harbour": "Australia/Sydney"}
    timezone = "America/New_York" if rule == "nightly" else local[customer]  # pe's zone, or pc's "local"
    return {
        "id": occ_id,
        "uid": f"{occ_id}@test.example",
        "product": occ_id.split(".")[0],
        "rule": rule,
        "customer": customer,
        "kind": "planned",
        "status": "scheduled",
        "start": start,
        "end": end,
        "timezone": timezone,
        "local_start": local_start,
        "local_end": local_end,
        "sequence": 0,
        "notice_deadline": deadline,
        "imported": False,
    }


def _request(request_id: int, occurrence: str, start: str, end: str, customer: str = "thames") -> dict[str, Any]:
    return {
        "id": request_id,
        "occurrence": occurrence,
        "product": occurrence.split(".")[0],
        "customer": customer,
        "status": "pending",
        "proposed_start": start,
        "proposed_end": end,
        "reason": None,
        "created_at": "2027-01-04T12:00:00Z",
        "decided_at": None,
        "decision_note": None,
    }


def _blackout(blackout_id: int, customer: str, label: str, kind: str, spec: str, status: str) -> dict[str, Any]:
    return {"id": blackout_id, "customer": customer, "label": label, "kind": kind, "status": status, "spec": spec}


RANGE = "from=2027-03-01&to=2027-03-03"
FIRST = _request(1, "pe.nightly.20270302", "2027-03-03T05:00:00Z", "2027-03-03T08:00:00Z")
HARBOURS = _request(2, "pe.nightly.20270304", "2027-03-05T05:00:00Z", "2027-03-05T08:00:00Z", "harbour")
BLACK_FRIDAY = _blackout(1, "thames", "Black Friday week", "yearly", "11-22:11-30", "active")

ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v1/occurrences"): Route(
        Call(f"/api/v1/occurrences?{RANGE}"),
        owner=(
            200,
            [
                _occurrence(
                    "pc.early.20270302.thames",
                    "thames",
                    "2027-03-02T00:00:00Z",
                    "2027-03-02T06:00:00Z",
                    "2027-03-02T00:00:00+00:00",
                    "2027-03-02T06:00:00+00:00",
                    "2027-01-31T00:00:00Z",
                ),
                _occurrence(
                    "pe.nightly.20270302",
                    "thames",
                    "2027-03-02T05:00:00Z",
                    "2027-03-02T08:00:00Z",
                    "2027-03-02T00:00:00-05:00",
                    "2027-03-02T03:00:00-05:00",
                    "2027-01-31T05:00:00Z",
                ),
            ],
        ),
        other=(
            200,
            [
                _occurrence(
                    "pc.early.20270302.harbour",
                    "harbour",
                    "2027-03-01T13:00:00Z",
                    "2027-03-01T19:00:00Z",
                    "2027-03-02T00:00:00+11:00",
                    "2027-03-02T06:00:00+11:00",
                    "2027-01-30T13:00:00Z",
                ),
                _occurrence(
                    "pe.nightly.20270302",
                    "harbour",
                    "2027-03-02T05:00:00Z",
                    "2027-03-02T08:00:00Z",
                    "2027-03-02T00:00:00-05:00",
                    "2027-03-02T03:00:00-05:00",
                    "2027-01-31T05:00:00Z",
                ),
            ],
        ),
        invalid=[Call("/api/v1/occurrences?from=yesterday"), Call(f"/api/v1/occurrences?{RANGE}&product=zz")],
    ),
    ("POST", "/api/v1/reschedule-requests"): Route(
        Call(
            "/api/v1/reschedule-requests",
            {"occurrence": "pc.early.20270309.thames", "proposed_start": "2027-03-10T00:00:00Z"},
        ),
        owner=(
            201,
            _request(3, "pc.early.20270309.thames", "2027-03-10T00:00:00Z", "2027-03-10T06:00:00Z"),
        ),
        other=(404, {"error": "no occurrence 'pc.early.20270309.thames' for customer 'harbour'"}),
        invalid=[
            Call("/api/v1/reschedule-requests", {}),
            Call("/api/v1/reschedule-requests", {"occurrence": "zz.a.20270302", "proposed_start": "soon"}),
        ],
    ),
    ("GET", "/api/v1/reschedule-requests"): Route(
        Call("/api/v1/reschedule-requests"),
        owner=(200, [FIRST]),
        other=(200, [HARBOURS]),
    ),
    ("GET", "/api/v1/reschedule-requests/{request_id}"): Route(
        Call("/api/v1/reschedule-requests/1"),
        owner=(200, FIRST),
        other=(404, {"error": "no reschedule request 1"}),
        invalid=[Call("/api/v1/reschedule-requests/x"), Call("/api/v1/reschedule-requests/99")],
    ),
    ("GET", "/api/v1/blackouts"): Route(
        Call("/api/v1/blackouts"),
        owner=(200, [BLACK_FRIDAY]),
        other=(200, []),
    ),
    ("POST", "/api/v1/blackouts"): Route(
        Call("/api/v1/blackouts", {"label": "Close", "monthly": "last-2"}),  # from Jan 30: inside the 30 lead days
        owner=(201, _blackout(3, "thames", "Close", "monthly", "last-2", "pending")),
        other=(201, _blackout(2, "harbour", "Close", "monthly", "last-2", "pending")),
        invalid=[Call("/api/v1/blackouts", {}), Call("/api/v1/blackouts", {"label": "x", "monthly": "soon"})],
    ),
    ("DELETE", "/api/v1/blackouts/{blackout_id}"): Route(
        Call("/api/v1/blackouts/1"),
        owner=(200, BLACK_FRIDAY),
        other=(404, {"error": "no blackout 1"}),
        invalid=[Call("/api/v1/blackouts/x"), Call("/api/v1/blackouts/99")],
    ),
}


def _api_routes(database_url: str) -> set[tuple[str, str]]:
    """Every (method, path) under /api/: the app's OpenAPI document (whatever router a route came
    from) and the API router's own routes (also those hidden from the document)."""
    conf = Settings(database_url=database_url)  # the app refuses a database without the schema
    published = {
        (method.upper(), path)
        for path, operations in create_app(conf).openapi()["paths"].items()
        for method in operations
        if path.startswith("/api/")
    }
    database = Database.open(conf.database_url)
    router = api_router(database, conf, lambda: NOW)
    database.dispose()
    own = {(m, route.path) for route in router.routes if isinstance(route, APIRoute) for m in route.methods or ()}
    return published | own


def test_every_route_is_covered(tmp_path: Path, sqlite_template: Path) -> None:
    copy = tmp_path / "routes.db"
    copy.write_bytes(sqlite_template.read_bytes())
    assert _api_routes(f"sqlite:///{copy}") == set(ROUTES)


@dataclass
class Keys:
    thames: str
    rotated: str  # thames' previous key, revoked by --rotate
    harbour: str


@pytest.fixture
def api(db: Database, db_url: str, tmp_path: Path) -> Iterator[tuple[ApiClient, Keys]]:
    load(db)
    rotated = issue_api_key(db, NOW, "thames")
    keys = Keys(issue_api_key(db, NOW, "thames", rotate=True), rotated, issue_api_key(db, NOW, "harbour"))
    reschedule.request(
        db, NOW, customer="thames", occurrence_id="pe.nightly.20270302", proposed_start=utc("2027-03-03T05:00:00Z")
    )
    reschedule.request(  # harbour's own request: never shown to thames
        db, NOW, customer="harbour", occurrence_id="pe.nightly.20270304", proposed_start=utc("2027-03-05T05:00:00Z")
    )
    conf = settings(tmp_path, db_url)
    declare.add_blackout(
        db, NOW, conf, "thames", declare.spec_from_inputs(None, None, "11-22:11-30", None), "Black Friday week"
    )
    client = ApiClient(create_app(conf, database=db, clock=lambda: NOW))
    yield client, keys
    client.close()


def _send(client: ApiClient, method: str, call: Call, authorization: str | None) -> tuple[int, Any, str | None]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.call(method, call.path, headers=headers, json=call.json)
    assert response.headers["content-type"] == "application/json", (method, call, authorization)
    return response.status_code, response.json(), response.headers.get("www-authenticate")


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_credentials_on_every_route(api: tuple[ApiClient, Keys], method: str, path: str) -> None:
    client, keys = api
    route = ROUTES[(method, path)]
    refused: list[tuple[str | None, tuple[int, Any, str | None]]] = []
    expected: list[tuple[str | None, tuple[int, Any, str | None]]] = []
    for call in [route.call, *route.invalid]:
        cases: list[tuple[str | None, tuple[int, Any, str | None]]] = [
            (None, (401, NO_KEY, "Bearer")),
            *((header, (401, NO_KEY, "Bearer")) for header in MALFORMED),
            *((header, (401, BAD_KEY, 'Bearer error="invalid_token"')) for header in WRONG),
            (f"Bearer {keys.rotated}", (401, BAD_KEY, 'Bearer error="invalid_token"')),
        ]
        for header, answer in cases:
            expected.append((header, answer))
            refused.append((header, _send(client, method, call, header)))
    assert refused == expected

    other = _send(client, method, route.call, f"Bearer {keys.harbour}")
    assert other == (*route.other, None)
    owner = _send(client, method, route.call, f"bearer  {keys.thames} ")  # scheme is case-insensitive
    assert owner == (*route.owner, None)

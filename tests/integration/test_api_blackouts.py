"""``/api/v1/blackouts`` through the real ASGI app: a customer's own blackouts only (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.blackout_fixtures import NOW, load


@pytest.fixture
def api(db: Database, db_url: str, tmp_path: Path) -> Iterator[ApiClient]:
    load(db)
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")
    client = ApiClient(create_app(settings, database=db, clock=lambda: NOW))
    yield client
    client.close()


def test_a_customer_declares_lists_and_removes_its_own(api: ApiClient, db: Database) -> None:
    deccan, thames = issue_api_key(db, NOW, "deccan"), issue_api_key(db, NOW, "thames")
    assert api.call("GET", "/api/v1/blackouts").status_code == 401
    body = {"label": "Stock audit", "start": "2027-02-08T00:00", "end": "2027-02-12T00:00"}
    created = api.call("POST", "/api/v1/blackouts", deccan, json=body)
    assert (created.status_code, created.json()) == (
        201,
        {
            "id": 1,
            "customer": "deccan",
            "label": "Stock audit",
            "kind": "once",
            "status": "active",
            "spec": "2027-02-08T00:00/2027-02-12T00:00",
            "start": "2027-02-07T18:30:00Z",
            "end": "2027-02-11T18:30:00Z",
        },
    )
    late = api.call("POST", "/api/v1/blackouts", thames, json={"label": "Month end", "monthly": "last-2"})
    assert (late.status_code, late.json()["status"]) == (201, "pending")
    assert [b["id"] for b in api.call("GET", "/api/v1/blackouts", deccan).json()] == [1]
    assert [b["id"] for b in api.call("GET", "/api/v1/blackouts", thames).json()] == [2]
    other = api.call("DELETE", "/api/v1/blackouts/1", thames)
    assert (other.status_code, other.json()) == (404, {"error": "no blackout 1"})
    bad = api.call("POST", "/api/v1/blackouts", deccan, json={"label": "x", "yearly": "13-01:13-02"})
    assert bad.status_code == 422 and set(bad.json()) == {"error"}
    both = api.call("POST", "/api/v1/blackouts", deccan, json={"label": "x", "yearly": "11-01:11-02", "monthly": "1-2"})
    assert both.status_code == 422
    assert api.call("DELETE", "/api/v1/blackouts/1", deccan).status_code == 200
    assert api.call("GET", "/api/v1/blackouts", deccan).json() == []

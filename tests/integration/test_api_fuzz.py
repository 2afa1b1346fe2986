"""Fuzzing the real ASGI app from its own OpenAPI document (schemathesis): no 5xx, errors are JSON.

Every operation gets generated requests, valid and invalid (schemathesis' positive and negative
modes), sent with a valid customer API key, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load
from tests.integration.changes_fixtures import settings as app_settings

EXAMPLES = 20


def test_no_server_errors_and_json_errors(db: Database, db_url: str, tmp_path: Path) -> None:
    load(db)
    issue_feed_token(db, NOW, "thames")
    key = issue_api_key(db, NOW, "thames")
    app = create_app(app_settings(tmp_path, db_url), database=db, clock=lambda: NOW)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # the OpenAPI document is valid
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 8  # feeds, products, health (GET + HEAD), and the /api/v1 routes
    checked: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: Any) -> None:
                response = case.call(headers={"Authorization": f"Bearer {key}"})
                where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                assert response.status_code < 500, where
                if response.status_code >= 400 and case.method != "HEAD":
                    body = json.loads(response.text)
                    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], where

            try:
                check()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, or only free-form strings): negative mode only.
                assert mode == GenerationMode.NEGATIVE, operation.path
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /api/v1/reschedule-requests" in checked

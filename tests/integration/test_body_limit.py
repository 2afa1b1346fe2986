"""The request body limit (issue 10 §2) through the real ASGI app, on SQLite and PostgreSQL.

A body over ``MAX_BODY_BYTES`` gets 413 with ``{"error": ...}`` before authentication, and the
app reads at most the limit plus one chunk of it: a 200 MB POST without a key is not read whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.http.body_limit import MAX_BODY_BYTES, _content_length
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings

TOO_LARGE = {"error": "request body too large: at most 16384 bytes are accepted"}
PATH = "/api/v1/reschedule-requests"
CHUNK = 64 * 1024


class Body:
    """An async request body of ``total`` bytes in 64 KiB chunks that counts what was read of it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            chunk = b"x" * min(CHUNK, self.total - self.sent)
            self.sent += len(chunk)
            yield chunk


@pytest.fixture
def client(db: Database, db_url: str, tmp_path: Path) -> Iterator[tuple[ApiClient, str]]:
    load(db)
    key = issue_api_key(db, NOW, "thames")
    client = ApiClient(create_app(settings(tmp_path, db_url), database=db, clock=lambda: NOW))
    yield client, key
    client.close()


def test_the_limit_is_16_kib() -> None:
    assert MAX_BODY_BYTES == 16384


def test_a_declared_length_over_the_limit_is_refused_unread_before_authentication(
    client: tuple[ApiClient, str],
) -> None:
    api, _ = client
    body = Body(200 * 1024 * 1024)
    response = api.call("POST", PATH, headers={"Content-Length": str(body.total)}, content=body)
    assert (response.status_code, response.json(), response.headers["connection"]) == (413, TOO_LARGE, "close")
    assert body.sent == 0  # not one byte of the 200 MB was read


def test_a_chunked_body_over_the_limit_is_refused_after_the_limit(client: tuple[ApiClient, str]) -> None:
    api, key = client
    for authorization in (None, key):  # with or without a valid key: 413, not 401
        body = Body(200 * 1024 * 1024)
        response = api.call("POST", PATH, key=authorization, content=body)
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert (response.status_code, response.json()) == (413, TOO_LARGE)
        assert body.sent == CHUNK  # one 64 KiB chunk passed the limit: nothing more was read


def test_one_byte_over_the_limit_is_refused_and_the_limit_itself_is_not(client: tuple[ApiClient, str]) -> None:
    api, key = client
    for size, declared in ((MAX_BODY_BYTES + 1, True), (MAX_BODY_BYTES + 1, False)):
        headers = {"Content-Length": str(size)} if declared else {}
        response = api.call("POST", PATH, key=key, headers=headers, content=Body(size))
        assert (response.status_code, response.json()) == (413, TOO_LARGE)
    # Exactly the limit reaches the app whole: a JSON body padded with spaces to 16384 bytes.
    body = b'{"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z"}'
    padded = body.ljust(MAX_BODY_BYTES, b" ")
    at_limit = api.call("POST", PATH, key=key, content=padded, headers={"Content-Type": "application/json"})
    assert (len(padded), at_limit.status_code, at_limit.json()["occurrence"]) == (16384, 201, "pe.nightly.20270302")


def test_normal_requests_are_unaffected(client: tuple[ApiClient, str]) -> None:
    api, key = client
    body = {"occurrence": "pe.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z", "reason": "r" * 2000}
    created = api.call("POST", PATH, key=key, json=body)
    assert (created.status_code, created.json()["occurrence"]) == (201, "pe.nightly.20270302")
    chunked = api.call("POST", PATH, key="mcak_wrong", content=Body(100))
    assert (chunked.status_code, chunked.json()) == (401, {"error": "unknown or revoked API key"})
    assert api.call("GET", "/api/v1/reschedule-requests", key=key).status_code == 200
    assert api.call("GET", "/healthz").json() == {"status": "ok", "data_version": 10}


def test_an_invalid_content_length_is_a_400(client: tuple[ApiClient, str]) -> None:
    api, key = client
    for value in ("-1", "12x", "+5", "1e3"):
        response = api.call("POST", PATH, key=key, headers={"Content-Length": value}, content=b"{}")
        assert (response.status_code, response.json()) == (400, {"error": "invalid Content-Length header"})


def test_a_content_length_of_other_digits_is_invalid() -> None:
    """Latin-1 superscript digits pass ``str.isdigit`` but are not a length."""
    assert _content_length({"headers": [(b"content-length", "\u00b2".encode("latin-1"))]}) == -1
    assert _content_length({"headers": [(b"Content-Length", b" 42 ")]}) == 42
    assert _content_length({"headers": []}) is None

"""Wrong credentials are slowed down per client address (issue 10 §2), through the real ASGI app
on SQLite and PostgreSQL, with two client addresses and the app's injectable clock.

After 20 wrong API keys or feed tokens from one address within 60 s, that address gets 429 with
``Retry-After`` and ``{"error": ...}`` for every request that presents a credential (its valid
ones too: no oracle for a guesser) until the oldest failure is 60 s old; other addresses, and
requests without a credential, are not affected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scheduler.catalogue.apikeys import issue_api_key
from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.http.ratelimit import MAX_CLIENTS, MAX_FAILURES, WINDOW_SECONDS, FailureLimiter
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings

BAD_KEY = (401, {"error": "unknown or revoked API key"})
NOT_FOUND = (404, {"error": "not found"})
WRONG_KEY = "mcak_" + "A" * 43
WRONG_FEED = "/feeds/" + "A" * 43 + ".ics"
LIST = "/api/v1/reschedule-requests"


def too_many(wait: int) -> tuple[int, dict[str, str], str]:
    message = f"too many wrong API keys or feed tokens from your address; try again in {wait} s"
    return 429, {"error": message}, str(wait)


@dataclass
class Setup:
    a: ApiClient  # the guessing address
    b: ApiClient  # another address
    key: str
    feed: str
    now: list[datetime]

    def at(self, seconds: float) -> None:
        self.now[0] = NOW + timedelta(seconds=seconds)


@pytest.fixture
def setup(db: Database, db_url: str, tmp_path: Path) -> Iterator[Setup]:
    load(db)
    key = issue_api_key(db, NOW, "thames")
    feed = f"/feeds/{issue_feed_token(db, NOW, 'thames')}.ics"
    now = [NOW]
    app = create_app(settings(tmp_path, db_url), database=db, clock=lambda: now[0])
    a, b = ApiClient(app, client=("203.0.113.7", 50000)), ApiClient(app, client=("198.51.100.2", 50001))
    yield Setup(a, b, key, feed, now)
    a.close()
    b.close()


def answer(client: ApiClient, path: str, key: str | None = None) -> tuple[int, object]:
    response = client.call("GET", path, key=key)
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()


def blocked(client: ApiClient, path: str, key: str | None = None) -> tuple[int, object, str]:
    response = client.call("GET", path, key=key)
    return response.status_code, response.json(), response.headers["retry-after"]


def test_the_limits() -> None:
    assert (MAX_FAILURES, WINDOW_SECONDS, MAX_CLIENTS) == (20, 60.0, 10_000)


def test_twenty_wrong_keys_then_429_for_that_address_only(setup: Setup) -> None:
    s = setup
    for second in range(MAX_FAILURES):  # one wrong key a second: all twenty are answered 401
        s.at(second)
        assert answer(s.a, LIST, WRONG_KEY) == BAD_KEY
    s.at(19.5)
    assert blocked(s.a, LIST, WRONG_KEY) == too_many(41)  # the first failure (t=0) leaves the window at t=60
    assert blocked(s.a, LIST, s.key) == too_many(41)  # a valid key from that address too
    assert blocked(s.a, s.feed) == too_many(41)  # and a valid feed token
    # Other addresses, and requests without a credential, are not affected.
    assert answer(s.b, LIST, s.key) == (200, [])
    assert answer(s.b, LIST, WRONG_KEY) == BAD_KEY
    assert s.b.call("GET", s.feed).status_code == 200
    assert answer(s.a, LIST) == (401, {"error": "send your API key as 'Authorization: Bearer <key>'"})
    assert answer(s.a, "/healthz")[0] == 200
    s.at(59.9)
    assert blocked(s.a, LIST, s.key) == too_many(1)
    s.at(60)  # the first failure left the window: one more guess, then blocked again until t=61
    assert answer(s.a, LIST, s.key) == (200, [])
    assert answer(s.a, LIST, WRONG_KEY) == BAD_KEY
    assert blocked(s.a, LIST, s.key) == too_many(1)
    s.at(61)
    assert answer(s.a, LIST, s.key) == (200, [])


def test_wrong_feed_tokens_count_with_wrong_keys(setup: Setup) -> None:
    s = setup
    for _ in range(MAX_FAILURES // 2):
        assert answer(s.a, WRONG_FEED) == NOT_FOUND
        assert answer(s.a, LIST, WRONG_KEY) == BAD_KEY
    s.at(30)
    assert blocked(s.a, WRONG_FEED) == too_many(30)
    head = s.a.call("HEAD", WRONG_FEED)
    assert (head.status_code, head.headers["retry-after"]) == (429, "30")
    assert blocked(s.a, LIST, WRONG_KEY) == too_many(30)
    assert answer(s.b, WRONG_FEED) == NOT_FOUND
    assert s.b.call("GET", s.feed).status_code == 200
    s.at(60)
    assert s.a.call("GET", s.feed).status_code == 200
    assert answer(s.a, WRONG_FEED) == NOT_FOUND


def test_valid_credentials_are_never_counted(setup: Setup) -> None:
    s = setup
    for _ in range(3 * MAX_FAILURES):
        assert s.a.call("GET", s.feed).status_code == 200
        assert answer(s.a, LIST, s.key) == (200, [])
        assert answer(s.a, LIST)[0] == 401  # no key at all: not a guess
        assert answer(s.a, "/products/nope.ics") == NOT_FOUND  # product keys are public, not credentials
    assert answer(s.a, LIST, WRONG_KEY) == BAD_KEY


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    limiter = FailureLimiter(max_failures=2, window_seconds=60, max_clients=3)
    for n in range(5):
        limiter.record_failure(f"10.0.0.{n}", 0.0)
        limiter.record_failure(f"10.0.0.{n}", 1.0)
    assert len(limiter) == 3
    assert [limiter.retry_after(f"10.0.0.{n}", 2.0) for n in range(5)] == [None, None, 58, 58, 58]
    for _ in range(1000):  # one address's failures are bounded too
        limiter.record_failure("10.0.0.4", 3.0)
    assert limiter.retry_after("10.0.0.4", 3.0) == 60
    assert limiter.retry_after("10.0.0.4", 63.0) is None
    assert len(limiter) == 2  # an address whose failures all expired is forgotten when asked

"""Feed validators from memory (issue 11): a 304 costs no database query, and what another process
changes (the CLI, another server) shows within ``feed_version_poll_ms``, on both databases.

"Another process" is a real one here: the CLI run as a subprocess, whose writes this process cannot
see except through the database. The staleness bound is measured on a pinned monotonic clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from scheduler.feeds.fingerprint import feed_validator
from scheduler.feeds.index import FeedIndex, read_stamp
from scheduler.feeds.tokens import issue_feed_token, revoke_feed_token
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer
from tests.feed_helpers import NOW, AppClient, load_dst_catalogue
from windows.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
BOUND = 1.0  # seconds: the default MAINTCAL_FEED_VERSION_POLL_MS of 1000
NOT_FOUND = (404, b'{"error":"not found"}')


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Queries:
    """Every statement sent on one engine, counted by a SQLAlchemy event listener."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, base_url="https://maint.example.com", feed_render_processes=0)


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def app(db: Database, settings: Settings, ticks: Ticks) -> FastAPI:
    load_dst_catalogue(db)
    return create_app(settings, database=db, clock=lambda: NOW, monotonic=ticks)


@pytest.fixture
def client(app: FastAPI) -> Iterator[AppClient]:
    with AppClient(app) as test_client:
        yield test_client


def maintcal(db_url: str, *args: str) -> str:
    """The CLI in its own process (so its writes reach this one only through the database)."""
    done = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "--db", db_url, *args],
        cwd=ROOT,
        env={**os.environ, "MAINTCAL_BASE_URL": "https://maint.example.com"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def etag_now(db: Database, settings: Settings, customer: str = "koala") -> str:
    with db.transaction() as session:
        customer_id = session.scalars(select(Customer.id).where(Customer.key == customer)).one()
        stamp = read_stamp(session, "customer", customer_id)
    return feed_validator(settings, ("customer", customer_id), stamp, NOW.date()).etag


def test_a_304_is_answered_without_a_database_query(db: Database, settings: Settings, client: AppClient) -> None:
    token = issue_feed_token(db, NOW, "koala")
    first = client.get(f"/feeds/{token}.ics")
    product = client.get("/products/ny.ics")
    assert (first.status_code, product.status_code) == (200, 200)
    expected = etag_now(db, settings)
    queries = Queries(db)
    try:
        for _ in range(3):
            polled = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": first.headers["etag"]})
            assert (polled.status_code, polled.content, polled.headers["etag"]) == (304, b"", expected)
            public = client.get("/products/ny.ics", headers={"If-None-Match": product.headers["etag"]})
            assert (public.status_code, public.headers["etag"]) == (304, product.headers["etag"])
        again = client.get(f"/feeds/{token}.ics")  # a warm 200 from the cache: no query either
        assert (again.status_code, again.content) == (200, first.content)
    finally:
        queries.close()
    assert queries.statements == []


def test_a_change_by_another_process_shows_in_the_etag_within_the_bound(
    db: Database, db_url: str, settings: Settings, client: AppClient, ticks: Ticks
) -> None:
    token = issue_feed_token(db, NOW, "koala")
    old = client.get(f"/feeds/{token}.ics").headers["etag"]
    assert old == etag_now(db, settings)
    maintcal(db_url, "customer", "add", "newco", "--name", "New Co", "--tz", "UTC", "--contact", "ops@new.example")
    assert etag_now(db, settings) == old  # another customer: koala's feed did not change
    maintcal(db_url, "customer", "subscribe", "koala", "london")
    new = etag_now(db, settings)
    assert new != old
    ticks.now += BOUND - 0.001  # within the bound: the versions read before the change still stand
    stale = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": old})
    assert (stale.status_code, stale.headers["etag"]) == (304, old)
    ticks.now += 0.001  # the bound has passed: read again, then answered with the new ETag
    fresh = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": old})
    assert (fresh.status_code, fresh.headers["etag"]) == (200, new)
    assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": new}).status_code == 304


def test_a_token_revoked_or_rotated_by_the_cli_stops_working_within_the_bound(
    db: Database, db_url: str, client: AppClient, ticks: Ticks
) -> None:
    token = issue_feed_token(db, NOW, "koala")
    brit = issue_feed_token(db, NOW, "brit")
    etag = client.get(f"/feeds/{token}.ics").headers["etag"]
    assert client.get(f"/feeds/{brit}.ics").status_code == 200
    assert maintcal(db_url, "customer", "feed-url", "koala", "--revoke") == "revoked the feed URL of koala\n"
    ticks.now += BOUND - 0.001
    assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": etag}).status_code == 304
    ticks.now += 0.001
    for headers in ({}, {"If-None-Match": etag}):
        gone = client.get(f"/feeds/{token}.ics", headers=headers)
        assert (gone.status_code, gone.content) == NOT_FOUND
    assert client.get(f"/feeds/{brit}.ics").status_code == 200  # other customers' tokens still work
    # Rotation by the CLI: the new token works at once (looked up), the old one within the bound.
    rotated = maintcal(db_url, "customer", "feed-url", "brit", "--rotate").splitlines()[0]
    new_token = rotated.removeprefix("https://maint.example.com/feeds/").removesuffix(".ics")
    assert client.get(f"/feeds/{new_token}.ics").status_code == 200
    assert client.get(f"/feeds/{brit}.ics").status_code == 200  # still within the bound
    ticks.now += BOUND
    assert (client.get(f"/feeds/{brit}.ics").status_code, client.get(f"/feeds/{new_token}.ics").status_code) == (
        404,
        200,
    )


def test_a_write_through_this_process_shows_at_once(db: Database, client: AppClient, ticks: Ticks) -> None:
    token = issue_feed_token(db, NOW, "koala")
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    assert revoke_feed_token(db, NOW, "koala") is True  # no clock move: a local commit marks the versions stale
    assert (client.get(f"/feeds/{token}.ics").status_code, ticks.now) == (404, 100.0)


def test_two_servers_over_one_database_agree_within_the_bound(
    db: Database, db_url: str, settings: Settings, client: AppClient, ticks: Ticks
) -> None:
    token = issue_feed_token(db, NOW, "koala")
    other_db = Database.open(db_url)  # a second server: its own engine, index and cache
    other_ticks = Ticks()
    try:
        with AppClient(create_app(settings, database=other_db, clock=lambda: NOW, monotonic=other_ticks)) as other:
            first = [server.get(f"/feeds/{token}.ics") for server in (client, other)]
            assert first[0].headers["etag"] == first[1].headers["etag"] and first[0].content == first[1].content
            maintcal(db_url, "customer", "add", "newco", "--name", "New Co", "--tz", "UTC", "--contact", "a@b.example")
            maintcal(db_url, "customer", "unsubscribe", "koala", "ny")
            maintcal(db_url, "customer", "feed-url", "brit")  # a token change too
            ticks.now += BOUND
            other_ticks.now += BOUND
            after = [server.get(f"/feeds/{token}.ics") for server in (client, other)]
            assert [r.status_code for r in after] == [200, 200]
            assert after[0].headers["etag"] == after[1].headers["etag"] == etag_now(db, settings)
            assert after[0].headers["etag"] != first[0].headers["etag"] and after[0].content == after[1].content
    finally:
        other_db.dispose()


def test_versions_are_read_once_per_bound_for_all_requests(
    db: Database, app: FastAPI, client: AppClient, ticks: Ticks
) -> None:
    token = issue_feed_token(db, NOW, "koala")
    index: FeedIndex = app.state.feeds.index
    for _ in range(5):
        client.get(f"/feeds/{token}.ics")
    reads = index.reads
    ticks.now += BOUND / 2
    for _ in range(5):
        client.get(f"/feeds/{token}.ics")
    assert index.reads == reads
    ticks.now += BOUND / 2
    for _ in range(5):
        client.get(f"/feeds/{token}.ics")
    # koala's token was read with the versions (every active token is, at the first read): no lookup
    assert (index.reads, index.lookups) == (reads + 1, 0)


def test_the_poll_setting() -> None:
    assert Settings().feed_version_poll_ms == 1000
    assert Settings.from_env({"MAINTCAL_FEED_VERSION_POLL_MS": "250"}).feed_version_poll_ms == 250
    assert Settings.from_env({"MAINTCAL_FEED_VERSION_POLL_MS": "0"}).feed_version_poll_ms == 0
    with pytest.raises(InvalidInput, match="MAINTCAL_FEED_VERSION_POLL_MS=-1 must be zero or more"):
        Settings.from_env({"MAINTCAL_FEED_VERSION_POLL_MS": "-1"})

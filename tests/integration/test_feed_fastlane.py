"""The feed fast lane answers exactly as the feed routes do (same status, headers, bytes), on both
databases: each case is asked twice, first through the app's route (the feed is not known yet),
then through the fast lane (``served`` counts its answers)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.http.ratelimit import FailureLimiter
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.feed_helpers import NOW, AppClient, load_dst_catalogue


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(db: Database, db_url: str) -> FastAPI:
    load_dst_catalogue(db)
    settings = Settings(database_url=db_url, feed_render_processes=0, feed_max_events=3)  # truncated feeds
    return create_app(settings, database=db, clock=lambda: NOW, monotonic=Ticks())


@pytest.fixture
def client(app: FastAPI) -> Iterator[AppClient]:
    with AppClient(app) as test_client:
        yield test_client


def served(app: FastAPI) -> int:
    lane = app.state.feeds.fast_lane
    return 0 if lane is None else int(lane.served)


def same(first: httpx.Response, second: httpx.Response) -> None:
    assert second.status_code == first.status_code
    assert second.headers.multi_items() == first.headers.multi_items()
    assert second.content == first.content


@pytest.mark.parametrize("path", ["token", "/products/ny.ics"])
def test_the_fast_lane_answers_as_the_route_does(db: Database, app: FastAPI, client: AppClient, path: str) -> None:
    if path == "token":
        path = f"/feeds/{issue_feed_token(db, NOW, 'koala')}.ics"
    full = client.get(path)  # rendered by the route
    assert (full.status_code, served(app)) == (200, 0)
    assert full.headers["x-maintcal-feed-truncated"] != "3"  # more than the 3 kept
    cases = [
        ("GET", {}),
        ("HEAD", {}),
        ("GET", {"If-None-Match": full.headers["etag"]}),
        ("HEAD", {"If-None-Match": full.headers["etag"]}),
        ("GET", {"If-None-Match": '"other", ' + full.headers["etag"]}),
        ("GET", {"If-Modified-Since": full.headers["last-modified"]}),
        ("GET", {"If-Modified-Since": "Mon, 04 Jan 2027 13:04:59 GMT"}),  # older than the data: 200
        ("GET", {"If-None-Match": '"stale"'}),
    ]
    statuses = []
    # Another app over the same data, with the feed cached too, whose versions are always past their
    # bound (its clock jumps before each request): its route answers every time.
    slow_ticks = Ticks()
    slow_app = create_app(app.state.settings, database=db, clock=lambda: NOW, monotonic=slow_ticks)
    with AppClient(slow_app) as slow:
        same(full, slow.get(path))
        for method, headers in cases:
            slow_ticks.now += 10
            by_route = slow.request(method, path, headers)
            before = served(app)
            by_lane = client.request(method, path, headers)
            assert served(app) == before + 1, (method, headers)
            same(by_route, by_lane)
            statuses.append(by_lane.status_code)
        assert served(slow_app) == 0
    assert statuses == [200, 200, 304, 304, 304, 304, 200, 200]


def test_what_the_fast_lane_does_not_know_goes_to_the_app(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    failures = FailureLimiter(max_failures=2)
    app = create_app(
        Settings(database_url=db_url, feed_render_processes=0),
        database=db,
        clock=lambda: NOW,
        failures=failures,
        monotonic=Ticks(),
    )
    token = issue_feed_token(db, NOW, "koala")
    with AppClient(app) as client:
        etag = client.get(f"/feeds/{token}.ics").headers["etag"]
        assert client.get(f"/feeds/{token}.ics", {"If-None-Match": etag}).status_code == 304
        assert served(app) == 1
        for path in ("/feeds/unknown.ics", "/products/lord-howe.ics", "/feeds/a/b.ics", "/feeds/.ics", "/feeds/x.ics"):
            missing = client.get(path)
            assert (missing.status_code, missing.content) == (404, b'{"error":"not found"}'), path
        blocked = client.get(f"/feeds/{token}.ics", {"If-None-Match": etag})  # 2 wrong tokens: rate limited
        assert (blocked.status_code, blocked.headers["retry-after"]) == (429, "60")
        assert served(app) == 1

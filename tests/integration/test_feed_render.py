"""Feeds render off the event loop, once per miss, and a 304 never renders (issue 10 §2, issue 11).

The app here renders in its pool of processes (the default), on both databases.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from scheduler.feeds.fingerprint import feed_validator
from scheduler.feeds.index import read_stamp
from scheduler.feeds.service import FeedService
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Product
from scheduler.store.repository import bump_version
from tests.feed_helpers import NOW, load_dst_catalogue

CLIENTS = 20


@pytest.fixture
def app(db: Database, db_url: str) -> Iterator[FastAPI]:
    load_dst_catalogue(db)
    app = create_app(Settings(database_url=db_url, feed_render_processes=2), database=db, clock=lambda: NOW)
    yield app
    app.state.feeds.close()


async def fetch_all(app: FastAPI, requests: list[tuple[str, dict[str, str]]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return list(await asyncio.gather(*(client.get(path, headers=headers) for path, headers in requests)))


def test_concurrent_requests_for_one_uncached_feed_render_it_once(app: FastAPI) -> None:
    service: FeedService = app.state.feeds
    responses = asyncio.run(fetch_all(app, [("/products/ny.ics", {})] * CLIENTS))
    assert [r.status_code for r in responses] == [200] * CLIENTS
    assert len({r.content for r in responses}) == 1 and b"BEGIN:VCALENDAR" in responses[0].content
    assert len({r.headers["etag"] for r in responses}) == 1
    assert (service.renders, len(service.cache)) == (1, 1)
    # Another feed at the same time renders separately; the first is served from the cache.
    more = asyncio.run(fetch_all(app, [("/products/ny.ics", {}), ("/products/london.ics", {})] * 5))
    assert [r.status_code for r in more] == [200] * 10
    assert more[0].content == responses[0].content
    assert (service.renders, len(service.cache)) == (2, 2)


def test_a_304_never_renders(db: Database, app: FastAPI) -> None:
    service: FeedService = app.state.feeds
    with db.transaction() as session:
        product_id = session.scalars(select(Product.id).where(Product.key == "ny")).one()
        stamp = read_stamp(session, "product", product_id)
    validator = feed_validator(app.state.settings, ("product", product_id), stamp, NOW.date())
    by_tag, by_date = asyncio.run(
        fetch_all(
            app,
            [
                ("/products/ny.ics", {"If-None-Match": validator.etag}),
                ("/products/ny.ics", {"If-Modified-Since": "Mon, 04 Jan 2027 13:05:00 GMT"}),
            ],
        )
    )
    for response in (by_tag, by_date):
        assert (response.status_code, response.content) == (304, b"")
        assert response.headers["etag"] == validator.etag
        assert response.headers["last-modified"] == "Mon, 04 Jan 2027 13:05:00 GMT"
    assert (service.renders, len(service.cache)) == (0, 0)
    (full,) = asyncio.run(fetch_all(app, [("/products/ny.ics", {})]))
    assert (full.status_code, full.headers["etag"], service.renders) == (200, validator.etag, 1)


def test_a_killed_render_process_is_replaced(db: Database, app: FastAPI) -> None:
    service: FeedService = app.state.feeds
    (first,) = asyncio.run(fetch_all(app, [("/products/ny.ics", {})]))
    executor = service.pool._executor
    assert isinstance(executor, ProcessPoolExecutor)
    for process in list(executor._processes.values()):
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        process.join()
    with db.transaction() as session:
        bump_version(session, NOW)
    (again,) = asyncio.run(fetch_all(app, [("/products/ny.ics", {})]))
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["etag"] != first.headers["etag"]
    assert service.renders == 2 and service.pool._executor is not executor

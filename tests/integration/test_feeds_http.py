"""The feed server through the real ASGI app (starlette's AppClient over httpx), on both databases."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter
from httpx import Response
from sqlalchemy import select

from scheduler.catalogue import edits as catalogue
from scheduler.feeds.content import RenderedFeed, customer_feed, horizon
from scheduler.feeds.fingerprint import Validator, feed_validator
from scheduler.feeds.index import read_stamp
from scheduler.feeds.service import FeedService
from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product
from scheduler.store.repository import bump_version, data_version
from tests.feed_helpers import NOW, AppClient, load_dst_catalogue
from windows.errors import Conflict, InvalidInput, NotFound
from windows.rulespec import RuleOptions, build_rule

CHANGED = "Mon, 04 Jan 2027 13:05:00 GMT"  # data_version.changed_at of the DST catalogue
NOT_FOUND_BODY = b'{"error":"not found"}'


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(db_url: str) -> Settings:
    # Renders in a thread here; tests/integration/test_feed_render.py covers the render processes.
    return Settings(
        database_url=db_url,
        base_url="https://maint.example.com",
        uid_domain="maintcal.example.com",
        feed_render_processes=0,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(db: Database, settings: Settings, clock: Clock) -> Iterator[AppClient]:
    load_dst_catalogue(db)
    with AppClient(create_app(settings, database=db, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def token(db: Database, client: AppClient) -> str:
    return issue_feed_token(db, NOW, "koala")


def expected_body(db: Database, settings: Settings, key: str = "koala", now: datetime = NOW) -> bytes:
    with db.transaction() as session:
        return customer_feed(session, settings, key, *horizon(now)).body


def validator_now(db: Database, settings: Settings, kind: str, key: str) -> Validator:
    """The validator of a feed from the rows, as the server knows it before rendering."""
    with db.transaction() as session:
        model = Customer if kind == "customer" else Product
        row_id = session.scalars(select(model.id).where(model.key == key)).one()
        stamp = read_stamp(session, kind, row_id)
    return feed_validator(settings, (kind, row_id), stamp, NOW.date())


def assert_not_found(response: Response) -> None:
    assert (response.status_code, response.content) == (404, NOT_FOUND_BODY)
    assert dict(response.headers) == {"content-length": "21", "content-type": "application/json"}


def test_customer_feed(db: Database, settings: Settings, client: AppClient, token: str) -> None:
    del client.headers["accept"]  # calendar clients often send no Accept header
    response = client.get(f"/feeds/{token}.ics")
    body = expected_body(db, settings)
    assert response.status_code == 200
    assert response.content == body
    assert dict(response.headers) == {
        "content-type": "text/calendar; charset=utf-8",
        "content-length": str(len(body)),
        "etag": validator_now(db, settings, "customer", "koala").etag,
        "last-modified": CHANGED,
        "cache-control": "private, max-age=300",
        "x-content-type-options": "nosniff",
        "content-disposition": 'inline; filename="koala.ics"',
    }


def test_head_sends_the_headers_without_the_body(
    db: Database, settings: Settings, client: AppClient, token: str
) -> None:
    get = client.get(f"/feeds/{token}.ics")
    head = client.head(f"/feeds/{token}.ics")
    assert (head.status_code, head.content) == (200, b"")
    assert dict(head.headers) == dict(get.headers)
    assert head.headers["content-length"] == str(len(expected_body(db, settings)))
    assert client.head(f"/feeds/{token}.ics", headers={"If-None-Match": get.headers["etag"]}).status_code == 304
    miss = client.head("/feeds/nope.ics")  # a real server drops the body of a HEAD response
    assert (miss.status_code, miss.headers["content-type"]) == (404, "application/json")


def test_public_product_feed(client: AppClient) -> None:
    response = client.get("/products/sydney.ics")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'inline; filename="sydney.ics"'
    assert response.content.count(b"BEGIN:VEVENT") == 62
    assert b"UID:feed:product:sydney@maintcal.example.com\r\n" in response.content


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": "ETAG"}, 304),
        ({"If-None-Match": '"other", ETAG'}, 304),
        ({"If-None-Match": "W/ETAG"}, 304),  # weak comparison for If-None-Match
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": CHANGED}, 304),
        ({"If-Modified-Since": "Tue, 05 Jan 2027 00:00:00 GMT"}, 304),
        ({"If-Modified-Since": "Mon, 04 Jan 2027 13:04:59 GMT"}, 200),
        ({"If-Modified-Since": "yesterday"}, 200),  # malformed: ignored
        ({"If-Modified-Since": "Mon, 32 Foo 2027 99:00:00 GMT"}, 200),
        ({"If-Modified-Since": ""}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": "Tue, 05 Jan 2027 00:00:00 GMT"}, 200),  # ETag wins
    ],
)
def test_conditional_requests(client: AppClient, token: str, headers: dict[str, str], status: int) -> None:
    etag = client.get(f"/feeds/{token}.ics").headers["etag"]
    response = client.get(f"/feeds/{token}.ics", headers={k: v.replace("ETAG", etag) for k, v in headers.items()})
    assert response.status_code == status
    if status == 304:
        assert response.content == b""
        assert dict(response.headers) == {
            "etag": etag,
            "last-modified": CHANGED,
            "cache-control": "private, max-age=300",
            "x-content-type-options": "nosniff",
        }


def test_every_miss_is_the_same_404(client: AppClient, token: str) -> None:
    for path in [
        f"/feeds/{secrets.token_urlsafe(32)}.ics",  # unknown
        "/feeds/x.ics",  # malformed
        f"/feeds/{token[:-1]}.ics",
        f"/feeds/{'A' * 5000}.ics",
        "/feeds/%00%ff%C3%BC.ics",
        "/feeds/..%2F..%2Fetc%2Fpasswd.ics",
        f"/feeds/{token}",  # no .ics
        f"/feeds/{token}.ics/",  # no redirect to the slash-less URL
        f"/feeds/{token}.ICS",
        "/products/lord-howe.ics",  # not public
        "/products/nope.ics",
        "/products/Sydney.ics",
        "/nothing/here",
    ]:
        assert_not_found(client.get(path))
    assert client.get(f"/feeds/{token}.ics").status_code == 200


def test_rotation_revokes_the_old_token(db: Database, client: AppClient, token: str) -> None:
    before = client.get(f"/feeds/{token}.ics")
    with pytest.raises(Conflict, match="already has a feed URL"):
        issue_feed_token(db, NOW, "koala")
    rotated = issue_feed_token(db, NOW + timedelta(minutes=1), "koala", rotate=True)
    assert rotated != token and len(rotated) == 43  # 32 random bytes, URL-safe base64
    assert_not_found(client.get(f"/feeds/{token}.ics"))
    assert_not_found(client.get(f"/feeds/{token}.ics", headers={"If-None-Match": before.headers["etag"]}))
    after = client.get(f"/feeds/{rotated}.ics")
    assert (after.status_code, after.content, after.headers["etag"]) == (200, before.content, before.headers["etag"])
    # Other customers' tokens are untouched by koala's rotation.
    other = issue_feed_token(db, NOW, "brit")
    issue_feed_token(db, NOW, "koala", rotate=True)
    assert client.get(f"/feeds/{other}.ics").status_code == 200
    assert_not_found(client.get(f"/feeds/{rotated}.ics"))


def test_servers_over_one_database_agree_after_a_change(
    db: Database, db_url: str, settings: Settings, client: AppClient, token: str
) -> None:
    first = client.get(f"/feeds/{token}.ics")
    other_db = Database.open(db_url)  # a second server process: its own engine and cache
    try:
        with AppClient(create_app(settings, database=other_db, clock=lambda: NOW)) as other:
            assert other.get(f"/feeds/{token}.ics").headers["etag"] == first.headers["etag"]
            changed_at = NOW + timedelta(hours=2)
            rule, _ = build_rule(
                RuleOptions("sydney", "extra", "Australia/Sydney", days="wed", start="01:00", end="02:00")
            )
            catalogue.add_window(db, changed_at, rule, waive_notice="test")
            for server in (client, other):
                stale = server.get(f"/feeds/{token}.ics", headers={"If-None-Match": first.headers["etag"]})
                assert stale.status_code == 200
                assert stale.headers["last-modified"] == "Mon, 04 Jan 2027 14:00:00 GMT"
                assert stale.content == expected_body(db, settings)
                assert b"UID:sydney.extra.20270106@" in stale.content
                fresh = server.get(f"/feeds/{token}.ics", headers={"If-None-Match": stale.headers["etag"]})
                assert fresh.status_code == 304
    finally:
        other_db.dispose()


def test_a_cached_feed_is_reused_until_the_data_or_the_day_changes(db: Database, settings: Settings) -> None:
    load_dst_catalogue(db)
    token = issue_feed_token(db, NOW, "koala")
    service = FeedService(db, settings)

    def fetch(now: datetime) -> RenderedFeed:
        found = asyncio.run(service.by_token(token, now))
        assert found is not None
        return asyncio.run(service.body(found))

    first = fetch(NOW)
    assert fetch(NOW + timedelta(hours=11)) is first  # same data, same day: no render
    assert service.renders == 1
    later_day = fetch(NOW + timedelta(days=3))
    assert later_day is not first and later_day.etag != first.etag
    assert later_day.body == expected_body(db, settings, now=NOW + timedelta(days=3)) != first.body
    assert later_day.last_modified == datetime(2027, 1, 7, tzinfo=UTC)  # the horizon moved at 00:00Z
    with db.transaction() as session:
        bump_version(session, NOW + timedelta(days=3, hours=1))
    again = fetch(NOW + timedelta(days=3))
    assert again is not later_day and again.body == later_day.body and again.etag != later_day.etag
    assert len(service.cache) == 1  # older renderings of the same feed are dropped
    assert service.renders == 3


def test_healthz_and_openapi(db: Database, client: AppClient) -> None:
    with db.transaction() as session:
        version, _ = data_version(session)
    health = client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok", "data_version": version})
    assert client.head("/healthz").status_code == 200
    assert_not_found(client.get("/healthz/"))
    spec = client.get("/openapi.json").json()
    assert {path: sorted(ops) for path, ops in spec["paths"].items()} == {
        "/healthz": ["get", "head"],
        "/feeds/{token}.ics": ["get", "head"],
        "/products/{key}.ics": ["get", "head"],
        "/api/v1/occurrences": ["get"],
        "/api/v1/reschedule-requests": ["get", "post"],
        "/api/v1/reschedule-requests/{request_id}": ["get"],
        "/api/v1/blackouts": ["get", "post"],
        "/api/v1/blackouts/{blackout_id}": ["delete"],
    }
    responses = spec["paths"]["/feeds/{token}.ics"]["get"]["responses"]
    assert sorted(responses) == ["200", "304", "404", "422", "429", "503"]
    assert sorted(spec["paths"]["/products/{key}.ics"]["get"]["responses"]) == ["200", "304", "404", "422", "503"]
    assert responses["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert sorted(spec["paths"]["/healthz"]["get"]["responses"]) == ["200", "503"]
    assert list(responses["200"]["content"]) == ["text/calendar"]


def test_errors_are_json_with_the_domain_status(db: Database, settings: Settings) -> None:
    app = create_app(settings, database=db)
    router = APIRouter()

    @router.get("/raise/{kind}")
    def fail(kind: str, count: int = 0) -> None:
        raise {
            "invalid": InvalidInput("bad value"),
            "missing": NotFound("no such thing"),
            "conflict": Conflict("busy"),
        }[kind]

    app.include_router(router)  # how the JSON API joins the app
    with AppClient(app) as test_client:
        for kind, status, message in [
            ("invalid", 422, "bad value"),
            ("missing", 404, "no such thing"),
            ("conflict", 409, "busy"),
        ]:
            response = test_client.get(f"/raise/{kind}")
            assert (response.status_code, response.json()) == (status, {"error": message})
        invalid = test_client.get("/raise/invalid?count=many")
        assert invalid.status_code == 422
        assert invalid.json()["error"].startswith("query.count: Input should be a valid integer")
        wrong = test_client.post("/healthz")
        assert (wrong.status_code, wrong.json(), wrong.headers["allow"]) == (
            405,
            {"error": "Method Not Allowed"},
            "GET",
        )


def test_an_unreachable_database_is_a_503_not_a_500() -> None:
    url = "postgresql://maintcal@127.0.0.1:1/maintcal"
    with AppClient(create_app(Settings(database_url=url))) as test_client:
        for path in ["/healthz", "/products/x.ics", "/feeds/abc.ics"]:
            response = test_client.get(path)
            assert (response.status_code, response.json()) == (
                503,
                {"error": "the database is unavailable; try again later"},
            )

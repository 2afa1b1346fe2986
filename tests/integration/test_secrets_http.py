"""Secrets over HTTP, through the real ASGI app on SQLite and PostgreSQL: cache headers of feeds,
no CDN-backed docs pages, and revoking feed URLs and API keys from the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import Result

from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.feed_helpers import NOW, AppClient, cli, load_dst_catalogue

NOT_FOUND = (404, b'{"error":"not found"}')
BASE = "https://maint.example.com"


@pytest.fixture
def client(db: Database, db_url: str) -> Iterator[AppClient]:
    load_dst_catalogue(db)
    settings = Settings(database_url=db_url, base_url=BASE)
    with AppClient(create_app(settings, database=db, clock=lambda: NOW)) as test_client:
        yield test_client


def run(db_url: str, *args: str) -> Result:
    """The CLI with ``NOW`` as its clock is not needed here: tokens are issued and revoked at the real now."""
    return cli(db_url, *args, env={"MAINTCAL_BASE_URL": BASE})


def issued_url(result: Result) -> str:
    assert result.exit_code == 0, result.output
    https, webcal = result.stdout.splitlines()
    assert https.startswith(f"{BASE}/feeds/") and webcal == https.replace("https://", "webcal://")
    return https.removeprefix(BASE)


def test_secret_feeds_are_private_public_feeds_public_both_nosniff(client: AppClient, db_url: str) -> None:
    path = issued_url(run(db_url, "customer", "feed-url", "koala"))
    for feed, cache in [(path, "private, max-age=300"), ("/products/sydney.ics", "public, max-age=300")]:
        full = client.get(feed)
        head = client.head(feed)
        current = client.get(feed, headers={"If-None-Match": full.headers["etag"]})
        assert [full.status_code, head.status_code, current.status_code] == [200, 200, 304]
        for response in (full, head, current):
            assert (response.headers["cache-control"], response.headers["x-content-type-options"]) == (
                cache,
                "nosniff",
            )


def test_docs_pages_are_off_and_the_openapi_document_stays(client: AppClient) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert (response.status_code, response.content) == NOT_FOUND
    spec = client.get("/openapi.json")
    assert (spec.status_code, spec.json()["info"]["title"]) == (200, "maintcal")


def test_a_revoked_feed_url_is_an_unknown_one_until_a_new_one_is_issued(client: AppClient, db_url: str) -> None:
    path = issued_url(run(db_url, "customer", "feed-url", "koala"))
    assert client.get(path).status_code == 200
    revoked = run(db_url, "customer", "feed-url", "koala", "--revoke")
    assert (revoked.exit_code, revoked.stdout) == (0, "revoked the feed URL of koala\n")
    unknown = client.get("/feeds/" + "A" * 43 + ".ics")
    for response in (client.get(path), client.head(path), unknown):
        assert (response.status_code, response.headers["content-type"]) == (404, "application/json")
    assert (client.get(path).status_code, client.get(path).content) == NOT_FOUND
    again = run(db_url, "customer", "feed-url", "koala", "--revoke")
    assert (again.exit_code, again.stdout) == (0, "customer koala had no feed URL to revoke\n")
    new = issued_url(run(db_url, "customer", "feed-url", "koala", "--rotate"))
    assert new != path
    assert [client.get(new).status_code, client.get(path).status_code] == [200, 404]
    both = run(db_url, "customer", "feed-url", "koala", "--revoke", "--rotate")
    assert (both.exit_code, both.stdout, both.stderr) == (
        2,
        "",
        "error: give --rotate (a new URL) or --revoke (none), not both\n",
    )
    assert client.get(new).status_code == 200
    missing = run(db_url, "customer", "feed-url", "nobody", "--revoke")
    assert (missing.exit_code, missing.stderr.startswith("error: ")) == (2, True)


def test_a_revoked_api_key_is_an_unknown_one_until_a_new_one_is_issued(client: AppClient, db_url: str) -> None:
    def occurrences(key: str) -> tuple[int, object]:
        response = client.get("/api/v1/occurrences?from=2027-01-01&to=2027-01-02", {"Authorization": f"Bearer {key}"})
        return response.status_code, response.json()

    issued = run(db_url, "customer", "api-key", "koala")
    assert issued.exit_code == 0, issued.output
    key = issued.stdout.strip()
    assert occurrences(key)[0] == 200
    revoked = run(db_url, "customer", "api-key", "koala", "--revoke")
    assert (revoked.exit_code, revoked.stdout) == (0, "revoked the API key of koala\n")
    refused = (401, {"error": "unknown or revoked API key"})
    assert occurrences(key) == refused == occurrences("mcak_" + "A" * 43)
    again = run(db_url, "customer", "api-key", "koala", "--revoke")
    assert (again.exit_code, again.stdout) == (0, "customer koala had no API key to revoke\n")
    rotated = run(db_url, "customer", "api-key", "koala", "--rotate")
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert new != key and occurrences(new)[0] == 200 and occurrences(key) == refused
    both = run(db_url, "customer", "api-key", "koala", "--rotate", "--revoke")
    assert (both.exit_code, both.stderr) == (2, "error: give --rotate (a new key) or --revoke (none), not both\n")
    assert occurrences(new)[0] == 200

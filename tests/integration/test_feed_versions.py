"""Per-feed versions (issue 11): a change moves the ETags of exactly the feeds it can alter.

On both databases, through the real app and the real CLI: a customer's own change keeps every other
feed's ETag (they get 304, and this process keeps the tokens it knows); a product-wide change moves
its product feed and its subscribers' and no other; contacts and endpoints move none; a change that
names nothing (a freeze) moves all. The strong-ETag property is checked against rendered bytes: a
feed whose stamp stayed has the same bytes, whatever the change.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from scheduler.feeds.content import customer_feed, horizon, product_feed
from scheduler.feeds.fingerprint import FeedStamp
from scheduler.feeds.index import FeedIndex, read_stamp
from scheduler.feeds.tokens import issue_feed_token
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product
from scheduler.store.repository import data_version
from tests.feed_helpers import CUSTOMERS, NOW, PRODUCTS, AppClient, cli, load_dst_catalogue

PUBLIC = sorted(key for key, (_, public, _) in PRODUCTS.items() if public)  # everywhere, london, ny, sydney
WAIVED = " --waive-notice test"
CHANGES: list[tuple[str, list[str]]] = [
    # (the CLI command, the feeds whose stamp it moves)
    (
        "occurrence move sydney.early.20270207 --customer koala --to 2027-02-08T15:00:00Z --reason r" + WAIVED,
        ["customer koala"],
    ),
    ("occurrence cancel london.small-hours.20270214 --customer delhi --reason r", ["customer delhi"]),
    ("occurrence cancel london.small-hours.20270207 --reason r", ["customer brit", "customer delhi", "product london"]),
    ("customer set acme-ny --reminders 72h", ["customer acme-ny"]),  # a 'local' event's DTSTAMP shows it
    ("customer subscribe howe sydney", ["customer howe"]),
    ("customer unsubscribe koala ny", ["customer koala"]),
    ("customer contact add delhi second@delhi.example", []),
    ("customer add newco --name NewCo --tz UTC --contact ops@newco.example", ["customer newco"]),
    ("customer subscribe newco everywhere", ["customer newco"]),
    (
        "window add lord-howe --name extra --tz UTC --days mon --start 01:00 --end 02:00" + WAIVED,
        ["customer acme-ny", "customer howe", "product lord-howe"],
    ),
]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, base_url="https://maint.example.com", feed_render_processes=0)


@pytest.fixture
def app(db: Database, settings: Settings) -> FastAPI:
    load_dst_catalogue(db)
    return create_app(settings, database=db, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[AppClient]:
    with AppClient(app) as test_client:
        yield test_client


def paths(db: Database) -> dict[str, str]:
    """Every feed: customer key -> its secret feed path, product key -> its public feed path."""
    found = {key: f"/feeds/{issue_feed_token(db, NOW, key)}.ics" for key in sorted(CUSTOMERS)}
    return found | {key: f"/products/{key}.ics" for key in PUBLIC}


def fetch(client: AppClient, feeds: dict[str, str]) -> dict[str, str]:
    """The current ETag of every feed (a 200 each)."""
    etags = {}
    for name, path in feeds.items():
        response = client.get(path)
        assert response.status_code == 200, name
        etags[name] = response.headers["etag"]
    return etags


def poll(client: AppClient, feeds: dict[str, str], held: dict[str, str]) -> dict[str, int]:
    """Each feed polled with the ETag held: its status."""
    return {name: client.get(path, headers={"If-None-Match": held[name]}).status_code for name, path in feeds.items()}


def run(db_url: str, *args: str) -> None:
    result = cli(db_url, *args)
    assert result.exit_code == 0, result.output


def changed(statuses: dict[str, int]) -> list[str]:
    assert set(statuses.values()) <= {200, 304}, statuses
    return sorted(name for name, status in statuses.items() if status == 200)


def test_a_customers_change_keeps_every_other_etag_and_known_token(
    db: Database, db_url: str, app: FastAPI, client: AppClient
) -> None:
    feeds = paths(db)
    held = fetch(client, feeds)
    index: FeedIndex = app.state.feeds.index
    lookups = index.lookups
    # Koala's own move of one Sydney window (koala and delhi subscribe to sydney).
    run(db_url, *(CHANGES[0][0].split()))
    assert changed(poll(client, feeds, held)) == ["koala"]
    assert index.lookups == lookups + 1  # koala's products, read again; no other token or feed looked up
    new = fetch(client, {"koala": feeds["koala"]})["koala"]
    assert new != held["koala"]
    assert client.get(feeds["brit"], headers={"If-None-Match": held["brit"]}).headers["etag"] == held["brit"]


def test_a_product_wide_change_moves_its_subscribers_etags_and_no_other(
    db: Database, db_url: str, client: AppClient
) -> None:
    feeds = paths(db)
    held = fetch(client, feeds)
    run(db_url, "occurrence", "cancel", "london.small-hours.20270207", "--reason", "no longer needed")
    assert changed(poll(client, feeds, held)) == ["brit", "delhi", "london"]
    held = fetch(client, feeds)
    run(db_url, *f"window add sydney --name extra --tz UTC --days wed --start 01:00 --end 02:00{WAIVED}".split())
    assert changed(poll(client, feeds, held)) == ["delhi", "koala", "sydney"]


def test_contacts_and_endpoints_move_no_etag(db: Database, db_url: str, client: AppClient) -> None:
    feeds = paths(db)
    held = fetch(client, feeds)
    with db.transaction() as session:
        before, _ = data_version(session)
    run(db_url, "customer", "contact", "add", "koala", "night-shift@koala.example")
    run(db_url, "customer", "endpoint", "add", "brit", "--kind", "webhook", "--url", "https://hooks.brit.example/m")
    with db.transaction() as session:
        after, _ = data_version(session)
    assert after == before + 2  # the planning run still hears of both
    assert changed(poll(client, feeds, held)) == []


def test_a_change_that_names_nothing_moves_every_etag(db: Database, db_url: str, client: AppClient) -> None:
    feeds = paths(db)
    held = fetch(client, feeds)
    freeze = "freeze add --product ny --start 2027-02-01T00:00 --end 2027-02-02T00:00 --tz UTC --reason audit"
    run(db_url, *freeze.split())
    assert changed(poll(client, feeds, held)) == sorted(feeds)


def snapshot(db: Database, settings: Settings) -> dict[str, tuple[FeedStamp, bytes]]:
    """Every feed's stamp (from the rows) and bytes (rendered), customers' and all products'."""
    start, end = horizon(NOW)
    found = {}
    with db.transaction() as session:
        for customer_id, key in session.execute(select(Customer.id, Customer.key)):
            body = customer_feed(session, settings, key, start, end).body
            found[f"customer {key}"] = (read_stamp(session, "customer", customer_id), body)
        for product_id, key in session.execute(select(Product.id, Product.key)):
            body = product_feed(session, settings, key, start, end).body
            found[f"product {key}"] = (read_stamp(session, "product", product_id), body)
    return found


def test_a_feed_whose_stamp_stays_keeps_its_bytes(db: Database, db_url: str, settings: Settings) -> None:
    load_dst_catalogue(db)
    before = snapshot(db, settings)
    for command, expected in CHANGES:
        run(db_url, *command.split())
        after = snapshot(db, settings)
        moved = sorted(name for name in after if name not in before or after[name][0] != before[name][0])
        assert (command, moved) == (command, sorted(expected))
        for name, (stamp, body) in after.items():
            if name in before and before[name][0] == stamp:
                assert body == before[name][1], (command, name)  # a strong ETag: same stamp, same bytes
        before = after

"""Bounded feeds (issue 10 §2): a feed holds at most MAINTCAL_FEED_MAX_EVENTS events, the earliest.

A public product with a daily one-hour window: the feed horizon of NOW, [2026-12-04, 2028-02-04),
holds 427 of them. With a cap of 100 the feed keeps 2026-12-04 .. 2027-03-13 and says 427 in a
header; the CLI writes the same and warns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from freezegun import freeze_time

from scheduler.catalogue import edits as catalogue
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.feed_helpers import NOW, AppClient, cli
from windows.rulespec import RuleOptions, build_rule

CAP = 100
ALL = 427


def starts(body: bytes) -> list[str]:
    return re.findall(r"DTSTART:(\d{8}T\d{6}Z)", body.decode())


@pytest.fixture
def daily(db: Database) -> None:
    added = NOW - timedelta(days=40)
    catalogue.add_product(db, added, "daily", "Daily", 0, public=True)
    rule, _ = build_rule(RuleOptions("daily", "nightly", "UTC", days="mon-sun", start="01:00", end="02:00"))
    catalogue.add_window(db, added, rule)


def app_client(db: Database, db_url: str, max_events: int = Settings.feed_max_events) -> AppClient:
    settings = Settings(database_url=db_url, feed_render_processes=0, feed_max_events=max_events)
    return AppClient(create_app(settings, database=db, clock=lambda: NOW))


@pytest.fixture
def capped(db: Database, db_url: str, daily: None) -> Iterator[AppClient]:
    with app_client(db, db_url, CAP) as client:
        yield client


def test_a_capped_feed_keeps_the_earliest_events_and_says_how_many_it_had(
    capped: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = capped.get("/products/daily.ics")
    assert response.status_code == 200
    assert response.headers["x-maintcal-feed-truncated"] == str(ALL)
    kept = starts(response.content)
    assert (len(kept), kept[0], kept[-1]) == (CAP, "20261204T010000Z", "20270313T010000Z")
    assert [r.getMessage() for r in caplog.records if r.name == "maintcal.feeds"] == [
        "feed daily.ics holds 427 events, more than MAINTCAL_FEED_MAX_EVENTS=100: the earliest 100 are kept"
    ]
    again = capped.get("/products/daily.ics", headers={"If-None-Match": response.headers["etag"]})
    assert (again.status_code, again.headers["x-maintcal-feed-truncated"]) == (304, str(ALL))


def test_a_feed_within_the_cap_has_no_header(db: Database, db_url: str, daily: None) -> None:
    with app_client(db, db_url) as client:
        response = client.get("/products/daily.ics")
    assert response.status_code == 200
    assert "x-maintcal-feed-truncated" not in response.headers
    kept = starts(response.content)
    assert (len(kept), kept[0], kept[-1]) == (ALL, "20261204T010000Z", "20280203T010000Z")


def test_the_cli_writes_the_capped_feed_and_warns(db_url: str, daily: None, capped: AppClient) -> None:
    with freeze_time(NOW):
        result = cli(db_url, "feed", "--product", "daily", env={"MAINTCAL_FEED_MAX_EVENTS": str(CAP)})
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == capped.get("/products/daily.ics").content
    assert result.stderr == (
        "warning: the feed holds 427 events, more than MAINTCAL_FEED_MAX_EVENTS=100: "
        "only the earliest 100 are written\n"
    )

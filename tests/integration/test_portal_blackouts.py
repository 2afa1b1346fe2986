"""The portal's Blackouts page through the real ASGI app, on SQLite and PostgreSQL (issue 14).

Customer ``thames`` (Europe/London) at 2027-01-04 12:00Z with the portal catalogue (see
portal_helpers): ``pc`` has the ``local`` rule ``early``, Tue 00:00-06:00 in the customer's zone;
every product's ``blackout_lead_days`` is the default 30. Declaring goes through the same service
(and the same messages) as ``/api/v1/blackouts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from scheduler.blackouts import declare
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_blackouts import Blackout
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW
from tests.portal_helpers import (
    Clock,
    csrf,
    portal_client,
    portal_settings,
    sign_in,
    text,
    window_rows,
)
from windows.blackouts import parse_once

SUMMER = {"label": "Summer audit", "start": "2027-06-01T00:00", "end": "2027-06-03T00:00"}


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return portal_settings(tmp_path, db_url)


@pytest.fixture
def web(db: Database, settings: Settings) -> Iterator[ApiClient]:
    clock = Clock()
    client = portal_client(db, settings, clock)
    sign_in(client, db, settings, clock, "a@thames.example")
    yield client
    client.close()


def blackout_rows(page: str) -> dict[str, list[str]]:
    rows = {}
    for match in re.finditer(r'<tr [^>]*data-blackout="(\d+)"[^>]*>(.*?)</tr>', page, re.S):
        rows[match.group(1)] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(2), re.S)]
    return rows


def post_form(web: ApiClient, path: str, fields: dict[str, str]) -> tuple[int, str]:
    token = csrf(web.call("GET", "/portal/blackouts").text)
    reply = web.call("POST", path, data={"csrf": token, **fields})
    return reply.status_code, reply.headers.get("location", reply.text)


def test_a_once_blackout_is_listed_with_exact_instants_and_cancels_the_local_window(
    web: ApiClient, db: Database
) -> None:
    assert 'href="/portal/blackouts"' in web.call("GET", "/portal/").text
    assert post_form(web, "/portal/blackouts", SUMMER) == (303, "/portal/blackouts?added=1")
    page = web.call("GET", "/portal/blackouts?added=1").text
    assert text(re.search(r'id="blackout-added">(.*?)</p>', page, re.S).group(1)) == (  # type: ignore[union-attr]
        "Blackout “Summer audit” is Active."
    )
    assert blackout_rows(page) == {
        "1": [
            "Summer audit",
            "One-off",
            "From Tue 1 Jun 2027 00:00 to Thu 3 Jun 2027 00:00",
            "Active",
            "Tue 1 Jun 2027 00:00 BST – Thu 3 Jun 2027 00:00 BST",
            "2027-05-31 23:00 – 2027-06-02 23:00 UTC",
            "Yes, remove “Summer audit” Remove",
        ]
    }
    assert 'data-start="2027-05-31T23:00:00Z" data-end="2027-06-02T23:00:00Z"' in page
    (info,) = declare.list_blackouts(db, "thames")
    assert (info.status, info.spec) == ("active", "2027-06-01T00:00/2027-06-03T00:00")
    rows = window_rows(web.call("GET", "/portal/").text)
    assert rows["pc.early.20270601.thames"][:2] == [
        "Tue 1 Jun 2027 00:00 BST – 06:00 BST",
        "2027-05-31 23:00 – 2027-06-01 05:00 UTC",
    ]
    assert rows["pc.early.20270601.thames"][4] == "Cancelled because of blackout Summer audit"
    assert rows["pc.early.20270608.thames"][4] == "Scheduled"
    window = web.call("GET", "/portal/windows/pc.early.20270601.thames").text
    assert "Cancelled because of blackout Summer audit" in text(window)


def test_a_late_blackout_is_pending_for_ops(web: ApiClient, db: Database) -> None:
    late = {"label": "Stock take", "start": "2027-01-20 00:00", "end": "2027-01-21 00:00"}
    assert post_form(web, "/portal/blackouts", late) == (303, "/portal/blackouts?added=1")
    row = blackout_rows(web.call("GET", "/portal/blackouts").text)["1"]
    assert row[3:6] == [
        "Pending: ops approve or reject",
        "Wed 20 Jan 2027 00:00 GMT – Thu 21 Jan 2027 00:00 GMT",
        "2027-01-20 00:00 – 2027-01-21 00:00 UTC",
    ]
    assert [b.status for b in declare.list_blackouts(db, "thames")] == ["pending"]
    assert window_rows(web.call("GET", "/portal/").text)["pc.early.20270119.thames"][4] == "Scheduled"


@pytest.mark.parametrize(
    ("fields", "message", "kept"),
    [
        (
            {"label": "Backwards", "start": "2027-06-03T00:00", "end": "2027-06-01T00:00"},
            "blackout end 2027-06-01T00:00 is not after its start 2027-06-03T00:00",
            'value="2027-06-03T00:00"',
        ),
        (
            {"label": "Thirteenth month", "yearly": "13-01:13-02"},
            "invalid yearly blackout '13-01:13-02': 13-01 is not a date",
            'value="13-01:13-02"',
        ),
        (
            {"label": "Both", "yearly": "11-22:11-30", "monthly": "last-3"},
            "give exactly one of start and end, yearly, or monthly",
            'value="last-3"',
        ),
    ],
)
def test_bad_input_shows_the_api_message_keeps_the_input_and_stores_nothing(
    web: ApiClient, db: Database, fields: dict[str, str], message: str, kept: str
) -> None:
    status, page = post_form(web, "/portal/blackouts", fields)
    assert status == 422
    error = re.search(r'id="add-error">(.*?)</div>', page, re.S)
    assert error is not None
    assert text(error.group(1)) == f"Please correct the following: The blackout was not declared: {message}"
    assert kept in page and f'value="{fields["label"]}"' in page
    assert declare.list_blackouts(db, "thames") == []


def test_posts_without_csrf_are_refused(web: ApiClient, db: Database, settings: Settings) -> None:
    assert web.call("POST", "/portal/blackouts", data=SUMMER).status_code == 403
    assert declare.list_blackouts(db, "thames") == []
    declare.add_blackout(db, NOW, settings, "thames", parse_once(SUMMER["start"], SUMMER["end"]), "Mine")
    assert web.call("POST", "/portal/blackouts/1/remove", data={"confirm": "yes"}).status_code == 403
    assert [b.id for b in declare.list_blackouts(db, "thames")] == [1]


def test_removing_asks_for_confirmation_and_another_customers_blackout_is_not_found(
    web: ApiClient, db: Database, settings: Settings
) -> None:
    declare.add_blackout(db, NOW, settings, "harbour", parse_once(SUMMER["start"], SUMMER["end"]), "Theirs")
    assert post_form(web, "/portal/blackouts", SUMMER) == (303, "/portal/blackouts?added=2")
    status, page = post_form(web, "/portal/blackouts/1/remove", {"confirm": "yes"})
    assert status == 404 and "There is no such page for your organisation." in page
    assert post_form(web, "/portal/blackouts/99/remove", {"confirm": "yes"})[0] == 404
    status, page = post_form(web, "/portal/blackouts/2/remove", {})
    assert status == 422 and "Tick the box to confirm the removal." in page
    assert [b.id for b in declare.list_blackouts(db, "thames")] == [2]
    assert post_form(web, "/portal/blackouts/2/remove", {"confirm": "yes"}) == (303, "/portal/blackouts?removed=1")
    assert declare.list_blackouts(db, "thames") == []
    assert [b.label for b in declare.list_blackouts(db, "harbour")] == ["Theirs"]
    assert window_rows(web.call("GET", "/portal/").text)["pc.early.20270601.thames"][4] == "Scheduled"


def test_the_contact_who_declared_and_removed_is_stored(web: ApiClient, db: Database, settings: Settings) -> None:
    assert post_form(web, "/portal/blackouts", SUMMER) == (303, "/portal/blackouts?added=1")
    ops = declare.add_blackout(db, NOW, settings, "thames", parse_once("2027-07-01T00:00", "2027-07-02T00:00"), "Ops")
    assert post_form(web, "/portal/blackouts/1/remove", {"confirm": "yes"}) == (303, "/portal/blackouts?removed=1")
    with db.transaction() as session:
        rows = session.execute(
            select(Blackout.id, Blackout.status, Blackout.declared_by, Blackout.removed_by).order_by(Blackout.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "removed", "a@thames.example", "a@thames.example"),
        (ops.id, "active", None, None),
    ]

"""Portal sign-in through the real ASGI app, on SQLite and PostgreSQL: the magic link from the
outbox, links refused when wrong, reused or expired, the session cookie, CSRF, idle expiry,
sign-out, and a removed contact's session ending.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from scheduler.catalogue import edits as catalogue
from scheduler.http.app import create_app
from scheduler.portal import strings
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_portal import PortalLink, PortalSession, PortalSetting
from tests.http_client import ApiClient
from tests.portal_helpers import (
    Clock,
    ask_for_link,
    csrf,
    load_portal,
    portal_client,
    portal_settings,
    sign_in,
    sign_in_links,
    text,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return portal_settings(tmp_path, db_url)


@pytest.fixture
def web(db: Database, settings: Settings, clock: Clock) -> Iterator[ApiClient]:
    client = portal_client(db, settings, clock)
    yield client
    client.close()


def test_the_link_from_the_outbox_signs_in_once(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    assert web.call("GET", "/portal/").headers["location"] == "/portal/sign-in"
    link = sign_in(web, db, settings, clock, "a@thames.example")
    cookie = web.call("GET", link).headers.get("set-cookie")  # used: refused, no cookie
    assert cookie is not None and "maintcal_portal=" not in cookie.split(";")[0].replace("_pre", "X")
    page = web.call("GET", "/portal/")
    assert page.status_code == 200
    assert "Signed in as a@thames.example (Thames)" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    with db.transaction() as session:
        (row,) = session.scalars(select(PortalLink)).all()
        assert row.used_at == clock.now and len(row.token_hash) == 64 and row.token_hash not in link
        assert session.scalar(select(PortalSession.contact_id)) is not None
        assert len(session.get(PortalSetting, "session_secret").value) >= 48  # type: ignore[union-attr]


def test_the_session_cookie_is_httponly_lax_and_signed(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    ask_for_link(web, "b@thames.example")
    (link,) = sign_in_links(db, settings, clock, "b@thames.example")
    response = web.call("GET", link)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("maintcal_portal=")
    parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert {"httponly", "path", "samesite"} <= parts and "secure" not in parts
    assert "samesite=lax" in cookie.lower() and "path=/portal" in cookie.lower()
    value = cookie.split(";")[0].split("=", 1)[1]
    web.call("GET", "/portal/sign-in")  # the client keeps the good cookie; a forged one is refused
    forged = ApiClient(web._client._transport.app)  # type: ignore[attr-defined]
    try:
        token = value.rsplit(".", 1)[0]
        bad = forged.call("GET", "/portal/", headers={"Cookie": f"maintcal_portal={token}.AAAA"})
        assert bad.status_code == 303
    finally:
        forged.close()


def test_secure_cookie_over_https(db: Database, db_url: str, tmp_path: Path, clock: Clock) -> None:
    load_portal(db)
    settings = portal_settings(tmp_path, db_url, base_url="https://cal.example.com")
    web = ApiClient(create_app(settings, database=db, clock=clock))
    web._client.base_url = "https://testserver"  # Secure cookies need https
    try:
        ask_for_link(web, "a@thames.example")
        (link,) = sign_in_links(db, settings, clock, "a@thames.example")
        assert "; secure" in web.call("GET", link).headers["set-cookie"].lower()
    finally:
        web.close()


def test_the_answer_is_the_same_for_unknown_addresses(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    known = ask_for_link(web, "a@thames.example")
    unknown = ask_for_link(web, "nobody@thames.example")
    assert known.replace("a@thames.example", "X") == unknown.replace("nobody@thames.example", "X")
    assert strings.SIGN_IN_SENT.format(email="nobody@thames.example") in text(unknown)
    assert ask_for_link(web, "not an address").count("not an address") == 1
    assert sign_in_links(db, settings, clock, "nobody@thames.example") == []
    assert len(sign_in_links(db, settings, clock, "a@thames.example")) == 1


def test_wrong_reused_and_expired_links_are_refused(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    wrong = web.call("GET", "/portal/auth/" + "x" * 43)
    assert wrong.status_code == 400 and strings.SIGN_IN_INVALID in text(wrong.text)
    assert "set-cookie" not in wrong.headers or "maintcal_portal=" not in wrong.headers["set-cookie"]
    link = sign_in(web, db, settings, clock, "a@thames.example")
    again = web.call("GET", link)
    assert again.status_code == 400 and strings.SIGN_IN_INVALID in text(again.text)
    ask_for_link(web, "b@thames.example")
    (late,) = sign_in_links(db, settings, clock, "b@thames.example")
    clock.advance(minutes=15)
    assert web.call("GET", late).status_code == 400


def test_a_link_just_inside_15_minutes_works(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    ask_for_link(web, "b@thames.example")
    (link,) = sign_in_links(db, settings, clock, "b@thames.example")
    clock.advance(minutes=14, seconds=59)
    assert web.call("GET", link).status_code == 303


def test_forms_without_their_csrf_token_are_refused(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    assert web.call("POST", "/portal/sign-in", data={"email": "a@thames.example"}).status_code == 403
    sign_in(web, db, settings, clock, "a@thames.example")
    window = "/portal/windows/pe.nightly.20270302"
    for path, data in (
        ("/portal/sign-out", {}),
        (f"{window}/reschedule", {"start": "2027-03-03T05:00"}),
        ("/portal/subscribe/reset", {"confirm": "yes"}),
    ):
        for token in (None, "forged"):
            sent = data | ({"csrf": token} if token else {})
            response = web.call("POST", path, data=sent)
            assert response.status_code == 403, path
            assert strings.FORBIDDEN_TEXT in text(response.text)
    assert web.call("GET", "/portal/").status_code == 200  # still signed in, nothing changed
    assert "Pending" not in web.call("GET", window).text


def test_sign_out_ends_the_session(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    sign_in(web, db, settings, clock, "a@thames.example")
    page = web.call("GET", "/portal/contacts")
    response = web.call("POST", "/portal/sign-out", data={"csrf": csrf(page.text)})
    assert response.status_code == 200 and strings.SIGNED_OUT in response.text
    assert web.call("GET", "/portal/").status_code == 303
    with db.transaction() as session:
        assert session.scalar(select(PortalSession.ended_at)) == clock.now


def test_idle_sessions_end(web: ApiClient, db: Database, settings: Settings, clock: Clock) -> None:
    sign_in(web, db, settings, clock, "a@thames.example")
    clock.advance(minutes=59)
    assert web.call("GET", "/portal/").status_code == 200
    clock.advance(minutes=59)  # used a minute ago: still alive
    assert web.call("GET", "/portal/").status_code == 200
    clock.advance(minutes=60)
    response = web.call("GET", "/portal/")
    assert (response.status_code, response.headers["location"]) == (303, "/portal/sign-in?expired=1")


def test_removing_a_contact_ends_its_sessions_and_links(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    sign_in(web, db, settings, clock, "a@thames.example")
    ask_for_link(web, "a@thames.example")
    (unused,) = sign_in_links(db, settings, clock, "a@thames.example")[1:]
    catalogue.remove_contact(db, clock.now, "thames", "a@thames.example")
    with db.transaction() as session:
        assert session.scalars(select(PortalSession.ended_at)).all() == [clock.now]
    assert web.call("GET", "/portal/").status_code == 303
    assert web.call("GET", unused).status_code == 400


def test_at_most_three_links_per_contact_in_15_minutes(
    web: ApiClient, db: Database, settings: Settings, clock: Clock
) -> None:
    answers = {ask_for_link(web, "b@thames.example") for _ in range(5)}
    assert len(answers) == 1  # the same page every time
    assert len(sign_in_links(db, settings, clock, "b@thames.example")) == 3
    clock.advance(minutes=15, seconds=1)
    ask_for_link(web, "b@thames.example")
    assert len(sign_in_links(db, settings, clock, "b@thames.example")) == 4

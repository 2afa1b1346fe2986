"""Helpers for the portal tests: a cookie-keeping client over the ASGI app, the catalogue with a
DST night, signing in with the link from the pickup directory, and reading rows out of pages.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from scheduler.catalogue import edits as catalogue
from scheduler.http.app import create_app
from scheduler.notices.worker import send_due
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load
from windows.rulespec import RuleOptions, build_rule

LINK = re.compile(r"https?://[^\s]+/portal/auth/([A-Za-z0-9_\-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """A settable clock: tests move it forward to expire links and sessions."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def portal_settings(tmp_path: Path, db_url: str, base_url: str = "http://127.0.0.1:8000") -> Settings:
    return Settings(
        database_url=db_url,
        pickup_dir=tmp_path / "outbox",
        uid_domain="test.example",
        base_url=base_url,
        support_address="help@vendor.example",
    )


def load_portal(db: Database) -> None:
    """The changes catalogue plus product ``dst``: Sundays 00:30-03:30 Europe/London, which on
    2027-03-28 (clocks go forward at 01:00 UTC) is 00:30 GMT - 03:30 BST, two hours long."""
    load(db)
    catalogue.add_product(db, NOW, "dst", "Data Store", 30)
    rule, _ = build_rule(RuleOptions("dst", "sunday", "Europe/London", days="sun", start="00:30", end="03:30"))
    catalogue.add_window(db, NOW, rule, waive_notice="test catalogue")
    catalogue.subscribe(db, NOW, "thames", ["dst"])


def mails(pickup: Path) -> list[EmailMessage]:
    found = [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(pickup.glob("*.eml"))]
    return [m for m in found if isinstance(m, EmailMessage)]


def sign_in_links(db: Database, settings: Settings, clock: Clock, to: str) -> list[str]:
    """Send what the outbox holds to the pickup directory; the link paths mailed to ``to``."""
    send_due(db, settings, clock)
    links: list[str] = []
    for mail in mails(settings.pickup_dir):
        if mail["To"] == to and mail["X-Maintcal-Notice"] == "portal-sign-in":
            body = mail.get_body(("plain",))
            assert body is not None
            links.extend(f"/portal/auth/{m}" for m in LINK.findall(body.get_content()))
    return links


def portal_client(db: Database, settings: Settings, clock: Clock) -> ApiClient:
    """The real ASGI app over ``db`` with the portal catalogue loaded (see :func:`load_portal`)."""
    load_portal(db)
    return ApiClient(create_app(settings, database=db, clock=clock))


def ask_for_link(web: ApiClient, email: str) -> str:
    """Ask for a sign-in link for ``email`` through the form; the page answered."""
    form = web.call("GET", "/portal/sign-in")
    response = web.call("POST", "/portal/sign-in", data={"csrf": csrf(form.text), "email": email})
    assert response.status_code == 200
    return response.text


def sign_in(web: ApiClient, db: Database, settings: Settings, clock: Clock, email: str) -> str:
    """Sign ``web`` in as ``email`` with the link from the outbox; the link's path."""
    ask_for_link(web, email)
    (link,) = sign_in_links(db, settings, clock, email)
    response = web.call("GET", link)
    assert (response.status_code, response.headers["location"]) == (303, "/portal/")
    return link


def csrf(page: str) -> str:
    found = CSRF.search(page)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def window_rows(page: str) -> dict[str, list[str]]:
    """Each table row with a data-occurrence: its cells as text, keyed by occurrence id."""
    rows = {}
    for match in re.finditer(r'<tr [^>]*data-occurrence="([^"]+)"[^>]*>(.*?)</tr>', page, re.S):
        rows[match.group(1)] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(2), re.S)]
    return rows


def window_attrs(page: str) -> dict[str, tuple[str, str]]:
    return {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r'data-occurrence="([^"]+)" data-start="([^"]+)" data-end="([^"]+)"', page)
    }

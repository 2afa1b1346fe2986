"""The portal in headless Chromium against ``maintcal serve`` (SQLite and PostgreSQL).

The server runs on the real clock, so the catalogue is made at the real time and the dates of
the known occurrences are computed from it; the times are fixed: product ``dst`` has a window
every Sunday 00:30-03:30 Europe/London, which on the night the clocks go forward (the last Sunday
of March) is 00:30 GMT - 03:30 BST, 00:30-02:30 UTC. Every page is checked with axe-core.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from zoneinfo import ZoneInfo

from axe_selenium_python import Axe
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from scheduler.catalogue import edits as catalogue
from scheduler.portal import strings
from scheduler.store.db import Database
from tests.browser.conftest import Server
from windows.rulespec import RuleOptions, build_rule

LONDON = ZoneInfo("Europe/London")
EMAIL = "noc@thames.example"


def load(db_url: str, now: datetime) -> None:
    db = Database.open(db_url)
    try:
        catalogue.add_product(db, now, "dst", "Data Store", 30)
        rule, _ = build_rule(RuleOptions("dst", "sunday", "Europe/London", days="sun", start="00:30", end="03:30"))
        catalogue.add_window(db, now, rule, waive_notice="browser test catalogue")
        catalogue.add_product(db, now, "pc", "PureEngage Cloud", 30)
        local, _ = build_rule(RuleOptions("pc", "early", "local", days="tue", start="00:00", end="06:00"))
        catalogue.add_window(db, now, local, waive_notice="browser test catalogue")
        catalogue.add_customer(db, now, "thames", "Thames", "Europe/London", [EMAIL])
        catalogue.add_customer(db, now, "harbour", "Harbour", "Australia/Sydney", ["ops@harbour.example"])
        catalogue.subscribe(db, now, "thames", ["dst", "pc"])
        catalogue.subscribe(db, now, "harbour", ["pc"])
    finally:
        db.dispose()


def last_sunday_of_march(year: int) -> date:
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def dst_night(today: date) -> date:
    night = last_sunday_of_march(today.year)
    return night if night > today + timedelta(days=1) else last_sunday_of_march(today.year + 1)


def plain_sunday(today: date) -> date:
    """A Sunday at least 8 days ahead that is not a night the clocks change."""
    day = today + timedelta(days=8 + (6 - (today + timedelta(days=8)).weekday()) % 7)
    while (day.month in (3, 10) and day.day > 24) or day == dst_night(today):
        day += timedelta(days=7)
    return day


def check_a11y(driver: WebDriver, page: str) -> None:
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    assert results["passes"], f"{page}: axe did not run"
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    assert bad == [], f"{page}: {axe.report(bad)}"


def submit(driver: WebDriver, selector: str) -> None:
    """Click a form's button and wait until the next page has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(driver, 30).until(lambda _: replaced(old))


def replaced(element: WebElement) -> bool:
    """Whether ``element``'s page is gone. ChromeDriver sometimes reports a node of a replaced page
    as "Node with given id does not belong to the document" instead of a stale reference."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error.msg):
            return True
        raise
    return False


def cells(driver: WebDriver, occurrence: str) -> list[str]:
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-occurrence="{occurrence}"]')
    return [td.text for td in row.find_elements(By.TAG_NAME, "td")]


def body(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def sign_in_link(server: Server) -> str:
    server.cli("notices", "send")
    found: list[str] = []
    for path in sorted(server.pickup.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=default)
        if mail["To"] == EMAIL and mail["X-Maintcal-Notice"] == "portal-sign-in":
            found += re.findall(r"http://\S+/portal/auth/\S+", mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert len(found) == 1, found
    return found[0]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def fetch_until(url: str, wanted: str, seconds: float) -> str:
    """The feed once it holds ``wanted``, or as it is after ``seconds``."""
    give_up = time.monotonic() + seconds
    while True:
        _, calendar = fetch(url)
        if wanted in calendar or time.monotonic() > give_up:
            return calendar
        time.sleep(0.1)


def test_the_portal_in_a_browser(server: Server, browser: WebDriver) -> None:
    now = datetime.now(UTC)
    today = now.date()
    load(server.db_url, now)
    go = browser.get

    # Sign in through the link the outbox wrote to the pickup directory.
    go(f"{server.url}/portal/")
    assert browser.current_url == f"{server.url}/portal/sign-in"
    check_a11y(browser, "sign-in")
    browser.find_element(By.ID, "email").send_keys(EMAIL)
    submit(browser, "main form button")
    assert strings.SIGN_IN_SENT.format(email=EMAIL) in body(browser)
    link = sign_in_link(server)
    go(server.url + "/portal/auth/" + "x" * 43)
    assert strings.SIGN_IN_INVALID in body(browser)
    go(link)
    assert browser.current_url == f"{server.url}/portal/"
    assert f"Signed in as {EMAIL} (Thames)" in body(browser)

    # The upcoming list: exact local and UTC times, the DST night included.
    night = dst_night(today)
    night_id = f"dst.sunday.{night:%Y%m%d}"
    assert cells(browser, night_id)[:2] == [
        f"Sun {night.day} Mar {night.year} 00:30 GMT – 03:30 BST",
        f"{night:%Y-%m-%d} 00:30 – 02:30 UTC",
    ]
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-occurrence="{night_id}"]')
    assert (row.get_attribute("data-start"), row.get_attribute("data-end")) == (
        f"{night:%Y-%m-%d}T00:30:00Z",
        f"{night:%Y-%m-%d}T02:30:00Z",
    )
    check_a11y(browser, "upcoming")

    # Ask to move a window; it is pending.
    sunday = plain_sunday(today)
    moved_id = f"dst.sunday.{sunday:%Y%m%d}"
    go(f"{server.url}/portal/windows/{moved_id}")
    check_a11y(browser, "window")
    monday = sunday + timedelta(days=1)
    field = browser.find_element(By.ID, "start")
    browser.execute_script("arguments[0].value = arguments[1]", field, f"{monday:%Y-%m-%d}T00:30")
    browser.find_element(By.ID, "reason").send_keys("quarter close")
    submit(browser, "form[action$='/reschedule'] button")
    assert strings.MOVE_SENT.format(id=1) in body(browser)
    assert browser.find_element(By.CSS_SELECTOR, '[data-request="1"]').get_attribute("data-status") == "pending"
    go(f"{server.url}/portal/requests")
    assert "Pending" in body(browser) and EMAIL in body(browser)
    check_a11y(browser, "requests")

    # Subscribe: a new feed address, shown once.
    go(f"{server.url}/portal/subscribe")
    check_a11y(browser, "subscribe")
    browser.find_element(By.ID, "confirm").click()
    submit(browser, "form[action$='/subscribe/reset'] button")
    feed = browser.find_element(By.ID, "feed-url").get_attribute("value")
    assert feed is not None and feed.startswith(f"{server.url}/feeds/")
    check_a11y(browser, "subscribe with the address")
    old_start = datetime(sunday.year, sunday.month, sunday.day, 0, 30, tzinfo=LONDON).astimezone(UTC)
    new_start = datetime(monday.year, monday.month, monday.day, 0, 30, tzinfo=LONDON).astimezone(UTC)
    status, calendar = fetch(feed)
    assert status == 200 and f"DTSTART:{old_start:%Y%m%dT%H%M%SZ}" in calendar

    # Ops approve with the CLI: the page and the feed change.
    assert "approved" in server.cli("reschedule", "approve", "1")
    go(f"{server.url}/portal/windows/{moved_id}")
    page = browser.find_element(By.CSS_SELECTOR, "article[data-occurrence]")
    assert page.get_attribute("data-start") == f"{new_start:%Y-%m-%dT%H:%M:%SZ}"
    assert browser.find_element(By.CSS_SELECTOR, '[data-request="1"]').get_attribute("data-status") == "approved"
    go(f"{server.url}/portal/")
    assert cells(browser, moved_id)[4].startswith("Moved from Sun ")
    # The server sees a change made by the CLI within MAINTCAL_FEED_VERSION_POLL_MS (1 s, README
    # Known limits): the pages above may take less than that on an idle machine.
    calendar = fetch_until(feed, f"DTSTART:{new_start:%Y%m%dT%H%M%SZ}", seconds=1.5)
    assert f"DTSTART:{new_start:%Y%m%dT%H%M%SZ}" in calendar and f"DTSTART:{old_start:%Y%m%dT%H%M%SZ}" not in calendar

    # Reset the feed address: the old one answers 404.
    go(f"{server.url}/portal/subscribe")
    browser.find_element(By.ID, "confirm").click()
    submit(browser, "form[action$='/subscribe/reset'] button")
    newer = browser.find_element(By.ID, "feed-url").get_attribute("value")
    assert newer and newer != feed
    assert fetch(feed)[0] == 404 and fetch(newer)[0] == 200

    # A form without its CSRF token is refused, and changes nothing.
    go(f"{server.url}/portal/subscribe")
    browser.execute_script("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    browser.find_element(By.ID, "confirm").click()
    submit(browser, "form[action$='/subscribe/reset'] button")
    assert strings.FORBIDDEN_TEXT in body(browser)
    check_a11y(browser, "refused")
    assert fetch(newer)[0] == 200

    # Another customer's window: not found.
    tuesday = today + timedelta(days=2 + (1 - (today + timedelta(days=2)).weekday()) % 7)
    go(f"{server.url}/portal/windows/pc.early.{tuesday:%Y%m%d}.harbour")
    assert strings.NOT_FOUND_TEXT in body(browser)
    check_a11y(browser, "not found")

    # The other pages, at desktop width and at 375 px (the Blackouts page with one blackout).
    server.cli("blackout", "add", "thames", "--monthly", "1-2", "--label", "Month start")
    for width in (1280, 375):
        browser.set_window_size(width, 900)
        for path in (
            "/portal/",
            f"/portal/month/{night:%Y-%m}",
            f"/portal/availability/{today:%Y-%m}",
            "/portal/contacts",
            "/portal/blackouts",
        ):
            go(server.url + path)
            check_a11y(browser, f"{path} at {width} px")
            assert browser.execute_script("return document.documentElement.scrollWidth") <= max(width, 375) + 1, path
    go(f"{server.url}/portal/contacts")
    assert "write to help@vendor.example" in body(browser)

    # The used link does not sign in again after signing out.
    submit(browser, "form.signout button")
    assert strings.SIGNED_OUT in body(browser)
    go(link)
    assert strings.SIGN_IN_INVALID in body(browser)
    go(f"{server.url}/portal/")
    assert browser.current_url.startswith(f"{server.url}/portal/sign-in")

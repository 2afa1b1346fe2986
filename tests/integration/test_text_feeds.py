"""Issue 9 §5: any name or label the service layer accepts gives feeds that every parser reads.

For arbitrary text (with the characters that broke feeds before: ``\\x0b``, ``\\x7f``, ``\\x1c``,
U+0085, U+2028, and the ones iCalendar escapes), a product name, a window label and a customer
name are either refused with an error naming the field, exactly when the text holds a control
character, DEL, a C1 character or a line/paragraph separator (or is empty or too long), or they
are accepted and then the customer feed and the product feed parse with icalendar, ical
(allenporter) and Mozilla's ical.js, each giving back the text as it was stored.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar

from scheduler.catalogue import edits as catalogue
from scheduler.feeds.content import customer_feed, product_feed
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.icaljs import IcalJs, icaljs
from windows.errors import InvalidInput
from windows.rulespec import RuleOptions, build_rule

__all__ = ["icaljs"]  # the fixture, imported for the tests below

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
START, END = NOW - timedelta(days=1), NOW + timedelta(days=15)
SETTINGS = Settings(uid_domain="maintcal.example.com", base_url="https://maint.example.com")
SPECIAL = [
    *"\x00\t\n\r\x0b\x0c\x1b\x1c\x1f\x7f\x80\x85\x9f\u2028\u2029",  # refused
    *"\\;,:\"' ^=\ufeff\u200b\u202e\u00a0\u3000\ufffd\ufffe\uffff\U0001f527\u00e9\u65e5",  # accepted
]
TEXTS = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from([*SPECIAL, "a", "b", "N", "n"]), max_size=12),
    st.text(alphabet="ab ", min_size=198, max_size=202),
)
_keys = itertools.count()


def plain(text: str) -> bool:
    """The documented rule, written independently of windows.text: no C0, DEL, C1, U+2028/9."""
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in text)


def unescape(text: str) -> str:
    """RFC 5545 §3.3.11 TEXT unescaping, for the parsers that hand NAME over raw.

    icalendar 7.3 and ical.js 2.2 do not know RFC 7986's NAME as TEXT and return it as written.
    """
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _parsed(body: bytes, icaljs: IcalJs) -> list[tuple[Any, list[tuple[str, str]]]]:
    """(calendar name, [(summary, description)]) as icalendar, ical and ical.js read ``body``."""
    theirs = Calendar.from_ical(body)
    by_icalendar = (
        unescape(str(theirs["NAME"])),
        sorted((str(e["SUMMARY"]), str(e["DESCRIPTION"])) for e in theirs.walk("VEVENT")),
    )
    strict = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    names = strict.name if isinstance(strict.name, list) else [strict.name]
    by_ical = (" ".join(str(n) for n in names), sorted((str(e.summary), str(e.description)) for e in strict.events))
    answer = icaljs.parse(body)
    assert answer["ok"], f"ical.js refused the feed: {answer['error']}"
    by_icaljs = (unescape(answer["name"]), sorted((e["summary"], e["description"]) for e in answer["events"]))
    return [by_icalendar, by_ical, by_icaljs]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(product_name=TEXTS, label=TEXTS, customer_name=TEXTS)
def test_accepted_names_and_labels_give_feeds_that_icalendar_ical_and_icaljs_read(
    db: Database, icaljs: IcalJs, product_name: str, label: str, customer_name: str
) -> None:
    number = next(_keys)
    product, customer = f"p{number}", f"c{number}"

    try:
        catalogue.add_product(db, NOW, product, product_name, notice_days=0, public=True)
        stored_product = product_name.strip()
    except InvalidInput as error:
        assert not (plain(product_name) and 0 < len(product_name.strip()) <= 200), error.message
        assert error.message.startswith("product name "), error.message
        catalogue.add_product(db, NOW, product, "Plain", notice_days=0, public=True)
        stored_product = "Plain"
    else:
        assert plain(product_name) and 0 < len(stored_product) <= 200

    options = RuleOptions(product, "w", "UTC", days="mon", start="01:00", end="02:00", valid_from=date(2027, 1, 5))
    try:
        rule, _ = build_rule(RuleOptions(**{**options.__dict__, "label": label}))
        stored_label = label
    except InvalidInput as error:
        assert not (plain(label) and len(label) <= 200), error.message
        too_long = "a label is one line of at most 200 characters"  # windows.rules
        assert error.message.startswith("--label ") or (plain(label) and error.message == too_long), error.message
        rule, _ = build_rule(options)
        stored_label = ""
    else:
        assert plain(label) and len(label) <= 200
    catalogue.add_window(db, NOW, rule)

    try:
        catalogue.add_customer(db, NOW, customer, customer_name, "Asia/Kolkata", [])
        stored_customer = customer_name.strip()
    except InvalidInput as error:
        assert not (plain(customer_name) and 0 < len(customer_name.strip()) <= 200), error.message
        assert error.message.startswith("customer name "), error.message
        catalogue.add_customer(db, NOW, customer, "Plain", "Asia/Kolkata", [])
        stored_customer = "Plain"
    else:
        assert plain(customer_name) and 0 < len(stored_customer) <= 200
    catalogue.subscribe(db, NOW, customer, [product])

    with db.transaction() as session:
        feeds = {
            customer: customer_feed(session, SETTINGS, customer, START, END).body,
            product: product_feed(session, SETTINGS, product, START, END).body,
        }
    window = f"Window: w ({stored_label})\n" if stored_label else "Window: w\n"
    for key, body in feeds.items():
        calendar_name = stored_customer if key == customer else stored_product
        for name, events in _parsed(body, icaljs):
            assert name == f"{calendar_name} maintenance windows"
            assert [summary for summary, _ in events] == [f"{stored_product} maintenance"] * 2
            first_line = f"Planned maintenance window of {stored_product}.\n"
            assert all(description.startswith(first_line) for _, description in events)
            assert all(window in description for _, description in events)

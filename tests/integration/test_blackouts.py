"""Blackouts, freezes and conflicts on SQLite and PostgreSQL, with real SMTP (issue 14).

NOW = Monday 2027-01-04 12:00Z. Products (notice 30 days): ``lc`` has a ``local`` rule ``nightly``
Tue & Thu 00:00-06:00 (on_blackout skip); ``ln`` a ``local`` rule ``early`` Tue 00:00-06:00
(on_blackout next); ``pw`` a product-wide rule ``nightly`` Tue & Thu 00:00-03:00 New York.
Customers: ``deccan`` (Asia/Kolkata; lc, pw), ``thames`` (Europe/London; lc, pw), ``nyc``
(America/New_York; ln).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest

from scheduler.blackouts import declare
from scheduler.blackouts.conflicts import list_conflicts, resolve_override
from scheduler.blackouts.freezes import add_freeze, list_freezes
from scheduler.blackouts.policy import set_policy
from scheduler.blackouts.sla_policy import OVERRIDDEN_REASON
from scheduler.catalogue import edits as catalogue
from scheduler.feeds.content import customer_feed
from scheduler.notices.worker import send_due, warn_conflicts
from scheduler.occurrences import reschedule
from scheduler.occurrences.changes import change_occurrence
from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.occurrences.unplanned import declare as declare_unplanned
from scheduler.reports.sla_report import sla_report
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.integration.blackout_fixtures import NOW, load
from tests.smtp_server import FaultHandler, ServerThread
from windows.blackouts import parse_once
from windows.errors import Conflict, PolicyRefused
from windows.rulespec import RuleOptions, build_rule


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def settings(db_url: str, tmp_path: Path, smtp_url: str | None = None) -> Settings:
    return Settings(database_url=db_url, smtp_url=smtp_url, pickup_dir=tmp_path / "pickup", uid_domain="test.example")


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def view(db: Database, customer: str, start: str, end: str) -> list[tuple[str, str, str, str, int]]:
    with db.transaction() as session:
        items = occurrences(session, z(start), z(end), customer=customer, include_cancelled=True)
    return [(s.id, s.status, f"{s.start:%Y-%m-%dT%H:%MZ}", f"{s.end:%Y-%m-%dT%H:%MZ}", s.sequence) for s in items]


def pongal(db: Database, s: Settings) -> declare.BlackoutInfo:
    spec = parse_once("2027-02-08T00:00", "2027-02-12T00:00")
    return declare.add_blackout(db, NOW, s, "deccan", spec, "Stock audit")


def test_local_rule_skipped_for_one_customer_only(loaded: Database, db_url: str, tmp_path: Path) -> None:
    info = pongal(loaded, settings(db_url, tmp_path))
    assert (info.id, info.status, info.start, info.end) == (1, "active", z("2027-02-07T18:30Z"), z("2027-02-11T18:30Z"))
    assert info.deliveries == 1  # one cancellation to ops@deccan.example, covering both occurrences
    assert [i for i in view(loaded, "deccan", "2027-02-08T00:00Z", "2027-02-12T00:00Z") if i[0].startswith("lc.")] == [
        ("lc.nightly.20270209.deccan", "cancelled", "2027-02-08T18:30Z", "2027-02-09T00:30Z", 1),
        ("lc.nightly.20270211.deccan", "cancelled", "2027-02-10T18:30Z", "2027-02-11T00:30Z", 1),
    ]
    assert [i for i in view(loaded, "thames", "2027-02-08T00:00Z", "2027-02-12T00:00Z") if i[0].startswith("lc.")] == [
        ("lc.nightly.20270209.thames", "scheduled", "2027-02-09T00:00Z", "2027-02-09T06:00Z", 0),
        ("lc.nightly.20270211.thames", "scheduled", "2027-02-11T00:00Z", "2027-02-11T06:00Z", 0),
    ]
    # The product-wide rule is unchanged for deccan too: that is a conflict for ops.
    assert [i for i in view(loaded, "deccan", "2027-02-09T00:00Z", "2027-02-10T00:00Z") if i[0].startswith("pw.")] == [
        ("pw.nightly.20270209", "scheduled", "2027-02-09T05:00Z", "2027-02-09T08:00Z", 0)
    ]
    with loaded.transaction() as session:
        feed = customer_feed(
            session, settings(db_url, tmp_path), "deccan", z("2027-02-01T00:00Z"), z("2027-03-01T00:00Z")
        )
    assert b"lc.nightly.20270209.deccan@" not in feed.body  # feeds leave cancelled occurrences out
    assert b"pw.nightly.20270209@test.example" in feed.body


def test_skip_notice_is_a_cancel_with_raised_sequence_over_smtp(
    loaded: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    s = settings(db_url, tmp_path, smtp_url=server.url)
    pongal(loaded, s)
    stats = send_due(loaded, s, lambda: NOW + timedelta(minutes=1))
    assert (stats.sent, stats.failed) == (1, 0)
    [received] = handler.received
    assert received.recipients == ("ops@deccan.example",)
    calendars = [
        part.get_payload(decode=True)
        for part in message_from_bytes(received.data).walk()
        if part.get_content_type() == "text/calendar"
    ]
    ics = b"".join(c for c in calendars if isinstance(c, bytes)).replace(b"\r\n ", b"")
    assert b"METHOD:CANCEL" in ics
    assert b"UID:lc.nightly.20270209.deccan@test.example" in ics
    assert b"UID:lc.nightly.20270211.deccan@test.example" in ics
    assert ics.count(b"STATUS:CANCELLED") == 2
    assert ics.count(b"SEQUENCE:1") == 2


def test_next_moves_over_the_dst_change(loaded: Database, db_url: str, tmp_path: Path) -> None:
    spec = parse_once("2027-03-08T00:00", "2027-03-14T00:00")
    info = declare.add_blackout(loaded, NOW, settings(db_url, tmp_path), "nyc", spec, "Quarter close")
    assert (info.status, info.start, info.end) == ("active", z("2027-03-08T05:00Z"), z("2027-03-14T05:00Z"))
    # Tue 2027-03-09 00:00-06:00 EST moves to Sun 2027-03-14 00:00 EST - 06:00 EDT (5 h on the DST night).
    assert view(loaded, "nyc", "2027-03-08T00:00Z", "2027-03-17T00:00Z") == [
        ("ln.early.20270309.nyc", "moved", "2027-03-14T05:00Z", "2027-03-14T10:00Z", 1),
        ("ln.early.20270316.nyc", "scheduled", "2027-03-16T04:00Z", "2027-03-16T10:00Z", 0),
    ]
    # Listed in a range that only holds its new time, and found by id with its own deadline.
    assert view(loaded, "nyc", "2027-03-14T00:00Z", "2027-03-15T00:00Z") == [
        ("ln.early.20270309.nyc", "moved", "2027-03-14T05:00Z", "2027-03-14T10:00Z", 1)
    ]
    with loaded.transaction() as session:
        found = find_occurrence(session, "ln.early.20270309.nyc")
    assert found is not None
    assert (found.local_start.isoformat(), found.local_end.isoformat()) == (
        "2027-03-14T00:00:00-05:00",
        "2027-03-14T06:00:00-04:00",
    )
    assert found.notice_deadline == z("2027-02-12T05:00Z")


def test_product_wide_collision_is_a_conflict_until_resolved(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    pongal(loaded, s)

    def listed() -> list[tuple[str, str, int, str, str | None]]:
        return [
            (
                c.occurrence,
                c.customer,
                c.blackout,
                c.resolution,
                f"{c.deadline:%Y-%m-%dT%H:%MZ}" if c.deadline else None,
            )
            for c in list_conflicts(loaded, z("2027-02-01T00:00Z"), z("2027-03-01T00:00Z"))
        ]

    assert listed() == [
        ("lc.nightly.20270209.deccan", "deccan", 1, "skipped", "2027-01-09T18:30Z"),
        ("pw.nightly.20270209", "deccan", 1, "unresolved", "2027-01-10T05:00Z"),
        ("lc.nightly.20270211.deccan", "deccan", 1, "skipped", "2027-01-11T18:30Z"),
        ("pw.nightly.20270211", "deccan", 1, "unresolved", "2027-01-12T05:00Z"),
    ]
    items = list_conflicts(loaded, z("2027-02-01T00:00Z"), z("2027-03-01T00:00Z"))
    assert [c.open_at(NOW) for c in items] == [False] * 4
    assert [c.open_at(z("2027-01-11T00:00Z")) for c in items] == [False, True, False, False]
    change_occurrence(
        loaded, NOW, s, "pw.nightly.20270209", action="move", reason="Deccan audit", new_start=z("2027-02-15T05:00Z")
    )
    resolved = resolve_override(loaded, NOW, "pw.nightly.20270211", "deccan", "security patch cannot wait")
    assert resolved.resolution == "overridden"
    with pytest.raises(Conflict, match="already overridden"):
        resolve_override(loaded, NOW, "pw.nightly.20270211", "deccan", "again")
    assert [(o, r) for o, _, _, r, _ in listed()] == [
        ("lc.nightly.20270209.deccan", "skipped"),
        ("pw.nightly.20270209", "moved"),
        ("lc.nightly.20270211.deccan", "skipped"),
        ("pw.nightly.20270211", "overridden"),
    ]


def test_late_blackout_is_pending_until_approved(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    late = declare.add_blackout(loaded, NOW, s, "deccan", parse_once("2027-01-18T00:00", "2027-01-22T00:00"), "Sale")
    assert (late.status, late.deliveries) == ("pending", 0)
    assert view(loaded, "deccan", "2027-01-18T00:00Z", "2027-01-19T12:00Z")[0] == (
        "lc.nightly.20270119.deccan",
        "scheduled",
        "2027-01-18T18:30Z",
        "2027-01-19T00:30Z",
        0,
    )
    approved = declare.approve(loaded, NOW, s, late.id, "ok for this year")
    assert (approved.status, approved.deliveries) == ("active", 1)
    assert view(loaded, "deccan", "2027-01-18T00:00Z", "2027-01-19T12:00Z")[0][1:] == (
        "cancelled",
        "2027-01-18T18:30Z",
        "2027-01-19T00:30Z",
        1,
    )
    other = declare.add_blackout(loaded, NOW, s, "thames", parse_once("2027-01-25T00:00", "2027-01-26T00:00"), "x")
    rejected = declare.reject(loaded, NOW, other.id, "too late, announced already")
    assert [(b.id, b.customer, b.status) for b in declare.list_blackouts(loaded)] == [
        (1, "deccan", "active"),
        (2, "thames", "rejected"),
    ]
    assert rejected.note == "too late, announced already"
    with pytest.raises(Conflict, match="is rejected, not pending"):
        declare.approve(loaded, NOW, s, other.id)


def test_freeze_suppresses_and_refuses_moves_into_it(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    freeze = add_freeze(
        loaded,
        NOW,
        s,
        product="pw",
        start="2027-03-15T00:00",
        end="2027-03-20T00:00",
        tz="America/New_York",
        reason="release freeze",
    )
    assert (freeze.id, freeze.start, freeze.end) == (1, z("2027-03-15T04:00Z"), z("2027-03-20T04:00Z"))
    assert [(f.id, f.product) for f in list_freezes(loaded)] == [(1, "pw")]
    assert [i for i in view(loaded, "thames", "2027-03-15T00:00Z", "2027-03-24T00:00Z") if i[0].startswith("pw.")] == [
        ("pw.nightly.20270316", "cancelled", "2027-03-16T04:00Z", "2027-03-16T07:00Z", 1),
        ("pw.nightly.20270318", "cancelled", "2027-03-18T04:00Z", "2027-03-18T07:00Z", 1),
        ("pw.nightly.20270323", "scheduled", "2027-03-23T04:00Z", "2027-03-23T07:00Z", 0),
    ]
    with pytest.raises(PolicyRefused, match=r"falls in change freeze 1 over product 'pw' \(2027-03-15T04:00:00Z"):
        change_occurrence(
            loaded, NOW, s, "pw.nightly.20270323", action="move", reason="x", new_start=z("2027-03-17T05:00Z")
        )
    with pytest.raises(PolicyRefused, match="change freeze 1"):
        declare_unplanned(
            loaded,
            z("2027-03-16T00:00Z"),
            s,
            "pw",
            customers=[],
            start=z("2027-03-16T01:00Z"),
            duration=timedelta(hours=1),
            reason="disk",
        )


@pytest.mark.parametrize(("counts_as", "expected"), [("downtime", False), ("maintenance", True)])
def test_an_overridden_occurrence_follows_the_sla_policy(
    loaded: Database, db_url: str, tmp_path: Path, counts_as: str, expected: bool
) -> None:
    set_policy(loaded, NOW, "pw", counts_as=counts_as)
    pongal(loaded, settings(db_url, tmp_path))
    resolve_override(loaded, NOW, "pw.nightly.20270211", "deccan", "security patch cannot wait")
    [row] = sla_report(loaded, NOW, product="pw", month="2027-02", customer="deccan")
    verdicts = {v.window.id: (v.qualifies, v.reason) for v in row.result.windows}
    assert verdicts["pw.nightly.20270211"][0] is expected
    assert verdicts["pw.nightly.20270209"][0] is True  # the other one, not overridden: notice pending
    if not expected:
        assert verdicts["pw.nightly.20270211"][1] == OVERRIDDEN_REASON


def test_the_worker_warns_about_open_conflicts(
    loaded: Database, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pongal(loaded, settings(db_url, tmp_path))
    assert warn_conflicts(loaded, NOW) == 0  # deadlines still ahead
    with caplog.at_level(logging.WARNING, logger="maintcal.worker"):
        assert warn_conflicts(loaded, z("2027-01-11T00:00Z")) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "UNRESOLVED CONFLICT: pw.nightly.20270209 (2027-02-09T05:00:00Z) falls in blackout 1 'Stock audit' of "
        "deccan, notice deadline 2027-01-10T05:00:00Z passed: move or cancel it, or "
        "'maintcal conflicts resolve pw.nightly.20270209 --customer deccan --override'"
    ]


def test_a_freeze_refuses_requests_and_one_off_windows_into_it(loaded: Database, db_url: str, tmp_path: Path) -> None:
    s = settings(db_url, tmp_path)
    add_freeze(loaded, NOW, s, product=None, start="2027-03-15T00:00", end="2027-03-20T00:00", tz="UTC", reason="x")
    with pytest.raises(PolicyRefused, match=r"the proposed time 2027-03-17T05:00:00Z .* change freeze 1 over all"):
        reschedule.request(
            loaded, NOW, customer="thames", occurrence_id="pw.nightly.20270323", proposed_start=z("2027-03-17T05:00Z")
        )
    rule, _ = build_rule(RuleOptions("pw", "patch", "UTC", once_start="2027-03-16T01:00", once_end="2027-03-16T02:00"))
    with pytest.raises(PolicyRefused, match="the one-off window 2027-03-16T01:00:00Z"):
        catalogue.add_window(loaded, NOW, rule)


def test_a_local_occurrence_cannot_be_moved_into_its_customers_blackout(
    loaded: Database, db_url: str, tmp_path: Path
) -> None:
    s = settings(db_url, tmp_path)
    pongal(loaded, s)
    with pytest.raises(PolicyRefused) as refused:
        change_occurrence(
            loaded, NOW, s, "lc.nightly.20270216.deccan", action="move", reason="x", new_start=z("2027-02-09T20:00Z")
        )
    assert refused.value.message == (
        "the new time 2027-02-09T20:00:00Z - 2027-02-10T02:00:00Z falls in blackout 1 'Stock audit' of deccan "
        "(2027-02-07T18:30:00Z - 2027-02-11T18:30:00Z); choose a time outside it"
    )
    # Another customer's occurrence of the same rule may go there.
    moved = change_occurrence(
        loaded, NOW, s, "lc.nightly.20270216.thames", action="move", reason="x", new_start=z("2027-02-09T20:00Z")
    )
    assert [i.status for i in moved.items] == ["moved"]

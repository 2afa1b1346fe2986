"""Past input is accepted only on purpose, on SQLite and PostgreSQL.

- Unplanned maintenance that started more than 15 minutes ago, or has already ended, needs
  ``record_past`` (``--record-past``). A window wholly in the past is then recorded without any
  notice; a window still open is notified with its real start.
- ``extend``/``end`` of a window that is over only correct the record (with ``record_past``, no
  notice); ending an open window more than 15 minutes ago needs ``record_past`` and is notified.
- A one-off window rule that has already started is refused (CLI, catalogue file); an unchanged
  one in the catalogue (history already stored) is left alone.

Before: ``declare --start 2020-01-01T00:00:00Z`` emailed every contact "unplanned maintenance has
been declared"; a one-off window in 2020 was added silently.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import maintcal
from commands.common import AppContext
from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.apply import apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.occurrences import unplanned
from scheduler.reports.sla_report import sla_report
from scheduler.store.db import Database
from scheduler.store.models import WindowRule
from scheduler.store.models_outbox import Delivery, Notice
from tests.integration.changes_fixtures import NOW, load, settings, utc
from windows.errors import Conflict, InvalidInput, PolicyRefused
from windows.rulespec import RuleOptions, build_rule


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def notices_of(db: Database) -> list[tuple[str, str | None, str, str]]:
    """(notice kind, lifecycle event, delivery status, next attempt) of every delivery, in id order."""
    with db.transaction() as session:
        rows = session.execute(
            select(Notice.kind, Delivery.event, Delivery.status, Delivery.next_attempt_at)
            .join(Notice, Notice.id == Delivery.notice_id)
            .order_by(Delivery.id)
        )
        return [(kind, event, status, f"{due:%Y-%m-%dT%H:%M}") for kind, event, status, due in rows]


def deliveries(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Delivery)) or 0


def test_declaring_the_past_needs_record_past(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    with pytest.raises(InvalidInput) as ended:
        unplanned.declare(
            loaded, NOW, conf, "pe", customers=[], start=utc("2020-01-01T00:00:00Z"), duration=timedelta(hours=1),
            reason="r",
        )  # fmt: skip
    assert ended.value.message == (
        "this window ended at 2020-01-01T01:00:00Z, before now (2027-01-04T12:00:00Z): add --record-past to record "
        "it after the fact (counted as downtime, no notice is sent)"
    )
    with pytest.raises(InvalidInput) as started:
        unplanned.declare(
            loaded, NOW, conf, "pe", customers=[], start=NOW - timedelta(minutes=16), duration=timedelta(hours=1),
            reason="r",
        )  # fmt: skip
    assert started.value.message == (
        "--start 2027-01-04T11:44:00Z is more than 15 minutes ago: check the date, or add --record-past to record "
        "the real start (customers are told now)"
    )
    assert deliveries(loaded) == 0
    # Within the tolerance (a declaration typed late): accepted and notified, as before.
    late = unplanned.declare(
        loaded, NOW, conf, "pe", customers=["nile"], start=NOW - timedelta(minutes=15), duration=timedelta(hours=1),
        reason="r",
    )  # fmt: skip
    assert (late.info.start, late.deliveries, late.notified) == (utc("2027-01-04T11:45:00Z"), 1, True)


def test_a_window_wholly_past_is_recorded_without_notice_and_counts_as_downtime(
    loaded: Database, tmp_path: Path, db_url: str
) -> None:
    conf = settings(tmp_path, db_url)
    recorded = unplanned.declare(
        loaded, NOW, conf, "pe", customers=["nile"], start=utc("2027-01-02T10:00:00Z"),
        end=utc("2027-01-02T10:40:00Z"), reason="failover", record_past=True,
    )  # fmt: skip
    assert (recorded.info.id, recorded.info.state, recorded.affected) == ("pe.unplanned-1", "ended", ["nile"])
    assert (recorded.deliveries, recorded.notified) == (0, False)
    assert deliveries(loaded) == 0
    [row] = sla_report(loaded, NOW, product="pe", month="2027-01", customer="nile")
    assert row.result.downtime_seconds == 2400


def test_a_window_still_open_is_notified_with_its_real_start(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    open_ = unplanned.declare(
        loaded, NOW, conf, "pe", customers=["thames"], start=NOW - timedelta(hours=2), duration=timedelta(hours=3),
        reason="disk", record_past=True,
    )  # fmt: skip
    assert (open_.info.start, open_.info.state, open_.deliveries, open_.notified) == (
        utc("2027-01-04T10:00:00Z"),
        "open",
        2,
        True,
    )


def test_extend_and_end_in_the_past(loaded: Database, tmp_path: Path, db_url: str) -> None:
    conf = settings(tmp_path, db_url)
    unplanned.declare(
        loaded, NOW, conf, "pe", customers=["nile"], start=NOW, duration=timedelta(hours=1), reason="r"
    )  # open: 12:00-13:00, 1 delivery
    later = NOW + timedelta(hours=3)  # the window ended at 13:00
    with pytest.raises(Conflict) as reopen:
        unplanned.extend(loaded, later, conf, "pe.unplanned-1", by=None, until=later + timedelta(hours=1))
    assert reopen.value.message == (
        "'pe.unplanned-1' ended at 2027-01-04T13:00:00Z: declare new unplanned maintenance instead of reopening it"
    )
    with pytest.raises(Conflict) as correct:
        unplanned.extend(loaded, later, conf, "pe.unplanned-1", by=timedelta(minutes=20), until=None)
    assert correct.value.message == (
        "'pe.unplanned-1' ended at 2027-01-04T13:00:00Z: add --record-past to correct the record after the fact "
        "(no notice is sent)"
    )
    fixed = unplanned.extend(
        loaded, later, conf, "pe.unplanned-1", by=timedelta(minutes=20), until=None, record_past=True
    )
    assert (fixed.info.end, fixed.info.sequence, fixed.deliveries, fixed.notified) == (
        utc("2027-01-04T13:20:00Z"),
        1,
        0,
        False,
    )
    with pytest.raises(Conflict) as ended:
        unplanned.end(loaded, later, conf, "pe.unplanned-1", at=utc("2027-01-04T13:10:00Z"))
    assert ended.value.message == (
        "'pe.unplanned-1' already ended at 2027-01-04T13:20:00Z: add --record-past to correct the record after the "
        "fact (no notice is sent)"
    )
    shortened = unplanned.end(loaded, later, conf, "pe.unplanned-1", at=utc("2027-01-04T13:10:00Z"), record_past=True)
    assert (shortened.info.end, shortened.info.sequence, shortened.notified) == (utc("2027-01-04T13:10:00Z"), 2, False)
    with pytest.raises(InvalidInput) as before_start:
        unplanned.end(loaded, later, conf, "pe.unplanned-1", at=utc("2027-01-04T11:00:00Z"), record_past=True)
    assert before_start.value.message == "--at 2027-01-04T11:00:00Z is not after the start 2027-01-04T12:00:00Z"
    # The declaration queued its notice and the 'finished' notice for its end; the after-the-fact
    # corrections send no notice of their own, but the queued 'finished' follows each corrected end.
    assert notices_of(loaded) == [
        ("unplanned", "unplanned.declared", "queued", "2027-01-04T12:00"),
        ("finished", "occurrence.finished", "superseded", "2027-01-04T13:00"),
        ("finished", "occurrence.finished", "superseded", "2027-01-04T13:20"),
        ("finished", "occurrence.finished", "queued", "2027-01-04T13:10"),
    ]


def test_ending_an_open_window_long_ago_needs_record_past_and_is_notified(
    loaded: Database, tmp_path: Path, db_url: str
) -> None:
    conf = settings(tmp_path, db_url)
    unplanned.declare(loaded, NOW, conf, "pe", customers=["nile"], start=NOW, duration=timedelta(hours=6), reason="r")
    later = NOW + timedelta(hours=2)
    with pytest.raises(InvalidInput) as long_ago:
        unplanned.end(loaded, later, conf, "pe.unplanned-1", at=NOW + timedelta(minutes=30))
    assert long_ago.value.message == (
        "--at 2027-01-04T12:30:00Z is more than 15 minutes ago: check the date, or add --record-past to record "
        "the real end"
    )
    within = unplanned.end(loaded, later, conf, "pe.unplanned-1", at=later - timedelta(minutes=15))
    assert (within.info.end, within.deliveries, within.notified) == (utc("2027-01-04T13:45:00Z"), 1, True)
    unplanned.declare(loaded, NOW, conf, "pe", customers=["nile"], start=NOW, duration=timedelta(hours=6), reason="r")
    real = unplanned.end(loaded, later, conf, "pe.unplanned-2", at=NOW + timedelta(minutes=30), record_past=True)
    assert (real.info.end, real.deliveries, real.notified) == (utc("2027-01-04T12:30:00Z"), 1, True)


def test_cli_record_past(loaded: Database, db_url: str, tmp_path: Path) -> None:
    app = AppContext(settings(tmp_path, db_url), now=NOW)
    base = ["unplanned", "declare", "pe", "--customer", "nile", "--start", "2020-01-01T00:00:00Z", "--duration", "1h"]
    refused = CliRunner().invoke(maintcal, [*base, "--reason", "x"], obj=app)
    assert (refused.exit_code, refused.stdout, refused.stderr) == (
        2,
        "",
        "error: this window ended at 2020-01-01T01:00:00Z, before now (2027-01-04T12:00:00Z): add --record-past to "
        "record it after the fact (counted as downtime, no notice is sent)\n",
    )
    recorded = CliRunner().invoke(maintcal, [*base, "--reason", "x", "--record-past"], obj=app)
    assert (recorded.exit_code, recorded.stdout) == (
        0,
        "recorded pe.unplanned-1: 2020-01-01T00:00:00Z - 2020-01-01T01:00:00Z (sequence 0)\n"
        "affected customers: nile\n"
        "recorded after the fact: no notice sent (the window is over); it counts as downtime in the SLA\n",
    )
    assert deliveries(loaded) == 0


ONCE = ("2027-01-04T06:00", "2027-01-04T08:00")  # 11:00Z-13:00Z in New York


@pytest.mark.parametrize(
    ("once", "message"),
    [
        (
            ("2020-01-01T00:00", "2020-01-01T02:00"),
            "window 'pe.once' ended at 2020-01-01T07:00:00Z, before now",
        ),
        (ONCE, "window 'pe.once' started at 2027-01-04T11:00:00Z, before now"),
    ],
)
def test_a_one_off_window_that_already_started_is_refused(
    loaded: Database, once: tuple[str, str], message: str
) -> None:
    rule, _ = build_rule(RuleOptions("pe", "once", "America/New_York", once_start=once[0], once_end=once[1]))
    with pytest.raises(PolicyRefused) as error:
        catalogue.add_window(loaded, NOW, rule, waive_notice="a waiver does not make the past possible")
    assert error.value.message == (
        f"{message}: a one-off window is for maintenance still to come; record downtime that already happened "
        "with 'maintcal outages add' or 'maintcal unplanned declare --record-past' (a past 'from' imports the "
        "history of recurring windows only)"
    )
    with loaded.transaction() as session:
        assert session.scalar(select(func.count()).where(WindowRule.name == "once")) == 0
    future, _ = build_rule(
        RuleOptions("pe", "once", "America/New_York", once_start="2027-01-04T08:00", once_end="2027-01-04T09:00")
    )
    catalogue.add_window(loaded, NOW, future, waive_notice="starts in one hour")


def test_a_local_one_off_is_judged_in_each_subscribers_zone(loaded: Database) -> None:
    # 2027-01-04 22:00 local has passed in Sydney (11:00Z, now is 12:00Z) but not in London or Cairo.
    rule, _ = build_rule(RuleOptions("pc", "once", "local", once_start="2027-01-04T22:00", once_end="2027-01-05T01:00"))
    with pytest.raises(PolicyRefused, match=r"^window 'pc\.once' started at 2027-01-04T11:00:00Z, before now: "):
        catalogue.add_window(loaded, NOW, rule, waive_notice="w")


CATALOGUE = """
[[products]]
key = "pe"
name = "Premier Edition"

  [[products.windows]]
  name = "once"
  once_start = "{start}"
  once_end = "{end}"
  tz = "UTC"
  waive_notice = "test"
  label = "{label}"
"""


def test_the_catalogue_refuses_a_new_past_one_off_but_keeps_a_stored_one(loaded: Database) -> None:
    def apply(
        now_offset: timedelta, label: str, start: str = "2027-01-05T00:00", end: str = "2027-01-05T02:00"
    ) -> None:
        text = CATALOGUE.format(start=start, end=end, label=label)
        apply_catalogue(loaded, NOW + now_offset, parse_catalogue(text))

    apply(timedelta(0), "first")  # tomorrow: accepted with the waiver
    apply(timedelta(days=3), "relabelled")  # now in the past, but unchanged: history, kept
    with loaded.transaction() as session:
        assert session.scalar(select(WindowRule.label).where(WindowRule.name == "once")) == "relabelled"
    with pytest.raises(PolicyRefused, match=r"^window 'pe\.once' ended at 2027-01-05T03:00:00Z, before now: "):
        apply(timedelta(days=3), "moved", end="2027-01-05T03:00")

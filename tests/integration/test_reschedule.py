"""Reschedule requests: every policy refusal, approve and reject, concurrent approvals."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scheduler.occurrences import reschedule
from scheduler.occurrences.changes import change_occurrence
from scheduler.occurrences.schedule import find_occurrence
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load, settings, utc
from windows.errors import Conflict, InvalidInput, NotFound, PolicyRefused


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db)
    return db


def _ask(db: Database, to: str, occurrence: str = "pe.nightly.20270302", now: datetime = NOW, **kw: object) -> int:
    info = reschedule.request(db, now, customer="thames", occurrence_id=occurrence, proposed_start=utc(to), **kw)  # type: ignore[arg-type]
    return info.id


def test_request_then_approve_moves_it_for_that_customer_only(loaded: Database, tmp_path: Path, db_url: str) -> None:
    request_id = _ask(loaded, "2027-03-03T05:00:00Z", reason="quarter-end freeze")
    [pending] = reschedule.list_requests(loaded, "pending")
    assert (pending.id, pending.occurrence, pending.status) == (request_id, "pe.nightly.20270302", "pending")
    assert (pending.proposed_start, pending.proposed_end) == (utc("2027-03-03T05:00:00Z"), utc("2027-03-03T08:00:00Z"))

    info = reschedule.approve(loaded, NOW + timedelta(hours=1), settings(tmp_path, db_url), request_id, note="ok")
    assert (info.status, info.decision_note, info.decided_at) == ("approved", "ok", NOW + timedelta(hours=1))
    with loaded.transaction() as session:
        mine = find_occurrence(session, "pe.nightly.20270302", "thames")
        theirs = find_occurrence(session, "pe.nightly.20270302", "harbour")
    assert mine is not None and theirs is not None
    assert (mine.status, mine.start, mine.end, mine.sequence) == (
        "moved",
        utc("2027-03-03T05:00:00Z"),
        utc("2027-03-03T08:00:00Z"),
        1,
    )
    assert (mine.customer_consent, mine.notice_deadline) == (True, None)  # exempt: the customer asked
    assert (theirs.status, theirs.start, theirs.sequence) == ("scheduled", utc("2027-03-02T05:00:00Z"), 0)
    with pytest.raises(Conflict, match="already approved"):
        reschedule.approve(loaded, NOW, settings(tmp_path, db_url), request_id)


def test_reject_needs_a_reason_and_records_it(loaded: Database, tmp_path: Path, db_url: str) -> None:
    request_id = _ask(loaded, "2027-03-03T05:00:00Z")
    with pytest.raises(InvalidInput, match="needs --reason"):
        reschedule.reject(loaded, NOW, settings(tmp_path, db_url), request_id, " ")
    info = reschedule.reject(loaded, NOW, settings(tmp_path, db_url), request_id, "release train")
    assert (info.status, info.decision_note) == ("rejected", "release train")
    with loaded.transaction() as session:
        mine = find_occurrence(session, "pe.nightly.20270302", "thames")
    assert mine is not None and (mine.status, mine.sequence) == ("scheduled", 0)
    # A new request may follow a decided one.
    assert _ask(loaded, "2027-03-03T06:00:00Z") == request_id + 1


@pytest.mark.parametrize(
    ("occurrence", "to", "now", "error", "message"),
    [
        ("pe.nightly.20270303", "2027-03-03T05:00:00Z", NOW, NotFound, "no occurrence 'pe.nightly.20270303'"),
        ("pe.nightly.20270302", "2027-03-03T05:00:00Z", utc("2027-03-02T06:00:00Z"), PolicyRefused, "already started"),
        ("pe.nightly.20270302", "2027-03-03T05:00:00Z", utc("2027-02-27T06:00:00Z"), PolicyRefused, "at least 72 h"),
        ("pe.nightly.20270114", "2027-01-06T00:00:00Z", NOW, PolicyRefused, "at least 72 h from now"),
        ("pe.nightly.20270302", "2027-03-17T05:00:01Z", NOW, PolicyRefused, "within 14 days"),
        (
            "pe.nightly.20270302",
            "2027-03-04T06:00:00Z",
            NOW,
            PolicyRefused,
            "overlaps occurrence 'pe.nightly.20270304'",
        ),
        ("pe.nightly.20270302", "2027-03-02T05:00:00Z", NOW, PolicyRefused, "nothing to move"),
        ("pe.unplanned-1", "2027-03-02T05:00:00Z", NOW, PolicyRefused, "cannot be rescheduled"),
        ("pc.early.20270302.harbour", "2027-03-03T05:00:00Z", NOW, NotFound, "for customer 'thames'"),
    ],
)
def test_policy_refusals(
    loaded: Database, occurrence: str, to: str, now: datetime, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _ask(loaded, to, occurrence, now)


def test_length_must_be_kept_and_one_open_request(loaded: Database) -> None:
    with pytest.raises(PolicyRefused, match="keep its length of 180 minutes"):
        _ask(loaded, "2027-03-03T05:00:00Z", proposed_end=utc("2027-03-03T09:00:00Z"))
    _ask(loaded, "2027-03-03T05:00:00Z")
    with pytest.raises(Conflict, match="is still pending"):
        _ask(loaded, "2027-03-03T06:00:00Z")


def test_cancelled_occurrence_cannot_be_requested(loaded: Database, tmp_path: Path, db_url: str) -> None:
    change_occurrence(loaded, NOW, settings(tmp_path, db_url), "pe.nightly.20270302", action="cancel", reason="r")
    with pytest.raises(PolicyRefused, match="is cancelled"):
        _ask(loaded, "2027-03-03T05:00:00Z")


def test_approval_rechecks_the_policy(loaded: Database, tmp_path: Path, db_url: str) -> None:
    request_id = _ask(loaded, "2027-03-03T05:00:00Z")
    with pytest.raises(PolicyRefused, match="at least 72 h"):
        reschedule.approve(loaded, utc("2027-02-28T06:00:00Z"), settings(tmp_path, db_url), request_id)
    [still] = reschedule.list_requests(loaded, "pending")
    assert still.id == request_id  # the refused approval changed nothing


def test_two_concurrent_approvals_exactly_one_wins(loaded: Database, tmp_path: Path, db_url: str) -> None:
    request_id = _ask(loaded, "2027-03-03T05:00:00Z")
    conf = settings(tmp_path, db_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def approve() -> None:
        database = Database.open(db_url)
        barrier.wait()
        try:
            reschedule.approve(database, NOW, conf, request_id)
            outcomes.append("approved")
        except Conflict as error:
            outcomes.append(error.message)
        finally:
            database.dispose()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", f"request {request_id} was already approved"]
    with loaded.transaction() as session:
        mine = find_occurrence(session, "pe.nightly.20270302", "thames")
    assert mine is not None and mine.sequence == 1  # one move, not two

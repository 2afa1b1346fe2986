"""The notice policy (DESIGN §3), pure: deadlines across DST, the horizon, digests, "noticed"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from windows.deadline import notice_deadline
from windows.expansion import Occurrence
from windows.notice import (
    ContactPeriod,
    Dispatch,
    Reason,
    Verdict,
    announce_from,
    assess,
    due_for_announcement,
    horizon_end,
    judge,
    nominated_at,
    plan_digests,
)
from windows.schedule import Scheduled
from windows.timezones import to_local, zone_by_name


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def item(
    start: str,
    end: str,
    *,
    zone: str = "America/New_York",
    notice_days: int = 30,
    occurrence_id: str = "pe.nightly.20270406",
    product: str = "pe",
    status: str = "scheduled",
    kind: str = "planned",
    consent: bool = False,
    waived: str | None = None,
    customer: str = "acme",
) -> Scheduled:
    s, e = at(start), at(end)
    tz = zone_by_name(zone)
    occ = Occurrence(
        occurrence_id,
        occurrence_id,
        product,
        "nightly",
        None,
        s,
        e,
        zone,
        to_local(s, tz),
        to_local(e, tz),
        to_local(s, tz).date(),
        kind,
    )
    return Scheduled(
        occurrence=occ,
        customer=customer,
        status=status,
        start=s,
        end=e,
        local_start=to_local(s, tz),
        local_end=to_local(e, tz),
        sequence=1 if status != "scheduled" else 0,
        notice_deadline=None if consent or kind == "unplanned" else notice_deadline(s, zone, notice_days),
        customer_consent=consent,
        waived=waived,
        kind=kind,
    )


# -- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "zone", "days", "deadline"),
    [
        # 2027-04-06 00:00 EDT -> 2027-03-07 00:00 EST: the offset differs across the DST change.
        ("2027-04-06T04:00:00Z", "America/New_York", 30, "2027-03-07T05:00:00Z"),
        # 02:30 EDT on 2027-04-13; 30 days earlier is 2027-03-14 02:30, in the spring-forward gap:
        # the offset before the gap (EST) applies, 07:30Z.
        ("2027-04-13T06:30:00Z", "America/New_York", 30, "2027-03-14T07:30:00Z"),
        # 01:30 EST on 2027-12-07; 30 days earlier 2027-11-07 01:30 happens twice: the first (EDT).
        ("2027-12-07T06:30:00Z", "America/New_York", 30, "2027-11-07T05:30:00Z"),
        # London: 2027-04-20 00:00 BST -> 2027-03-21 00:00 GMT.
        ("2027-04-19T23:00:00Z", "Europe/London", 30, "2027-03-21T00:00:00Z"),
        # Sydney (southern hemisphere): 2027-04-06 02:00 AEST -> 2027-03-07 02:00 AEDT.
        ("2027-04-05T16:00:00Z", "Australia/Sydney", 30, "2027-03-06T15:00:00Z"),
        # Lord Howe's 30-minute shift: 2027-04-06 00:00 +10:30 -> 2027-03-07 00:00 +11:00.
        ("2027-04-05T13:30:00Z", "Australia/Lord_Howe", 30, "2027-03-06T13:00:00Z"),
        ("2027-03-16T04:00:00Z", "UTC", 0, "2027-03-16T04:00:00Z"),
        ("2027-03-16T04:00:00Z", "Asia/Kolkata", 14, "2027-03-02T04:00:00Z"),
        # After 2037 (the zone's POSIX TZ rule): 2040-04-03 00:00 EDT -> 2040-03-04 00:00 EST.
        ("2040-04-03T04:00:00Z", "America/New_York", 30, "2040-03-04T05:00:00Z"),
        # 2040-04-10 02:30 EDT -> 2040-03-11 02:30, in the gap: EST, 07:30Z.
        ("2040-04-10T06:30:00Z", "America/New_York", 30, "2040-03-11T07:30:00Z"),
        # 2150-12-01 01:30 EST -> 2150-11-01 01:30, twice: the first (EDT), 05:30Z.
        ("2150-12-01T06:30:00Z", "America/New_York", 30, "2150-11-01T05:30:00Z"),
        # Sydney 2045-04-25 02:00 AEST -> 2045-03-26 02:00 AEDT.
        ("2045-04-24T16:00:00Z", "Australia/Sydney", 30, "2045-03-25T15:00:00Z"),
        # Dublin 2045-04-20 00:00 IST -> 2045-03-21 00:00 GMT.
        ("2045-04-19T23:00:00Z", "Europe/Dublin", 30, "2045-03-21T00:00:00Z"),
    ],
)
def test_deadline_is_the_same_local_time_n_calendar_days_before(
    start: str, zone: str, days: int, deadline: str
) -> None:
    assert notice_deadline(at(start), zone, days) == at(deadline)


def test_horizon_adds_the_lead_days_in_local_calendar_days() -> None:
    start = at("2027-04-06T04:00:00Z")  # 00:00 EDT
    assert announce_from(start, "America/New_York", 30, 7) == at("2027-02-28T05:00:00Z")  # 00:00 EST
    assert announce_from(start, "America/New_York", 30, 0) == notice_deadline(start, "America/New_York", 30)
    assert horizon_end(at("2027-01-04T12:00:00Z"), 30, 7) == at("2027-02-11T12:00:00Z")


# -- what a run announces -------------------------------------------------------------------------

START, END = "2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z"
ENTERS = at("2027-02-28T05:00:00Z")  # announce_from(START) with 30 + 7 days


def test_an_occurrence_enters_the_horizon_exactly_at_notice_plus_lead_days() -> None:
    s = item(START, END)
    assert due_for_announcement([s], ENTERS - timedelta(seconds=1), {"pe": 30}) == []
    assert due_for_announcement([s], ENTERS, {"pe": 30}) == [s]
    assert due_for_announcement([s], ENTERS, {"pe": 30}, lead_days=6) == []
    assert due_for_announcement([s], ENTERS, {"pe": 23}) == []  # a shorter notice period enters later


def test_cancelled_unplanned_and_started_occurrences_are_not_announced_by_digests() -> None:
    now = ENTERS
    assert due_for_announcement([item(START, END, status="cancelled")], now, {"pe": 30}) == []
    assert due_for_announcement([item(START, END, kind="unplanned")], now, {"pe": 30}) == []
    assert due_for_announcement([item(START, END)], at(START), {"pe": 30}) == []
    # A waived or late one is still announced (better late than never; compliance reports it).
    late = item(START, END, waived="urgent fix")
    assert due_for_announcement([late], at("2027-04-01T00:00:00Z"), {"pe": 30}) == [late]


def test_one_digest_per_contact_with_only_what_it_was_not_told() -> None:
    first = item(START, END, occurrence_id="pe.nightly.20270406")
    second = item("2027-04-13T04:00:00Z", "2027-04-13T10:00:00Z", occurrence_id="pe.nightly.20270413")
    covered = {("old@acme.example", first.id, first.start, first.end)}
    digests = plan_digests([second, first], ["old@acme.example", "new@acme.example", "new@acme.example"], covered)
    assert [(d.email, [s.id for s in d.items]) for d in digests] == [
        ("new@acme.example", ["pe.nightly.20270406", "pe.nightly.20270413"]),
        ("old@acme.example", ["pe.nightly.20270413"]),
    ]
    everything = covered | {
        (e, s.id, s.start, s.end) for e in ("old@acme.example", "new@acme.example") for s in (first, second)
    }
    assert plan_digests([first, second], ["old@acme.example", "new@acme.example"], everything) == []


def test_a_moved_occurrence_is_announced_again_at_its_new_times() -> None:
    original = item(START, END)
    moved = replace(original, status="moved", start=at("2027-04-07T04:00:00Z"), end=at("2027-04-07T10:00:00Z"))
    covered = {("a@acme.example", original.id, original.start, original.end)}
    [digest] = plan_digests([moved], ["a@acme.example"], covered)
    assert digest.items == (moved,)


# -- noticed, pending, violated, waived, exempt ---------------------------------------------------

DEADLINE = at("2027-03-07T05:00:00Z")  # of START in New York with 30 days
ALICE = ContactPeriod("alice@acme.example", at("2027-01-01T00:00:00Z"))
BOB = ContactPeriod("bob@acme.example", at("2027-01-01T00:00:00Z"))


def sent(email: str, when: str, start: str = START, end: str = END) -> Dispatch:
    return Dispatch(email, at(start), at(end), "sent", at(when), "250 OK", 1)


def test_noticed_when_every_contact_nominated_at_the_deadline_got_it_by_the_deadline() -> None:
    verdict = assess(
        item(START, END),
        at("2027-03-10T00:00:00Z"),
        [ALICE, BOB],
        [sent("alice@acme.example", "2027-02-28T05:00:00Z"), sent("bob@acme.example", "2027-03-07T05:00:00Z")],
    )
    assert verdict == Verdict(
        "noticed", DEADLINE, noticed_at=DEADLINE, notified=("alice@acme.example", "bob@acme.example")
    )


def test_one_second_after_the_deadline_is_late() -> None:
    verdict = assess(
        item(START, END),
        at("2027-03-10T00:00:00Z"),
        [ALICE],
        [sent("alice@acme.example", "2027-03-07T05:00:01Z")],
    )
    assert verdict == Verdict(
        "violated", DEADLINE, reasons=(Reason("alice@acme.example", "sent late", "accepted at 2027-03-07T05:00:01Z"),)
    )


def test_contacts_count_as_nominated_at_the_deadline_not_now() -> None:
    removed_before = ContactPeriod("gone@acme.example", at("2027-01-01T00:00:00Z"), at("2027-03-01T00:00:00Z"))
    added_after = ContactPeriod("late@acme.example", at("2027-03-08T00:00:00Z"))
    removed_after = ContactPeriod("left@acme.example", at("2027-01-01T00:00:00Z"), at("2027-03-08T00:00:00Z"))
    contacts = [ALICE, removed_before, added_after, removed_after]
    assert nominated_at(contacts, DEADLINE) == ["alice@acme.example", "left@acme.example"]
    verdict = assess(
        item(START, END), at("2027-03-10T00:00:00Z"), contacts, [sent("alice@acme.example", "2027-03-01T00:00:00Z")]
    )
    assert verdict.state == "violated"
    assert verdict.reasons == (
        Reason("left@acme.example", "not sent", "no notice covering the current start and end was queued"),
    )
    both = [sent("alice@acme.example", "2027-03-01T00:00:00Z"), sent("left@acme.example", "2027-03-02T00:00:00Z")]
    assert assess(item(START, END), at("2027-03-10T00:00:00Z"), contacts, both).state == "noticed"


def test_a_contact_nominated_exactly_at_the_deadline_is_required() -> None:
    exact = ContactPeriod("exact@acme.example", DEADLINE)
    verdict = assess(item(START, END), at("2027-03-10T00:00:00Z"), [exact], [])
    assert [r.contact for r in verdict.reasons] == ["exact@acme.example"]


def test_no_contact_at_the_deadline_is_a_violation_never_noticed() -> None:
    verdict = assess(item(START, END), at("2027-03-10T00:00:00Z"), [], [])
    assert verdict == Verdict(
        "violated",
        DEADLINE,
        reasons=(Reason(None, "no contact", "no contact was nominated at the deadline 2027-03-07T05:00:00Z"),),
    )


def test_reasons_name_failed_and_queued_deliveries() -> None:
    dispatches = [
        Dispatch("alice@acme.example", at(START), at(END), "failed", None, "550 5.1.1 no such user", 1),
        Dispatch("bob@acme.example", at(START), at(END), "queued", None, "450 4.2.0 greylisted", 3),
    ]
    verdict = assess(item(START, END), at("2027-03-10T00:00:00Z"), [ALICE, BOB], dispatches)
    assert verdict.reasons == (
        Reason("alice@acme.example", "failed", "550 5.1.1 no such user"),
        Reason("bob@acme.example", "not sent", "queued, 3 attempt(s), last: 450 4.2.0 greylisted"),
    )


def test_a_memo_reuses_a_reason_for_the_same_deliveries_and_never_for_others() -> None:
    """A report passes one tuple for every occurrence the same deliveries covered; the reason a
    contact lacks the notice is then worded once, whatever the occurrence's deadline."""
    failed = Dispatch("alice@acme.example", at(START), at(END), "failed", None, "550 5.1.1 no such user", 1)
    queued = Dispatch("alice@acme.example", at(START), at(END), "queued", None, None, 2)
    first, later = item(START, END), item("2027-04-13T04:00:00Z", "2027-04-13T10:00:00Z")
    now = at("2027-03-10T00:00:00Z")
    memo: dict[tuple[str, int], Reason] = {}
    covering, other = (failed,), (queued,)
    one = judge(first, now, DEADLINE, ["alice@acme.example"], covering, None, memo)
    two = judge(later, now, DEADLINE + timedelta(days=7), ["alice@acme.example"], covering, None, memo)
    three = judge(first, now, DEADLINE, ["alice@acme.example"], other, None, memo)
    assert one.reasons == (Reason("alice@acme.example", "failed", "550 5.1.1 no such user"),)
    assert two.reasons[0] is one.reasons[0]
    assert two.deadline == DEADLINE + timedelta(days=7)
    assert three.reasons == (Reason("alice@acme.example", "not sent", "queued, 2 attempt(s)"),)
    assert len(memo) == 2
    assert one == judge(first, now, DEADLINE, ["alice@acme.example"], [failed])  # the same without a memo


def test_pending_until_the_deadline_passes() -> None:
    s = item(START, END)
    assert assess(s, DEADLINE, [ALICE], []).state == "pending"
    assert assess(s, DEADLINE + timedelta(seconds=1), [ALICE], []).state == "violated"


def test_a_notice_at_superseded_times_does_not_count_for_a_moved_occurrence() -> None:
    moved = item("2027-04-07T04:00:00Z", "2027-04-07T10:00:00Z", status="moved")
    old = sent("alice@acme.example", "2027-02-28T05:00:00Z")
    verdict = assess(moved, at("2027-03-10T00:00:00Z"), [ALICE], [old])
    assert (verdict.state, verdict.reasons[0].reason) == ("violated", "not sent")
    new = sent("alice@acme.example", "2027-03-01T00:00:00Z", "2027-04-07T04:00:00Z", "2027-04-07T10:00:00Z")
    assert assess(moved, at("2027-03-10T00:00:00Z"), [ALICE], [old, new]).state == "noticed"


def test_waived_and_exempt() -> None:
    now = at("2027-03-10T00:00:00Z")
    waived = assess(item(START, END, waived="security fix"), now, [ALICE], [])
    assert (waived.state, waived.note, waived.deadline) == ("waived", "security fix", DEADLINE)
    by_rule = assess(item(START, END), now, [ALICE], [], waiver="published before maintcal")
    assert (by_rule.state, by_rule.note) == ("waived", "published before maintcal")
    # A rule-level waiver does not hide a notice that was in fact given in time.
    on_time = [sent("alice@acme.example", "2027-03-01T00:00:00Z")]
    assert assess(item(START, END), now, [ALICE], on_time, waiver="published before").state == "noticed"
    consent = assess(item(START, END, consent=True, status="moved"), now, [], [])
    assert consent == Verdict("exempt", None, note="moved at the customer's request")
    unplanned = assess(item(START, END, kind="unplanned"), now, [], [])
    assert unplanned == Verdict("exempt", None, note="unplanned maintenance: announced when declared")

"""Advance-notice policy (DESIGN §3): the announcement horizon, what a run announces, and when an occurrence is noticed.

The deadline itself (``notice_deadline``) is in ``windows.deadline``, which ``windows.schedule``
uses too; this module imports ``windows.schedule``, never the other way round.

An occurrence is *noticed* for a customer when a notice covering it at its current start and end
was accepted for every contact nominated at the deadline, at or before the deadline. Recurring
windows are announced ``lead_days`` before their deadline, in one digest per contact per run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from windows.deadline import notice_deadline
from windows.schedule import Scheduled
from windows.timezones import format_utc

DEFAULT_NOTICE_DAYS = 30
DEFAULT_LEAD_DAYS = 7

NOTICED, PENDING, VIOLATED, WAIVED, EXEMPT = "noticed", "pending", "violated", "waived", "exempt"
IMPORTED_NOTE = "imported history (before the rule was added)"
NO_CONTACT, NOT_SENT, FAILED, SENT_LATE = "no contact", "not sent", "failed", "sent late"


def announce_from(start: datetime, zone_name: str, notice_days: int, lead_days: int = DEFAULT_LEAD_DAYS) -> datetime:
    """When an occurrence enters the announcement horizon: ``notice_days + lead_days`` local days ahead.

    >>> from datetime import timezone as tz
    >>> # 2027-04-06 00:00 EDT; 37 days earlier is 2027-02-28 00:00 EST (05:00Z)
    >>> announce_from(datetime(2027, 4, 6, 4, tzinfo=tz.utc), "America/New_York", 30, 7)
    datetime.datetime(2027, 2, 28, 5, 0, tzinfo=datetime.timezone.utc)
    """
    return notice_deadline(start, zone_name, notice_days + lead_days)


def horizon_end(now: datetime, max_notice_days: int, lead_days: int = DEFAULT_LEAD_DAYS) -> datetime:
    """An instant safely past every start that can be in the horizon at ``now`` (a day of DST margin)."""
    return now + timedelta(days=max_notice_days + lead_days + 1)


def due_for_announcement(
    items: Iterable[Scheduled], now: datetime, notice_days: Mapping[str, int], lead_days: int = DEFAULT_LEAD_DAYS
) -> list[Scheduled]:
    """Planned, not cancelled, future occurrences inside the horizon at ``now``.

    ``notice_days`` maps product keys to their notice period. Unplanned windows are announced when
    declared, and cancelled ones by their cancellation, so neither is part of a digest.
    """
    return [
        s
        for s in items
        if s.kind == "planned"
        and s.status != "cancelled"
        and s.start > now
        and now >= announce_from(s.start, s.timezone, notice_days[s.occurrence.product], lead_days)
    ]


@dataclass(frozen=True)
class Digest:
    """One email to one contact: the occurrences newly announced to it in this run, by start."""

    email: str
    items: tuple[Scheduled, ...]


CoverKey = tuple[str, str, datetime, datetime]  # (email, occurrence id, start, end)


def cover_key(email: str, item: Scheduled) -> CoverKey:
    return (email, item.id, item.start, item.end)


def plan_digests(items: Sequence[Scheduled], contacts: Iterable[str], covered: Collection[CoverKey]) -> list[Digest]:
    """One digest per contact holding the ``items`` no notice has covered yet at their current times.

    ``covered`` holds what earlier notices (digests or change notices) already told each contact. A
    contact nominated since the last run receives everything in the horizon; a moved occurrence is
    announced again at its new times; nothing is announced twice.
    """
    ordered = sorted(items, key=lambda s: (s.start, s.id))
    digests = []
    for email in sorted(set(contacts)):
        fresh = tuple(s for s in ordered if cover_key(email, s) not in covered)
        if fresh:
            digests.append(Digest(email, fresh))
    return digests


@dataclass(frozen=True)
class ContactPeriod:
    """A nominated contact from ``nominated_at`` until ``removed_at`` (exclusive; None: still)."""

    email: str
    nominated_at: datetime
    removed_at: datetime | None = None

    def active_at(self, instant: datetime) -> bool:
        return self.nominated_at <= instant and (self.removed_at is None or instant < self.removed_at)


def nominated_at(contacts: Iterable[ContactPeriod], instant: datetime) -> list[str]:
    """The addresses nominated at ``instant``, sorted and without duplicates."""
    return sorted({c.email for c in contacts if c.active_at(instant)})


@dataclass(frozen=True)
class Dispatch:
    """One delivery of a notice to one address that covered one occurrence at ``start``-``end``.

    ``status`` is the delivery's: queued, sending, sent or failed; ``sent_at`` is when the server
    accepted it (or the pickup sender wrote it); ``detail`` the last server reply or error.
    """

    email: str
    start: datetime
    end: datetime
    status: str
    sent_at: datetime | None = None
    detail: str | None = None
    attempts: int = 0


class Told(Protocol):
    """What ``judge`` reads of a dispatch: a ``Dispatch``, or a report's record of one delivery,
    shared by every occurrence the delivery covered."""

    @property
    def email(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def detail(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...


@dataclass(frozen=True)
class Reason:
    """Why one contact (None: the customer as a whole) lacks the notice."""

    contact: str | None
    reason: str  # no contact | not sent | failed | sent late
    detail: str


@dataclass(frozen=True)
class Verdict:
    state: str  # noticed | pending | violated | waived | exempt
    deadline: datetime | None
    noticed_at: datetime | None = None
    notified: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    note: str | None = None  # the waiver or the exemption


def assess(
    item: Scheduled,
    now: datetime,
    contacts: Iterable[ContactPeriod],
    dispatches: Iterable[Dispatch],
    *,
    waiver: str | None = None,
) -> Verdict:
    """The notice state of one occurrence for one customer at ``now`` (DESIGN §3, §5).

    Exempt: imported history (an occurrence from before its rule was added, listed because the
    rule's ``from`` reaches back), unplanned maintenance and moves at the customer's request. Noticed: a notice covering
    the current start and end was accepted for every contact nominated at the deadline, at or
    before it. Otherwise waived (``item.waived``, or ``waiver`` when a rule was published with a
    waiver), pending while the deadline is ahead, and violated after it, with one reason per
    contact lacking the notice.
    """
    exempt = exemption(item)
    if exempt is not None:
        return exempt
    deadline = item.notice_deadline
    assert deadline is not None, "planned occurrences without consent have a deadline"
    covering = [d for d in dispatches if d.start == item.start and d.end == item.end]
    return judge(item, now, deadline, nominated_at(contacts, deadline), covering, waiver)


_EXEMPT_IMPORTED = Verdict(EXEMPT, None, note=IMPORTED_NOTE)
_EXEMPT_UNPLANNED = Verdict(EXEMPT, None, note="unplanned maintenance: announced when declared")
_EXEMPT_CONSENT = Verdict(EXEMPT, None, note="moved at the customer's request")


def exemption(item: Scheduled) -> Verdict | None:
    """``assess``'s verdict of an exempt occurrence (None: ``item`` is not exempt, and has a deadline)."""
    if item.occurrence.imported:
        return _EXEMPT_IMPORTED
    if item.kind == "unplanned":
        return _EXEMPT_UNPLANNED
    if item.customer_consent:
        return _EXEMPT_CONSENT
    return None


_new, _set = object.__new__, object.__setattr__


def judge(
    item: Scheduled,
    now: datetime,
    deadline: datetime,
    recipients: Sequence[str],
    covering: Sequence[Told],
    waiver: str | None = None,
    memo: dict[tuple[str, int], Reason] | None = None,
) -> Verdict:
    """``assess`` of an occurrence that is not exempt (``exemption``), given its deadline, the
    addresses nominated then (``nominated_at``) and the dispatches covering its current start and
    end, in the order of their deliveries (for a report of many occurrences: the caller shares
    what occurrences have in common).

    ``memo`` keeps the reason a contact lacks the notice by (address, ``id(covering)``), for a caller
    that passes the same unchanged ``covering`` object for every occurrence the same deliveries
    covered, and keeps those objects alive while it uses the memo: the reason does not depend on
    the occurrence or its deadline."""
    reasons: list[Reason] = []
    first: datetime | None = None  # the latest of each recipient's first acceptance in time
    if not recipients:
        reasons.append(Reason(None, NO_CONTACT, f"no contact was nominated at the deadline {format_utc(deadline)}"))
    for email in recipients:
        earliest = None
        for d in covering:
            sent_at = d.sent_at
            if (
                d.email == email
                and d.status == "sent"
                and sent_at
                and sent_at <= deadline
                and (earliest is None or sent_at < earliest)
            ):
                earliest = sent_at
        if earliest is None:
            if memo is None:
                reasons.append(_why(email, [d for d in covering if d.email == email]))
            else:
                key = (email, id(covering))
                reason = memo.get(key)
                if reason is None:
                    reason = memo[key] = _why(email, [d for d in covering if d.email == email])
                reasons.append(reason)
        elif first is None or earliest > first:
            first = earliest
    if not reasons:
        assert first is not None
        return _verdict(NOTICED, deadline, first, tuple(recipients), (), None)
    waived = item.waived or waiver
    if waived:
        return _verdict(WAIVED, deadline, None, (), tuple(reasons), waived)
    return _verdict(PENDING if now <= deadline else VIOLATED, deadline, None, (), tuple(reasons), None)


def _verdict(
    state: str,
    deadline: datetime | None,
    noticed_at: datetime | None,
    notified: tuple[str, ...],
    reasons: tuple[Reason, ...],
    note: str | None,
) -> Verdict:
    """A ``Verdict`` without the per-field cost of a frozen dataclass's ``__init__`` (the same object)."""
    verdict = _new(Verdict)
    _set(
        verdict,
        "__dict__",
        {
            "state": state,
            "deadline": deadline,
            "noticed_at": noticed_at,
            "notified": notified,
            "reasons": reasons,
            "note": note,
        },
    )
    return verdict


def _why(email: str, mine: list[Told]) -> Reason:
    late = None
    failed = waiting = None
    for d in mine:
        status = d.status
        if status == "sent":
            if d.sent_at and (late is None or d.sent_at < late):
                late = d.sent_at
        elif status == "failed":
            failed = d
        elif status == "queued" or status == "sending":
            waiting = d
    if late is not None:
        return Reason(email, SENT_LATE, f"accepted at {format_utc(late)}")
    if failed is not None:
        return Reason(email, FAILED, failed.detail or "refused permanently")
    if waiting is not None:
        tried = f"{waiting.attempts} attempt(s)" + (f", last: {waiting.detail}" if waiting.detail else "")
        return Reason(email, NOT_SENT, f"queued, {tried}")
    return Reason(email, NOT_SENT, "no notice covering the current start and end was queued")

"""compute_sla's integer fast path against the exact rational formulas (DESIGN §4), with fractions of
seconds, notice periods, both formulas and other targets; the verdicts it words lazily."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from windows.sla import (
    CreditTier,
    Outage,
    Period,
    SlaPolicy,
    SlaResult,
    Window,
    WindowVerdict,
    compute_sla,
    judge_window,
)

MARCH = Period(2027, 3, "America/New_York")  # 743 h
MICRO = timedelta(microseconds=1)

instants = st.integers(-3_000_000, 3_000_000)  # microseconds around the month's start, and its end
spans = st.tuples(instants, st.integers(1, 4_000_000), st.booleans())
windows = st.lists(
    st.tuples(spans, st.sampled_from(["planned", "unplanned"]), st.integers(-3, 40), st.booleans()), max_size=6
)
outages = st.lists(spans, max_size=6)
policies = st.builds(
    SlaPolicy,
    target_percent=st.sampled_from([Decimal("99.95"), Decimal("99.99999"), Decimal("50"), Decimal("100")]),
    notice_days=st.sampled_from([0, 14, 30]),
    credit_tiers=st.sampled_from(
        [
            (CreditTier(Decimal("99.95"), 0), CreditTier(Decimal("99.0"), 10), CreditTier(Decimal("0"), 100)),
            (CreditTier(Decimal("99.999"), 5), CreditTier(Decimal("0"), 50)),
        ]
    ),
    excluded_as_up=st.booleans(),
)


def instant(micros: int, at_end: bool) -> datetime:
    return (MARCH.end if at_end else MARCH.start) + micros * MICRO


def seconds_of(start: datetime, end: datetime, *, widen: bool) -> set[int]:
    """The whole seconds (since the month's start) a span counts for: widened, or narrowed."""
    lo = (start - MARCH.start) // timedelta(seconds=1)
    hi = -((MARCH.start - end) // timedelta(seconds=1))
    if not widen:
        lo, hi = -((MARCH.start - start) // timedelta(seconds=1)), (end - MARCH.start) // timedelta(seconds=1)
    return set(range(lo, hi))


def month_seconds(first: int, last: int, full: set[int]) -> set[int]:
    return {s for s in full if first <= s < last}


@given(windows=windows, outages=outages, policy=policies, elapsed=st.one_of(st.none(), st.integers(-5, 4_000)))
def test_compute_sla_agrees_with_exact_fractions(
    windows: list[tuple[tuple[int, int, bool], str, int, bool]],
    outages: list[tuple[int, int, bool]],
    policy: SlaPolicy,
    elapsed: int | None,
) -> None:
    given_windows = []
    for (start, length, at_end), kind, days_ahead, consent in windows:
        begin = instant(start, at_end)
        announced = begin - timedelta(days=days_ahead) if days_ahead >= 0 else None
        given_windows.append(Window(begin, begin + length * MICRO, kind, announced, consent))  # type: ignore[arg-type]
    given_outages = [Outage(instant(s, e), instant(s, e) + n * MICRO) for s, n, e in outages]
    now = None if elapsed is None else MARCH.start + timedelta(seconds=elapsed)
    result = compute_sla(MARCH, given_windows, given_outages, now=now, policy=policy)

    verdicts = [judge_window(w, policy.notice_days) for w in given_windows]
    assert list(result.windows) == verdicts
    assert [v.reason for v in result.windows] == [v.reason for v in verdicts]
    full = MARCH.seconds
    p = elapsed if elapsed is not None and 0 < elapsed < full else full
    keep: set[int] = set()
    down: set[int] = set()
    for w, v in zip(given_windows, verdicts, strict=True):
        (keep if v.qualifies else down).update(seconds_of(w.start, w.end, widen=not v.qualifies))
    for o in given_outages:
        down.update(seconds_of(o.start, o.end, widen=True))
    e = len(month_seconds(0, p, keep))
    d = len(month_seconds(0, p, down - keep))
    eligible = p if policy.excluded_as_up else p - e
    availability = Fraction(1) if eligible == 0 else Fraction(eligible - d, eligible)
    target = Fraction(policy.target_percent)
    full_eligible = full if policy.excluded_as_up else full - len(month_seconds(0, full, keep))
    allowed = (1 - target / 100) * full_eligible
    budget = allowed.numerator // allowed.denominator - len(month_seconds(0, full, down - keep))
    credit = next(t.credit_percent for t in policy.credit_tiers if availability * 100 >= Fraction(t.threshold_percent))
    expected = (p, e, d, eligible, availability, availability * 100 >= target, credit, budget)
    assert (
        result.period_seconds,
        result.excluded_seconds,
        result.downtime_seconds,
        result.eligible_seconds,
        result.availability,
        result.met,
        result.credit_percent,
        result.error_budget_seconds,
    ) == expected


def test_result_has_every_field_of_the_dataclass() -> None:
    result = compute_sla(MARCH, [], [Outage(MARCH.start, MARCH.start + timedelta(hours=1))])
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(SlaResult)}
    assert vars(result) == fields
    assert result == SlaResult(**fields)
    assert (result.downtime_seconds, result.availability_percent, result.error_budget_seconds) == (
        3600,
        "99.8654",
        1337 - 3600,  # 0.05 % of 2,674,800 s = 1,337.4 s
    )


def test_verdicts_judged_by_compute_sla_word_their_reason_when_read_and_are_read_only() -> None:
    start = datetime.fromisoformat("2027-03-16T04:00:00+00:00")
    late = Window(start, start + timedelta(hours=2), announced_at=start - timedelta(days=12, seconds=1))
    verdict = compute_sla(MARCH, [late], []).windows[0]
    assert verdict == WindowVerdict(late, False, "notice 12d1s < 30 days")
    assert hash(verdict) == hash(WindowVerdict(late, False, "notice 12d1s < 30 days"))
    assert repr(verdict) == f"WindowVerdict(window={late!r}, qualifies=False, reason='notice 12d1s < 30 days')"
    assert verdict != WindowVerdict(late, False, "another reason")
    with pytest.raises(AttributeError):
        verdict.qualifies = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        verdict.reason = "x"  # type: ignore[misc]


def test_a_notice_period_longer_than_a_timedelta_holds_is_never_met() -> None:
    start = datetime.fromisoformat("2027-03-16T04:00:00+00:00")
    window = Window(start, start + timedelta(hours=1), announced_at=start - timedelta(days=400))
    result = compute_sla(MARCH, [window], [], policy=SlaPolicy(notice_days=10**12))
    assert (result.downtime_seconds, result.windows[0].reason) == (3600, "notice 400 days < 1000000000000 days")

"""SLA arithmetic (DESIGN §4, §6): hand-worked months, then the sweep against a per-second reference."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from windows.errors import InvalidInput
from windows.intervals import Span, measure, subtract, sweep, union
from windows.sla import (
    CreditTier,
    Outage,
    Period,
    SlaPolicy,
    Window,
    WindowVerdict,
    compute_sla,
    judge_window,
    round_half_up,
)
from windows.sla_document import compute_document, parse_document, result_to_dict

HOUR = 3600
DAY = 86400
APRIL_2027 = Period(2027, 4)  # UTC, 30 days = 2,592,000 s


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def noticed(start: str, end: str, days_ahead: float = 40) -> Window:
    """A planned window announced ``days_ahead`` days before its start."""
    return Window(at(start), at(end), announced_at=at(start) - timedelta(days=days_ahead))


def outage(start: str, end: str) -> Outage:
    return Outage(at(start), at(end))


# --- the period ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "tz", "start", "end", "hours"),
    [
        (2027, 3, "America/New_York", "2027-03-01T05:00:00Z", "2027-04-01T04:00:00Z", 743),
        (2027, 11, "America/New_York", "2027-11-01T04:00:00Z", "2027-12-01T05:00:00Z", 721),
        (2027, 10, "Europe/London", "2027-09-30T23:00:00Z", "2027-11-01T00:00:00Z", 745),
        (2027, 3, "Europe/London", "2027-03-01T00:00:00Z", "2027-03-31T23:00:00Z", 743),
        (2028, 2, "UTC", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z", 29 * 24),
        (2027, 2, "UTC", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z", 28 * 24),
        (2027, 12, "Asia/Tokyo", "2027-11-30T15:00:00Z", "2027-12-31T15:00:00Z", 31 * 24),
        # After 2037: the zone's POSIX TZ rule (pytz's own tables would give 744 h and 720 h)
        (2040, 3, "America/New_York", "2040-03-01T05:00:00Z", "2040-04-01T04:00:00Z", 743),
        (2150, 11, "America/New_York", "2150-11-01T04:00:00Z", "2150-12-01T05:00:00Z", 721),
        (2199, 3, "America/New_York", "2199-03-01T05:00:00Z", "2199-04-01T04:00:00Z", 743),
        (2045, 4, "Australia/Sydney", "2045-03-31T13:00:00Z", "2045-04-30T14:00:00Z", 721),
        (2045, 10, "Europe/Dublin", "2045-09-30T23:00:00Z", "2045-11-01T00:00:00Z", 745),
    ],
)
def test_a_period_is_the_calendar_month_in_its_zone_with_its_real_length(
    year: int, month: int, tz: str, start: str, end: str, hours: int
) -> None:
    period = Period(year, month, tz)
    assert (period.start, period.end, period.seconds) == (at(start), at(end), hours * HOUR)


@pytest.mark.parametrize("text", ["2027-13", "2027-3", "March 2027", "2027-00", ""])
def test_a_bad_month_is_refused_with_advice(text: str) -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        Period.parse(text)


def test_a_whole_new_york_dst_month_without_incidents_is_743_hours_at_100_percent() -> None:
    result = compute_sla(Period(2027, 3, "America/New_York"), [], [])
    assert result_to_dict(result) == {
        "period_start": "2027-03-01T05:00:00Z",
        "period_end": "2027-04-01T04:00:00Z",
        "period_seconds": 2_674_800,
        "excluded_seconds": 0,
        "downtime_seconds": 0,
        "eligible_seconds": 2_674_800,
        "availability_percent": "100.0000",
        "target_percent": "99.95",
        "met": True,
        "credit_percent": 0,
        "error_budget_seconds": 1337,  # 0.05 % of 2,674,800 s = 1337.4 s
        "windows": [],
    }


def test_london_october_is_745_hours_and_an_hour_of_outage_in_it() -> None:
    # 3600 / 2,682,000 = 0.13423 % down -> 99.86577 %
    result = compute_sla(
        Period(2027, 10, "Europe/London"), [], [outage("2027-10-31T01:00:00Z", "2027-10-31T02:00:00Z")]
    )
    assert (result.period_seconds, result.downtime_seconds) == (2_682_000, 3600)
    assert result.availability == Fraction(2_678_400, 2_682_000)
    assert result.availability_percent == "99.8658"
    assert (result.met, result.credit_percent) == (False, 10)


# --- hand-worked months: April 2027 in UTC, P = 2,592,000 s -----------------------------------


def test_an_outage_across_the_month_boundary_counts_only_inside_the_month() -> None:
    result = compute_sla(
        APRIL_2027,
        [],
        [
            outage("2027-03-31T23:00:00Z", "2027-04-01T01:00:00Z"),
            outage("2027-04-30T23:30:00Z", "2027-05-01T00:30:00Z"),
        ],
    )
    assert result.downtime_seconds == 3600 + 1800
    assert result.availability == Fraction(2_592_000 - 5400, 2_592_000)
    assert result.availability_percent == "99.7917"


def test_a_boundary_in_the_contract_zone_is_its_local_midnight() -> None:
    # New York March starts at 05:00Z: only 04:30Z-05:00Z of this outage is outside the month.
    result = compute_sla(
        Period(2027, 3, "America/New_York"), [], [outage("2027-03-01T04:30:00Z", "2027-03-01T06:00:00Z")]
    )
    assert result.downtime_seconds == 3600


def test_overlapping_outages_count_once() -> None:
    outages = [
        outage("2027-04-10T10:30:00Z", "2027-04-10T12:00:00Z"),
        outage("2027-04-10T10:00:00Z", "2027-04-10T11:00:00Z"),
        outage("2027-04-10T11:59:00Z", "2027-04-10T12:30:00Z"),
        outage("2027-04-10T10:15:00Z", "2027-04-10T10:20:00Z"),
        outage("2027-04-10T12:30:00Z", "2027-04-10T12:40:00Z"),  # touching: merged
    ]
    result = compute_sla(APRIL_2027, [], outages)
    assert result.downtime_seconds == 2 * HOUR + 40 * 60


def test_an_outage_straddling_a_noticed_windows_start_counts_only_outside_it() -> None:
    result = compute_sla(
        APRIL_2027,
        [noticed("2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z")],
        [outage("2027-04-06T03:00:00Z", "2027-04-06T05:00:00Z")],
    )
    assert (result.excluded_seconds, result.downtime_seconds) == (21_600, 3600)
    assert result.eligible_seconds == 2_570_400
    assert result.availability == Fraction(2_566_800, 2_570_400)
    assert result.availability_percent == "99.8599"


def test_an_outage_inside_a_noticed_window_is_not_downtime() -> None:
    result = compute_sla(
        APRIL_2027,
        [noticed("2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z")],
        [outage("2027-04-06T05:00:00Z", "2027-04-06T06:00:00Z")],
    )
    assert (result.excluded_seconds, result.downtime_seconds) == (21_600, 0)
    assert (result.availability_percent, result.met, result.credit_percent) == ("100.0000", True, 0)
    assert result.windows[0].reason == "noticed 40 days ahead"


def test_a_window_with_too_little_notice_counts_as_downtime() -> None:
    window = noticed("2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z", days_ahead=12)
    result = compute_sla(APRIL_2027, [window], [outage("2027-04-06T05:00:00Z", "2027-04-06T06:00:00Z")])
    assert (result.excluded_seconds, result.downtime_seconds) == (0, 21_600)
    assert result.availability == Fraction(2_570_400, 2_592_000)
    assert (result.availability_percent, result.met, result.credit_percent) == ("99.1667", False, 10)
    assert (result.windows[0].qualifies, result.windows[0].reason) == (False, "notice 12 days < 30 days")


def test_an_overrun_past_a_windows_end_is_downtime() -> None:
    result = compute_sla(
        APRIL_2027,
        [noticed("2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z")],
        [outage("2027-04-06T09:30:00Z", "2027-04-06T10:45:00Z")],
    )
    assert (result.excluded_seconds, result.downtime_seconds) == (21_600, 2700)
    assert result.availability == Fraction(2_567_700, 2_570_400)
    assert result.availability_percent == "99.8950"


def test_emergency_maintenance_counts_as_downtime_even_if_announced_or_consented() -> None:
    emergency = Window(
        at("2027-04-08T14:00:00Z"),
        at("2027-04-08T14:30:00Z"),
        kind="unplanned",
        announced_at=at("2027-03-01T00:00:00Z"),
        customer_consent=True,
    )
    result = compute_sla(APRIL_2027, [emergency], [outage("2027-04-08T14:20:00Z", "2027-04-08T14:50:00Z")])
    assert result.downtime_seconds == 3000
    assert result.windows[0] == WindowVerdict(emergency, False, "unplanned maintenance counts as downtime")


def test_a_noticed_window_wins_over_an_overlapping_unnoticed_one() -> None:
    windows = [
        noticed("2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z"),
        Window(at("2027-04-06T08:00:00Z"), at("2027-04-06T12:00:00Z")),  # never announced
    ]
    result = compute_sla(APRIL_2027, windows, [])
    assert (result.excluded_seconds, result.downtime_seconds) == (21_600, 7200)
    assert [v.reason for v in result.windows] == ["noticed 40 days ahead", "never announced"]


def test_leap_year_february_has_29_days() -> None:
    # 0.05 % of 2,505,600 s is 1252.8 s: 1252 s of downtime meet the target, 1253 s do not.
    feb = Period(2028, 2)
    assert feb.seconds == 2_505_600
    ok = compute_sla(
        feb, [], [Outage(at("2028-02-29T12:00:00Z"), at("2028-02-29T12:00:00Z") + timedelta(seconds=1252))]
    )
    missed = compute_sla(
        feb, [], [Outage(at("2028-02-29T12:00:00Z"), at("2028-02-29T12:00:00Z") + timedelta(seconds=1253))]
    )
    assert (ok.met, ok.availability_percent, ok.error_budget_seconds) == (True, "99.9500", 0)
    assert (missed.met, missed.availability_percent, missed.error_budget_seconds) == (False, "99.9500", -1)


def test_the_exact_target_is_met_and_one_second_more_is_not_though_both_display_99_9500() -> None:
    # 0.05 % of 2,592,000 s is exactly 1296 s.
    start = at("2027-04-20T00:00:00Z")
    exact = compute_sla(APRIL_2027, [], [Outage(start, start + timedelta(seconds=1296))])
    below = compute_sla(APRIL_2027, [], [Outage(start, start + timedelta(seconds=1297))])
    assert exact.availability * 100 == Fraction(9995, 100)
    assert (exact.availability_percent, exact.met, exact.credit_percent) == ("99.9500", True, 0)
    assert below.availability == Fraction(2_590_703, 2_592_000)  # 99.949961...%
    assert (below.availability_percent, below.met, below.credit_percent) == ("99.9500", False, 10)


def test_a_month_in_progress_counts_only_its_elapsed_part_and_reports_the_budget_left() -> None:
    windows = [
        noticed("2027-04-20T04:00:00Z", "2027-04-20T10:00:00Z"),  # later this month, noticed: 21,600 s
        Window(at("2027-04-25T02:00:00Z"), at("2027-04-25T02:05:00Z")),  # later, never announced: 300 s
    ]
    outages = [outage("2027-04-05T10:00:00Z", "2027-04-05T10:03:20Z")]  # 200 s
    result = compute_sla(APRIL_2027, windows, outages, now=at("2027-04-11T00:00:00.900000Z"))
    assert result.status == "in progress"
    assert (result.start, result.end) == (at("2027-04-01T00:00:00Z"), at("2027-04-11T00:00:00Z"))
    assert (result.period_seconds, result.excluded_seconds, result.downtime_seconds) == (864_000, 0, 200)
    assert result.availability_percent == "99.9769"
    assert result.met
    # Whole month: 0.05 % of (2,592,000 - 21,600) = 1285.2 s allowed; 200 s + 300 s known -> 785 s left.
    assert result.error_budget_seconds == 785


def test_a_month_not_started_yet_is_a_forecast_of_the_whole_month() -> None:
    result = compute_sla(
        APRIL_2027, [], [outage("2027-04-05T10:00:00Z", "2027-04-05T11:00:00Z")], now=at("2027-03-31T23:59:59Z")
    )
    assert (result.status, result.period_seconds, result.downtime_seconds) == ("forecast", 2_592_000, 3600)


def test_a_month_already_over_counts_whole() -> None:
    result = compute_sla(APRIL_2027, [], [], now=at("2027-06-01T00:00:00Z"))
    assert (result.status, result.period_seconds) == ("complete", 2_592_000)


def test_excluded_as_up_counts_maintenance_as_available() -> None:
    windows = [noticed("2027-04-06T04:00:00Z", "2027-04-06T10:00:00Z")]
    outages = [outage("2027-04-06T03:00:00Z", "2027-04-06T05:00:00Z")]
    result = compute_sla(APRIL_2027, windows, outages, policy=SlaPolicy(excluded_as_up=True))
    assert (result.excluded_seconds, result.downtime_seconds, result.eligible_seconds) == (21_600, 3600, 2_592_000)
    assert result.availability == Fraction(2_588_400, 2_592_000)
    assert result.availability_percent == "99.8611"
    assert result.error_budget_seconds == 1296 - 3600


def test_a_month_that_is_all_announced_maintenance_is_100_percent() -> None:
    feb = Period(2027, 2)
    consented = Window(feb.start - timedelta(hours=1), feb.end, customer_consent=True)
    result = compute_sla(feb, [consented], [outage("2027-02-10T00:00:00Z", "2027-02-11T00:00:00Z")])
    assert (result.period_seconds, result.excluded_seconds, result.eligible_seconds) == (2_419_200, 2_419_200, 0)
    assert (result.downtime_seconds, result.availability_percent, result.met) == (0, "100.0000", True)


def test_partial_seconds_favour_the_customer() -> None:
    window = Window(at("2027-04-06T04:00:00.500000Z"), at("2027-04-06T04:00:10.500000Z"), customer_consent=True)
    down = Outage(at("2027-04-07T00:00:00.500000Z"), at("2027-04-07T00:00:01.250000Z"))
    result = compute_sla(APRIL_2027, [window], [down])
    assert (result.excluded_seconds, result.downtime_seconds) == (9, 2)


def test_verdicts_decided_elsewhere_are_used_as_given() -> None:
    window = Window(at("2027-04-06T04:00:00Z"), at("2027-04-06T10:00:00Z"))
    verdict = WindowVerdict(window, True, "noticed per compliance records")
    result = compute_sla(APRIL_2027, [verdict], [])
    assert (result.excluded_seconds, result.windows) == (21_600, (verdict,))


def test_credit_tiers_are_configurable_and_decided_on_the_exact_value() -> None:
    policy = SlaPolicy(
        target_percent=Decimal("99.9"),
        credit_tiers=(CreditTier(Decimal("0"), 50), CreditTier(Decimal("99.9"), 0), CreditTier(Decimal("99.5"), 5)),
    )
    assert [t.threshold_percent for t in policy.credit_tiers] == [Decimal("99.9"), Decimal("99.5"), Decimal("0")]
    # 0.1 % of 2,592,000 s = 2592 s; 0.5 % = 12,960 s.
    start = at("2027-04-10T00:00:00Z")
    credits = [
        compute_sla(APRIL_2027, [], [Outage(start, start + timedelta(seconds=s))], policy=policy).credit_percent
        for s in (2592, 2593, 12_960, 12_961)
    ]
    assert credits == [0, 5, 5, 50]


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((), "at least one tier"),
        ((CreditTier(Decimal("99"), 0),), 'threshold "0"'),
        ((CreditTier(Decimal("99"), 10), CreditTier(Decimal("0"), 5)), "smaller credit"),
        ((CreditTier(Decimal("101"), 0), CreditTier(Decimal("0"), 5)), r"credit_tiers\[0\]\[0\]"),
        ((CreditTier(Decimal("0"), 120),), r"credit_tiers\[0\]\[1\]"),
    ],
)
def test_bad_credit_tiers_are_refused(tiers: tuple[CreditTier, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        SlaPolicy(credit_tiers=tiers)


# --- notice ----------------------------------------------------------------------------------

START = at("2027-04-06T04:00:00Z")


@pytest.mark.parametrize(
    ("announced_at", "consent", "qualifies", "reason"),
    [
        (START - timedelta(days=31), False, True, "noticed 31 days ahead"),
        (START - timedelta(days=30), False, True, "noticed 30 days ahead"),  # inclusive
        (START - timedelta(days=30, hours=4), False, True, "noticed 30d4h ahead"),
        (START - timedelta(days=30) + timedelta(seconds=1), False, False, "notice 29d23h59m59s < 30 days"),
        (START - timedelta(days=12), False, False, "notice 12 days < 30 days"),
        (START - timedelta(days=1), False, False, "notice 1 day < 30 days"),
        (None, False, False, "never announced"),
        (START + timedelta(hours=2), False, False, "announced 2h after it started"),
        (None, True, True, "customer consent"),
        (START - timedelta(days=3), True, True, "customer consent"),
    ],
)
def test_a_planned_window_qualifies_with_enough_notice_or_consent(
    announced_at: datetime | None, consent: bool, qualifies: bool, reason: str
) -> None:
    verdict = judge_window(
        Window(START, START + timedelta(hours=6), announced_at=announced_at, customer_consent=consent)
    )
    assert (verdict.qualifies, verdict.reason) == (qualifies, reason)


def test_notice_days_is_configurable() -> None:
    window = Window(START, START + timedelta(hours=6), announced_at=START - timedelta(days=14))
    assert judge_window(window, notice_days=14).qualifies
    assert not judge_window(window, notice_days=15).qualifies


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(999_499_999, 10**7), "99.9500"),
        (Fraction(99_994_999, 10**6), "99.9950"),
        (Fraction(999_945, 10**4), "99.9945"),
        (Fraction(9_999_945, 10**5), "99.9995"),  # half rounds up
        (Fraction(9_999_944_999, 10**8), "99.9994"),
        (Fraction(0), "0.0000"),
        (Fraction(100), "100.0000"),
    ],
)
def test_display_rounds_half_up_to_4_decimals(value: Fraction, text: str) -> None:
    assert round_half_up(value, 4) == text


# --- the DESIGN §6 document ------------------------------------------------------------------

DOCUMENT = {
    "period": {"month": "2027-03", "tz": "America/New_York"},
    "target_percent": "99.9",
    "notice_days": 14,
    "credit_tiers": [["99.9", 0], ["99.0", 10], ["0", 30]],
    "windows": [
        {
            "id": "pe.nightly.20270316",
            "start": "2027-03-16T04:00:00Z",
            "end": "2027-03-16T10:00:00Z",
            "kind": "planned",
            "announced_at": "2027-03-01T04:00:00Z",
            "customer_consent": False,
        },
        {"start": "2027-03-20T04:00:00+00:00", "end": "2027-03-20T05:00:00Z", "kind": "unplanned"},
    ],
    "outages": [{"start": "2027-03-16T09:00:00Z", "end": "2027-03-16T11:00:00Z"}],
}


def test_a_document_is_parsed_and_computed() -> None:
    document = parse_document(DOCUMENT)
    assert document.policy == SlaPolicy(
        Decimal("99.9"),
        14,
        (CreditTier(Decimal("99.9"), 0), CreditTier(Decimal("99.0"), 10), CreditTier(Decimal("0"), 30)),
    )
    output = result_to_dict(compute_document(document))
    assert output["windows"] == [
        {
            "id": "pe.nightly.20270316",
            "start": "2027-03-16T04:00:00Z",
            "end": "2027-03-16T10:00:00Z",
            "kind": "planned",
            "announced_at": "2027-03-01T04:00:00Z",
            "customer_consent": False,
            "qualifies": True,
            "reason": "noticed 15 days ahead",
        },
        {
            "start": "2027-03-20T04:00:00Z",
            "end": "2027-03-20T05:00:00Z",
            "kind": "unplanned",
            "announced_at": None,
            "customer_consent": False,
            "qualifies": False,
            "reason": "unplanned maintenance counts as downtime",
        },
    ]
    del output["windows"]
    # P = 2,674,800 s (743 h); E = 21,600 s; D = 3600 s of overrun + 3600 s unplanned.
    assert output == {
        "period_start": "2027-03-01T05:00:00Z",
        "period_end": "2027-04-01T04:00:00Z",
        "period_seconds": 2_674_800,
        "excluded_seconds": 21_600,
        "downtime_seconds": 7200,
        "eligible_seconds": 2_653_200,
        "availability_percent": "99.7286",  # 2,646,000 / 2,653,200
        "target_percent": "99.9",
        "met": False,
        "credit_percent": 10,
        "error_budget_seconds": 2653 - 7200,  # 0.1 % of 2,653,200 s = 2653.2 s
    }


def test_only_period_windows_and_outages_are_required() -> None:
    document = parse_document({"period": {"month": "2028-02"}, "windows": [], "outages": []})
    assert (document.period, document.policy, document.as_of) == (Period(2028, 2, "UTC"), SlaPolicy(), None)


def test_as_of_in_the_document_makes_a_month_in_progress() -> None:
    document = parse_document({**DOCUMENT, "as_of": "2027-03-16T10:30:00Z"})
    result = compute_document(document, now=None)
    assert (result.status, result.end) == ("in progress", at("2027-03-16T10:30:00Z"))
    assert (result.excluded_seconds, result.downtime_seconds) == (21_600, 1800)


def test_a_legacy_zone_is_accepted_with_a_warning() -> None:
    document = parse_document({"period": {"month": "2027-03", "tz": "EST"}, "windows": [], "outages": []})
    assert document.warnings and "America/New_York" in document.warnings[0]


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        ({"period": {"month": "2027-3"}}, ["period.month: use YYYY-MM, e.g. 2027-03"]),
        ({"period": {"month": "2027-13", "tz": "UTC"}}, ["period.month: use YYYY-MM"]),
        ({"period": "2027-03"}, ["period: missing or not an object"]),
        (
            {"period": {"month": "2027-03", "tz": "Europe/Londn"}},
            ["period.tz: unknown time zone 'Europe/Londn'; did you mean Europe/London"],
        ),
        (
            {"windows": [{"start": "2027-03-02T00:00:00Z", "end": "2027-03-01T00:00:00Z"}]},
            ["windows[0].end: not after start"],
        ),
        (
            {"windows": [{"start": "2027-03-02T00:00:00", "end": "2027-03-03T00:00:00Z"}]},
            ["windows[0].start: instant '2027-03-02T00:00:00' has no offset"],
        ),
        ({"windows": [{"start": "2027-03-02T00:00:00Z"}]}, ["windows[0].end: missing"]),
        (
            {"windows": [{"start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z", "kind": "emergency"}]},
            ["windows[0].kind: use planned or unplanned"],
        ),
        (
            {"windows": [{"start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z", "customer_consent": "yes"}]},
            ["windows[0].customer_consent: use true or false"],
        ),
        (
            {"windows": [{"start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z", "strat": 1}]},
            ["windows[0].strat: unknown key"],
        ),
        ({"windows": {}}, ["windows: must be a list"]),
        (
            {"outages": [{"start": "2027-03-02T00:00:00Z", "end": "2027-03-02T00:00:00Z"}]},
            ["outages[0].end: not after start"],
        ),
        ({"outages": ["2027-03-02"]}, ["outages[0]: must be an object"]),
        ({"target_percent": "101"}, ["target_percent: use a percentage above 0 up to 100"]),
        ({"target_percent": "high"}, ["target_percent: use a percentage as a string"]),
        ({"notice_days": -1}, ["notice_days: use a whole number of days"]),
        ({"notice_days": "30"}, ["notice_days: use a whole number of days"]),
        ({"credit_tiers": [["99.9", 0]]}, ['credit_tiers: the lowest tier must have threshold "0"']),
        ({"credit_tiers": [["99.9", 0], "0"]}, ["credit_tiers[1]: use a [threshold, credit] pair"]),
        ({"credit_tiers": "default"}, ["credit_tiers: use a list of [threshold, credit] pairs"]),
        ({"as_of": "tomorrow"}, ["as_of: invalid instant 'tomorrow'"]),
        ({"extra": 1}, ["extra: unknown key"]),
    ],
)
def test_every_bad_field_is_named(change: dict[str, object], problems: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_document({**DOCUMENT, **change})
    for problem in problems:
        assert problem in raised.value.message
    assert "\n" not in raised.value.message


def test_all_problems_are_listed_at_once() -> None:
    bad = {
        "period": {"month": "March"},
        "windows": [
            {"start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z"},
            {"start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z"},
            {"start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z"},
            {"start": "2027-03-05T00:00:00Z", "end": "2027-03-04T00:00:00Z"},
        ],
    }
    with pytest.raises(InvalidInput) as raised:
        parse_document(bad)
    assert raised.value.message == (
        "3 problems in the SLA document: period.month: use YYYY-MM, e.g. 2027-03; "
        "windows[3].end: not after start; outages: missing (use [] for none)"
    )


@pytest.mark.parametrize("data", [[], "x", None, 3])
def test_a_document_must_be_an_object(data: object) -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        parse_document(data)


# --- the sweep against a per-second reference ------------------------------------------------

spans = st.lists(
    st.tuples(st.integers(-20, 80), st.integers(1, 30)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=8,
)


def covered(items: list[Span]) -> set[int]:
    return {second for start, end in items for second in range(start, end)}


def as_set(items: list[Span]) -> set[int]:
    assert all(a < b for a, b in items)
    assert all(a[1] < b[0] for a, b in pairwise(items))  # sorted, disjoint, not touching
    return covered(items)


@given(excluded=spans, downtime=spans, lo=st.integers(-10, 40), length=st.integers(0, 60))
def test_sweep_agrees_with_a_per_second_reference(
    excluded: list[Span], downtime: list[Span], lo: int, length: int
) -> None:
    hi = lo + length
    window = set(range(lo, hi))
    result = sweep(excluded, downtime, lo, hi)
    assert as_set(result.excluded) == covered(excluded) & window
    assert as_set(result.downtime) == (covered(downtime) - covered(excluded)) & window
    assert as_set(union(downtime, lo, hi)) == covered(downtime) & window
    assert as_set(subtract(downtime, excluded)) == covered(downtime) - covered(excluded)
    assert measure(result.downtime, lo, hi) == len((covered(downtime) - covered(excluded)) & window)


windows_near_the_start = st.lists(
    st.tuples(st.integers(-30, 90), st.integers(1, 40), st.sampled_from(["planned", "unplanned"]), st.booleans()),
    max_size=6,
)


@given(windows=windows_near_the_start, outages=spans, elapsed=st.one_of(st.none(), st.integers(1, 100)))
def test_compute_sla_agrees_with_a_per_second_reference(
    windows: list[tuple[int, int, str, bool]], outages: list[Span], elapsed: int | None
) -> None:
    """Everything happens within seconds of April's start, so a per-second count is cheap."""
    base = APRIL_2027.start
    seconds = timedelta(seconds=1)
    month_windows = [
        Window(
            base + start * seconds,
            base + (start + length) * seconds,
            "planned" if kind == "planned" else "unplanned",
            None,
            consent,
        )
        for start, length, kind, consent in windows
    ]
    now = None if elapsed is None else base + elapsed * seconds
    result = compute_sla(
        APRIL_2027, month_windows, [Outage(base + a * seconds, base + b * seconds) for a, b in outages], now=now
    )

    p = APRIL_2027.seconds if elapsed is None else elapsed
    keep = covered([(s, s + n) for s, n, kind, consent in windows if kind == "planned" and consent])
    down = covered(outages) | covered(
        [(s, s + n) for s, n, kind, consent in windows if not (kind == "planned" and consent)]
    )
    e = sum(1 for second in keep if 0 <= second < p)
    d = sum(1 for second in down - keep if 0 <= second < p)
    assert (result.period_seconds, result.excluded_seconds, result.downtime_seconds) == (p, e, d)
    assert result.availability == (Fraction(p - e - d, p - e) if p > e else 1)
    assert result.met == (result.availability * 100 >= Fraction(9995, 100))

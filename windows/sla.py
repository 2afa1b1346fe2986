"""SLA availability for one calendar month, with announced maintenance excluded (DESIGN §4, §6).

For a month in the contract's time zone:

- P, the period: the real elapsed seconds from local midnight on the 1st to local midnight on the 1st
  of the next month (743 h in a spring-forward month, 745 h in a fall-back one); for a month in
  progress only ``[month start, now)`` counts.
- E, excluded: the union of *qualifying* windows (planned and announced at least ``notice_days``
  ahead, or agreed by the customer), clipped to the period.
- D, downtime: the union of outages, non-qualifying planned windows and unplanned maintenance, minus
  E, clipped to the period. Overlaps count once.
- availability = (P - E - D) / (P - E), or (P - D) / P when maintenance counts as up
  (``excluded_as_up``). When P - E is 0 the month was all maintenance: availability is 100 %.

The target verdict and the credit tier are decided on the exact rational value; the displayed
percentage is rounded half-up to 4 decimals, so 99.94996 % shows as ``99.9500`` and still misses a
99.95 % target.

Intervals are merged in one sweep after sorting (no per-second bitmap). Instants count in whole
seconds, in the customer's favour: downtime intervals are widened to whole seconds, qualifying
windows narrowed, ``now`` rounded down.

Why one module of ~460 lines: it is one contract (DESIGN §4, §6). The inputs validate themselves
with the checks and whole-second arithmetic the calculation relies on, and every caller takes
inputs and result from this one name; split, the rounding and validation rules would live apart
from the formula they serve.

>>> from datetime import datetime, timezone
>>> utc = timezone.utc
>>> march = Period(2027, 3, "America/New_York")
>>> march.seconds // 3600
743
>>> window = Window(datetime(2027, 3, 16, 4, tzinfo=utc), datetime(2027, 3, 16, 10, tzinfo=utc),
...                 announced_at=datetime(2027, 2, 14, 4, tzinfo=utc))
>>> outage = Outage(datetime(2027, 3, 16, 9, tzinfo=utc), datetime(2027, 3, 16, 11, tzinfo=utc))
>>> result = compute_sla(march, [window], [outage])
>>> result.excluded_seconds, result.downtime_seconds, result.availability_percent, result.met
(21600, 3600, '99.8643', False)
>>> result.windows[0].reason
'noticed 30 days ahead'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from windows.errors import InvalidInput
from windows.parsing import FIRST_DAY, LAST_DAY, format_duration
from windows.sla_sweep import Span, measures
from windows.timezones import aware_utc, format_utc, resolve_zone, to_utc

WindowKind = Literal["planned", "unplanned"]
Status = Literal["complete", "in progress", "forecast"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
DEFAULT_TARGET = Decimal("99.95")
DEFAULT_NOTICE_DAYS = 30


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month in a contract time zone; ``start``/``end`` are aware UTC instants.

    >>> london = Period(2027, 10, "Europe/London")
    >>> format_utc(london.start), format_utc(london.end), london.seconds // 3600
    ('2027-09-30T23:00:00Z', '2027-11-01T00:00:00Z', 745)
    >>> Period.parse("2028-02").seconds // 86400
    29
    """

    year: int
    month: int
    timezone: str = "UTC"
    start: datetime = field(init=False, repr=False, compare=False)
    end: datetime = field(init=False, repr=False, compare=False)
    _bounds: tuple[int, int] = field(init=False, repr=False, compare=False)  # start, end: epoch seconds

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidInput(f"invalid month {self.year:04d}-{self.month:02d}: use YYYY-MM, e.g. 2027-03")
        if not FIRST_DAY.year <= self.year <= LAST_DAY.year:
            raise InvalidInput(
                f"month {self.year:04d}-{self.month:02d} is outside the accepted range "
                f"{FIRST_DAY.year}-01 to {LAST_DAY.year}-12"
            )
        zone = resolve_zone(self.timezone)
        following = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        object.__setattr__(self, "timezone", zone.name)
        object.__setattr__(self, "start", aware_utc(to_utc(datetime(self.year, self.month, 1), zone.zone)))
        object.__setattr__(self, "end", aware_utc(to_utc(datetime(*following, 1), zone.zone)))
        object.__setattr__(self, "_bounds", (_ts(self.start), _ts(self.end)))

    @classmethod
    def parse(cls, month: str, tz: str = "UTC") -> Period:
        """``"2027-03"`` in a zone; refuses other spellings with advice."""
        match = _MONTH.match(month.strip())
        if not match:
            raise InvalidInput(f"invalid month '{month}': use YYYY-MM, e.g. 2027-03")
        return cls(int(match.group(1)), int(match.group(2)), tz)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def seconds(self) -> int:
        return _ts(self.end) - _ts(self.start)


@dataclass(frozen=True)
class Window:
    """A maintenance window as it finally took place; instants are aware.

    A planned window is excluded from the SLA when it was announced at least ``notice_days`` ahead
    or the customer consented; an unplanned one always counts as downtime.
    """

    start: datetime
    end: datetime
    kind: WindowKind = "planned"
    announced_at: datetime | None = None
    customer_consent: bool = False
    id: str | None = None

    def __post_init__(self) -> None:
        _check_span(self.start, self.end, "window")
        if self.announced_at is not None and self.announced_at.tzinfo is None:
            raise InvalidInput("window announced_at needs a UTC offset")
        if self.kind not in ("planned", "unplanned"):
            raise InvalidInput(f"invalid window kind '{self.kind}': use planned or unplanned")


@dataclass(frozen=True)
class Outage:
    """A span of unavailability reported by monitoring; instants are aware."""

    start: datetime
    end: datetime
    id: str | None = None

    def __post_init__(self) -> None:
        _check_span(self.start, self.end, "outage")


class WindowVerdict:
    """A window with the decision whether it is excluded from the SLA, and why (read-only).

    Build one directly when the decision comes from elsewhere (the notice compliance records).
    The verdicts :func:`compute_sla` judges itself word their ``reason`` when it is first read: a
    report of thousands of months reads few of them.
    """

    __slots__ = ("_notice_days", "_qualifies", "_reason", "_window")
    _window: Window
    _qualifies: bool
    _reason: str | None  # None: worded from the window and _notice_days when first read
    _notice_days: int

    def __init__(self, window: Window, qualifies: bool, reason: str) -> None:
        self._window, self._qualifies, self._reason = window, qualifies, reason

    @property
    def window(self) -> Window:
        return self._window

    @property
    def qualifies(self) -> bool:
        return self._qualifies

    @property
    def reason(self) -> str:
        if self._reason is None:
            self._reason = judge_window(self._window, self._notice_days).reason
        return self._reason

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WindowVerdict):
            return NotImplemented
        return (self._window, self._qualifies, self.reason) == (other._window, other._qualifies, other.reason)

    def __hash__(self) -> int:
        return hash((self._window, self._qualifies, self.reason))

    def __repr__(self) -> str:
        return f"WindowVerdict(window={self._window!r}, qualifies={self._qualifies!r}, reason={self.reason!r})"


_new = object.__new__


@dataclass(frozen=True)
class CreditTier:
    """Availability at or above ``threshold_percent`` earns ``credit_percent`` of the monthly fee."""

    threshold_percent: Decimal
    credit_percent: int


DEFAULT_CREDIT_TIERS = (
    CreditTier(Decimal("99.95"), 0),
    CreditTier(Decimal("99.0"), 10),
    CreditTier(Decimal("95.0"), 25),
    CreditTier(Decimal("0"), 100),
)


@dataclass(frozen=True)
class SlaPolicy:
    """The contract terms: target, notice period, credit tiers and the formula.

    Tiers are kept highest threshold first; the lowest must be 0 so every availability has a credit.
    """

    target_percent: Decimal = DEFAULT_TARGET
    notice_days: int = DEFAULT_NOTICE_DAYS
    credit_tiers: tuple[CreditTier, ...] = DEFAULT_CREDIT_TIERS
    excluded_as_up: bool = False
    # The target and the tier thresholds as exact integer ratios, for the integer comparisons of compute_sla.
    _target: tuple[int, int] = field(init=False, repr=False, compare=False)
    _tiers: tuple[tuple[int, int, int], ...] = field(init=False, repr=False, compare=False)
    _notice: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = [_check_percent(self.target_percent, "target_percent", allow_zero=False)]
        if self.notice_days < 0:
            problems.append("notice_days: must be 0 or more")
        problems.extend(_check_tiers(self.credit_tiers))
        _raise([p for p in problems if p])
        ordered = tuple(sorted(self.credit_tiers, key=lambda t: t.threshold_percent, reverse=True))
        object.__setattr__(self, "credit_tiers", ordered)
        object.__setattr__(self, "_target", self.target_percent.as_integer_ratio())
        tiers = tuple((*t.threshold_percent.as_integer_ratio(), t.credit_percent) for t in ordered)
        object.__setattr__(self, "_tiers", tiers)
        object.__setattr__(self, "_notice", _notice_period(self.notice_days))

    def credit_for(self, percent: Fraction) -> int:
        """The credit of the first tier whose threshold the exact percentage reaches.

        >>> SlaPolicy().credit_for(Fraction(9995, 100)), SlaPolicy().credit_for(Fraction(99949, 1000))
        (0, 10)
        """
        for tier in self.credit_tiers:
            if percent >= Fraction(tier.threshold_percent):
                return tier.credit_percent
        return self.credit_tiers[-1].credit_percent  # pragma: no cover - the lowest tier is 0


# --- result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaResult:
    """The figures of one month. Seconds are whole; ``availability`` is exact (0..1).

    ``start``/``end`` bound the counted part (``end`` is ``now`` for a month in progress);
    ``eligible_seconds`` is the denominator of the formula (P - E, or P when excluded counts as up).
    ``error_budget_seconds`` is the downtime the whole month can still take with the target met,
    given the windows and outages known now (negative: the target is missed by that much).
    """

    period: Period
    start: datetime
    end: datetime
    status: Status
    period_seconds: int
    excluded_seconds: int
    downtime_seconds: int
    eligible_seconds: int
    availability: Fraction
    policy: SlaPolicy
    met: bool
    credit_percent: int
    error_budget_seconds: int
    windows: tuple[WindowVerdict, ...]

    @property
    def availability_percent(self) -> str:
        """Rounded half-up to 4 decimals, for display only."""
        return round_half_up(self.availability * 100, 4)


# --- calculation -----------------------------------------------------------------------------


def judge_window(window: Window, notice_days: int = DEFAULT_NOTICE_DAYS) -> WindowVerdict:
    """Whether a window is excluded: planned and noticed ``notice_days`` ahead (inclusive), or consented.

    >>> from datetime import datetime, timezone
    >>> start = datetime(2027, 3, 16, 4, tzinfo=timezone.utc)
    >>> judge_window(Window(start, start + _DAY, announced_at=start - 30 * _DAY)).reason
    'noticed 30 days ahead'
    >>> judge_window(Window(start, start + _DAY, announced_at=start - 12 * _DAY)).reason
    'notice 12 days < 30 days'
    >>> judge_window(Window(start, start + _DAY, announced_at=start - 30 * _DAY + timedelta(seconds=1))).reason
    'notice 29d23h59m59s < 30 days'
    >>> judge_window(Window(start, start + _DAY, kind="unplanned")).qualifies
    False
    """
    if window.kind == "unplanned":
        return WindowVerdict(window, False, "unplanned maintenance counts as downtime")
    notice = None if window.announced_at is None else window.start - window.announced_at
    if notice is not None and notice >= _notice_period(notice_days):
        return WindowVerdict(window, True, f"noticed {_days(notice)} ahead")
    if window.customer_consent:
        return WindowVerdict(window, True, "customer consent")
    if notice is None:
        return WindowVerdict(window, False, "never announced")
    if notice < _ZERO:
        return WindowVerdict(window, False, f"announced {format_duration(-notice)} after it started")
    return WindowVerdict(window, False, f"notice {_days(notice)} < {notice_days} days")


def compute_sla(
    period: Period,
    windows: Sequence[Window | WindowVerdict],
    outages: Iterable[Outage],
    *,
    now: datetime | None = None,
    policy: SlaPolicy | None = None,
) -> SlaResult:
    """Availability of one month (DESIGN §4).

    ``windows`` are judged with :func:`judge_window` unless given as verdicts already. ``now``
    (aware) limits a month in progress to its elapsed part; ``None`` or an instant after the month
    counts the whole month; an instant before the month's start gives a *forecast* of the whole
    month from the known windows and outages.

    >>> from datetime import datetime, timezone
    >>> feb = Period(2028, 2)   # leap year: 29 days
    >>> utc = timezone.utc
    >>> mid = datetime(2028, 2, 11, tzinfo=utc)
    >>> down = Outage(datetime(2028, 2, 10, 23, 30, tzinfo=utc), datetime(2028, 2, 11, 0, 30, tzinfo=utc))
    >>> r = compute_sla(feb, [], [down], now=mid)
    >>> r.status, r.period_seconds, r.downtime_seconds, r.availability_percent
    ('in progress', 864000, 1800, '99.7917')
    >>> r.error_budget_seconds   # 0.05 % of 29 days = 1252.8 s, minus 3600 s known
    -2348
    """
    policy = policy or _DEFAULT_POLICY
    month_start, month_end = period._bounds
    status: Status = "complete"
    counted_end = month_end
    if now is not None:
        if now.tzinfo is None:
            raise InvalidInput("now needs a UTC offset")
        instant = _ts(now)
        if instant <= month_start:
            status = "forecast"
        elif instant < month_end:
            status, counted_end = "in progress", instant

    # Whole seconds in the customer's favour: downtime widened, excluded windows narrowed (a
    # window shorter than a second may vanish). Floor division of a timedelta is exact.
    verdicts: list[WindowVerdict] = []
    keep: list[Span] = []
    down: list[Span] = []
    notice, notice_days = policy._notice, policy.notice_days
    for item in windows:
        if isinstance(item, WindowVerdict):
            verdict, window, qualifies = item, item.window, item.qualifies
        else:
            window = item
            announced = window.announced_at
            qualifies = window.kind == "planned" and (
                (announced is not None and window.start - announced >= notice) or window.customer_consent
            )
            verdict = _new(WindowVerdict)  # the reason is worded when first read
            verdict._window, verdict._qualifies, verdict._reason = window, qualifies, None
            verdict._notice_days = notice_days
        verdicts.append(verdict)
        start, end = window.start, window.end
        since, until = start - _EPOCH, end - _EPOCH  # days * 86400 + seconds: whole seconds, rounded down
        first, last = since.days * 86400 + since.seconds, until.days * 86400 + until.seconds
        if qualifies:
            keep.append((first + 1 if start.microsecond else first, last))
        else:
            down.append((first, last + 1 if end.microsecond else last))
    for outage in outages:
        end = outage.end
        since, until = outage.start - _EPOCH, end - _EPOCH
        last = until.days * 86400 + until.seconds
        down.append((since.days * 86400 + since.seconds, last + 1 if end.microsecond else last))
    e, d, full_e, full_d = measures(keep, down, month_start, counted_end, month_end)

    # Exact rational comparisons in integers: up / eligible against target = tn / td.
    p = counted_end - month_start
    eligible = p if policy.excluded_as_up else p - e
    up = eligible - d
    up, eligible_or_one = (1, 1) if eligible == 0 else (up, eligible)
    scaled = 100 * up
    tn, td = policy._target
    credit = policy.credit_tiers[-1].credit_percent
    for n, t, tier_credit in policy._tiers:  # highest threshold first
        if scaled * t >= n * eligible_or_one:
            credit = tier_credit
            break
    full_eligible = month_end - month_start
    if not policy.excluded_as_up:
        full_eligible -= full_e
    budget = (100 * td - tn) * full_eligible // (100 * td) - full_d

    return _result(
        period=period,
        start=period.start,
        end=period.end if counted_end == month_end else _from_ts(counted_end),
        status=status,
        period_seconds=p,
        excluded_seconds=e,
        downtime_seconds=d,
        eligible_seconds=eligible,
        availability=Fraction(up, eligible_or_one),
        policy=policy,
        met=scaled * td >= tn * eligible_or_one,
        credit_percent=credit,
        error_budget_seconds=budget,
        windows=tuple(verdicts),
    )


def _result(**fields: object) -> SlaResult:
    """An :class:`SlaResult` of ``fields`` (all of them), without the per-field cost of a frozen __init__."""
    result = _new(SlaResult)
    result.__dict__.update(fields)
    return result


def round_half_up(value: Fraction, places: int) -> str:
    """Decimal text of an exact non-negative value, rounded half-up.

    >>> round_half_up(Fraction(999499999, 10**7), 4), round_half_up(Fraction(99994999, 10**6), 4)
    ('99.9500', '99.9950')
    >>> round_half_up(Fraction(2, 3) * 100, 4), round_half_up(Fraction(100), 4)
    ('66.6667', '100.0000')
    """
    scaled = value * 10**places + Fraction(1, 2)
    units = scaled.numerator // scaled.denominator
    whole, part = divmod(units, 10**places)
    return f"{whole}.{part:0{places}d}" if places else str(whole)


# --- helpers ---------------------------------------------------------------------------------


def _ts(instant: datetime) -> int:
    """Whole seconds since the epoch, rounded down."""
    delta = instant - _EPOCH
    return delta.days * 86400 + delta.seconds


def _from_ts(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _notice_period(days: int) -> timedelta:
    """``days`` days; beyond what a timedelta holds (no real notice is that long), the longest one."""
    return _DAY * days if days <= timedelta.max.days else timedelta.max


def _days(notice: timedelta) -> str:
    days, rest = divmod(notice, _DAY)
    if rest:
        return format_duration(notice)
    return "1 day" if days == 1 else f"{days} days"


def _check_span(start: datetime, end: datetime, what: str) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput(f"{what} start and end need a UTC offset")
    if end <= start:
        raise InvalidInput(f"{what} ending {format_utc(end)} does not end after its start {format_utc(start)}")


def _check_percent(value: Decimal, where: str, *, allow_zero: bool) -> str | None:
    if not value.is_finite() or value > 100 or value < 0 or (value == 0 and not allow_zero):
        return f'{where}: use a percentage {"from 0" if allow_zero else "above 0"} up to 100, e.g. "99.95"'
    return None


def _check_tiers(tiers: Sequence[CreditTier]) -> list[str]:
    if not tiers:
        return ['credit_tiers: give at least one tier, e.g. [["0", 100]]']
    problems = [
        p
        for i, t in enumerate(tiers)
        if (p := _check_percent(t.threshold_percent, f"credit_tiers[{i}][0]", allow_zero=True))
    ]
    problems += [
        f"credit_tiers[{i}][1]: use a whole percentage from 0 to 100"
        for i, t in enumerate(tiers)
        if isinstance(t.credit_percent, bool)
        or not isinstance(t.credit_percent, int)
        or not 0 <= t.credit_percent <= 100
    ]
    if problems:
        return problems
    ordered = sorted(tiers, key=lambda t: t.threshold_percent, reverse=True)
    thresholds = [t.threshold_percent for t in ordered]
    if len(set(thresholds)) != len(thresholds):
        problems.append("credit_tiers: two tiers have the same threshold")
    if thresholds[-1] != 0:
        problems.append('credit_tiers: the lowest tier must have threshold "0" so every availability has a credit')
    if any(a.credit_percent > b.credit_percent for a, b in pairwise(ordered)):
        problems.append("credit_tiers: a lower availability must not earn a smaller credit")
    return problems


def _raise(problems: list[str]) -> None:
    if len(problems) == 1:
        raise InvalidInput(problems[0])
    if problems:
        raise InvalidInput(f"{len(problems)} problems in the SLA document: " + "; ".join(problems))


_DEFAULT_POLICY = SlaPolicy()  # compute_sla's policy when none is given (immutable)

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

Intervals are merged in one sweep after sorting (no per-second bitmap: :mod:`windows.sla_sweep`).
Instants count in whole seconds, in the customer's favour: downtime intervals are widened to whole
seconds, qualifying windows narrowed, ``now`` rounded down. Target, credit and budget are decided
in integers (the exact ratio cross-multiplied), which is the exact rational value without the cost
of ``Fraction`` arithmetic; ``availability`` is still given as an exact ``Fraction``.

The inputs (``Period``, ``Window``, ``Outage``, ``SlaPolicy``, ``CreditTier``) live in
:mod:`windows.sla_terms`, each validating itself, and are imported from here with the calculation;
this module judges the windows, computes the month and words the verdicts.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from windows.errors import InvalidInput
from windows.parsing import format_duration
from windows.sla_sweep import Span, measures
from windows.sla_terms import _DAY, _EPOCH, _notice_period, _ts
from windows.sla_terms import DEFAULT_CREDIT_TIERS as DEFAULT_CREDIT_TIERS
from windows.sla_terms import DEFAULT_NOTICE_DAYS as DEFAULT_NOTICE_DAYS
from windows.sla_terms import DEFAULT_TARGET as DEFAULT_TARGET
from windows.sla_terms import CreditTier as CreditTier
from windows.sla_terms import Outage as Outage
from windows.sla_terms import Period as Period
from windows.sla_terms import SlaPolicy as SlaPolicy
from windows.sla_terms import Window as Window
from windows.sla_terms import WindowKind as WindowKind

Status = Literal["complete", "in progress", "forecast"]
_ZERO = timedelta(0)


# --- verdicts -------------------------------------------------------------------------------


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


def _from_ts(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _days(notice: timedelta) -> str:
    days, rest = divmod(notice, _DAY)
    if rest:
        return format_duration(notice)
    return "1 day" if days == 1 else f"{days} days"


_DEFAULT_POLICY = SlaPolicy()  # compute_sla's policy when none is given (immutable)

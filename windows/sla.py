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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from itertools import compress, pairwise, repeat
from operator import attrgetter, floordiv, lt, sub
from typing import Any, Literal, TypeVar

from windows.errors import InvalidInput
from windows.parsing import format_duration, parse_instant
from windows.timezones import aware_utc, format_utc, resolve_zone, to_utc

WindowKind = Literal["planned", "unplanned"]
Status = Literal["complete", "in progress", "forecast"]
Span = tuple[int, int]  # [start, end) in whole seconds since the Unix epoch
_T = TypeVar("_T")
_start = attrgetter("start")
_end = attrgetter("end")
_microsecond = attrgetter("microsecond")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
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

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9998:
            raise InvalidInput(f"invalid month {self.year:04d}-{self.month:02d}: use YYYY-MM, e.g. 2027-03")
        zone = resolve_zone(self.timezone)
        following = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        object.__setattr__(self, "timezone", zone.name)
        object.__setattr__(self, "start", aware_utc(to_utc(datetime(self.year, self.month, 1), zone.zone)))
        object.__setattr__(self, "end", aware_utc(to_utc(datetime(*following, 1), zone.zone)))

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


@dataclass(frozen=True)
class WindowVerdict:
    """A window with the decision whether it is excluded from the SLA, and why.

    Build one directly when the decision comes from elsewhere (the notice compliance records).
    """

    window: Window
    qualifies: bool
    reason: str


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

    def __post_init__(self) -> None:
        problems = [_check_percent(self.target_percent, "target_percent", allow_zero=False)]
        if self.notice_days < 0:
            problems.append("notice_days: must be 0 or more")
        problems.extend(_check_tiers(self.credit_tiers))
        _raise([p for p in problems if p])
        ordered = tuple(sorted(self.credit_tiers, key=lambda t: t.threshold_percent, reverse=True))
        object.__setattr__(self, "credit_tiers", ordered)

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


@dataclass(frozen=True)
class Sweep:
    """Merged, sorted, disjoint spans that never touch: excluded time, and downtime outside it."""

    excluded: list[Span]
    downtime: list[Span]


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
    if notice is not None and notice >= _DAY * notice_days:
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
    policy = policy or SlaPolicy()
    verdicts = tuple(w if isinstance(w, WindowVerdict) else judge_window(w, policy.notice_days) for w in windows)
    month_start, month_end = _ts(period.start), _ts(period.end)
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

    # Whole seconds in the customer's favour: downtime widened, excluded windows narrowed.
    qualifying = [v.window for v in verdicts if v.qualifies]
    unnoticed = [v.window for v in verdicts if not v.qualifies]
    outages = list(outages)
    keep_starts, keep_ends = _seconds(qualifying, widen=False)
    kept = list(map(lt, keep_starts, keep_ends))  # a window shorter than a second may vanish
    excluded = _union(list(compress(keep_starts, kept)), list(compress(keep_ends, kept)), month_start, month_end)
    down_starts, down_ends = _seconds(unnoticed, widen=True)
    outage_starts, outage_ends = _seconds(outages, widen=True)
    downtime = _subtract(_union(down_starts + outage_starts, down_ends + outage_ends, month_start, month_end), excluded)

    p = counted_end - month_start
    e = _measure(excluded, month_start, counted_end)
    d = _measure(downtime, month_start, counted_end)
    eligible = p if policy.excluded_as_up else p - e
    up = eligible - d
    availability = Fraction(1) if eligible == 0 else Fraction(up, eligible)
    percent = availability * 100
    target = Fraction(policy.target_percent)

    full_eligible = month_end - month_start
    if not policy.excluded_as_up:
        full_eligible -= _measure(excluded, month_start, month_end)
    allowed = (1 - target / 100) * full_eligible
    budget = allowed.numerator // allowed.denominator - _measure(downtime, month_start, month_end)

    return SlaResult(
        period=period,
        start=period.start,
        end=_from_ts(counted_end),
        status=status,
        period_seconds=p,
        excluded_seconds=e,
        downtime_seconds=d,
        eligible_seconds=eligible,
        availability=availability,
        policy=policy,
        met=percent >= target,
        credit_percent=policy.credit_for(percent),
        error_budget_seconds=budget,
        windows=verdicts,
    )


def sweep(excluded: Iterable[Span], downtime: Iterable[Span], lo: int, hi: int) -> Sweep:
    """Union of ``excluded``; union of ``downtime`` minus it; both clipped to ``[lo, hi)``.

    >>> sweep([(10, 20), (15, 30)], [(0, 12), (25, 40), (35, 50)], 5, 45)
    Sweep(excluded=[(10, 30)], downtime=[(5, 10), (30, 45)])
    """
    keep = _union(*_columns(excluded), lo, hi)
    down = _subtract(_union(*_columns(downtime), lo, hi), keep)
    return Sweep(list(zip(*keep, strict=True)), list(zip(*down, strict=True)))


def union(spans: Iterable[Span], lo: int, hi: int) -> list[Span]:
    """Sorted disjoint union of half-open spans, clipped to ``[lo, hi)``; touching spans merge.

    >>> union([(5, 9), (1, 3), (3, 4), (8, 20), (7, 7)], 0, 10)
    [(1, 4), (5, 10)]
    """
    return list(zip(*_union(*_columns(spans), lo, hi), strict=True))


def subtract(spans: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    """Sorted disjoint spans covering ``spans`` and not ``holes`` (both in any order, overlapping or not).

    >>> subtract([(20, 30), (0, 10)], [(2, 4), (8, 22), (25, 26), (3, 5)])
    [(0, 2), (5, 8), (22, 25), (26, 30)]
    """
    columns, hole_columns = _columns(spans), _columns(holes)
    everything = columns[0] + hole_columns[0], columns[1] + hole_columns[1]
    if not everything[0]:
        return []
    lo, hi = min(everything[0]), max(everything[1])
    return list(zip(*_subtract(_union(*columns, lo, hi), _union(*hole_columns, lo, hi)), strict=True))


def measure(spans: Iterable[Span], lo: int, hi: int) -> int:
    """Total length of sorted disjoint spans inside ``[lo, hi)``.

    >>> measure([(0, 10), (20, 30)], 5, 25)
    10
    """
    return _measure(_columns(spans), lo, hi)


# The sweep works on columns: sorted starts and sorted ends in two lists of ints. Every step is a
# sort (of ints, or of two sorted runs: linear) or a pass of map/compress/bisect, so the loops run
# in C rather than one Python iteration per span.
_Columns = tuple[list[int], list[int]]


def _columns(spans: Iterable[Span]) -> _Columns:
    pairs = [(start, end) for start, end in spans if start < end]
    return [start for start, _ in pairs], [end for _, end in pairs]


def _seconds(items: Sequence[Window] | Sequence[Outage], *, widen: bool) -> _Columns:
    """Start and end in whole seconds since the epoch: widened to whole seconds, or narrowed.

    Exact timedelta floor division through ``map``, so that the loop stays in C; then the column
    rounded up (ends when widening, starts when narrowing) gains a second where there was a fraction.
    """
    starts, ends = list(map(_start, items)), list(map(_end, items))
    columns = _floor_seconds(starts), _floor_seconds(ends)
    up, instants = (1, ends) if widen else (0, starts)
    for i in compress(range(len(instants)), map(_microsecond, instants)):
        columns[up][i] += 1
    return columns


def _floor_seconds(instants: list[datetime]) -> list[int]:
    return list(map(floordiv, map(sub, instants, repeat(_EPOCH)), repeat(_SECOND)))


def _union(starts: list[int], ends: list[int], lo: int, hi: int) -> _Columns:
    """Merged columns of non-empty spans, clipped to ``[lo, hi)``.

    With starts and ends sorted separately, the i-th end is never before the i-th start, and nothing
    covers ``[ends[i], starts[i + 1])`` exactly when ``ends[i] < starts[i + 1]``: the gaps of the union.
    """
    if not starts:
        return [], []
    starts, ends = sorted(starts), sorted(ends)
    later = starts[1:]
    gaps = list(map(lt, ends, later))
    return _clip([starts[0], *compress(later, gaps)], [*compress(ends, gaps), ends[-1]], lo, hi)


def _subtract(spans: _Columns, holes: _Columns) -> _Columns:
    """Merged columns minus merged columns: the spans intersected with the gaps between holes."""
    (starts, ends), (hole_starts, hole_ends) = spans, holes
    if not starts or not hole_starts:
        return starts, ends
    lo, hi = min(starts[0], hole_starts[0]), max(ends[-1], hole_ends[-1])
    gap_starts, gap_ends = [lo, *hole_ends], [*hole_starts, hi]
    if gap_starts[-1] == gap_ends[-1]:
        del gap_starts[-1], gap_ends[-1]
    if gap_starts[0] == gap_ends[0]:
        del gap_starts[0], gap_ends[0]
    return _intersect((starts, ends), (gap_starts, gap_ends))


def _intersect(a: _Columns, b: _Columns) -> _Columns:
    """Intersection of two merged columns.

    Each side is disjoint, so at most two spans cover a point. Sorting all starts and all ends
    (two sorted runs each: linear), a point after exactly i ends is covered twice from
    ``starts[i + 1]`` to ``ends[i]``.
    """
    starts, ends = sorted(a[0] + b[0]), sorted(a[1] + b[1])
    later = starts[1:]
    both = list(map(lt, later, ends))
    return list(compress(later, both)), list(compress(ends, both))


def _clip(starts: list[int], ends: list[int], lo: int, hi: int) -> _Columns:
    if lo >= hi:
        return [], []
    first, last = bisect_right(ends, lo), bisect_left(starts, hi)
    starts, ends = starts[first:last], ends[first:last]
    if starts:
        starts[0], ends[-1] = max(starts[0], lo), min(ends[-1], hi)
    return starts, ends


def _measure(spans: _Columns, lo: int, hi: int) -> int:
    starts, ends = _clip(*spans, lo, hi)
    return sum(ends) - sum(starts)


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


# --- the DESIGN §6 document ------------------------------------------------------------------


@dataclass(frozen=True)
class SlaDocument:
    """A parsed ``sla compute`` input: everything :func:`compute_sla` needs, plus warnings."""

    period: Period
    windows: tuple[Window, ...]
    outages: tuple[Outage, ...]
    policy: SlaPolicy
    as_of: datetime | None = None
    warnings: tuple[str, ...] = ()


_TOP_KEYS = {"period", "target_percent", "notice_days", "credit_tiers", "windows", "outages", "as_of"}
_WINDOW_KEYS = {"start", "end", "kind", "announced_at", "customer_consent", "id"}
_OUTAGE_KEYS = {"start", "end", "id"}


def parse_document(data: object, *, excluded_as_up: bool = False) -> SlaDocument:
    """Validate a decoded DESIGN §6 JSON document; every problem is listed in one message.

    Only ``period``, ``windows`` and ``outages`` are required. ``as_of`` (an instant) is an
    optional extension: the "now" of a month in progress.

    >>> doc = parse_document({"period": {"month": "2027-03", "tz": "America/New_York"},
    ...                       "windows": [], "outages": [], "notice_days": 14})
    >>> doc.period.label, doc.policy.notice_days, str(doc.policy.target_percent)
    ('2027-03', 14, '99.95')
    >>> parse_document({"period": {"month": "3/2027"}, "windows": [{"start": "2027-03-02T00:00:00Z",
    ...                 "end": "2027-03-01T00:00:00Z"}]})
    Traceback (most recent call last):
    ...
    windows.errors.InvalidInput: 3 problems in the SLA document: period.month: use YYYY-MM, e.g. 2027-03; \
windows[0].end: not after start; outages: missing (use [] for none)
    """
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(data, Mapping):
        raise InvalidInput("the SLA document must be a JSON object with period, windows and outages")
    _unknown(data, _TOP_KEYS, "", problems)

    period = _period(data.get("period"), problems, warnings)
    target = _decimal(data, "target_percent", DEFAULT_TARGET, problems)
    notice_days = DEFAULT_NOTICE_DAYS
    if "notice_days" in data:
        value = data["notice_days"]
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            notice_days = value
        else:
            problems.append("notice_days: use a whole number of days, 0 or more")
    tiers = _tiers(data.get("credit_tiers"), problems) if "credit_tiers" in data else DEFAULT_CREDIT_TIERS
    windows = _items(data, "windows", _window, problems)
    outages = _items(data, "outages", _outage, problems)
    as_of = _instant(data, "as_of", "as_of", problems, optional=True)
    _raise(problems)
    assert period is not None and target is not None and tiers is not None
    policy = SlaPolicy(target, notice_days, tiers, excluded_as_up)
    return SlaDocument(period, tuple(windows), tuple(outages), policy, as_of, tuple(warnings))


def compute_document(document: SlaDocument, now: datetime | None = None) -> SlaResult:
    """:func:`compute_sla` on a parsed document; ``now`` defaults to the document's ``as_of``."""
    return compute_sla(
        document.period,
        document.windows,
        document.outages,
        now=now or document.as_of,
        policy=document.policy,
    )


def result_to_dict(result: SlaResult) -> dict[str, Any]:
    """The DESIGN §6 output (plus ``error_budget_seconds``), ready for ``json.dumps``."""
    return {
        "period_start": format_utc(result.start),
        "period_end": format_utc(result.end),
        "period_seconds": result.period_seconds,
        "excluded_seconds": result.excluded_seconds,
        "downtime_seconds": result.downtime_seconds,
        "eligible_seconds": result.eligible_seconds,
        "availability_percent": result.availability_percent,
        "target_percent": str(result.policy.target_percent),
        "met": result.met,
        "credit_percent": result.credit_percent,
        "error_budget_seconds": result.error_budget_seconds,
        "windows": [window_to_dict(verdict) for verdict in result.windows],
    }


def window_to_dict(verdict: WindowVerdict) -> dict[str, Any]:
    window = verdict.window
    item: dict[str, Any] = {"id": window.id} if window.id is not None else {}
    item.update(
        start=format_utc(window.start),
        end=format_utc(window.end),
        kind=window.kind,
        announced_at=format_utc(window.announced_at) if window.announced_at else None,
        customer_consent=window.customer_consent,
        qualifies=verdict.qualifies,
        reason=verdict.reason,
    )
    return item


# --- helpers ---------------------------------------------------------------------------------


def _ts(instant: datetime) -> int:
    """Whole seconds since the epoch, rounded down."""
    delta = instant - _EPOCH
    return delta.days * 86400 + delta.seconds


def _from_ts(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


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


def _unknown(item: Mapping[Any, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    for key in item:
        if key not in allowed:
            problems.append(f"{where}{'.' if where else ''}{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _period(value: object, problems: list[str], warnings: list[str]) -> Period | None:
    if not isinstance(value, Mapping):
        problems.append('period: missing or not an object; use {"month": "2027-03", "tz": "UTC"}')
        return None
    _unknown(value, {"month", "tz"}, "period", problems)
    month, tz = value.get("month"), value.get("tz", "UTC")
    match = _MONTH.match(month) if isinstance(month, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        problems.append("period.month: use YYYY-MM, e.g. 2027-03")
    if not isinstance(tz, str) or not tz:
        problems.append("period.tz: use an IANA time zone name, e.g. Europe/London")
        return None
    try:
        zone = resolve_zone(tz)
    except InvalidInput as error:
        problems.append(f"period.tz: {error.message}")
        return None
    if zone.warning:
        warnings.append(f"period.tz: {zone.warning}")
    if not match:
        return None
    try:
        return Period(int(match.group(1)), int(match.group(2)), zone.name)
    except InvalidInput as error:
        problems.append(f"period.month: {error.message}")
        return None


def _to_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a JSON string or number; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _decimal(data: Mapping[str, Any], key: str, default: Decimal, problems: list[str]) -> Decimal | None:
    if key not in data:
        return default
    number = _to_decimal(data[key])
    problem = _check_percent(number, key, allow_zero=False) if number is not None else None
    if number is None or problem:
        problems.append(problem or f'{key}: use a percentage as a string, e.g. "99.95"')
        return None
    return number


def _tiers(value: object, problems: list[str]) -> tuple[CreditTier, ...] | None:
    if not isinstance(value, list) or not value:
        problems.append('credit_tiers: use a list of [threshold, credit] pairs, e.g. [["99.95", 0], ["0", 100]]')
        return None
    tiers, before = [], len(problems)
    for i, pair in enumerate(value):
        threshold = _to_decimal(pair[0]) if isinstance(pair, list) and len(pair) == 2 else None
        if threshold is None:
            problems.append(f'credit_tiers[{i}]: use a [threshold, credit] pair, e.g. ["99.0", 10]')
        else:
            tiers.append(CreditTier(threshold, pair[1]))
    if len(problems) == before:
        problems.extend(_check_tiers(tiers))
    return tuple(tiers) if len(problems) == before else None


def _items(
    data: Mapping[str, Any], key: str, build: Callable[[object, str, list[str]], _T | None], problems: list[str]
) -> list[_T]:
    if key not in data:
        problems.append(f"{key}: missing (use [] for none)")
        return []
    value = data[key]
    if not isinstance(value, list):
        problems.append(f"{key}: must be a list")
        return []
    return [item for i, raw in enumerate(value) if (item := build(raw, f"{key}[{i}]", problems)) is not None]


def _instant(item: Mapping[str, Any], key: str, where: str, problems: list[str], *, optional: bool) -> datetime | None:
    value = item.get(key)
    if value is None:
        if not optional:
            problems.append(f"{where}: missing; use an instant like 2027-03-16T04:00:00Z")
        return None
    if not isinstance(value, str):
        problems.append(f"{where}: use an instant like 2027-03-16T04:00:00Z")
        return None
    try:
        return parse_instant(value)
    except InvalidInput as error:
        problems.append(f"{where}: {error.message}")
        return None


def _span(raw: Mapping[str, Any], where: str, problems: list[str]) -> tuple[datetime, datetime] | None:
    start = _instant(raw, "start", f"{where}.start", problems, optional=False)
    end = _instant(raw, "end", f"{where}.end", problems, optional=False)
    if start is None or end is None:
        return None
    if end <= start:
        problems.append(f"{where}.end: not after start")
        return None
    return start, end


def _text_id(raw: Mapping[str, Any], where: str, problems: list[str]) -> str | None:
    value = raw.get("id")
    if value is not None and not isinstance(value, str | int):
        problems.append(f"{where}.id: use a string")
        return None
    return None if value is None else str(value)


def _window(raw: object, where: str, problems: list[str]) -> Window | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be an object with start and end")
        return None
    before = len(problems)
    _unknown(raw, _WINDOW_KEYS, where, problems)
    span = _span(raw, where, problems)
    if raw.get("kind", "planned") not in ("planned", "unplanned"):
        problems.append(f"{where}.kind: use planned or unplanned")
    kind: WindowKind = "unplanned" if raw.get("kind") == "unplanned" else "planned"
    announced = _instant(raw, "announced_at", f"{where}.announced_at", problems, optional=True)
    consent = raw.get("customer_consent", False)
    if not isinstance(consent, bool):
        problems.append(f"{where}.customer_consent: use true or false")
    ident = _text_id(raw, where, problems)
    if span is None or len(problems) > before:
        return None
    return Window(span[0], span[1], kind, announced, consent, ident)


def _outage(raw: object, where: str, problems: list[str]) -> Outage | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be an object with start and end")
        return None
    before = len(problems)
    _unknown(raw, _OUTAGE_KEYS, where, problems)
    span = _span(raw, where, problems)
    ident = _text_id(raw, where, problems)
    if span is None or len(problems) > before:
        return None
    return Outage(span[0], span[1], ident)

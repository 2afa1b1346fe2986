"""The terms of an SLA month (DESIGN §4, §6): the period, the windows and outages, the contract.

Each input validates itself with the checks and the whole-second arithmetic :mod:`windows.sla`
relies on: aware instants, spans that end after they start, a month in the accepted range, a
policy whose tiers cover every availability. ``Period`` and ``SlaPolicy`` also carry the integer
forms the calculation compares (epoch seconds, exact ratios), worked out once when they are made.
Callers import these names from :mod:`windows.sla`, with the calculation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from windows.errors import InvalidInput
from windows.parsing import FIRST_DAY, LAST_DAY
from windows.timezones import aware_utc, format_utc, resolve_zone, to_utc

WindowKind = Literal["planned", "unplanned"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = timedelta(days=1)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
DEFAULT_TARGET = Decimal("99.95")
DEFAULT_NOTICE_DAYS = 30


# --- period, windows, outages ----------------------------------------------------------------------------------


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


# --- the contract -----------------------------------------------------------------------------


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


# --- helpers ---------------------------------------------------------------------------------


def _ts(instant: datetime) -> int:
    """Whole seconds since the epoch, rounded down."""
    delta = instant - _EPOCH
    return delta.days * 86400 + delta.seconds


def _notice_period(days: int) -> timedelta:
    """``days`` days; beyond what a timedelta holds (no real notice is that long), the longest one."""
    return _DAY * days if days <= timedelta.max.days else timedelta.max


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

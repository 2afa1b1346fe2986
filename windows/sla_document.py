"""The ``sla compute`` JSON document (DESIGN §6): parse and validate the input, render the output.

:func:`parse_document` turns decoded JSON into a :class:`SlaDocument` (every problem listed in one
message), :func:`compute_document` runs :func:`windows.sla.compute_sla` on it, and
:func:`result_to_dict` renders a result as the DESIGN §6 output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from windows.errors import InvalidInput
from windows.parsing import parse_instant
from windows.sla import (
    DEFAULT_CREDIT_TIERS,
    DEFAULT_NOTICE_DAYS,
    DEFAULT_TARGET,
    CreditTier,
    Outage,
    Period,
    SlaPolicy,
    SlaResult,
    Window,
    WindowKind,
    WindowVerdict,
    compute_sla,
)
from windows.sla_terms import _MONTH, _check_percent, _check_tiers, _raise
from windows.timezones import format_utc, resolve_zone

_T = TypeVar("_T")


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
    """One item of the output's ``windows`` list: the window and the verdict on it."""
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


# --- parsing helpers -------------------------------------------------------------------------


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

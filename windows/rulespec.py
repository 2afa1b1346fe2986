"""Building a rule from the options a user typed (CLI flags or a catalogue entry).

Exactly one form must be given: weekly (days + start + end), cron (expression + duration) or
one-off (local start + end). Every problem is reported in one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from windows.errors import InvalidInput
from windows.parsing import check_date, parse_days, parse_duration, parse_local_datetime, parse_time_of_day
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule, check_cron_frequency
from windows.text import clean_text
from windows.timezones import LOCAL, resolve_zone


@dataclass(frozen=True)
class RuleOptions:
    product: str
    name: str
    tz: str | None
    days: str | None = None
    start: str | None = None
    end: str | None = None
    cron: str | None = None
    duration: str | timedelta | None = None
    once_start: str | None = None
    once_end: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    label: str | None = None


def build_rule(options: RuleOptions) -> tuple[Rule, list[str]]:
    """The rule and any warnings (abbreviation zones).

    >>> rule, warnings = build_rule(RuleOptions("pe", "w1", "EST", days="tue-thu", start="22:00", end="05:00"))
    >>> rule.describe(), warnings[0].startswith("time zone 'EST' is a fixed offset")
    ('tue,wed,thu 22:00-05:00', True)
    """
    o = options
    if o.label is not None:
        clean_text("--label", o.label, required=False)
    weekly = any(v is not None for v in (o.days, o.start, o.end))
    cron = any(v is not None for v in (o.cron, o.duration))
    once = any(v is not None for v in (o.once_start, o.once_end))
    forms = sum((weekly, cron, once))
    if forms != 1:
        raise InvalidInput(
            "give exactly one window form: --days/--start/--end, --cron/--duration, or --once-start/--once-end"
        )
    if o.valid_from and o.valid_until and o.valid_until < o.valid_from:
        # Stored rules may have this shape (retired before their first day); typed input may not.
        raise InvalidInput(f"--until {o.valid_until} is before --from {o.valid_from}")
    if not o.tz:
        raise InvalidInput("a window needs a time zone: --tz America/New_York (or --tz local for the customer's zone)")
    for flag, day in (("--from", o.valid_from), ("--until", o.valid_until)):
        if day is not None:
            check_date(day, flag)
    warnings: list[str] = []
    tz = o.tz
    if tz != LOCAL:
        resolved = resolve_zone(tz)
        tz = resolved.name
        if resolved.warning:
            warnings.append(resolved.warning)
    common = (o.product, o.name, tz, o.valid_from, o.valid_until, o.label)
    if weekly:
        missing = [flag for flag, v in (("--days", o.days), ("--start", o.start), ("--end", o.end)) if v is None]
        if missing:
            raise InvalidInput(f"a weekly window needs {', '.join(missing)}")
        assert o.days is not None and o.start is not None and o.end is not None
        return WeeklyRule(
            *common, days=parse_days(o.days), start=parse_time_of_day(o.start), end=parse_time_of_day(o.end)
        ), warnings
    if cron:
        if o.cron is None or o.duration is None:
            raise InvalidInput("a cron window needs both --cron and --duration")
        duration = o.duration if isinstance(o.duration, timedelta) else parse_duration(o.duration)
        check_cron_frequency(o.cron)  # typed input only: rules stored before the limit still load
        return CronRule(*common, expression=o.cron, duration=duration), warnings
    if o.once_start is None or o.once_end is None:
        raise InvalidInput("a one-off window needs both --once-start and --once-end")
    return OnceRule(*common, start=parse_local_datetime(o.once_start), end=parse_local_datetime(o.once_end)), warnings

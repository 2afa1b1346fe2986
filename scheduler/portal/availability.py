"""The portal's availability page: the customer's monthly SLA rows (``reports.sla_report``), the
maintenance excluded or counted with the report's own reason, and a small inline SVG bar chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scheduler.portal import strings as t
from scheduler.portal.views import fmt_local_range, subscribed_products
from scheduler.reports.sla_report import ReportRow, sla_report
from scheduler.store.db import Database
from windows.errors import InvalidInput

CHART_MONTHS = 6
BAR_WIDTH, GAP, HEIGHT = 40, 12, 80


@dataclass(frozen=True)
class WindowLine:
    when: str
    excluded: bool
    why: str


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    label: str
    value: str


@dataclass(frozen=True)
class ProductReport:
    key: str
    name: str
    availability: str
    target: str
    met: bool
    credit: int
    downtime_minutes: int
    excluded_minutes: int
    note: str | None
    windows: list[WindowLine]
    bars: list[Bar]
    chart_width: int


def _months_back(first: date, count: int) -> list[date]:
    months = [first]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return list(reversed(months))


def _row(db: Database, now: datetime, product: str, month: date, zone: str, customer: str) -> ReportRow | None:
    try:
        return sla_report(db, now, product=product, month=f"{month:%Y-%m}", tz=zone, customer=customer)[0]
    except InvalidInput:
        return None


def _bars(rows: list[tuple[date, ReportRow | None]]) -> list[Bar]:
    """Bars scaled from 95 % (empty) to 100 % (full height): the range where SLAs live."""
    bars = []
    for i, (month, row) in enumerate(rows):
        if row is None or not row.in_service:
            continue
        percent = float(row.result.availability * 100)
        height = max(2, round(HEIGHT * min(1.0, max(0.0, (percent - 95) / 5))))
        bars.append(
            Bar(i * (BAR_WIDTH + GAP), HEIGHT - height, height, f"{month:%b}", f"{row.result.availability_percent} %")
        )
    return bars


def availability(db: Database, now: datetime, customer: str, zone: str, first: date) -> list[ProductReport]:
    """One report per subscribed product for the month starting ``first`` (in the customer's zone)."""
    today = now.date().replace(day=1)
    if first > today:
        raise InvalidInput("that month has not begun")
    reports = []
    for key, name in subscribed_products(db, customer):
        row = _row(db, now, key, first, zone, customer)
        if row is None:
            continue
        result = row.result
        history = [(m, _row(db, now, key, m, zone, customer)) for m in _months_back(first, CHART_MONTHS)]
        windows = [
            WindowLine(
                fmt_local_range(v.window.start, v.window.end, zone),
                v.qualifies,
                t.EXCLUDED_WHY if v.qualifies else t.COUNTED_WHY.format(why=v.reason),
            )
            for v in result.windows
            if v.window.start < now  # a month in progress: the windows still ahead are not counted yet
        ]
        reports.append(
            ProductReport(
                key=key,
                name=name,
                availability=f"{result.availability_percent} %",
                target=f"{result.policy.target_percent} %",
                met=result.met,
                credit=result.credit_percent,
                downtime_minutes=result.downtime_seconds // 60,
                excluded_minutes=result.excluded_seconds // 60,
                note=None if row.in_service and not row.note else row.note,
                windows=windows,
                bars=_bars(history),
                chart_width=CHART_MONTHS * (BAR_WIDTH + GAP),
            )
        )
    return reports

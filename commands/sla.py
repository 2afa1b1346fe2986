"""``maintcal sla``: availability per calendar month, with announced maintenance excluded (DESIGN §4, §6)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click

from commands.common import INSTANT, PERCENT, AppContext, instant, pass_app, print_json, print_table, warn
from scheduler.reports.sla_report import sla_report
from windows.errors import InvalidInput
from windows.sla import SlaResult, WindowVerdict
from windows.sla_document import SlaDocument, compute_document, parse_document, result_to_dict
from windows.timezones import format_utc


@click.group()
def sla() -> None:
    """SLA availability per calendar month, excluding announced maintenance."""


@sla.command()
@click.argument("file", metavar="FILE.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--excluded-as-up", is_flag=True, help="Count excluded maintenance as available: (P - D) / P.")
@click.option(
    "--as-of", type=INSTANT, help="The 'now' of a month in progress (default: the document's as_of, else the clock)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine output (DESIGN §6) on stdout.")
@pass_app
def compute(app: AppContext, file: Path, excluded_as_up: bool, as_of: datetime | str | None, as_json: bool) -> None:
    """Compute one month's availability from a JSON document (no database).

    The document holds period, windows and outages; see examples/sla-2027-03.json.
    """
    document = load_document(file, excluded_as_up=excluded_as_up)
    result = compute_document(document, instant(as_of, app.now) or document.as_of or app.now)
    for message in document.warnings:
        warn(message)
    if result.status == "forecast":
        warn(f"{result.period.label} has not started yet: a forecast over the whole month from the known data")
    if as_json:
        print_json(result_to_dict(result))
    else:
        print_result(result)


@sla.command()
@click.option("--product", required=True, help="The product.")
@click.option("--customer", help="One customer (default: every subscriber plus the product-wide figure).")
@click.option("--month", required=True, help="Calendar month YYYY-MM.")
@click.option("--tz", default="UTC", show_default=True, help="Contract time zone of the month.")
@click.option("--target", type=PERCENT, help="Target percent (default 99.95).")
@click.option("--excluded-as-up", is_flag=True, help="Count excluded maintenance as available: (P - D) / P.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output, one row per customer.")
@pass_app
def report(
    app: AppContext,
    product: str,
    customer: str | None,
    month: str,
    tz: str,
    target: Decimal | None,
    excluded_as_up: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Availability of PRODUCT for a month from the database: outages, windows and notice records.

    \b
    Example:
      maintcal sla report --product premier-edition --month 2027-03 --tz America/New_York
    """
    if as_json and as_csv:
        raise InvalidInput("choose one of --json and --csv")
    rows = sla_report(
        app.db(),
        app.now,
        product=product,
        month=month,
        tz=tz,
        customer=customer,
        target=target,
        excluded_as_up=excluded_as_up,
    )
    if as_json:
        print_json(
            [
                {
                    "product": product,
                    "customer": r.customer,
                    **result_to_dict(r.result),
                    "in_service": r.in_service,
                    "note": r.note,
                }
                for r in rows
            ]
        )
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for r in rows:
            d = result_to_dict(r.result)
            writer.writerow([product, r.customer or "", *(d[c] for c in _CSV_COLUMNS[2:])])
        click.echo(out.getvalue(), nl=False)
        return
    if rows and rows[0].result.status == "forecast":
        warn(f"{month} has not started yet: a forecast over the whole month from the known data")
    for r in rows:
        if r.note:
            click.echo(f"note: {r.customer or '(product-wide)'}: {r.note}")
    if len(rows) == 1:
        print_result(rows[0].result)
        return
    print_table(
        ["CUSTOMER", "AVAILABILITY", "TARGET", "CREDIT", "EXCLUDED", "DOWNTIME", "BUDGET LEFT"],
        [
            (
                r.customer or "(product-wide)",
                f"{r.result.availability_percent} %",
                "met" if r.result.met else "NOT met",
                f"{r.result.credit_percent} %",
                _hours(r.result.excluded_seconds),
                _hours(r.result.downtime_seconds),
                _hours(r.result.error_budget_seconds),
            )
            for r in rows
        ],
        title=f"SLA {product} {month} ({rows[0].result.period.timezone})" if rows else None,
    )
    click.echo()
    print_result(rows[-1].result)


_CSV_COLUMNS = (
    "product",
    "customer",
    "period_start",
    "period_end",
    "period_seconds",
    "excluded_seconds",
    "downtime_seconds",
    "eligible_seconds",
    "availability_percent",
    "target_percent",
    "met",
    "credit_percent",
    "error_budget_seconds",
)


def load_document(path: Path, *, excluded_as_up: bool = False) -> SlaDocument:
    """Read and validate a DESIGN §6 document; every failure is an InvalidInput naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text; expected a JSON document") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    try:
        return parse_document(data, excluded_as_up=excluded_as_up)
    except InvalidInput as error:
        raise InvalidInput(f"{path}: {error.message}") from None


def print_result(result: SlaResult) -> None:
    """A short table of the figures, then every window with why it was or was not excluded."""
    period = result.period
    formula = "(P - D) / P, maintenance counts as up" if result.policy.excluded_as_up else "(P - E - D) / (P - E)"
    state = "" if result.status == "complete" else f", {result.status}"
    verdict = "met" if result.met else "NOT met"
    rows = [
        ("period", f"{format_utc(result.start)} - {format_utc(result.end)}", _hours(result.period_seconds)),
        ("excluded (E)", "announced maintenance", _hours(result.excluded_seconds)),
        ("downtime (D)", "outages, unannounced and unplanned maintenance", _hours(result.downtime_seconds)),
        ("eligible", formula, _hours(result.eligible_seconds)),
        ("availability", f"{result.availability_percent} %", f"target {result.policy.target_percent} % {verdict}"),
        ("credit", f"{result.credit_percent} %", ""),
        ("error budget", "downtime the month can still take", _hours(result.error_budget_seconds)),
    ]
    print_table(["", "", ""], rows, title=f"SLA {period.label} ({period.timezone}{state})")
    if not result.windows:
        click.echo("\nno maintenance windows")
        return
    with_ids = any(v.window.id for v in result.windows)
    columns = ["start", "end", "kind", "counted as", "why"]
    listed: list[list[str | None]] = [
        [
            format_utc(v.window.start),
            format_utc(v.window.end),
            v.window.kind,
            _counted_as(v, result),
            v.reason,
        ]
        for v in result.windows
    ]
    click.echo()
    if with_ids:
        columns, listed = ["id", *columns], [[v.window.id, *row] for v, row in zip(result.windows, listed, strict=True)]
    print_table(columns, listed, title="maintenance windows")


def _hours(seconds: int) -> str:
    sign, rest = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{rest // 3600}h{rest % 3600 // 60:02d}m{rest % 60:02d}s ({seconds} s)"


COMMANDS = [sla]


def _counted_as(verdict: WindowVerdict, result: SlaResult) -> str:
    """How a window enters the figures; one after the elapsed part of a month in progress is not counted yet."""
    if result.status == "in progress" and verdict.window.start >= result.end:
        return "not yet (upcoming)"
    return "excluded" if verdict.qualifies else "downtime"

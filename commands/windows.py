"""``maintcal window add|list|retire|preview``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any

import click

from commands.common import DATE, DURATION, AppContext, day_start, pass_app, print_json, print_table, warn
from commands.occurrences import check_range, print_occurrences, refuse_long_listing
from scheduler.catalogue import edits as catalogue
from windows.errors import InvalidInput
from windows.expansion import expand
from windows.rules import Rule
from windows.rulespec import RuleOptions, build_rule
from windows.schedule import apply_changes
from windows.timezones import format_utc, resolve_zone


def rule_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--days", help="Weekly: days, e.g. tue,thu or tue-thu."),
        click.option("--start", help="Weekly: local start HH:MM."),
        click.option("--end", help="Weekly: local end HH:MM (<= start crosses midnight)."),
        click.option("--cron", help="Cron: five-field expression in local wall-clock time."),
        click.option("--duration", type=DURATION, help="Cron: length, e.g. 90m, 2h, 1h30m."),
        click.option("--once-start", help="One-off: local start YYYY-MM-DDTHH:MM."),
        click.option("--once-end", help="One-off: local end YYYY-MM-DDTHH:MM."),
        click.option("--tz", help="IANA zone, or 'local' for each customer's own zone."),
        click.option("--name", help="Rule name (slug); default w1, w2, ..."),
        click.option("--until", "valid_until", type=DATE, help="Last local date an occurrence may start."),
        click.option("--label", help="Free text shown with the window."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _build(product: str, name: str, kw: dict[str, Any], valid_from: date | None) -> tuple[Rule, list[str]]:
    return build_rule(
        RuleOptions(
            product=product,
            name=name,
            tz=kw["tz"],
            days=kw["days"],
            start=kw["start"],
            end=kw["end"],
            cron=kw["cron"],
            duration=kw["duration"],
            once_start=kw["once_start"],
            once_end=kw["once_end"],
            valid_from=valid_from,
            valid_until=kw["valid_until"],
            label=kw["label"],
        )
    )


@click.group()
def window() -> None:
    """Recurring and one-off maintenance window rules of a product."""


@window.command("add")
@click.argument("product")
@rule_options
@click.option("--from", "valid_from", type=DATE, help="First local date an occurrence may start.")
@click.option("--waive-notice", help="Allow occurrences inside the notice period; recorded with this reason.")
@pass_app
def window_add(app: AppContext, /, product: str, valid_from: date | None, waive_notice: str | None, **kw: Any) -> None:
    """Add a window rule to PRODUCT.

    \b
    Examples:
      maintcal window add premier-edition --days tue-thu --start 22:00 --end 05:00 --tz America/New_York
      maintcal window add pureengage-cloud --days tue,thu --start 00:00 --end 06:00 --tz local
      maintcal window add reports --cron '0 2 * * sun' --duration 2h --tz Europe/London
    """
    name = kw["name"] or catalogue.next_rule_name(app.db(), product)
    rule, warnings = _build(product, name, kw, valid_from)
    warnings += catalogue.add_window(app.db(), app.now, rule, waive_notice)
    for warning in warnings:
        warn(warning)
    click.echo(f"added window {product}.{rule.name}: {rule.describe()} ({rule.timezone})")


@window.command("list")
@click.argument("product", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def window_list(app: AppContext, product: str | None, as_json: bool) -> None:
    """List window rules (of PRODUCT, or all)."""
    rules = catalogue.list_windows(app.db(), product)
    if as_json:
        print_json(
            [
                {
                    **asdict(r),
                    "valid_from": _d(r.valid_from),
                    "valid_until": _d(r.valid_until),
                    "effective_from": format_utc(r.effective_from),
                    "retired_before_start": r.retired_before_start,
                }
                for r in rules
            ]
        )
        return
    print_table(
        ["PRODUCT", "RULE", "WINDOW", "TIME ZONE", "FROM", "UNTIL", "SINCE", "LABEL"],
        [
            (
                r.product,
                r.name,
                r.description,
                r.timezone,
                _d(r.valid_from),
                "retired before start" if r.retired_before_start else _d(r.valid_until),
                format_utc(r.effective_from),
                r.label,
            )
            for r in rules
        ],
    )


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


@window.command("retire")
@click.argument("product")
@click.argument("rule")
@click.option("--from", "from_date", type=DATE, help="First local date without occurrences (default: today).")
@pass_app
def window_retire(app: AppContext, product: str, rule: str, from_date: date | None) -> None:
    """Stop window RULE of PRODUCT from a date on (earlier occurrences stay on record).

    A window that has not started yet can be retired before its first day: it then has no
    occurrences. Announced occurrences that disappear are cancelled (customers get a CANCEL).
    """
    retired = catalogue.retire_window(app.db(), app.now, product, rule, from_date, app.settings)
    click.echo(retired.describe(product, rule))
    for item in retired.cancelled:
        click.echo(f"cancelled {item.id} for {item.customer} (it was announced)")


@window.command("preview")
@rule_options
@click.option("--from", "from_date", type=DATE, required=True, help="Range start (00:00Z).")
@click.option("--to", "to_date", type=DATE, required=True, help="Range end (00:00Z, exclusive).")
@click.option("--local-tz", help="Zone to expand 'local' rules in.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def window_preview(
    app: AppContext, /, from_date: date, to_date: date, local_tz: str | None, as_json: bool, **kw: Any
) -> None:
    """Show a rule's occurrences without touching the database.

    \b
    Example:
      maintcal window preview --days tue-thu --start 22:00 --end 05:00 --tz America/New_York \\
          --from 2027-03-01 --to 2027-03-31
    """
    check_range(from_date, to_date)
    rule, warnings = _build("preview", kw["name"] or "w1", kw, None)
    for warning in warnings:
        warn(warning)
    customer = None
    if rule.is_local:
        if not local_tz:
            raise InvalidInput("a 'local' rule needs --local-tz ZONE to preview")
        local_tz = resolve_zone(local_tz).name
        customer = "preview"
    occurrences = expand(rule, day_start(from_date), day_start(to_date), local_tz=local_tz, customer=customer)
    refuse_long_listing(len(occurrences), app.settings.list_max_rows, from_date, to_date)
    print_occurrences([apply_changes(o, [], None, 30) for o in occurrences], app.settings.uid_domain, as_json)


COMMANDS = [window]

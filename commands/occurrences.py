"""``maintcal occurrences``: the schedule in a date range."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, timedelta

import click

from commands.common import DATE, AppContext, day_start, pass_app, print_json, print_table
from scheduler.occurrences.schedule import occurrences as list_occurrences
from scheduler.serialize import occurrence_json
from windows.errors import InvalidInput
from windows.schedule import Scheduled

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)
MAX_RANGE = timedelta(days=3660)
CHUNK = timedelta(days=91)  # a long listing is gathered a quarter at a time, to stop early when too long


def check_range(from_date: date, to_date: date) -> None:
    """``--from``/``--to`` of a listing: in order, at most 10 years apart, within 1970-2199."""
    if to_date <= from_date:
        raise InvalidInput(f"--to {to_date} must be after --from {from_date}")
    if from_date < FIRST_DAY or to_date > LAST_DAY:
        raise InvalidInput(f"dates must lie between {FIRST_DAY} and {LAST_DAY}")
    if to_date - from_date > MAX_RANGE:
        raise InvalidInput("list at most 10 years at a time")


def refuse_long_listing(count: int, limit: int, from_date: date, to_date: date, hint: str = "") -> None:
    """A listing of more than MAINTCAL_LIST_MAX_ROWS rows is refused (InvalidInput: exit 2)."""
    if count > limit:
        raise InvalidInput(
            f"more than {limit} occurrences between {from_date} and {to_date} "
            f"(MAINTCAL_LIST_MAX_ROWS): narrow --from/--to{hint}"
        )


COLUMNS = ("ID", "STATUS", "LOCAL START", "LOCAL END", "ZONE", "UTC START", "UTC END", "HOURS")
TABLE_WIDTH = 200  # print_table's console width: a wider table is wrapped by rich


def print_occurrences(items: list[Scheduled], uid_domain: str, as_json: bool) -> None:
    if as_json:
        print_json([occurrence_json(s, uid_domain) for s in items])
        return
    rows = [
        (
            s.id,
            s.status if s.kind == "planned" else "unplanned",
            f"{s.local_start:%a %Y-%m-%d %H:%M %z}",
            f"{s.local_end:%a %Y-%m-%d %H:%M %z}",
            s.timezone,
            f"{s.start:%Y-%m-%d %H:%MZ}",
            f"{s.end:%Y-%m-%d %H:%MZ}",
            f"{(s.end - s.start).total_seconds() / 3600:g}",
        )
        for s in items
    ]
    if not print_plain_table(COLUMNS, rows):
        print_table(COLUMNS, rows)
    if not items:
        click.echo("no occurrences in this range")


def print_plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
    """Print the table exactly as :func:`print_table` lays it out, without rich; False if it cannot.

    rich measures and styles every cell (about 0.7 ms a row: 6 s for a 10-year listing). Here the
    columns are left-aligned to their widest cell and joined by two spaces, every cell padded (the
    last one too, as rich does). Only for what rich prints that way: ASCII text without markup
    (``[``) that fits the console width; otherwise the caller falls back to rich. A terminal gets
    the header in bold, as rich shows it.
    """
    cells = [columns, *rows]
    if any(not cell.isascii() or "[" in cell for row in cells for cell in row):
        return False
    widths = [max(map(len, column)) for column in zip(*cells, strict=True)]
    if sum(widths) + 2 * (len(widths) - 1) > TABLE_WIDTH:
        return False
    line = "  ".join(f"{{:<{width}}}" for width in widths).format
    header = line(*columns)
    if sys.stdout.isatty():
        header = click.style(header, bold=True)
    click.echo("\n".join([header, *(line(*row) for row in rows)]))
    return True


@click.command()
@click.option("--product", help="Only this product.")
@click.option("--customer", help="As this customer sees it (subscribed products, local time, own changes).")
@click.option("--from", "from_date", type=DATE, required=True, help="Range start (00:00Z).")
@click.option("--to", "to_date", type=DATE, required=True, help="Range end (00:00Z, exclusive).")
@click.option("--all", "include_cancelled", is_flag=True, help="Include cancelled occurrences.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def occurrences(
    app: AppContext,
    product: str | None,
    customer: str | None,
    from_date: date,
    to_date: date,
    include_cancelled: bool,
    as_json: bool,
) -> None:
    """List occurrences overlapping [--from 00:00Z, --to 00:00Z)."""
    check_range(from_date, to_date)
    limit = app.settings.list_max_rows
    found: dict[tuple[str, str | None], Scheduled] = {}
    with app.db().transaction() as session:
        day = from_date
        while day < to_date:
            until = min(day + CHUNK, to_date)
            for item in list_occurrences(
                session,
                day_start(day),
                day_start(until),
                product=product,
                customer=customer,
                include_cancelled=include_cancelled,
            ):
                found.setdefault((item.id, item.customer), item)  # one overlapping two quarters: once
            refuse_long_listing(len(found), limit, from_date, to_date, ", or name --product or --customer")
            day = until
    items = sorted(found.values(), key=lambda s: (s.start, s.id))
    print_occurrences(items, app.settings.uid_domain, as_json)


COMMANDS = [occurrences]

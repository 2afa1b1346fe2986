"""``maintcal outages import|add|list``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import click

from commands.common import INSTANT, AppContext, instant, pass_app, print_json, print_table
from scheduler.reports import outages as service
from windows.errors import InvalidInput
from windows.timezones import format_utc


@click.group()
def outages() -> None:
    """Measured downtime (outages) that the SLA report counts."""


@outages.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def import_(app: AppContext, file: Path) -> None:
    """Import outages from a CSV (header product,start,end[,customer,source,id]) or JSON FILE.

    All or nothing; re-importing the same file adds nothing.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {file}: {getattr(error, 'strerror', None) or error}") from None
    rows = service.parse_outages(text, str(file))
    result = service.import_outages(app.db(), app.now, rows, str(file))
    click.echo(f"imported {result.added} outage(s); {result.known} already known")


@outages.command("add")
@click.argument("product")
@click.option("--start", type=INSTANT, required=True, help="Start instant.")
@click.option("--end", type=INSTANT, required=True, help="End instant.")
@click.option("--customer", help="Only this customer was affected.")
@pass_app
def add(app: AppContext, product: str, start: datetime | str, end: datetime | str, customer: str | None) -> None:
    """Record one outage of PRODUCT."""
    begin, finish = instant(start, app.now), instant(end, app.now)
    assert begin is not None and finish is not None
    result = service.add_outage(app.db(), app.now, product, begin, finish, customer)
    click.echo("added 1 outage" if result.added else "already known: nothing added")


@outages.command("list")
@click.option("--product", help="Only this product.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def list_(app: AppContext, product: str | None, as_json: bool) -> None:
    """List outages."""
    items = service.list_outages(app.db(), product)
    if as_json:
        print_json([{**asdict(i), "start": format_utc(i.start), "end": format_utc(i.end)} for i in items])
        return
    print_table(
        ["ID", "PRODUCT", "CUSTOMER", "START (UTC)", "END (UTC)", "MINUTES", "SOURCE", "EXTERNAL ID"],
        [
            (
                i.id,
                i.product,
                i.customer or "all",
                format_utc(i.start),
                format_utc(i.end),
                f"{(i.end - i.start).total_seconds() / 60:g}",
                i.source,
                i.external_id,
            )
            for i in items
        ],
    )


COMMANDS = [outages]

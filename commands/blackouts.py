"""``maintcal blackout add|list|remove|approve|reject``, ``maintcal freeze add|list|remove`` and
``maintcal conflicts [resolve]`` (DESIGN §9)."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import click

from commands.common import DATE, AppContext, day_start, error_line, pass_app, print_json, print_table, warn
from scheduler.blackouts import declare
from scheduler.blackouts.conflicts import ConflictItem, list_conflicts, resolve_override
from scheduler.blackouts.freezes import add_freeze, list_freezes, remove_freeze
from scheduler.serialize import blackout_json, conflict_json
from windows.blackouts import parse_monthly, parse_once, parse_yearly
from windows.errors import InvalidInput
from windows.timezones import format_utc

CONFLICTS_AHEAD = 366  # days after today when --to is not given


@click.group()
def blackout() -> None:
    """Customers' blackout periods: no maintenance for them then (DESIGN §9)."""


@blackout.command("add")
@click.argument("customer")
@click.option("--start", metavar="LOCAL", help="One-off: start, YYYY-MM-DDTHH:MM in the customer's zone.")
@click.option("--end", metavar="LOCAL", help="One-off: end (exclusive), in the customer's zone.")
@click.option("--yearly", metavar="MM-DD:MM-DD", help="Every year on these days (both included), e.g. 11-22:11-30.")
@click.option("--monthly", metavar="SPEC", help="Every month: last-N (the last N days) or D1-D2 (days D1 to D2).")
@click.option("--label", required=True, help="What it is for (shown to ops and in conflicts).")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def blackout_add(
    app: AppContext,
    customer: str,
    start: str | None,
    end: str | None,
    yearly: str | None,
    monthly: str | None,
    label: str,
    as_json: bool,
) -> None:
    """Declare a blackout for CUSTOMER; later than the lead days before it starts, ops must approve it.

    \b
    Examples:
      maintcal blackout add deccan --yearly 11-24:11-30 --label "Black Friday week"
      maintcal blackout add bank --monthly last-2 --label "Month-end close"
    """
    given = [
        name for name, value in (("--start/--end", start or end), ("--yearly", yearly), ("--monthly", monthly)) if value
    ]
    if len(given) != 1:
        raise InvalidInput("give exactly one of --start LOCAL --end LOCAL, --yearly MM-DD:MM-DD or --monthly SPEC")
    if yearly:
        spec = parse_yearly(yearly)
    elif monthly:
        spec = parse_monthly(monthly)
    else:
        if not (start and end):
            raise InvalidInput("a one-off blackout needs both --start LOCAL and --end LOCAL")
        spec = parse_once(start, end)
    info = declare.add_blackout(app.db(), app.now, app.settings, customer, spec, label)
    if as_json:
        print_json(blackout_json(info))
        return
    click.echo(f"blackout {info.id} for {info.customer}: {info.spec} ({info.status})")
    if info.status == "pending":
        click.echo(
            f"declared later than the lead days before it starts: 'maintcal blackout approve {info.id}' to accept"
        )
    else:
        click.echo(f"notices queued: {info.deliveries}")


@blackout.command("list")
@click.option("--customer", help="Only this customer's.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def blackout_list(app: AppContext, customer: str | None, as_json: bool) -> None:
    """Every blackout with its status (active, pending, rejected)."""
    items = declare.list_blackouts(app.db(), customer)
    if as_json:
        print_json([blackout_json(i) for i in items])
        return
    if not items:
        click.echo("no blackouts")
        return
    print_table(
        ["ID", "CUSTOMER", "KIND", "WHEN", "STATUS", "LABEL"],
        [(i.id, i.customer, i.kind, i.spec, i.status, i.label) for i in items],
    )


@blackout.command("remove")
@click.argument("blackout_id", metavar="ID", type=int)
@pass_app
def blackout_remove(app: AppContext, blackout_id: int) -> None:
    """Delete blackout ID; the occurrences it skipped or moved come back (with notices)."""
    info = declare.remove(app.db(), app.now, app.settings, blackout_id)
    click.echo(f"removed blackout {info.id} of {info.customer}; notices queued: {info.deliveries}")


@blackout.command("approve")
@click.argument("blackout_id", metavar="ID", type=int)
@click.option("--note", help="Recorded with the decision.")
@pass_app
def blackout_approve(app: AppContext, blackout_id: int, note: str | None) -> None:
    """Accept pending blackout ID: it takes effect now."""
    info = declare.approve(app.db(), app.now, app.settings, blackout_id, note)
    click.echo(f"blackout {info.id} of {info.customer} is active; notices queued: {info.deliveries}")


@blackout.command("reject")
@click.argument("blackout_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why (recorded).")
@pass_app
def blackout_reject(app: AppContext, blackout_id: int, reason: str) -> None:
    """Refuse pending blackout ID."""
    info = declare.reject(app.db(), app.now, blackout_id, reason)
    click.echo(f"blackout {info.id} of {info.customer} rejected")


@click.group()
def freeze() -> None:
    """The vendor's change freezes: no maintenance, no moves into them (DESIGN §9)."""


@freeze.command("add")
@click.option("--product", help="Freeze this product.")
@click.option("--all", "all_products", is_flag=True, help="Freeze every product.")
@click.option("--start", required=True, metavar="LOCAL", help="Start, YYYY-MM-DDTHH:MM in --tz.")
@click.option("--end", required=True, metavar="LOCAL", help="End (exclusive), in --tz.")
@click.option("--tz", required=True, help="IANA time zone of --start and --end.")
@click.option("--reason", required=True, help="Why; sent to customers with the cancellations.")
@pass_app
def freeze_add(
    app: AppContext, product: str | None, all_products: bool, start: str, end: str, tz: str, reason: str
) -> None:
    """Declare a change freeze; the occurrences in it are cancelled (with notices).

    \b
    Example:
      maintcal freeze add --all --start 2027-12-20T00:00 --end 2028-01-05T00:00 --tz UTC --reason "Holidays"
    """
    if bool(product) == all_products:
        raise InvalidInput("give exactly one of --product P or --all")
    info = add_freeze(app.db(), app.now, app.settings, product=product, start=start, end=end, tz=tz, reason=reason)
    if info.warning:
        warn(info.warning)
    click.echo(
        f"freeze {info.id} over {info.product or 'all products'}: {format_utc(info.start)} - {format_utc(info.end)}"
    )
    click.echo(f"notices queued: {info.deliveries}")


@freeze.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def freeze_list(app: AppContext, as_json: bool) -> None:
    """Every change freeze."""
    items = list_freezes(app.db())
    if as_json:
        print_json(
            [
                {
                    "id": f.id,
                    "products": f.product or "all",
                    "start": format_utc(f.start),
                    "end": format_utc(f.end),
                    "timezone": f.timezone,
                    "reason": f.reason,
                }
                for f in items
            ]
        )
        return
    if not items:
        click.echo("no freezes")
        return
    print_table(
        ["ID", "PRODUCTS", "START", "END", "REASON"],
        [(f.id, f.product or "all", format_utc(f.start), format_utc(f.end), f.reason) for f in items],
    )


@freeze.command("remove")
@click.argument("freeze_id", metavar="ID", type=int)
@pass_app
def freeze_remove(app: AppContext, freeze_id: int) -> None:
    """Lift freeze ID; the occurrences it suppressed come back (with notices)."""
    info = remove_freeze(app.db(), app.now, app.settings, freeze_id)
    click.echo(f"removed freeze {info.id}; notices queued: {info.deliveries}")


@click.group("conflicts", invoke_without_command=True)
@click.option("--from", "from_date", type=DATE, help="Range start (00:00Z; default today).")
@click.option(
    "--to", "to_date", type=DATE, help=f"Range end (00:00Z, exclusive; default today + {CONFLICTS_AHEAD} days)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def conflicts(ctx: click.Context, from_date: date | None, to_date: date | None, as_json: bool) -> None:
    """Occurrences x customers x blackouts and their resolution; exit 1 while an unresolved one
    is inside its notice period."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    start = from_date or app.now.date()
    end = to_date or start + timedelta(days=CONFLICTS_AHEAD)
    if end <= start:
        raise InvalidInput(f"--to {end} must be after --from {start}")
    items = list_conflicts(app.db(), day_start(start), day_start(end))
    if as_json:
        print_json([conflict_json(c) for c in items])
    else:
        _print_conflicts(items)
    late = [c for c in items if c.open_at(app.now)]
    if late:
        error_line(
            f"{len(late)} unresolved conflict(s) inside the notice period, first: {late[0].occurrence} "
            f"for {late[0].customer}: move or cancel it, or 'maintcal conflicts resolve ... --override'"
        )
        sys.exit(1)


def _print_conflicts(items: list[ConflictItem]) -> None:
    if not items:
        click.echo("no conflicts")
        return
    print_table(
        ["OCCURRENCE", "CUSTOMER", "BLACKOUT", "START", "DEADLINE", "RESOLUTION"],
        [
            (
                c.occurrence,
                c.customer,
                f"{c.blackout} {c.label}",
                format_utc(c.start),
                format_utc(c.deadline) if c.deadline else "-",
                c.resolution.upper() if c.resolution == "unresolved" else c.resolution,
            )
            for c in items
        ],
    )


@conflicts.command("resolve")
@click.argument("occurrence_id", metavar="OCCURRENCE")
@click.option("--customer", required=True, help="The customer whose blackout it is.")
@click.option("--override", is_flag=True, help="Proceed in the blackout (move or cancel with 'maintcal occurrence').")
@click.option("--reason", required=True, help="Why it must go ahead (recorded).")
@pass_app
def conflicts_resolve(app: AppContext, occurrence_id: str, customer: str, override: bool, reason: str) -> None:
    """Resolve a product-wide conflict by proceeding with OCCURRENCE in CUSTOMER's blackout.

    To move or cancel it for everyone instead, use 'maintcal occurrence move|cancel'.
    """
    if not override:
        raise InvalidInput("give --override to proceed; to move or cancel use 'maintcal occurrence move|cancel'")
    item = resolve_override(app.db(), app.now, occurrence_id, customer, reason)
    click.echo(f"{item.occurrence} proceeds in blackout {item.blackout} of {item.customer} (overridden)")


COMMANDS = [blackout, freeze, conflicts]

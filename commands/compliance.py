"""``maintcal compliance``: was every planned occurrence announced in time? Exit 1 on violations."""

from __future__ import annotations

from datetime import date, timedelta

import click

from commands.common import DATE, AppContext, day_start, pass_app, print_json, print_table
from scheduler.reports.compliance import ComplianceItem, compliance, violations
from windows.errors import CheckFailed, InvalidInput
from windows.timezones import format_utc

DEFAULT_BACK, DEFAULT_AHEAD = 31, 60  # days around today when --from / --to are not given


@click.command("compliance")
@click.option("--product", help="Only this product.")
@click.option("--customer", help="Only this customer.")
@click.option("--from", "from_date", type=DATE, help=f"Range start (00:00Z; default today - {DEFAULT_BACK} days).")
@click.option(
    "--to", "to_date", type=DATE, help=f"Range end (00:00Z, exclusive; default today + {DEFAULT_AHEAD} days)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def compliance_command(
    app: AppContext,
    product: str | None,
    customer: str | None,
    from_date: date | None,
    to_date: date | None,
    as_json: bool,
) -> None:
    """Every occurrence per customer with its notice deadline and state; exit 1 if any is violated."""
    today = app.now.date()
    start = from_date or today - timedelta(days=DEFAULT_BACK)
    end = to_date or today + timedelta(days=DEFAULT_AHEAD)
    if end <= start:
        raise InvalidInput(f"--to {end} must be after --from {start}")
    items = compliance(app.db(), app.now, day_start(start), day_start(end), product=product, customer=customer)
    if as_json:
        print_json([c.to_json() for c in items])
    else:
        _print(items)
    bad = violations(items)
    if bad:
        raise CheckFailed(
            f"{len(bad)} occurrence(s) not announced in time, first: {bad[0].item.id} for {bad[0].customer}"
        )


def _detail(c: ComplianceItem) -> str:
    v = c.verdict
    if v.state == "noticed":
        assert v.noticed_at is not None
        return f"at {format_utc(v.noticed_at)} to {', '.join(v.notified)}"
    parts = [f"{r.contact or 'customer'}: {r.reason} ({r.detail})" for r in v.reasons]
    if v.note:
        parts.insert(0, v.note)
    return "; ".join(parts)


def _print(items: list[ComplianceItem]) -> None:
    if not items:
        click.echo("no occurrences in this range")
        return
    print_table(
        ["OCCURRENCE", "CUSTOMER", "START", "DEADLINE", "STATE", "DETAIL"],
        [
            (
                c.item.id,
                c.customer,
                format_utc(c.item.start),
                format_utc(c.verdict.deadline) if c.verdict.deadline else "-",
                c.verdict.state.upper() if c.verdict.state == "violated" else c.verdict.state,
                _detail(c),
            )
            for c in items
        ],
    )
    states: dict[str, int] = {}
    for c in items:
        states[c.verdict.state] = states.get(c.verdict.state, 0) + 1
    click.echo(", ".join(f"{state} {count}" for state, count in sorted(states.items())))


COMMANDS = [compliance_command]

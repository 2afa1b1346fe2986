"""``maintcal``: the command-line entrypoint. Commands live in ``commands/``, one module per area.

The group is lazy (issue 11): ``LAZY`` names the module of every top-level command, and a module
is imported only when its command runs, so ``maintcal --help`` loads neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from commands.common import AppContext, MaintcalGroup, accept_db_anywhere
from scheduler.settings import Settings


@dataclass(frozen=True)
class Lazy:
    """Where a top-level command lives: ``maintcal --help`` and every command import only what they use."""

    module: str
    attribute: str
    help: str  # the first paragraph of the command's help, listed by ``maintcal --help`` without importing it
    extended_by: tuple[str, ...] = ()  # modules that add subcommands to this group


# Every command module appears here (tests/unit/test_cli_lazy.py checks the table against the modules).
LAZY: dict[str, Lazy] = {
    "apply": Lazy(
        "commands.apply", "apply", "Make the database match a declarative catalogue FILE (TOML). Safe to run again."
    ),
    "blackout": Lazy(
        "commands.blackouts", "blackout", "Customers' blackout periods: no maintenance for them then (DESIGN §9)."
    ),
    "compliance": Lazy(
        "commands.compliance",
        "compliance_command",
        "Every occurrence per customer with its notice deadline and state; exit 1 if any is violated.",
    ),
    "conflicts": Lazy(
        "commands.blackouts",
        "conflicts",
        "Occurrences x customers x blackouts and their resolution; exit 1 while an unresolved one is inside its "
        "notice period.",
    ),
    "customer": Lazy(
        "commands.customers",
        "customer",
        "Customers, their nominated contacts and subscriptions.",
        extended_by=("commands.changes", "commands.feeds", "commands.endpoints"),
    ),
    "deliveries": Lazy(
        "commands.deliveries",
        "deliveries",
        "Every notice about one occurrence: recipient, channel, kind, status and when it was sent.",
    ),
    "db": Lazy("commands.db", "db", "Database schema management."),
    "feed": Lazy("commands.feeds", "feed", "Write an iCalendar feed: the same bytes the server serves today."),
    "notices": Lazy(
        "commands.notices",
        "notices",
        "Advance notices: plan digests, send the outbox, show what is pending or failed.",
    ),
    "freeze": Lazy(
        "commands.blackouts", "freeze", "The vendor's change freezes: no maintenance, no moves into them (DESIGN §9)."
    ),
    "occurrence": Lazy(
        "commands.changes",
        "occurrence",
        "Change one occurrence: cancel it or move it (product-wide or for one customer).",
    ),
    "occurrences": Lazy(
        "commands.occurrences", "occurrences", "List occurrences overlapping [--from 00:00Z, --to 00:00Z)."
    ),
    "outages": Lazy("commands.outages", "outages", "Measured downtime (outages) that the SLA report counts."),
    "product": Lazy("commands.products", "product", "Products: what customers subscribe to and windows belong to."),
    "reschedule": Lazy(
        "commands.reschedule", "reschedule", "Customers' requests to move a planned occurrence, and ops' decisions."
    ),
    "serve": Lazy("commands.feeds", "serve", "Serve the calendar feeds and the customer API over HTTP (uvicorn)."),
    "sla": Lazy("commands.sla", "sla", "SLA availability per calendar month, excluding announced maintenance."),
    "unplanned": Lazy(
        "commands.unplanned", "unplanned", "Unplanned (emergency) maintenance: customers are told at once."
    ),
    "window": Lazy("commands.windows", "window", "Recurring and one-off maintenance window rules of a product."),
    "worker": Lazy(
        "commands.worker", "worker", "Plan notices and send the outbox forever; several workers may run at once."
    ),
}


class LazyGroup(MaintcalGroup):
    """The top-level group: a command's module is imported when that command is run (or its help shown)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = LAZY.get(cmd_name)
        if entry is None:
            return None
        if cmd_name not in self.loaded:
            command = getattr(importlib.import_module(entry.module), entry.attribute)
            for module in entry.extended_by:
                importlib.import_module(module)
            accept_db_anywhere(command)  # after every module added its subcommands
            self.loaded[cmd_name] = command
        return self.loaded[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table (as click lays it out): listing the commands imports none of them."""
        listed = [(name, click.Command(name, help=entry.help)) for name, entry in sorted(LAZY.items())]
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in listed])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", "database_url", envvar="MAINTCAL_DATABASE_URL", help="Database URL (default sqlite:///maintcal.db)."
)
@click.version_option(package_name="maintcal")
@click.pass_context
def maintcal(ctx: click.Context, database_url: str | None) -> None:
    """maintcal: maintenance windows, calendar feeds, 30-day notices and SLA."""
    if isinstance(ctx.obj, AppContext):  # given by a caller (tests): keep its settings and clock
        if ctx.get_parameter_source("database_url") == ParameterSource.COMMANDLINE:
            ctx.obj.settings = ctx.obj.settings.with_database(database_url)
    else:
        ctx.obj = AppContext(Settings.from_env().with_database(database_url))
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    maintcal()

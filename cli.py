"""``maintcal``: the command-line entrypoint. Commands live in ``commands/``, one module per area."""

from __future__ import annotations

import click
from click.core import ParameterSource

from commands.common import AppContext, MaintcalGroup, accept_db_anywhere
from scheduler.settings import Settings


@click.group(cls=MaintcalGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def _register() -> None:
    import importlib
    import pkgutil

    import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name != "common":
            module = importlib.import_module(f"commands.{info.name}")
            for command in module.COMMANDS:
                maintcal.add_command(command)
    for command in maintcal.commands.values():  # after every module added its subcommands
        accept_db_anywhere(command)


_register()


def main() -> None:
    maintcal()

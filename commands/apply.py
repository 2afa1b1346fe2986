"""``maintcal apply FILE.toml [--dry-run]``."""

from __future__ import annotations

from pathlib import Path

import click

from commands.common import AppContext, pass_app, warn
from scheduler.catalogue.apply import apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from windows.errors import InvalidInput


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the plan without changing anything.")
@click.option("--prune", is_flag=True, help="Also remove products and customers that the file does not list.")
@pass_app
def apply(app: AppContext, file: Path, dry_run: bool, prune: bool) -> None:
    """Make the database match a declarative catalogue FILE (TOML). Safe to run again.

    \b
    Example:
      maintcal apply examples/catalogue.toml --dry-run
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {file}: {getattr(error, 'strerror', None) or error}") from None
    catalogue = parse_catalogue(text, str(file))
    plan = apply_catalogue(app.db(), app.now, catalogue, dry_run=dry_run, prune=prune, settings=app.settings)
    for warning in catalogue.warnings:  # after a refusal they would only hide the error
        warn(warning)
    changes = [item for item in plan if item.action != "keep"]
    symbols = {"add": "+", "change": "~", "remove": "-", "keep": "="}
    for item in plan:
        click.echo(f"{symbols[item.action]} {item.what}" + (f": {item.detail}" if item.detail else ""))
    if not changes:
        click.echo("nothing to change: the database matches the file")
    elif dry_run:
        click.echo(f"dry run: {len(changes)} change(s) not applied")
    else:
        click.echo(f"applied {len(changes)} change(s)")


COMMANDS = [apply]

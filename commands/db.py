"""``maintcal db upgrade``: bring the database schema to the latest migration."""

from __future__ import annotations

import click

from commands.common import AppContext, pass_app
from scheduler.redaction import display_url
from scheduler.store.migrate import upgrade as run_upgrade


@click.group()
def db() -> None:
    """Database schema management."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    run_upgrade(app.settings.database_url)
    click.echo(f"database at latest schema: {display_url(app.settings.database_url)}")


COMMANDS = [db]

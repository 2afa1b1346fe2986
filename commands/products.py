"""``maintcal product add|list``."""

from __future__ import annotations

from dataclasses import asdict

import click

from commands.common import AppContext, pass_app, print_json, print_table
from scheduler.catalogue import edits as catalogue


@click.group()
def product() -> None:
    """Products: what customers subscribe to and windows belong to."""


@product.command("add")
@click.argument("key")
@click.option("--name", required=True, help="Display name, e.g. 'Premier Edition'.")
@click.option("--notice-days", default=30, show_default=True, help="Days of advance notice for planned windows.")
@click.option("--public", is_flag=True, help="Serve a product feed at /products/KEY.ics.")
@pass_app
def product_add(app: AppContext, key: str, name: str, notice_days: int, public: bool) -> None:
    """Add a product KEY (a slug like premier-edition)."""
    info = catalogue.add_product(app.db(), app.now, key, name, notice_days, public)
    click.echo(f"added product {info.key} ({info.name}), notice {info.notice_days} days")


@product.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def product_list(app: AppContext, as_json: bool) -> None:
    """List products."""
    products = catalogue.list_products(app.db())
    if as_json:
        print_json([asdict(p) for p in products])
        return
    print_table(
        ["KEY", "NAME", "NOTICE", "PUBLIC", "WINDOWS"],
        [(p.key, p.name, f"{p.notice_days}d", "yes" if p.public else "no", p.windows) for p in products],
    )


COMMANDS = [product]

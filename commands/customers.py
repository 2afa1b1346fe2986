"""``maintcal customer add|list|contact|subscribe|unsubscribe|portal-link``."""

from __future__ import annotations

from dataclasses import asdict

import click

from commands.common import AppContext, pass_app, print_json, print_table, warn
from scheduler.catalogue import edits as catalogue


@click.group()
def customer() -> None:
    """Customers, their nominated contacts and subscriptions."""


@customer.command("add")
@click.argument("key")
@click.option("--name", required=True, help="Display name.")
@click.option("--tz", required=True, help="IANA time zone, e.g. Europe/London (used by 'local' windows).")
@click.option("--contact", "contacts", multiple=True, help="Nominated contact email (repeatable).")
@pass_app
def customer_add(app: AppContext, key: str, name: str, tz: str, contacts: tuple[str, ...]) -> None:
    """Add a customer KEY in time zone TZ."""
    for warning in catalogue.add_customer(app.db(), app.now, key, name, tz, list(contacts)):
        warn(warning)
    click.echo(f"added customer {key} with {len(contacts)} contact(s)")


@customer.group("contact")
def contact() -> None:
    """Add or remove nominated contacts (history is kept for notice compliance)."""


@contact.command("add")
@click.argument("key")
@click.argument("email")
@pass_app
def contact_add(app: AppContext, key: str, email: str) -> None:
    """Nominate EMAIL as a contact of customer KEY from now on."""
    stored = catalogue.add_contact(app.db(), app.now, key, email)
    click.echo(f"{stored} is now a contact of {key}")


@contact.command("remove")
@click.argument("key")
@click.argument("email")
@pass_app
def contact_remove(app: AppContext, key: str, email: str) -> None:
    """Remove EMAIL from the contacts of customer KEY from now on."""
    stored = catalogue.remove_contact(app.db(), app.now, key, email)
    click.echo(f"{stored} is no longer a contact of {key}")


@customer.command("subscribe")
@click.argument("key")
@click.argument("products", nargs=-1, required=True)
@pass_app
def customer_subscribe(app: AppContext, key: str, products: tuple[str, ...]) -> None:
    """Subscribe customer KEY to PRODUCTS."""
    changed = catalogue.subscribe(app.db(), app.now, key, list(products))
    click.echo(f"{key} subscribed to {', '.join(changed) if changed else 'nothing new'}")


@customer.command("unsubscribe")
@click.argument("key")
@click.argument("products", nargs=-1, required=True)
@pass_app
def customer_unsubscribe(app: AppContext, key: str, products: tuple[str, ...]) -> None:
    """Unsubscribe customer KEY from PRODUCTS.

    The occurrences of those products the customer was told about, and that have not ended, are
    cancelled for it (its contacts get a CANCEL, as for a retired window).
    """
    done = catalogue.unsubscribe(app.db(), app.now, key, list(products), app.settings)
    click.echo(f"{key} unsubscribed from {', '.join(done.products) if done.products else 'nothing'}")
    for item in done.cancelled:
        click.echo(f"cancelled {item.id} for {item.customer} (it was announced)")


@customer.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@pass_app
def customer_list(app: AppContext, as_json: bool) -> None:
    """List customers with their contacts and subscriptions."""
    customers = catalogue.list_customers(app.db())
    if as_json:
        print_json([asdict(c) for c in customers])
        return
    print_table(
        ["KEY", "NAME", "TIME ZONE", "CONTACTS", "PRODUCTS"],
        [(c.key, c.name, c.timezone, ", ".join(c.contacts), ", ".join(c.subscriptions)) for c in customers],
    )


@customer.command("portal-link")
@click.argument("key")
@click.option("--contact", "email", required=True, help="A current contact of the customer.")
@pass_app
def customer_portal_link(app: AppContext, key: str, email: str) -> None:
    """Print a one-time portal sign-in link (15 minutes) for contact EMAIL of customer KEY."""
    from scheduler.portal.auth import portal_link

    click.echo(portal_link(app.db(), app.now, app.settings, key, email))


COMMANDS = [customer]

"""``maintcal feed``, ``maintcal customer feed-url`` and ``maintcal serve``."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import click

from commands.common import DATE, AppContext, day_start, pass_app, warn
from commands.customers import customer
from scheduler.feeds.content import customer_feed, horizon, product_feed
from scheduler.feeds.tokens import check_base_url, feed_urls, issue_feed_token, revoke_feed_token
from scheduler.store.repository import get_product
from windows.errors import InvalidInput


@click.command()
@click.option("--customer", "customer_key", help="The customer's feed (every subscribed product).")
@click.option("--product", "product_key", help="A product's feed (product-wide windows only).")
@click.option("--from", "from_date", type=DATE, help="Range start (00:00Z); default: 31 days ago.")
@click.option("--to", "to_date", type=DATE, help="Range end (00:00Z, exclusive); default: 13 months ahead.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
@pass_app
def feed(
    app: AppContext,
    customer_key: str | None,
    product_key: str | None,
    from_date: date | None,
    to_date: date | None,
    output: Path | None,
) -> None:
    """Write an iCalendar feed: the same bytes the server serves today.

    \b
    Examples:
      maintcal feed --customer thames-telecom -o thames.ics
      maintcal feed --product premier-edition --from 2027-03-01 --to 2027-04-01
    """
    if (customer_key is None) == (product_key is None):
        raise InvalidInput("name exactly one of --customer KEY or --product KEY")
    if (from_date is None) != (to_date is None):
        raise InvalidInput("give both --from and --to, or neither (the server's horizon)")
    if from_date and to_date:
        if to_date <= from_date:
            raise InvalidInput(f"--to {to_date} must be after --from {from_date}")
        start, end = day_start(from_date), day_start(to_date)
    else:
        start, end = horizon(app.now)
    with app.db().transaction() as session:
        if customer_key is not None:
            rendered = customer_feed(session, app.settings, customer_key, start, end)
        else:
            assert product_key is not None
            if not get_product(session, product_key).public:
                warn(f"product '{product_key}' is not public: the server does not serve its feed")
            rendered = product_feed(session, app.settings, product_key, start, end)
    if rendered.truncated is not None:
        warn(
            f"the feed holds {rendered.truncated} events, more than MAINTCAL_FEED_MAX_EVENTS="
            f"{app.settings.feed_max_events}: only the earliest {rendered.events} are written"
        )
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(rendered.body)
        sys.stdout.buffer.flush()
        return
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(rendered.body)
    os.replace(partial, output)
    click.echo(f"wrote {rendered.events} event(s), {len(rendered.body)} bytes, to {output}", err=True)


@customer.command("feed-url")
@click.argument("key")
@click.option("--rotate", is_flag=True, help="Issue a new URL; the old one stops working at once.")
@click.option("--revoke", is_flag=True, help="Stop the current URL working, without issuing a new one.")
@pass_app
def customer_feed_url(app: AppContext, key: str, rotate: bool, revoke: bool) -> None:
    """Print the secret calendar feed URL of customer KEY (shown only now).

    The URL is built from MAINTCAL_BASE_URL; the second line is the same as webcal://, which
    calendar apps open as a subscription. With --revoke the URL stops working (404) and nothing
    new is issued; a later 'feed-url KEY' issues a new one.
    """
    if revoke:
        if rotate:
            raise InvalidInput("give --rotate (a new URL) or --revoke (none), not both")
        revoked = revoke_feed_token(app.db(), app.now, key)
        click.echo(f"revoked the feed URL of {key}" if revoked else f"customer {key} had no feed URL to revoke")
        return
    check_base_url(app.settings)  # before issuing: a token whose URL cannot be printed would be lost
    token = issue_feed_token(app.db(), app.now, key, rotate=rotate)
    url, webcal = feed_urls(app.settings, token)
    click.echo(url)
    click.echo(webcal)
    click.echo("Keep this URL secret: anyone holding it can read the feed. It cannot be shown again.", err=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int) -> None:
    """Serve the calendar feeds and the customer API over HTTP (uvicorn).

    \b
    Feeds:   /feeds/TOKEN.ics (see 'maintcal customer feed-url'), /products/KEY.ics (public products)
    Health:  /healthz      API description: /openapi.json
    """
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from scheduler import redaction
    from scheduler.http.app import create_app
    from scheduler.store.migrate import check_schema

    redaction.install()  # feed tokens and passwords never reach a log line (worker processes: the factory)
    if workers == 1:
        uvicorn.run(create_app(app.settings), host=host, port=port, log_level="info")
        return
    try:  # once here, rather than one error per server process
        check_schema(app.db())
    except SQLAlchemyError as error:  # unreachable: each process checks before its requests
        warn(f"database not reachable, its revision is checked when it answers: {error}".splitlines()[0])
    app.close()
    # Worker processes build the app from the environment: pass the --db choice along.
    os.environ["MAINTCAL_DATABASE_URL"] = app.settings.database_url
    uvicorn.run(
        "scheduler.http.app:create_app_from_env", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


COMMANDS = [feed, serve]

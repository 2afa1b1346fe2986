"""The catalogue of issue 11 for ``benchmarks/scale.py``: generated as a TOML file, loaded with ``apply``.

N customers x 2 contacts x 3 of 20 products (5 with ``local`` rules, 7 with cron rules, 8 weekly in
a fixed zone), then one approved move per customer (a per-customer move with the customer's
consent, numbered like the decisions the services take), inserted in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert, select, text

from scheduler.store.db import Database
from scheduler.store.migrate import upgrade
from scheduler.store.models import Customer, Override, Product, Subscription
from scheduler.store.repository import rule_to_domain
from windows.expansion import Occurrence, expand
from windows.rules import Rule

PRODUCTS = 20
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "America/Los_Angeles"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FIRST_DAY = "2027-02-03"  # a month after the benchmark applies the file: no notice to waive
MOVED_FROM = datetime(2027, 2, 15, tzinfo=UTC)  # each customer moves its first occurrence after this


def product_key(k: int) -> str:
    return f"product-{k:02d}"


def customer_key(n: int) -> str:
    return f"c{n:05d}"


def subscriptions(n: int) -> list[int]:
    """The 3 products (of 20) customer ``n`` subscribes to."""
    return [n % PRODUCTS, (n + 7) % PRODUCTS, (n + 13) % PRODUCTS]


def _window(k: int) -> str:
    return _form(k) + f"  from = {FIRST_DAY}\n"


def _form(k: int) -> str:
    day = DAYS[k % 7]
    if k < 5:  # local: in each customer's own zone
        return (
            f'  [[products.windows]]\n  name = "local-night"\n  days = "{day}"\n  start = "02:00"\n  end = "04:00"\n'
            '  tz = "local"\n'
        )
    if k < 12:  # cron: daily or weekly
        expression = "30 1 * * *" if k % 2 else f"0 3 * * {day}"
        return (
            f'  [[products.windows]]\n  name = "cron"\n  cron = "{expression}"\n  duration = "2h"\n'
            f'  tz = "{ZONES[k % len(ZONES)]}"\n'
        )
    return (
        f'  [[products.windows]]\n  name = "weekly"\n  days = "{day}"\n  start = "22:00"\n  end = "01:00"\n'
        f'  tz = "{ZONES[k % len(ZONES)]}"\n'
    )


def catalogue_toml(customers: int) -> str:
    """The catalogue file: 20 products with one window each, ``customers`` customers."""
    parts = []
    for k in range(PRODUCTS):
        head = f'[[products]]\nkey = "{product_key(k)}"\nname = "Product {k}"\nnotice_days = 30\n\n'
        parts.append(f"{head}{_window(k)}\n")
    for n in range(customers):
        key = customer_key(n)
        subs = ", ".join(f'"{product_key(k)}"' for k in subscriptions(n))
        parts.append(
            f'[[customers]]\nkey = "{key}"\nname = "Customer {n}"\ntz = "{ZONES[n % len(ZONES)]}"\n'
            f'contacts = ["ops@{key}.example.com", "cto@{key}.example.com"]\nsubscriptions = [{subs}]\n\n'
        )
    return "".join(parts)


def fresh_database(admin_url: str, url_of: Callable[[str], str], name: str) -> str:
    """Drop and create database ``name`` on the server behind ``admin_url``, migrate it to the
    latest revision, and return its URL (``url_of(name)``)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = url_of(name)
    upgrade(url)
    return url


def insert_moves(db: Database, now: datetime) -> int:
    """One approved move per customer (one hour later), on its first product; returns how many."""
    with db.transaction() as session:
        products = {p.key: p for p in session.scalars(select(Product))}
        rules: dict[str, Rule] = {key: rule_to_domain(p.rules[0], key) for key, p in products.items()}
        customers = {c.key: c for c in session.scalars(select(Customer))}
        subscribed = {(c, p) for c, p in session.execute(select(Subscription.customer_id, Subscription.product_id))}
        decisions: dict[tuple[int, str], int] = defaultdict(int)
        expanded: dict[tuple[str, str], Occurrence] = {}
        rows = []
        for n in range(len(customers)):
            cust = customers[customer_key(n)]
            key = product_key(subscriptions(n)[0])
            prod = products[key]
            assert (cust.id, prod.id) in subscribed
            rule = rules[key]
            zone = cust.timezone if rule.is_local else "-"
            if (key, zone) not in expanded:
                found = expand(
                    rule,
                    MOVED_FROM,
                    MOVED_FROM + timedelta(days=8),
                    local_tz=cust.timezone if rule.is_local else None,
                    customer="x" if rule.is_local else None,
                )
                expanded[(key, zone)] = next(o for o in found if o.start >= MOVED_FROM)
            occ = expanded[(key, zone)]
            decisions[(prod.id, occ.base_id)] += 1
            rows.append(
                {
                    "product_id": prod.id,
                    "occurrence_id": occ.base_id,
                    "customer_id": cust.id,
                    "action": "move",
                    "new_start": occ.start + timedelta(hours=1),
                    "new_end": occ.end + timedelta(hours=1),
                    "reason": "reschedule request (benchmark)",
                    "waived_reason": None,
                    "customer_consent": True,
                    "decision": decisions[(prod.id, occ.base_id)],
                    "created_at": now,
                }
            )
        session.execute(insert(Override), rows)
    return len(rows)

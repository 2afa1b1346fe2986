"""What ``apply`` builds to compare: contacts and subscriptions are read as columns, and an ORM
object is loaded only for a row the file removes (issue 11: a no-op apply of 50,000 customers built
250,000 of them). SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from scheduler.catalogue.apply import PlanItem, apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer, Product, Subscription

AT = datetime(2027, 1, 4, 9, tzinfo=UTC)

PRODUCTS = """
[[products]]
key = "pe"
name = "Platform Engine"

[[products]]
key = "std"
name = "Standard"
"""


def customers(count: int, *, contacts: str = "", subscriptions: str = '"pe", "std"') -> str:
    return "".join(
        f"""
[[customers]]
key = "c{n}"
name = "Customer {n}"
tz = "Europe/London"
contacts = ["ops{n}@example.com"{contacts}]
subscriptions = [{subscriptions}]
"""
        for n in range(count)
    )


@pytest.fixture
def loads() -> Iterator[Counter[str]]:
    """How many Contact and Subscription rows the ORM builds while the test runs."""
    counted: Counter[str] = Counter()

    def on_load(target: object, _context: object) -> None:
        counted[type(target).__name__] += 1

    for model in (Contact, Subscription):
        event.listen(model, "load", on_load)
    yield counted
    for model in (Contact, Subscription):
        event.remove(model, "load", on_load)


def apply(db: Database, text: str) -> list[PlanItem]:
    return apply_catalogue(db, AT, parse_catalogue(text))


def test_a_no_op_apply_builds_no_contact_or_subscription(db: Database, loads: Counter[str]) -> None:
    text = PRODUCTS + customers(40, contacts=', "noc@example.com"')
    apply(db, text)
    loads.clear()
    assert apply(db, text) == []
    assert loads == Counter()


def test_removals_load_only_the_rows_removed(db: Database, loads: Counter[str]) -> None:
    apply(db, PRODUCTS + customers(40, contacts=', "noc@example.com"'))
    loads.clear()
    # c0 drops its second contact and its 'std' subscription; the 39 others are unchanged.
    rest = customers(40, contacts=', "noc@example.com"').split("[[customers]]")[2:]
    text = PRODUCTS + customers(1, subscriptions='"pe"') + "".join("[[customers]]" + c for c in rest)
    plan = apply(db, text)
    assert plan == [
        PlanItem("remove", "contact c0 noc@example.com"),
        PlanItem("remove", "subscription c0 -> std"),
    ]
    assert loads == Counter({"Contact": 1, "Subscription": 1})
    with db.transaction() as session:
        removed = session.scalars(select(Contact.removed_at).where(Contact.email == "noc@example.com")).all()
        assert removed.count(AT) == 1 and removed.count(None) == 39
        kept = session.execute(
            select(Customer.key, Product.key)
            .join(Subscription, Subscription.customer_id == Customer.id)
            .join(Product, Product.id == Subscription.product_id)
            .where(Customer.key == "c0")
        ).all()
        assert kept == [("c0", "pe")]

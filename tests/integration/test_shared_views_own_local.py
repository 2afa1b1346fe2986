"""Shared views of a ``local`` rule for customers with changes of their own (issue 11).

``SharedViews`` builds such a customer's view from the product-wide one in its zone, judging only
the occurrences its own changes name (before: every such view was built with ``occurrences``).
On ``test_shared_views``'s catalogue, oslo (Europe/Oslo) and nyc get their own changes on the
``local`` products: a move inside February, a move into it from March, a move out of it, a
cancellation, and a move at the customer's request. Compliance and the SLA rows must equal the
per-customer path's (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.occurrences.changes import change_occurrence
from scheduler.reports.sla_report import sla_report
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.integration.test_shared_views import LATER, MAR, assessed, varied

__all__ = ["varied"]  # the fixture, imported


@pytest.fixture
def own_local(varied: Database, db_url: str, tmp_path: Path) -> Database:
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "pickup2", uid_domain="test.example")

    def move(
        occurrence: str, customer: str, new_start: datetime, waive_notice: str | None = None, consent: bool = False
    ) -> None:
        change_occurrence(
            varied,
            LATER,
            settings,
            occurrence,
            action="move",
            reason="t",
            customer=customer,
            new_start=new_start,
            waive_notice=waive_notice,
            customer_consent=consent,
        )

    move("lc.nightly.20270209.oslo", "oslo", datetime(2027, 2, 10, 6, tzinfo=UTC), waive_notice="late")
    move("lc.nightly.20270302.oslo", "oslo", datetime(2027, 2, 20, 6, tzinfo=UTC), waive_notice="late")
    move("lc.nightly.20270225.oslo", "oslo", datetime(2027, 3, 10, 6, tzinfo=UTC))
    move("lc.nightly.20270211.oslo", "oslo", datetime(2027, 2, 12, 6, tzinfo=UTC), consent=True)
    change_occurrence(varied, LATER, settings, "lc.nightly.20270216.oslo", action="cancel", reason="t", customer="oslo")
    return varied


def test_own_changes_on_local_rules_give_the_per_customer_items(own_local: Database) -> None:
    for now in (LATER, MAR):
        assert assessed(own_local, now, True) == assessed(own_local, now, False)
        for product in ("lc", "ln"):
            assert assessed(own_local, now, True, product=product) == assessed(own_local, now, False, product=product)
        assert assessed(own_local, now, True, customer="oslo") == assessed(own_local, now, False, customer="oslo")
    mine = [c for c in assessed(own_local, LATER, True, product="lc") if c.customer == "oslo"]
    moved = sorted((c.item.id, c.item.start.isoformat(), c.verdict.state) for c in mine if c.item.status == "moved")
    assert moved == [
        ("lc.nightly.20270209.oslo", "2027-02-10T06:00:00+00:00", "waived"),
        ("lc.nightly.20270211.oslo", "2027-02-12T06:00:00+00:00", "exempt"),
        ("lc.nightly.20270302.oslo", "2027-02-20T06:00:00+00:00", "waived"),  # moved into February
    ]
    # 25 February moved out of the range, 16 February cancelled.
    assert sorted(c.item.id for c in mine) == [
        f"lc.nightly.{day}.oslo"
        for day in ("20270202", "20270204", "20270209", "20270211", "20270218", "20270223", "20270302", "20270304")
    ]
    assert Counter(c.verdict.state for c in mine) == Counter(
        {"waived": 3, "violated": 2, "noticed": 1, "exempt": 1, "pending": 1}
    )


def test_own_changes_on_local_rules_give_the_per_customer_sla_rows(own_local: Database) -> None:
    for product in ("lc", "ln"):
        for now in (LATER, MAR):
            rows = sla_report(own_local, now, product=product, month="2027-02")
            assert rows == sla_report(own_local, now, product=product, month="2027-02", shared=False)

"""Compliance counts the channels the product's contract names (``notice_channels``, email by
default); the others are courtesy (issue 15). On SQLite and PostgreSQL, with a real receiver."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from scheduler.catalogue import endpoints
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.reports.compliance import compliance
from scheduler.store.db import Database
from scheduler.store.models import Product
from tests.integration.notice_fixtures import FIRST, NOW, build, settings_for
from tests.webhook_receiver import Receiver
from windows.errors import ManyProblems

AFTER = datetime(2027, 3, 1, tzinfo=UTC)


def state_of_first(db: Database) -> tuple[str, list[str], list[str | None]]:
    [item] = [c for c in compliance(db, AFTER, NOW, AFTER) if c.item.id == FIRST]
    return item.verdict.state, list(item.verdict.notified), [r.contact for r in item.verdict.reasons]


def test_a_failed_webhook_counts_only_where_the_contract_names_webhooks(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = settings_for(db_url, tmp_path, webhook_allow_private=True)
    build(db, contacts=("a@acme.example",))
    endpoints.add_endpoint(db, NOW, conf, "acme", "webhook", receiver.url)
    receiver.replies = [(410, {}, 0.0)] * 10
    plan_notices(db, NOW, conf)
    send_due(db, conf, lambda: NOW)
    assert len(receiver.requests) == 1
    assert state_of_first(db) == ("noticed", ["a@acme.example"], [])
    with db.transaction() as session:
        session.execute(update(Product).values(notice_channels='["email", "webhook"]'))
    label = f"webhook endpoint 1 (http://127.0.0.1:{receiver.port}/...)"
    assert state_of_first(db) == ("violated", [], [label])


def test_the_catalogue_names_the_channels() -> None:
    text = '[[products]]\nkey = "pe"\nname = "PE"\nnotice_channels = ["email", "webhook"]\n'
    assert parse_catalogue(text).products[0].notice_channels == ("email", "webhook")
    assert parse_catalogue(text.replace("notice_channels", "# ")).products[0].notice_channels is None
    with pytest.raises(ManyProblems, match="notice_channels must be a list of email, webhook, slack, teams"):
        parse_catalogue(text.replace('"webhook"', '"pager"'))

"""Every active feed token and every customer's products are read with the versions (issue 11), on
both databases: a customer's first poll after a start, a token change or a change naming nothing
needs no lookup, and what the index knows is exactly what lookups (the old path) would find."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, select

from scheduler.feeds.fingerprint import FeedStamp
from scheduler.feeds.index import FeedIndex, read_stamp
from scheduler.feeds.tokens import hash_token, issue_feed_token, revoke_feed_token
from scheduler.store.db import Database
from scheduler.store.models import Customer
from scheduler.store.repository import bump_version, bump_version_for
from tests.feed_helpers import CUSTOMERS, NOW, load_dst_catalogue


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Statements:
    """The statements sent on ``db``'s engine while open."""

    def __init__(self, db: Database) -> None:
        self.sent: list[str] = []
        self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sent.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def customer_ids(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {str(k): int(i) for k, i in session.execute(select(Customer.key, Customer.id))}


def stamps_from_the_database(db: Database, ids: dict[str, int]) -> dict[str, FeedStamp]:
    with db.transaction() as session:
        return {key: read_stamp(session, "customer", row_id) for key, row_id in ids.items()}


def known(index: FeedIndex, tokens: dict[str, str]) -> dict[str, tuple[int, str] | None]:
    return {key: index.known_customer(hash_token(token)) for key, token in tokens.items()}


def test_the_first_read_knows_every_active_token_and_every_customers_stamp(db: Database) -> None:
    load_dst_catalogue(db)
    ids = customer_ids(db)
    assert sorted(ids) == sorted(CUSTOMERS)
    tokens = {key: issue_feed_token(db, NOW, key) for key in sorted(ids)}
    revoke_feed_token(db, NOW, "howe")
    index = FeedIndex(db, 1.0, Ticks())
    statements = Statements(db)
    try:
        asyncio.run(index.versions())
    finally:
        statements.close()
    assert len(statements.sent) == 2  # the versions, then the versions with every token and subscription
    assert known(index, tokens) == {
        "acme-ny": (ids["acme-ny"], "acme-ny"),
        "brit": (ids["brit"], "brit"),
        "delhi": (ids["delhi"], "delhi"),
        "howe": None,  # revoked
        "koala": (ids["koala"], "koala"),
    }
    expected = stamps_from_the_database(db, ids)
    # Every customer with a token has its stamp from memory, the same as read from the database now.
    assert {key: index.known_stamp("customer", ids[key]) for key in ids if key != "howe"} == {
        key: stamp for key, stamp in expected.items() if key != "howe"
    }
    assert expected["koala"].versions[2::2] == tuple(sorted(expected["koala"].versions[2::2]))
    assert len(expected["koala"].versions) == 2 + 2 * 3  # 'all', its own, then 3 products with versions
    assert (index.lookups, index.reads) == (0, 1)


def test_a_token_change_reloads_the_tokens_and_a_change_naming_nothing_every_map(db: Database) -> None:
    load_dst_catalogue(db)
    ids = customer_ids(db)
    tokens = {key: issue_feed_token(db, NOW, key) for key in ("koala", "brit")}
    ticks = Ticks()
    index = FeedIndex(db, 1.0, ticks)

    async def run() -> None:
        await index.versions()
        assert known(index, tokens) == {"koala": (ids["koala"], "koala"), "brit": (ids["brit"], "brit")}
        # A rotation and a new token, written through this process: the next read reloads the tokens.
        rotated = issue_feed_token(db, NOW, "koala", rotate=True)
        delhi = issue_feed_token(db, NOW, "delhi")
        await index.versions()
        assert known(index, {**tokens, "rotated": rotated, "delhi": delhi}) == {
            "koala": None,
            "brit": (ids["brit"], "brit"),
            "rotated": (ids["koala"], "koala"),
            "delhi": (ids["delhi"], "delhi"),
        }
        assert index.known_stamp("customer", ids["delhi"]) == stamps_from_the_database(db, ids)["delhi"]
        # One customer's change: its products are looked up again, every other customer's stay known.
        with db.transaction() as session:
            bump_version_for(session, NOW, [(None, ids["brit"])])
        await index.versions()
        assert index.known_stamp("customer", ids["brit"]) is None
        assert index.known_stamp("customer", ids["koala"]) == stamps_from_the_database(db, ids)["koala"]
        assert index.lookups == 0
        assert await index.stamp("customer", ids["brit"]) == stamps_from_the_database(db, ids)["brit"]
        assert index.lookups == 1
        # A change naming nothing: every stamp moves, every map is read again with the versions.
        with db.transaction() as session:
            bump_version(session, NOW)
        await index.versions()
        now_expected = stamps_from_the_database(db, ids)
        assert now_expected["koala"].versions[0] == now_expected["brit"].versions[0] == index.data_version
        assert {key: index.known_stamp("customer", ids[key]) for key in ("koala", "brit", "delhi")} == {
            key: now_expected[key] for key in ("koala", "brit", "delhi")
        }
        assert known(index, {"rotated": rotated, "brit": tokens["brit"]}) == {
            "rotated": (ids["koala"], "koala"),
            "brit": (ids["brit"], "brit"),
        }
        assert (index.lookups, index.reads) == (1, 4)

    asyncio.run(run())

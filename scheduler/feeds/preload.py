"""Every active feed token and every customer's products, read in one statement (issue 11).

A ``FeedIndex`` that learnt tokens one request at a time paid one lookup (two queries and a thread
hop) for each customer's first poll: at 50,000 customers, minutes of cold polls after every start,
every token issued or revoked (which empties the token map) and every change that names nothing.
Instead the index reads them all at once then, with the versions, in one statement (one snapshot):
a customer's products are known exactly at the versions that statement saw, as a lookup would know
them. Rows are (kind, ref, version, changed_at, name, key):

- ``data``: (row id, version, changed_at) of ``data_version`` rows 1 and ``TOKENS_ROW``;
- ``all`` / ``product`` / ``customer``: a ``feed_versions`` row changed after ``since``;
- ``sub``: (customer id, product id) of every subscription, when ``subscriptions`` is asked for;
- ``token``: (customer id, token hash in ``name``, customer key in ``key``) of every active token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, literal, null, select, union_all

from scheduler.store.models import Customer, DataVersion, FeedToken, FeedVersion, Subscription

TOKENS_ROW = 2  # the row of data_version counting feed token changes (created by the first change)

_NAME = cast(null(), String()).label("name")
_KEY = cast(null(), String()).label("key")
_DATA = select(
    literal("data", String()).label("kind"),
    DataVersion.id.label("ref"),
    DataVersion.version,
    DataVersion.changed_at,
    _NAME,
    _KEY,
).where(DataVersion.id.in_([1, TOKENS_ROW]))
_FEEDS = select(FeedVersion.kind, FeedVersion.ref, FeedVersion.version, FeedVersion.changed_at, _NAME, _KEY).where(
    FeedVersion.version > bindparam("since", type_=Integer())
)
_SUBS = select(
    literal("sub", String()),
    Subscription.customer_id,
    Subscription.product_id,
    cast(null(), DataVersion.changed_at.type),
    _NAME,
    _KEY,
)
_TOKENS = (
    select(
        literal("token", String()),
        Customer.id,
        cast(null(), Integer()),
        cast(null(), DataVersion.changed_at.type),
        FeedToken.token_hash,
        Customer.key,
    )
    .join(FeedToken, FeedToken.customer_id == Customer.id)
    .where(FeedToken.revoked_at.is_(None))
)


def statement(*, tokens: bool, subscriptions: bool) -> Any:
    """The versions (``since`` bound at execution), with every active token and/or subscription."""
    parts: list[Any] = [_DATA, _FEEDS]
    if tokens:
        parts.append(_TOKENS)
    if subscriptions:
        parts.append(_SUBS)
    return union_all(*parts)


def token_map(rows: Iterable[Any]) -> dict[str, tuple[int, str]]:
    """Token hash -> (customer id, customer key) of the ``token`` rows."""
    return {str(row[4]): (int(row[1]), str(row[5])) for row in rows if row[0] == "token"}


def subscription_map(rows: list[Any]) -> dict[int, tuple[tuple[int, int], tuple[int, ...]]]:
    """Customer id -> ((all version, customer version) of the same rows, sorted product ids).

    ``rows`` must hold every ``feed_versions`` row (read with ``since`` -1), every ``sub`` row and
    every ``token`` row (a customer with a token and no product gets an empty tuple). A customer
    without a ``customer`` row has version 0, as ``index.FeedIndex`` counts it.
    """
    every = 0
    own: dict[int, int] = {}
    products: dict[int, list[int]] = {}
    for kind, ref, version, *_ in rows:
        if kind == "sub":
            products.setdefault(int(ref), []).append(int(version))
        elif kind == "token":
            products.setdefault(int(ref), [])
        elif kind == "customer":
            own[int(ref)] = int(version)
        elif kind == "all":
            every = int(version)
    return {customer: ((every, own.get(customer, 0)), tuple(sorted(ids))) for customer, ids in products.items()}

"""Lookups shared by the services: find by key with a clear NotFound, rule rows <-> domain rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduler.store.models import Customer, DataVersion, FeedVersion, Product, Subscription, WindowRule
from scheduler.store.models_planning import PlanChange
from windows.errors import NotFound
from windows.parsing import format_days, format_time_of_day, parse_days, parse_time_of_day
from windows.rules import CronRule, OnceRule, Rule, WeeklyRule


def get_product(session: Session, key: str) -> Product:
    product = session.scalar(select(Product).where(Product.key == key))
    if product is None:
        known = session.scalars(select(Product.key).order_by(Product.key)).all()
        hint = f" (known: {', '.join(known)})" if known and len(known) <= 12 else ""
        raise NotFound(f"no product '{key}'{hint}")
    return product


def get_customer(session: Session, key: str) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.key == key))
    if customer is None:
        raise NotFound(f"no customer '{key}' (see 'maintcal customer list')")
    return customer


def subscribed_product(session: Session, customer: Customer, key: str) -> Product | None:
    """The product ``key`` if ``customer`` subscribes to it; None if it does not or it does not exist."""
    return session.scalar(
        select(Product)
        .join(Subscription, Subscription.product_id == Product.id)
        .where(Product.key == key, Subscription.customer_id == customer.id)
    )


def get_rule(session: Session, product: Product, name: str) -> WindowRule:
    rule = session.scalar(select(WindowRule).where(WindowRule.product_id == product.id, WindowRule.name == name))
    if rule is None:
        raise NotFound(f"product '{product.key}' has no window '{name}'")
    return rule


def bump_version(session: Session, now: datetime) -> None:
    """Mark that any feed may have changed (a change that names nothing: every feed's ETag moves)."""
    version = _bump(session, now)
    _stamp_feeds(session, now, version, [("all", 0)])


Scope = tuple[int | None, int | None]  # (product id, customer id); None: every one


def bump_version_for(session: Session, now: datetime, scope: Iterable[Scope], *, feeds: bool = True) -> None:
    """``bump_version``, naming what changed: the planning run then re-plans only those customers,
    and only the feeds that depend on it get a new ETag.

    ``scope`` holds (product id, customer id) pairs, None meaning every product or every customer.
    A version bumped by plain ``bump_version`` names nothing, and the next planning run re-plans
    everyone: scoping is an optimisation, never needed for correctness. For the feeds, a pair with a
    customer changed that customer's feed only, (product, None) that product's feed and every
    subscriber's, (None, None) every feed. ``feeds=False``: a change no feed shows (contacts,
    endpoints), which only the planning run must know of.
    """
    version = _bump(session, now)
    pairs = sorted(set(scope), key=str)
    rows = [{"version": version, "product_id": p, "customer_id": c} for p, c in pairs]
    session.execute(insert(PlanChange), rows or [{"version": version, "product_id": None, "customer_id": None}])
    if feeds:
        _stamp_feeds(session, now, version, [_feed_scope(p, c) for p, c in pairs] or [("all", 0)])


def _bump(session: Session, now: datetime) -> int:
    """Raise the data version (row 1). Its row lock orders every change: versions commit in order."""
    return int(
        session.execute(
            update(DataVersion)
            .where(DataVersion.id == 1)
            .values(version=DataVersion.version + 1, changed_at=now)
            .returning(DataVersion.version)
        ).scalar_one()
    )


def _feed_scope(product_id: int | None, customer_id: int | None) -> tuple[str, int]:
    if customer_id is not None:
        return ("customer", customer_id)
    if product_id is not None:
        return ("product", product_id)
    return ("all", 0)


def _stamp_feeds(session: Session, now: datetime, version: int, scopes: Iterable[tuple[str, int]]) -> None:
    """Record that the feeds of ``scopes`` changed at data ``version`` (``FeedVersion``, ``feeds.index``)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(FeedVersion)
    statement = statement.on_conflict_do_update(
        index_elements=[FeedVersion.kind, FeedVersion.ref],
        set_={"version": statement.excluded.version, "changed_at": statement.excluded.changed_at},
    )
    rows = [{"kind": kind, "ref": ref, "version": version, "changed_at": now} for kind, ref in sorted(set(scopes))]
    session.execute(statement, rows)


def data_version(session: Session) -> tuple[int, datetime]:
    row = session.get(DataVersion, 1)
    if row is None:  # pragma: no cover - created by the first migration
        raise NotFound("database is not initialised: run 'maintcal db upgrade'")
    return row.version, row.changed_at


def rule_to_domain(row: WindowRule, product_key: str) -> Rule:
    """The domain rule of a stored row, effective from the row's ``effective_from`` instant.

    Never refuses a stored ``valid_until`` before ``valid_from``: that is a rule retired before
    its first day, which has no occurrences.
    """
    common = (product_key, row.name, row.timezone, row.valid_from, row.valid_until, row.label, row.effective_from)
    if row.kind == "weekly":
        assert row.days and row.start_time and row.end_time
        return WeeklyRule(
            *common,
            days=parse_days(row.days),
            start=parse_time_of_day(row.start_time),
            end=parse_time_of_day(row.end_time),
        )
    if row.kind == "cron":
        assert row.cron and row.duration_seconds
        return CronRule(*common, expression=row.cron, duration=timedelta(seconds=row.duration_seconds))
    assert row.once_start and row.once_end
    return OnceRule(*common, start=datetime.fromisoformat(row.once_start), end=datetime.fromisoformat(row.once_end))


def rule_fields(rule: Rule) -> dict[str, object]:
    """The columns of a WindowRule row for a domain rule (everything but ids and timestamps)."""
    fields: dict[str, object] = {
        "name": rule.name,
        "kind": rule.kind,
        "timezone": rule.timezone,
        "valid_from": rule.valid_from,
        "valid_until": rule.valid_until,
        "label": rule.label,
        "days": None,
        "start_time": None,
        "end_time": None,
        "cron": None,
        "duration_seconds": None,
        "once_start": None,
        "once_end": None,
    }
    if isinstance(rule, WeeklyRule):
        fields.update(days=format_days(rule.days), start_time=_hhmm(rule.start), end_time=_hhmm(rule.end))
    elif isinstance(rule, CronRule):
        fields.update(cron=rule.expression, duration_seconds=int(rule.duration.total_seconds()))
    else:
        fields.update(once_start=rule.start.isoformat(), once_end=rule.end.isoformat())
    return fields


def _hhmm(value: time) -> str:
    return format_time_of_day(value)

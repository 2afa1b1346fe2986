"""Window rule edits behind ``maintcal window``: add (refused inside the notice period unless
waived), list and retire rules, and tell customers about occurrences a retirement takes away.

Each function is one transaction: it takes the database and ``now`` and returns plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.guard import refuse_frozen
from scheduler.catalogue.past_windows import refuse_past_once
from scheduler.catalogue.withdrawals import announced, withdraw_vanished
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product, Subscription, WindowRule
from scheduler.store.repository import bump_version_for, get_product, get_rule, rule_fields, rule_to_domain
from windows.errors import Conflict, InvalidInput, PolicyRefused
from windows.expansion import expand
from windows.parsing import END_INSTANT, FIRST_INSTANT
from windows.rules import OnceRule, Rule, rules_overlap_warning
from windows.schedule import Scheduled
from windows.text import optional_text
from windows.timezones import format_utc


@dataclass(frozen=True)
class RuleInfo:
    product: str
    name: str
    kind: str
    description: str
    timezone: str
    valid_from: date | None
    valid_until: date | None
    label: str | None
    effective_from: datetime  # when the rule in its current shape took effect (occurrences begin here)

    @property
    def retired_before_start(self) -> bool:
        return self.valid_from is not None and self.valid_until is not None and self.valid_until < self.valid_from


@dataclass(frozen=True)
class Retired:
    """What ``retire_window`` did: no occurrences on or after ``cutoff`` (local start dates)."""

    cutoff: date
    first_day: date | None  # set when the window was retired before its first day: no occurrences at all
    cancelled: list[Scheduled]  # announced occurrences withdrawn (cancellation queued or unsent notice dropped)

    def describe(self, product: str, rule: str) -> str:
        if self.first_day is not None:
            return f"retired {product}.{rule} before its first day {self.first_day}: no occurrences"
        return f"retired {product}.{rule}: no occurrences from {self.cutoff}"


def add_window(db: Database, now: datetime, rule: Rule, waive_notice: str | None = None) -> list[str]:
    """Add a rule; returns warnings (overlapping rules). Refuses occurrences inside the notice period."""
    waive_notice = optional_text("--waive-notice", waive_notice)
    with db.transaction() as session:
        product = get_product(session, rule.product)
        if session.scalar(
            select(WindowRule.id).where(WindowRule.product_id == product.id, WindowRule.name == rule.name)
        ):
            raise Conflict(f"product '{product.key}' already has a window '{rule.name}' (choose another --name)")
        refuse_past_once(session, product, rule, now, None)
        if not waive_notice:
            refuse_inside_notice(session, product, rule, now)
        _refuse_frozen_once(session, product, rule)
        existing = [rule_to_domain(r, product.key) for r in product.rules]
        row = WindowRule(
            product_id=product.id,
            waive_notice=waive_notice,
            effective_from=now,
            created_at=now,
            updated_at=now,
            **rule_fields(rule),
        )
        session.add(row)
        bump_version_for(session, now, [(product.id, None)])
        return rules_overlap_warning([*existing, rule])


def next_rule_name(db: Database, product_key: str) -> str:
    with db.transaction() as session:
        product = get_product(session, product_key)
        taken = {r.name for r in product.rules}
    n = 1
    while f"w{n}" in taken:
        n += 1
    return f"w{n}"


CLI_NOTICE_HINT = "start it later with --from, or give --waive-notice REASON"


def refuse_inside_notice(
    session: Session,
    product: Product,
    rule: Rule,
    now: datetime,
    previous: Rule | None = None,
    hint: str = CLI_NOTICE_HINT,
) -> None:
    """Refuse a rule that creates or moves an occurrence starting before now + notice_days.

    ``previous`` is the rule being replaced: its occurrences (same start and end) are not new.
    """
    limit = now + timedelta(days=product.notice_days)
    zones = [c.timezone for c in _subscriber_rows(session, product)] if rule.is_local else [None]
    for zone in zones:
        customer = "customer" if zone else None
        known: set[tuple[datetime, datetime]] = set()
        if previous is not None and (zone is not None or not previous.is_local):
            known = {(o.start, o.end) for o in expand(previous, now, limit, local_tz=zone, customer=customer)}
        early = expand(rule, now, limit, local_tz=zone, customer=customer)
        upcoming = [o for o in early if o.start >= now and (o.start, o.end) not in known]
        if upcoming:
            first = upcoming[0]
            raise PolicyRefused(
                f"window '{rule.product}.{rule.name}' would start at {format_utc(first.start)}, less than "
                f"{product.notice_days} days from now: {hint}"
            )


def _subscriber_rows(session: Session, product: Product) -> list[Customer]:
    return list(session.scalars(select(Customer).join(Subscription).where(Subscription.product_id == product.id)))


def list_windows(db: Database, product_key: str | None = None) -> list[RuleInfo]:
    with db.transaction() as session:
        query = select(WindowRule, Product.key).join(Product).order_by(Product.key, WindowRule.id)
        if product_key:
            query = query.where(Product.id == get_product(session, product_key).id)
        result = []
        for row, key in session.execute(query).all():
            rule = rule_to_domain(row, key)
            result.append(
                RuleInfo(
                    key,
                    row.name,
                    row.kind,
                    rule.describe(),
                    row.timezone,
                    row.valid_from,
                    row.valid_until,
                    row.label,
                    row.effective_from,
                )
            )
        return result


def retire_window(
    db: Database,
    now: datetime,
    product_key: str,
    name: str,
    from_date: date | None,
    settings: Settings | None = None,
) -> Retired:
    """No occurrences of the rule start on or after ``from_date`` (default: today, UTC).

    A window that has not started yet can be retired too: it then has no occurrences at all.
    ``from_date`` may not lie before today (what happened stays on record), and an earlier end is
    never extended. Announced occurrences that disappear are cancelled (a CANCEL notice, as
    ``occurrence cancel`` sends) in the same transaction.
    """
    today = now.astimezone(UTC).date()
    cutoff = from_date or today
    if cutoff < today:
        raise InvalidInput(f"--from {cutoff} is in the past: occurrences before today ({today}) stay on record")
    with db.transaction() as session:
        product = get_product(session, product_key)
        row = get_rule(session, product, name)
        before = announced(session, now, [product.key])
        cancelled: list[Scheduled] = []
        if retire_row(row, cutoff, now):
            bump_version_for(session, now, [(product.id, None)])
            cancelled = withdraw_vanished(
                session, now, settings or Settings(), before, f"window {product.key}.{name} retired from {cutoff}"
            )
        return Retired(cutoff, row.valid_from if row.valid_from and cutoff <= row.valid_from else None, cancelled)


def retire_row(row: WindowRule, cutoff: date, now: datetime) -> bool:
    """Set the row's ``valid_until`` to the day before ``cutoff``, never later than it was; True if changed.

    Retired before its first day, the row keeps ``valid_until`` < ``valid_from``: stored as is, it
    means "no occurrences" (``windows.rules``), and is never an error when read back.
    """
    if not retires(row, cutoff):
        return False
    row.valid_until = cutoff - timedelta(days=1)
    row.updated_at = now
    return True


def retires(row: WindowRule, cutoff: date) -> bool:
    """Would ``retire_row`` change the row (it has days on or after ``cutoff``)?"""
    last = cutoff - timedelta(days=1)
    return row.valid_until is None or (
        row.valid_until > last and (row.valid_from is None or row.valid_until >= row.valid_from)
    )


def _refuse_frozen_once(session: Session, product: Product, rule: Rule) -> None:
    """A one-off window (in a named zone) may not fall in a change freeze."""
    if isinstance(rule, OnceRule) and not rule.is_local:
        for occ in expand(rule, FIRST_INSTANT, END_INSTANT):
            refuse_frozen(session, product, occ.start, occ.end, "the one-off window")

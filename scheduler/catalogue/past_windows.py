"""One-off windows are for maintenance still to come: a one-off rule that has already started is refused.

A one-off window in the past is not something customers can be told about in advance, and it is
not maintenance that can happen any more. Downtime that already happened is recorded as an outage
(``maintcal outages add``) or as unplanned maintenance after the fact (``maintcal unplanned
declare --record-past``). Recurring rules are different: a ``from`` in the past imports their
history, which is handled where recurring rules are stored, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.store.models import Customer, Product, Subscription
from windows.errors import PolicyRefused
from windows.expansion import expand
from windows.rules import OnceRule, Rule
from windows.timezones import format_utc

PAST_ONCE_HINT = (
    "a one-off window is for maintenance still to come; record downtime that already happened with "
    "'maintcal outages add' or 'maintcal unplanned declare --record-past' (a past 'from' imports the "
    "history of recurring windows only)"
)


def refuse_past_once(session: Session, product: Product, rule: Rule, now: datetime, previous: Rule | None) -> None:
    """Refuse a new or changed one-off ``rule`` that starts before ``now`` in any view of it.

    ``previous`` is the stored rule being replaced: an unchanged one-off (same local start, end
    and zone, for example a label change) is history already recorded, and is let through.
    """
    if not isinstance(rule, OnceRule):
        return
    if isinstance(previous, OnceRule) and (previous.start, previous.end, previous.timezone) == (
        rule.start,
        rule.end,
        rule.timezone,
    ):
        return
    zones: list[str | None] = [None]
    if rule.is_local:  # as each subscriber sees it; nobody sees a local rule without subscribers
        zones = list(
            session.scalars(
                select(Customer.timezone)
                .join(Subscription, Subscription.customer_id == Customer.id)
                .where(Subscription.product_id == product.id)
                .distinct()
            )
        )
    lo = rule.start.replace(tzinfo=UTC) - timedelta(days=2)  # below any zone's offset from the local start
    for zone in zones:
        started = expand(rule, lo, max(now, lo), local_tz=zone, customer="customer" if zone else None)
        if started:
            first = started[0]
            when = "ended" if first.end <= now else "started"
            instant = first.end if first.end <= now else first.start
            raise PolicyRefused(
                f"window '{rule.product}.{rule.name}' {when} at {format_utc(instant)}, before now: {PAST_ONCE_HINT}"
            )

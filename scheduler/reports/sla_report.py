"""``sla report``: availability of a product (per customer) for one month, from the database.

Windows are the occurrences as finally scheduled in each customer's view; a planned window is
excluded when the compliance records show it *noticed* (or exempt by the customer's consent).
Unplanned maintenance, outages and unnoticed planned windows count as downtime (DESIGN §4).
Imported history (occurrences before their rule was added, listed because its ``from`` reaches
back) counts neither way: only outages recorded for that time do.

A period before the product, or before the customer's subscription (product-wide: before any
subscription), is reported as such (``in_service`` false and a ``note``) rather than as a month
of service; a period in which no window rule existed yet carries a note too.

The product-wide figure uses the product's own windows (``local`` rules differ per customer and
are left to the customer rows): a window is excluded there only when every subscribed customer
was noticed. Its outages are those recorded for the whole product; customer rows add their own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.sla_policy import overridden_verdicts
from scheduler.gc_pause import gc_paused
from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import occurrences
from scheduler.occurrences.shared import SharedViews
from scheduler.reports.compliance import judged
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product, Subscription
from scheduler.store.models import Outage as OutageRow
from scheduler.store.models_blackouts import ConflictResolution
from scheduler.store.repository import get_customer, get_product
from windows.errors import InvalidInput
from windows.notice import EXEMPT, NOTICED, PENDING, VIOLATED, WAIVED, Reason, Verdict
from windows.schedule import Scheduled
from windows.sla import DEFAULT_TARGET, Outage, Period, SlaPolicy, SlaResult, Window, WindowVerdict, compute_sla
from windows.timezones import format_utc


@dataclass(frozen=True)
class ReportRow:
    customer: str | None  # None: the product-wide figure
    result: SlaResult
    in_service: bool = True  # False: the product (or subscription) did not exist in the period
    note: str | None = None  # why it was not in service, or that no window rule existed yet


def sla_report(
    db: Database,
    now: datetime,
    *,
    product: str,
    month: str,
    tz: str = "UTC",
    customer: str | None = None,
    target: Decimal | None = None,
    excluded_as_up: bool = False,
    shared: bool = True,
) -> list[ReportRow]:
    """One row for ``customer``; without it, one row per subscribed customer plus the product-wide row.

    ``shared=False`` builds each customer's view on its own (``assess_range``): the same rows, slower.
    """
    period = Period.parse(month, tz)
    # The collector paused for the whole report: every verdict made after ``assess_range`` otherwise
    # paid for passes over its items (half of a 7,500-subscriber product's 10 s at 50,000 customers).
    with gc_paused(), db.transaction() as session:
        prod = get_product(session, product)
        policy = SlaPolicy(
            target_percent=target if target is not None else DEFAULT_TARGET,
            notice_days=prod.notice_days,
            excluded_as_up=excluded_as_up,
        )
        if customer is not None:
            cust = get_customer(session, customer)
            subscribed = session.scalar(
                select(Subscription.id).where(Subscription.customer_id == cust.id, Subscription.product_id == prod.id)
            )
            if subscribed is None:
                raise InvalidInput(f"customer '{customer}' does not subscribe to '{product}'")
            customers = [cust]
        else:
            customers = list(
                session.scalars(
                    select(Customer).join(Subscription).where(Subscription.product_id == prod.id).order_by(Customer.key)
                )
            )
        reader = ScheduleReader(session)
        views = SharedViews(reader, period.start, period.end) if shared else None
        by_customer: dict[str, list[WindowVerdict]] = defaultdict(list)
        by_id: dict[str, list[WindowVerdict]] = defaultdict(list)  # for the product-wide row
        # Each occurrence judged once, for its customer's row and the product-wide one.
        for item, key, judgement in judged(session, now, period.start, period.end, prod.key, customers, reader, views):
            if item.occurrence.imported:
                continue  # history from before the rule was added: counted neither way
            verdict = _verdict(item, judgement)
            by_customer[key].append(verdict)
            by_id[item.id].append(verdict)
        outages = _outages(session, prod, period)
        since = _subscribed_since(session, prod)
        in_effect, imported = _rules_reach(prod, period)
        no_rules = None if in_effect or imported else f"no maintenance window of {prod.key} existed yet"
        overridden = _overridden_customers(session, prod)
        rows = []
        for cust in customers:
            verdicts = by_customer[cust.key]
            if cust.id in overridden:  # issue 14 policy; without a kept conflict it changes nothing
                verdicts = overridden_verdicts(session, prod, cust.key, verdicts)
            mine = outages[None] + outages[cust.id]
            result = compute_sla(period, verdicts, mine, now=now, policy=policy)
            what = f"{cust.key} subscribed to {prod.key}"
            gap = None if imported or mine else _not_in_service(prod, period, what, since.get(cust.id))
            rows.append(ReportRow(cust.key, result, gap is None, gap or no_rules))
        if customer is None:
            verdicts = _product_wide(session, prod, period, by_id, reader, views)
            result = compute_sla(period, verdicts, outages[None], now=now, policy=policy)
            what = f"the first customer subscribed to {prod.key}"
            first = min(since.values(), default=None)
            gap = None if imported or outages[None] else _not_in_service(prod, period, what, first)
            rows.append(ReportRow(None, result, gap is None, gap or no_rules))
        return rows


def _overridden_customers(session: Session, prod: Product) -> set[int]:
    """Customers with a conflict ops kept on ``prod`` (one query, not one per customer): only their
    verdicts can change in ``overridden_verdicts``."""
    rows = session.scalars(select(ConflictResolution.customer_id).where(ConflictResolution.product_id == prod.id))
    return set(rows)


def _subscribed_since(session: Session, prod: Product) -> dict[int, datetime]:
    rows = session.execute(
        select(Subscription.customer_id, Subscription.created_at).where(Subscription.product_id == prod.id)
    )
    return {customer_id: created for customer_id, created in rows}


def _not_in_service(prod: Product, period: Period, what: str, since: datetime | None) -> str | None:
    """Why there was no service to report in ``period`` (None: there was)."""
    if prod.created_at >= period.end:
        return f"{prod.key} was added at {format_utc(prod.created_at)}, after {period.label}: no service to report"
    if since is None:
        return f"no customer subscribes to {prod.key}: no service to report"
    if since >= period.end:
        return f"{what} at {format_utc(since)}, after {period.label}: no service to report"
    return None


def _rules_reach(prod: Product, period: Period) -> tuple[bool, bool]:
    """(a window rule was in effect before the period's end, a rule's ``from`` imports history into it)."""
    in_effect = any(row.effective_from < period.end for row in prod.rules)
    # A local date starts at most 14 h before UTC midnight: a day of margin is safe.
    imported = any(
        row.valid_from is not None
        and row.valid_from < row.effective_from.date()
        and period.start < row.effective_from
        and datetime.combine(row.valid_from, time(0), UTC) - timedelta(days=1) < period.end
        for row in prod.rules
    )
    return in_effect, imported


def _verdict(item: Scheduled, verdict: Verdict) -> WindowVerdict:
    window = _window(
        item.start,
        item.end,
        "unplanned" if item.kind == "unplanned" else "planned",
        verdict.noticed_at,
        item.customer_consent,
        item.id,
    )
    if item.kind == "unplanned":
        return WindowVerdict(window, False, "unplanned maintenance counts as downtime")
    if verdict.state == NOTICED:
        return WindowVerdict(window, True, _noticed(verdict.noticed_at, verdict.deadline))
    if verdict.state == EXEMPT:
        return WindowVerdict(window, True, "moved at the customer's request (consent)")
    if verdict.state == PENDING:
        return WindowVerdict(window, True, _pending(verdict.deadline))
    if verdict.state == WAIVED:
        return WindowVerdict(window, False, f"notice waived ({verdict.note}): counts as downtime")
    assert verdict.state == VIOLATED
    return WindowVerdict(window, False, _not_noticed(verdict.reasons))


_new, _set = object.__new__, object.__setattr__


def _window(
    start: datetime,
    end: datetime,
    kind: Literal["planned", "unplanned"],
    announced_at: datetime | None,
    consent: bool,
    id: str,
) -> Window:
    """``Window(start, end, kind, announced_at, consent, id)``, without a frozen dataclass's
    per-field cost when the values are valid (the same object); otherwise the constructor refuses
    them as it did."""
    if (
        start.tzinfo is None
        or end.tzinfo is None
        or end <= start
        or (announced_at is not None and announced_at.tzinfo is None)
    ):
        return Window(start, end, kind, announced_at, consent, id)
    window = _new(Window)
    _set(
        window,
        "__dict__",
        {"start": start, "end": end, "kind": kind, "announced_at": announced_at, "customer_consent": consent, "id": id},
    )
    return window


def _product_wide(
    session: Session,
    prod: Product,
    period: Period,
    by_id: dict[str, list[WindowVerdict]],
    reader: ScheduleReader,
    views: SharedViews | None,
) -> list[WindowVerdict]:
    """The product's own windows, each excluded when every subscribed customer's verdict (``by_id``) was."""
    verdicts = []
    # Shared: without the ``local`` rules' occurrences (one per subscriber, each skipped below).
    items = views.product_wide(prod, without_local=True) if views is not None else None
    if items is None:  # not shared
        items = occurrences(session, period.start, period.end, product=prod.key, reader=reader)
    for item in items:
        if item.customer is not None and item.kind == "planned":
            continue  # a local rule: one occurrence per customer, judged in the customer rows
        if item.occurrence.imported:
            continue  # history from before the rule was added: counted neither way
        window = Window(item.start, item.end, kind="unplanned" if item.kind == "unplanned" else "planned", id=item.id)
        per_customer = by_id.get(item.id, [])
        if item.kind == "unplanned":
            verdicts.append(WindowVerdict(window, False, "unplanned maintenance counts as downtime"))
        elif not per_customer:
            verdicts.append(WindowVerdict(window, False, "no subscribed customer was noticed"))
        elif all(v.qualifies for v in per_customer):
            verdicts.append(WindowVerdict(window, True, f"noticed to all {len(per_customer)} subscribed customer(s)"))
        else:
            missing = sum(1 for v in per_customer if not v.qualifies)
            verdicts.append(
                WindowVerdict(window, False, f"not noticed to {missing} of {len(per_customer)} customer(s)")
            )
    return verdicts


def _outages(session: Session, prod: Product, period: Period) -> dict[int | None, list[Outage]]:
    rows = session.scalars(
        select(OutageRow).where(
            OutageRow.product_id == prod.id, OutageRow.start < period.end, OutageRow.end > period.start
        )
    )
    found: dict[int | None, list[Outage]] = defaultdict(list)
    for row in rows:
        found[row.customer_id].append(Outage(row.start, row.end, id=row.external_id or str(row.id)))
    return found


@lru_cache(maxsize=65536)
def _at(instant: datetime | None) -> str:
    """The instant as text (cached: the windows of every subscriber share their deadlines)."""
    return format_utc(instant) if instant else "none"


@lru_cache(maxsize=65536)
def _pending(deadline: datetime | None) -> str:
    return f"notice pending (deadline {_at(deadline)}); assumed noticed"


@lru_cache(maxsize=65536)
def _not_noticed(reasons: tuple[Reason, ...]) -> str:
    """Why a window was not noticed (cached: a customer's windows that the same deliveries covered
    share their reasons)."""
    why = "; ".join(f"{r.contact or 'no contact'}: {r.reason}" for r in reasons) or "not noticed"
    return f"not noticed: {why}"


@lru_cache(maxsize=65536)
def _noticed(noticed_at: datetime | None, deadline: datetime | None) -> str:
    """The reason of a noticed window (cached: a digest noticed the windows of many customers at once)."""
    when = format_utc(noticed_at) if noticed_at else "in time"
    return f"noticed {when}, deadline {_at(deadline)}"

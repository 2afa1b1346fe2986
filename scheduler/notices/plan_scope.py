"""Which customers a planning run must read (issue 11): everyone, or only those with something new.

The last run left a watermark (``plan_marks``): the data version it read and its ``now``, when it
had planned every customer. Since then, only two things can give a customer something to announce
or remind:

- a change of data: every change bumps the data version in its transaction, and one made with
  ``bump_version_for`` names what it touched (``plan_changes``): a product (its subscribers), a
  customer, or one customer on one product. A version that names nothing (plain ``bump_version``:
  ``apply``, blackouts, freezes...) makes the run read everyone. The data version is one row that
  every change updates, so versions are committed in order: reading the version first, then the
  changes up to it, misses nothing.
- time passing from the mark to now: an occurrence enters the announcement horizon
  (``announce_from`` in (mark, now]), a reminder, "started" or "finished" notice enters
  ``lifecycle_ahead_hours`` (its instant minus that in (mark, now]), a contact nominated in advance
  becomes active. ``slices.touching`` names the subscribers that may see such an occurrence.

Anything else (no mark yet, other settings, a clock that went back or a gap of more than a day)
reads everyone, as every run did before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.slices import Relevant, touching
from scheduler.settings import Settings
from scheduler.store.models import Contact, Customer, DataVersion, Product, Subscription
from scheduler.store.models_planning import PlanChange, PlanMark
from windows.lifecycle import stored_leads
from windows.notice import announce_from
from windows.parsing import parse_duration

_LONGEST_GAP = timedelta(days=1)  # beyond it, reading everyone is as cheap as the slices
_EPSILON = timedelta(seconds=1)


def data_version_now(session: Session) -> int:
    return session.execute(select(DataVersion.version).where(DataVersion.id == 1)).scalar_one()


def plan_scope(
    session: Session, now: datetime, settings: Settings, products: Mapping[str, Product], version: int
) -> set[int] | None:
    """Ids of the customers this run must read at data ``version``; None: every customer."""
    mark = session.get(PlanMark, 1)
    if (
        mark is None
        or mark.lead_days != settings.lead_days
        or mark.ahead_hours != settings.lifecycle_ahead_hours
        or mark.version > version
        or not mark.planned_at <= now <= mark.planned_at + _LONGEST_GAP
    ):
        return None
    found = _changed(session, mark.version, version)
    if found is None:
        return None
    since = mark.planned_at
    found.update(
        session.scalars(select(Contact.customer_id).where(Contact.nominated_at > since, Contact.nominated_at <= now))
    )
    if now == since:
        return found
    leads = {timedelta(0)} | {
        parse_duration(lead)
        for stored in session.scalars(select(Customer.reminders).distinct())
        for lead in stored_leads(stored)
    }
    opted_in = session.scalar(select(Customer.id).where(Customer.lifecycle_notices.is_(True)).limit(1)) is not None
    reader = ScheduleReader(session, wide_only=True)
    reader.know_products(products.values())
    for prod in products.values():
        ranges, relevant = _slices(prod, since, now, settings, leads, opted_in)
        ids = touching(reader, prod, ranges, relevant)
        if ids is None:  # every subscriber of the product
            ids = set(session.scalars(select(Subscription.customer_id).where(Subscription.product_id == prod.id)))
        found |= ids
    return found


def save_mark(session: Session, now: datetime, settings: Settings, version: int) -> None:
    """Every customer is planned at ``version`` and ``now``: the next run starts from here."""
    mark = session.get(PlanMark, 1)
    if mark is None:
        mark = PlanMark(id=1)
        session.add(mark)
    mark.version, mark.planned_at = version, now
    mark.lead_days, mark.ahead_hours = settings.lead_days, settings.lifecycle_ahead_hours
    session.execute(delete(PlanChange).where(PlanChange.version <= version))


def _changed(session: Session, since: int, version: int) -> set[int] | None:
    """The customers the changes of versions (since, version] touched; None: everyone."""
    rows = session.execute(
        select(PlanChange.version, PlanChange.product_id, PlanChange.customer_id).where(
            PlanChange.version > since, PlanChange.version <= version
        )
    ).all()
    if {v for v, _, _ in rows} != set(range(since + 1, version + 1)):
        return None  # a version bumped without naming what it changed
    customers: set[int] = set()
    products: set[int] = set()
    for _, product_id, customer_id in rows:
        if customer_id is not None:
            customers.add(customer_id)
        elif product_id is not None:
            products.add(product_id)
        else:
            return None
    if products:
        customers.update(
            session.scalars(select(Subscription.customer_id).where(Subscription.product_id.in_(sorted(products))))
        )
    return customers


def _slices(
    prod: Product, since: datetime, now: datetime, settings: Settings, leads: set[timedelta], opted_in: bool
) -> tuple[list[tuple[datetime, datetime]], Relevant]:
    """The ranges where an occurrence of ``prod`` may have become due between ``since`` and ``now``,
    each with the exact test of whether one has (``leads``: every customer's reminder leads and 0;
    ``opted_in``: some customer wants started and finished notices of planned windows)."""
    ahead = timedelta(hours=settings.lifecycle_ahead_hours)
    lo, hi = since + ahead, now + ahead

    def relevant(start: datetime, end: datetime, zone: str, planned: bool) -> bool:
        if planned:
            if since < announce_from(start, zone, prod.notice_days, settings.lead_days) <= now:
                return True  # entered the announcement horizon
            if any(lo < start - lead <= hi for lead in leads if lead):
                return True  # a reminder entered lifecycle_ahead_hours
        if not planned or opted_in:
            return lo < start <= hi or lo < end <= hi  # a started or finished notice did
        return False

    days = timedelta(days=prod.notice_days + settings.lead_days)
    ranges = [(since + days - timedelta(days=1), now + days + timedelta(days=1))]
    ranges.extend((lo + lead, hi + lead + _EPSILON) for lead in sorted(leads))
    return ranges, relevant

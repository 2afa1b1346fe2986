"""Reschedule requests: customers ask to move a planned occurrence; ops approve or reject.

The policy (``reschedule_policy``) is checked when a customer asks. One open request per
occurrence and customer: a partial unique index in the database enforces it.

Approval re-checks the policy, records a customer-scoped move with the customer's consent (exempt
from the notice deadline), and notifies the customer's contacts; rejection needs a reason and
notifies too. A decision is taken with a conditional UPDATE, so of two concurrent approvals
exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.blackouts.guard import refuse_blackout, refuse_frozen
from scheduler.notices.change_notices import enqueue_change_notices
from scheduler.occurrences.decisions import next_decision, serialised
from scheduler.occurrences.reschedule_policy import check_policy, occurrence_for
from scheduler.occurrences.schedule import find_occurrence
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import ONE_PENDING, Customer, Override, Product, RescheduleRequest
from scheduler.store.models_portal import RequestedBy
from scheduler.store.repository import bump_version_for, get_customer
from windows.errors import Conflict, InvalidInput, NotFound
from windows.text import clean_text, optional_text

STATUSES = ("pending", "approved", "rejected")


@dataclass(frozen=True)
class RequestInfo:
    id: int
    occurrence: str
    product: str
    customer: str
    status: str
    original_start: datetime | None
    proposed_start: datetime
    proposed_end: datetime
    reason: str | None
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None


def request(
    db: Database,
    now: datetime,
    *,
    customer: str,
    occurrence_id: str,
    proposed_start: datetime,
    proposed_end: datetime | None = None,
    reason: str | None = None,
    requested_by: int | None = None,
) -> RequestInfo:
    """Record a customer's request to move one of its occurrences (checked against the policy).

    ``requested_by`` is the contact who asked (through the portal), recorded with the request.

    The customer must subscribe to the occurrence's product: otherwise the answer is the same
    ``NotFound`` as for an id that does not exist, so a customer cannot probe other products.
    At most one request per occurrence and customer is pending; the database enforces it (a
    partial unique index), so of concurrent requests exactly one is recorded, the others get
    ``Conflict``.
    """
    reason = optional_text("reason", reason)
    try:
        with db.transaction() as session:
            cust = get_customer(session, customer)
            current, product = occurrence_for(session, occurrence_id, cust)
            end = proposed_end or proposed_start + (current.end - current.start)
            check_policy(session, now, product, cust, current, proposed_start, end)
            refuse_frozen(session, product, proposed_start, end, "the proposed time")
            if current.occurrence.customer is not None:
                refuse_blackout(session, cust, proposed_start, end, "the proposed time")
            row = RescheduleRequest(
                product_id=product.id,
                occurrence_id=current.id,
                customer_id=cust.id,
                proposed_start=proposed_start,
                proposed_end=end,
                reason=reason.strip() if reason and reason.strip() else None,
                status="pending",
                created_at=now,
            )
            session.add(row)
            session.flush()
            if requested_by is not None:
                session.add(RequestedBy(request_id=row.id, contact_id=requested_by))
            return _info(row, product, cust, current.occurrence.start)
    except IntegrityError as error:
        if not _is_second_pending(error):
            raise
    # The unique index ONE_PENDING refused the row: another request (maybe a concurrent one,
    # committed first) is pending. Name it in a fresh transaction: this one was rolled back.
    with db.transaction() as session:
        pending = session.scalar(
            select(RescheduleRequest.id)
            .join(Customer, Customer.id == RescheduleRequest.customer_id)
            .where(
                RescheduleRequest.occurrence_id == occurrence_id,
                Customer.key == customer,
                RescheduleRequest.status == "pending",
            )
        )
    if pending is None:  # the winner was decided in the meantime
        raise Conflict(f"another request for '{occurrence_id}' was made at the same time")
    raise Conflict(f"request {pending} for '{occurrence_id}' is still pending")


def _is_second_pending(error: IntegrityError) -> bool:
    """True when ``error`` is the unique index ONE_PENDING refusing a second pending request."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)  # PostgreSQL (psycopg)
    if constraint is not None:
        return bool(constraint == ONE_PENDING)
    # SQLite names the columns, not the index; no other unique key of the table has these columns.
    return str(error.orig) == (
        "UNIQUE constraint failed: reschedule_requests.occurrence_id, reschedule_requests.customer_id"
    )


def approve(db: Database, now: datetime, settings: Settings, request_id: int, note: str | None = None) -> RequestInfo:
    """Approve a pending request: re-check the policy, move the occurrence for that customer, notify.

    The move is a decision on the occurrence like ops' moves: numbered in commit order
    (``scheduler.occurrences.decisions``), so it wins over every decision committed before it and loses to
    every later one, whatever the clocks of the deciding processes say.
    """
    note = optional_text("--note", note)

    def decide(session: Session) -> RequestInfo:
        row, product, cust = _load(session, request_id)
        _decide(session, row, "approved", now, note)
        base_id = ".".join(row.occurrence_id.split(".")[:3])
        decision = next_decision(session, product.id, base_id)  # before reading the state
        current, _ = occurrence_for(session, row.occurrence_id, cust)
        check_policy(session, now, product, cust, current, row.proposed_start, row.proposed_end)
        session.add(
            Override(
                product_id=product.id,
                occurrence_id=current.occurrence.base_id,
                customer_id=cust.id,
                action="move",
                new_start=row.proposed_start,
                new_end=row.proposed_end,
                reason=f"reschedule request {row.id}" + (f": {row.reason}" if row.reason else ""),
                customer_consent=True,
                decision=decision,
                created_at=now,
            )
        )
        session.flush()
        bump_version_for(session, now, [(product.id, cust.id)])
        moved = find_occurrence(session, row.occurrence_id, cust.key)
        if moved is not None:
            enqueue_change_notices(session, now, settings, [moved], "reschedule-approved", note)
        return _info(row, product, cust, current.occurrence.start)

    return serialised(db, decide)


def reject(db: Database, now: datetime, settings: Settings, request_id: int, reason: str) -> RequestInfo:
    """Reject a pending request with a reason, and tell the customer's contacts."""
    if not reason.strip():
        raise InvalidInput("a rejection needs --reason")
    reason = clean_text("--reason", reason, max_length=2000)
    with db.transaction() as session:
        row, product, cust = _load(session, request_id)
        _decide(session, row, "rejected", now, reason)
        current = find_occurrence(session, row.occurrence_id, cust.key)
        if current is not None:
            enqueue_change_notices(session, now, settings, [current], "reschedule-rejected", reason)
        return _info(row, product, cust, current.occurrence.start if current else None)


def get_request(db: Database, request_id: int, customer: str | None = None) -> RequestInfo:
    """One request; with ``customer``, only that customer's (others are 'not found')."""
    with db.transaction() as session:
        row, product, cust = _load(session, request_id)
        if customer is not None and cust.key != customer:
            raise NotFound(f"no reschedule request {request_id}")
        return _info(row, product, cust, None)


def list_requests(db: Database, status: str | None = None, customer: str | None = None) -> list[RequestInfo]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status '{status}': use {', '.join(STATUSES)}")
    with db.transaction() as session:
        query = (
            select(RescheduleRequest, Product, Customer)
            .join(Product, Product.id == RescheduleRequest.product_id)
            .join(Customer, Customer.id == RescheduleRequest.customer_id)
            .order_by(RescheduleRequest.id)
        )
        if status:
            query = query.where(RescheduleRequest.status == status)
        if customer:
            query = query.where(Customer.key == customer)
        return [_info(r, p, c, None) for r, p, c in session.execute(query).all()]


def _load(session: Session, request_id: int) -> tuple[RescheduleRequest, Product, Customer]:
    found = session.execute(
        select(RescheduleRequest, Product, Customer)
        .join(Product, Product.id == RescheduleRequest.product_id)
        .join(Customer, Customer.id == RescheduleRequest.customer_id)
        .where(RescheduleRequest.id == request_id)
    ).first()
    if found is None:
        raise NotFound(f"no reschedule request {request_id}")
    return found[0], found[1], found[2]


def _decide(session: Session, row: RescheduleRequest, status: str, now: datetime, note: str | None) -> None:
    """Take the decision atomically: only one of concurrent decisions finds the row pending."""
    result = session.execute(
        update(RescheduleRequest)
        .where(RescheduleRequest.id == row.id, RescheduleRequest.status == "pending")
        .values(status=status, decided_at=now, decision_note=note)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.refresh(row)
        raise Conflict(f"request {row.id} was already {row.status}")
    session.refresh(row)


def _info(row: RescheduleRequest, product: Product, cust: Customer, original: datetime | None) -> RequestInfo:
    return RequestInfo(
        id=row.id,
        occurrence=row.occurrence_id,
        product=product.key,
        customer=cust.key,
        status=row.status,
        original_start=original,
        proposed_start=row.proposed_start,
        proposed_end=row.proposed_end,
        reason=row.reason,
        created_at=row.created_at,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
    )

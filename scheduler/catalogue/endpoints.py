"""A customer's endpoints (webhook, Slack, Teams) and its notice options (issue 15, DESIGN §11).

Each function is one transaction. The webhook secret is returned only by ``add_endpoint`` and
``rotate_secret``: it is shown once. A target that resolves to an internal address is refused
unless ``Settings.webhook_allow_private`` (server-side request forgery); the worker checks again
before every request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.webhook import new_secret, shown_url, target_problem
from scheduler.notices.channels import EVENTS
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_endpoints import ENDPOINT_KINDS, WEBHOOK, Endpoint
from scheduler.store.repository import bump_version_for, get_customer
from windows.errors import InvalidInput, NotFound
from windows.lifecycle import parse_leads, stored_leads

MAX_URL = 2000


@dataclass(frozen=True)
class EndpointInfo:
    id: int
    customer: str
    kind: str
    url: str
    events: list[str] | None
    secret: str | None = None  # only when just made


@dataclass(frozen=True)
class NoticeOptions:
    customer: str
    reminders: list[str]
    lifecycle_notices: bool


def add_endpoint(
    db: Database,
    now: datetime,
    settings: Settings,
    key: str,
    kind: str,
    url: str,
    events: Sequence[str] | None = None,
) -> EndpointInfo:
    """Add an endpoint to customer ``key``; a webhook's signing secret is in the answer (once)."""
    if kind not in ENDPOINT_KINDS:
        raise InvalidInput(f"unknown endpoint kind '{kind}' (use one of: {', '.join(ENDPOINT_KINDS)})")
    url = url.strip()
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput("--url must be one URL without spaces, at most 2000 characters")
    problem = target_problem(url, allow_private=settings.webhook_allow_private, unresolvable_ok=True)
    if problem is not None:
        raise InvalidInput(f"--url refused: {problem}")
    chosen = _events(events)
    with db.transaction() as session:
        customer = get_customer(session, key)
        row = Endpoint(
            customer_id=customer.id,
            kind=kind,
            url=url,
            secret=new_secret(),
            events=None if chosen is None else json.dumps(chosen),
            created_at=now,
        )
        session.add(row)
        session.flush()
        bump_version_for(session, now, [(None, customer.id)], feeds=False)  # the planning run: yes; feeds: no
        return EndpointInfo(row.id, key, kind, url, chosen, row.secret if kind == WEBHOOK else None)


def rotate_secret(db: Database, key: str, endpoint_id: int) -> EndpointInfo:
    """A new signing secret for a webhook endpoint (the old one stops working at once)."""
    with db.transaction() as session:
        row = _get(session, key, endpoint_id)
        if row.kind != WEBHOOK:
            raise InvalidInput(f"endpoint {endpoint_id} is a {row.kind} endpoint: only webhooks have a secret")
        row.secret = new_secret()
        return _info(key, row, with_secret=True)


def remove_endpoint(db: Database, now: datetime, key: str, endpoint_id: int) -> EndpointInfo:
    """Stop sending to an endpoint; what it was sent stays in the history."""
    with db.transaction() as session:
        row = _get(session, key, endpoint_id)
        row.removed_at = now
        return _info(key, row)


def list_endpoints(db: Database, key: str) -> list[EndpointInfo]:
    with db.transaction() as session:
        customer = get_customer(session, key)
        rows = session.scalars(
            select(Endpoint)
            .where(Endpoint.customer_id == customer.id, Endpoint.removed_at.is_(None))
            .order_by(Endpoint.id)
        )
        return [_info(key, row) for row in rows]


def set_notice_options(
    db: Database, now: datetime, key: str, *, reminders: Sequence[str] | None, lifecycle_notices: bool | None
) -> NoticeOptions:
    """Set a customer's reminder lead times (``["none"]``: none) and its opt-in to started/finished."""
    leads = parse_leads(reminders) if reminders is not None else None
    with db.transaction() as session:
        customer = get_customer(session, key)
        if leads is not None:
            customer.reminders = json.dumps(list(leads))
        if lifecycle_notices is not None:
            customer.lifecycle_notices = lifecycle_notices
        customer.updated_at = now
        bump_version_for(session, now, [(None, customer.id)])  # customers.updated_at: a local event's DTSTAMP
        return NoticeOptions(key, list(stored_leads(customer.reminders)), customer.lifecycle_notices)


def _events(events: Sequence[str] | None) -> list[str] | None:
    if not events:
        return None
    chosen = [e.strip() for value in events for e in value.split(",") if e.strip()]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"unknown event '{unknown[0]}' (use any of: {', '.join(EVENTS)})")
    return list(dict.fromkeys(chosen))


def _get(session: Session, key: str, endpoint_id: int) -> Endpoint:
    customer = get_customer(session, key)
    row = session.scalar(
        select(Endpoint).where(
            Endpoint.id == endpoint_id, Endpoint.customer_id == customer.id, Endpoint.removed_at.is_(None)
        )
    )
    if row is None:
        raise NotFound(f"customer '{key}' has no endpoint {endpoint_id} (see 'maintcal customer endpoint list {key}')")
    return row


def _info(key: str, row: Endpoint, *, with_secret: bool = False) -> EndpointInfo:
    """A Slack or Teams URL is itself a secret: only its scheme and host are shown."""
    events = None if row.events is None else list(json.loads(row.events))
    url = row.url if row.kind == WEBHOOK else shown_url(row.url)
    return EndpointInfo(row.id, key, row.kind, url, events, row.secret if with_secret else None)

"""The ops digest: one email to ``MAINTCAL_OPS_ADDRESS`` listing the blackout conflicts that are new
since the last digest (issue 14: "the notice digest to ops lists new ones").

The worker's planning run calls ``queue_ops_digest``. It lists the unresolved conflicts of the
occurrences that have not ended and start within the announcement horizon (the longest notice
period + ``lead_days``, like the customers' digests): the ones ops must move, cancel or override.
Each reported conflict (occurrence x customer x blackout) is remembered in
``ops_reported_conflicts``, in the same transaction as the email, which goes through the outbox
(a notice without a customer, one delivery to the ops address) and is sent by the worker with the
same claims, leases and attempt records as every notice.

Several workers: the remembered rows are inserted first, ``ON CONFLICT DO NOTHING RETURNING``; a
conflict another worker has just reported is not returned, so it is left out of this digest, and
a digest with nothing left is not queued. No conflict is ever listed in two digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from notifications.message import message_id, parse_mailbox
from scheduler.blackouts.conflicts import UNRESOLVED, ConflictItem, conflicts_in
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Customer, Product
from scheduler.store.models_blackouts import OpsReported
from scheduler.store.models_outbox import QUEUED, Delivery, Notice
from windows.timezones import format_utc

KIND = "ops-conflicts"
LISTED = 500  # conflicts written out in one email; the rest are counted (all are remembered)


@dataclass(frozen=True)
class OpsDigest:
    notice: int
    delivery: int
    message_id: str
    conflicts: tuple[ConflictItem, ...]


def queue_ops_digest(db: Database, now: datetime, settings: Settings) -> OpsDigest | None:
    """Queue the digest of conflicts not reported before; None when there is no ops address or nothing new."""
    if not settings.ops_address:
        return None
    with db.transaction() as session:
        horizon = _horizon(session, settings)
        found = [c for c in conflicts_in(session, now, now + horizon) if c.resolution == UNRESOLVED and c.end > now]
        if not found:
            return None
        customer_ids: dict[str, int] = {key: ident for key, ident in session.execute(select(Customer.key, Customer.id))}
        reported = {
            (occ, cust, blackout)
            for occ, cust, blackout in session.execute(
                select(OpsReported.occurrence_id, OpsReported.customer_id, OpsReported.blackout_id)
            )
        }
    fresh = [c for c in found if (c.occurrence, customer_ids[c.customer], c.blackout) not in reported]
    if not fresh:
        return None
    with db.transaction() as session:
        # The first statement writes: on SQLite the transaction holds the write lock from here on.
        notice = Notice(kind=KIND, method="PUBLISH", customer_id=None, note=None, created_at=now)
        session.add(notice)
        session.flush()
        claimed = _remember(session, db.is_postgres, notice.id, now, fresh, customer_ids)
        mine = tuple(c for c in fresh if (c.occurrence, customer_ids[c.customer], c.blackout) in claimed)
        if not mine:  # another worker reported them all meanwhile
            session.delete(notice)
            return None
        mid = message_id(settings.uid_domain, now, "ops", notice.id)
        delivery = Delivery(
            notice_id=notice.id,
            contact_id=None,
            email=parse_mailbox(settings.ops_address, "MAINTCAL_OPS_ADDRESS").addr_spec,
            message_id=mid,
            mime=_message(settings, settings.ops_address, mid, now, mine),
            status=QUEUED,
            attempts=0,
            next_attempt_at=now,
            uncertain=False,
            deadline=None,
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        return OpsDigest(notice.id, delivery.id, mid, mine)


def _horizon(session: Session, settings: Settings) -> timedelta:
    days = session.scalar(select(func.max(Product.notice_days))) or 0
    return timedelta(days=int(days) + settings.lead_days + 1)


def _remember(
    session: Session, postgres: bool, notice: int, now: datetime, items: list[ConflictItem], ids: dict[str, int]
) -> set[tuple[str, int, int]]:
    """Insert the reported rows, skipping those already there; returns the keys this call inserted."""
    table: Any = OpsReported.__table__
    maker = pg_insert if postgres else sqlite_insert
    rows = [
        {
            "occurrence_id": c.occurrence,
            "customer_id": ids[c.customer],
            "blackout_id": c.blackout,
            "notice_id": notice,
            "reported_at": now,
        }
        for c in items
    ]
    statement = (
        maker(table)
        .on_conflict_do_nothing(index_elements=["occurrence_id", "customer_id", "blackout_id"])
        .returning(table.c.occurrence_id, table.c.customer_id, table.c.blackout_id)
    )
    inserted: set[tuple[str, int, int]] = set()
    for first in range(0, len(rows), 1000):
        inserted.update(tuple(r) for r in session.execute(statement, rows[first : first + 1000]))
    return inserted


def digest_text(now: datetime, items: tuple[ConflictItem, ...]) -> str:
    """The email's body: one paragraph per conflict, soonest first."""
    lines = [
        f"{len(items)} new blackout conflict(s) found at {format_utc(now)}: product-wide occurrences in a",
        "customer's blackout (or a local one that cannot move within its notice period). Move or cancel",
        "each occurrence, or keep it with 'maintcal conflicts resolve OCCURRENCE --customer C --override",
        "--reason TEXT'. 'maintcal conflicts' lists them all.",
        "",
    ]
    for c in items[:LISTED]:
        deadline = format_utc(c.deadline) if c.deadline else "none"
        passed = " (passed)" if c.deadline is not None and c.deadline <= now else ""
        lines += [
            f"- {c.occurrence} (product {c.product}), customer {c.customer}",
            f"  blackout {c.blackout} '{c.label}'",
            f"  {format_utc(c.start)} - {format_utc(c.end)}",
            f"  {c.resolution}, notice deadline {deadline}{passed}",
        ]
    if len(items) > LISTED:
        lines.append(f"... and {len(items) - LISTED} more: see 'maintcal conflicts'.")
    return "\n".join(lines) + "\n"


def _message(settings: Settings, to: str, mid: str, now: datetime, items: tuple[ConflictItem, ...]) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = parse_mailbox(settings.mail_from, "MAINTCAL_MAIL_FROM")
    msg["To"] = parse_mailbox(to, "MAINTCAL_OPS_ADDRESS")
    msg["Subject"] = f"maintcal: {len(items)} new blackout conflict(s)"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = mid
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Maintcal-Notice"] = KIND
    msg.set_content(digest_text(now, items))
    return msg.as_bytes(policy=SMTP)

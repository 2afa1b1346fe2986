"""Asking for a sign-in link: one link per current contact with that address, mailed via the outbox.

The answer is the same whatever the address (known, unknown, malformed): the caller shows one page.
At most ``MAX_LINKS`` links per contact in ``LINK_MINUTES``: the page cannot be used to flood an inbox.
The email is a notice of kind ``portal-sign-in`` with one delivery (no occurrence covered), so
the worker sends it like any notice (SMTP, or the pickup directory under ``make run``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from sqlalchemy import func, select

from notifications.addresses import address_key, normalize_address
from notifications.message import message_id, parse_mailbox
from scheduler.portal import strings
from scheduler.portal.auth import LINK_MINUTES, new_link, sign_in_url
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Contact, Customer
from scheduler.store.models_outbox import QUEUED, Delivery, Notice
from scheduler.store.models_portal import PortalLink
from windows.errors import InvalidInput

KIND = "portal-sign-in"
MAX_LINKS = 3  # per contact and LINK_MINUTES: more requests get the same answer and no email


def request_sign_in(db: Database, now: datetime, settings: Settings, email: str) -> int:
    """Queue a sign-in link to every current contact with this address; returns how many (not shown)."""
    try:
        wanted = address_key(normalize_address(email))
    except InvalidInput:
        return 0
    with db.transaction() as session:
        found = [
            (contact.id, contact.email, customer.id, customer.name)
            for contact, customer in session.execute(
                select(Contact, Customer)
                .join(Customer, Customer.id == Contact.customer_id)
                .where(Contact.removed_at.is_(None))
                .order_by(Contact.id)
            ).all()
            if address_key(contact.email) == wanted and contact.active_at(now)
        ]
        since = now - timedelta(minutes=LINK_MINUTES)
        recent = select(func.count(PortalLink.id)).where(PortalLink.created_at > since)
        found = [f for f in found if (session.scalar(recent.where(PortalLink.contact_id == f[0])) or 0) < MAX_LINKS]
    for contact_id, address, customer_id, customer_name in found:
        token = new_link(db, now, contact_id)
        body = strings.MAIL_BODY.format(customer=customer_name, email=address, url=sign_in_url(settings, token))
        with db.transaction() as session:
            notice = Notice(kind=KIND, method="PUBLISH", customer_id=customer_id, note=None, created_at=now)
            session.add(notice)
            session.flush()
            mid = message_id(settings.uid_domain, now, "portal", notice.id, contact_id)
            session.add(
                Delivery(
                    notice_id=notice.id,
                    contact_id=contact_id,
                    email=address,
                    message_id=mid,
                    mime=_message(settings, address, mid, now, body),
                    status=QUEUED,
                    attempts=0,
                    next_attempt_at=now,
                    uncertain=False,
                    created_at=now,
                )
            )
    return len(found)


def _message(settings: Settings, to: str, mid: str, now: datetime, body: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = parse_mailbox(settings.mail_from, "sender")
    msg["To"] = parse_mailbox(to, "recipient")
    msg["Subject"] = strings.MAIL_SUBJECT
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = mid
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Maintcal-Notice"] = KIND
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)

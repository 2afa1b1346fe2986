"""Sending the outbox, once or forever: ``maintcal notices send`` and ``maintcal worker``.

Each run opens ``smtp_connections`` connections (one per sending task, reused for every message it
sends) or writes to the pickup directory when no SMTP URL is configured. The worker loop plans
notices, warns loudly about deliveries near their deadline, sends what is due, and sleeps until
the next retry or the next interval. Several workers may run at once, on one or many hosts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notifications.channel_sender import ChannelSender
from notifications.delivery import Sender
from notifications.drain import DrainStats, drain
from notifications.message import parse_mailbox
from notifications.pickup import PickupSender
from notifications.smtp import SmtpSender, parse_smtp_url
from notifications.webhook import HttpSender
from scheduler.blackouts.conflicts import open_conflicts
from scheduler.blackouts.ops_digest import queue_ops_digest
from scheduler.notices import outbox, outbox_status
from scheduler.notices.outbox import DbOutbox
from scheduler.notices.planning import plan_notices
from scheduler.settings import Settings
from scheduler.store.db import Database, DatabaseReplaced
from scheduler.store.migrate import SchemaGate, SchemaNotCurrent
from windows.timezones import format_utc

log = logging.getLogger("maintcal.worker")

Clock = Callable[[], datetime]


def email_sender_factory(settings: Settings) -> Callable[[], Sender]:
    """SMTP when ``MAINTCAL_SMTP_URL`` is set, otherwise the pickup directory."""
    if settings.smtp_url:
        config = parse_smtp_url(settings.smtp_url, timeout=settings.smtp_timeout)
        local_hostname = parse_mailbox(settings.mail_from, "MAINTCAL_MAIL_FROM").domain
        return lambda: SmtpSender(config, local_hostname=local_hostname)
    directory = settings.pickup_dir
    return lambda: PickupSender(directory)


def sender_factory(settings: Settings, clock: Clock | None = None) -> Callable[[], Sender]:
    """Email as above; webhook, Slack and Teams deliveries over HTTP (``notifications.webhook``)."""
    email = email_sender_factory(settings)

    def http() -> Sender:
        if clock is None:
            return HttpSender(timeout=settings.webhook_timeout, allow_private=settings.webhook_allow_private)
        return HttpSender(timeout=settings.webhook_timeout, allow_private=settings.webhook_allow_private, clock=clock)

    return lambda: ChannelSender(email, http)


def describe_transport(settings: Settings) -> str:
    if settings.smtp_url:
        return parse_smtp_url(settings.smtp_url, timeout=settings.smtp_timeout).describe()
    return f"pickup directory {settings.pickup_dir}"


@dataclass
class SendReport:
    stats: DrainStats = field(default_factory=DrainStats)
    rounds: int = 0

    def merge(self, more: DrainStats) -> None:
        s = self.stats
        s.sent += more.sent
        s.retried += more.retried
        s.failed += more.failed
        s.uncertain += more.uncertain
        s.connections += more.connections
        s.abandoned += more.abandoned
        s.failures.extend(more.failures)
        self.rounds += 1


def send_due(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    owner: str | None = None,
    progress: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> DrainStats:
    """Send every delivery due now (one pass; failures to retry stay queued with their backoff)."""
    box = DbOutbox(db, settings, clock, owner)
    return asyncio.run(
        drain(
            box,
            sender_factory(settings, clock),
            clock,
            connections=settings.smtp_connections,
            batch=settings.send_batch,
            lease=settings.lease_seconds,
            progress=progress,
            stop=stop,
        )
    )


def send_all(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> SendReport:
    """Send until nothing is left queued or in flight, waiting for retries and expired leases."""
    report = SendReport()
    owner = outbox.worker_name()
    while not should_stop():
        report.merge(send_due(db, settings, clock, owner=owner, progress=progress))
        with db.transaction() as session:
            due_now, later = outbox_status.next_due(session, clock(), retries_only=True)
        if due_now:
            continue
        if later is None:
            break
        wait = (later - clock()).total_seconds()
        log.info("waiting %.0f s for the next retry (%s)", max(wait, 0), format_utc(later))
        sleep(min(max(wait, 0.05), settings.worker_interval))
    return report


def warn_at_risk(db: Database, now: datetime, settings: Settings) -> int:
    """Log unsent deliveries near (or past) their notice deadline (the soonest ``AT_RISK_SHOWN``); returns how many."""
    warning = timedelta(hours=settings.deadline_warning_hours)
    with db.transaction() as session:
        risky = outbox_status.at_risk(session, now, warning)
        total = outbox_status.at_risk_count(session, now, warning) if len(risky) == outbox_status.AT_RISK_SHOWN else 0
    for d in risky:
        assert d.deadline is not None
        when = "PAST its notice deadline" if d.deadline < now else "close to its notice deadline"
        log.warning(
            "NOT SENT, %s %s: delivery %d (%s) to %s for %s, %d attempt(s)%s",
            when,
            format_utc(d.deadline),
            d.id,
            d.kind,
            d.email,
            d.customer,
            d.attempts,
            f", last: {d.last_error}" if d.last_error else "",
        )
    if total > len(risky):
        log.warning("NOT SENT: %d more delivery(ies) near or past their notice deadline", total - len(risky))
    return max(total, len(risky))


def warn_conflicts(db: Database, now: datetime) -> int:
    """Log every unresolved blackout conflict inside its notice period (issue 14); returns how many."""
    found = open_conflicts(db, now)
    for c in found:
        log.warning(
            "UNRESOLVED CONFLICT: %s (%s) falls in blackout %d '%s' of %s, notice deadline %s passed: "
            "move or cancel it, or 'maintcal conflicts resolve %s --customer %s --override'",
            c.occurrence,
            format_utc(c.start),
            c.blackout,
            c.label,
            c.customer,
            format_utc(c.deadline) if c.deadline else "none",
            c.occurrence,
            c.customer,
        )
    return len(found)


def run_worker(
    db: Database,
    settings: Settings,
    clock: Clock,
    *,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
    iterations: int | None = None,
    schema: SchemaGate | None = None,
) -> None:
    """Plan and send forever (or ``iterations`` times): the ``maintcal worker`` loop.

    Errors are logged and retried next time (a database or network outage), except a SQLite
    file deleted or replaced under the worker (``DatabaseReplaced``) and, with ``schema``, a
    database at another revision (``SchemaNotCurrent``, checked until one check has passed):
    those stop it.
    """
    owner = outbox.worker_name()
    log.info("worker %s sending via %s every %g s", owner, describe_transport(settings), interval)
    done = 0
    while not should_stop() and (iterations is None or done < iterations):
        done += 1
        try:  # a planning pass that fails must not stop what is already queued from going out
            if schema is not None:
                schema.require()
            planned = plan_notices(db, clock(), settings)
            if planned.deliveries:
                log.info("planned %d digest(s) for %d customer(s)", planned.deliveries, planned.customers)
            for digest in planned.digests:
                if digest.problem:
                    log.error("not sent to a contact of %s: %s", digest.customer, digest.problem)
            ops = queue_ops_digest(db, clock(), settings)  # new blackout conflicts, to the ops address
            if ops is not None:
                log.info("queued the ops digest of %d new blackout conflict(s)", len(ops.conflicts))
        except (DatabaseReplaced, SchemaNotCurrent) as error:  # not an outage: nothing may be written
            log.error("stopping: %s", error.message)
            raise
        except Exception:
            log.exception("planning notices failed; sending what is queued, planning again in %g s", interval)
        try:
            stats = send_due(db, settings, clock, owner=owner)
            warn_at_risk(db, clock(), settings)
            warn_conflicts(db, clock())
            if stats.handled:
                log.info("sent %d, to retry %d, failed %d", stats.sent, stats.retried, stats.failed)
            for failure in stats.failures:
                log.error("permanent failure: %s", failure)
            with db.transaction() as session:
                due_now, later = outbox_status.next_due(session, clock())
        except (DatabaseReplaced, SchemaNotCurrent) as error:  # not an outage: nothing may be written
            log.error("stopping: %s", error.message)
            raise
        except Exception:  # the loop must survive a database or network outage
            log.exception("worker iteration failed; trying again in %g s", interval)
            due_now, later = 0, None
        if should_stop() or (iterations is not None and done >= iterations):
            break
        if due_now:
            continue
        wait = interval if later is None else min(interval, max((later - clock()).total_seconds(), 0.05))
        sleep(wait)

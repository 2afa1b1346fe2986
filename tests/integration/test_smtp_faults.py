"""SMTP faults injected with a real aiosmtpd, each ending in the state the issue describes.

2xx sent; 4xx and connection problems retried with backoff (never dropped); 5xx failed and
reported; a lost reply after DATA retried with the same Message-ID and flagged uncertain.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from notifications.delivery import Envelope as Mail
from notifications.delivery import Outcome, backoff
from notifications.smtp import SmtpSender, parse_smtp_url
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery, DeliveryAttempt
from tests.integration.notice_fixtures import NOW, build, settings_for
from tests.smtp_server import (
    DROP,
    HANG,
    FaultHandler,
    ServerThread,
    busy_server,
    free_port,
    smtp_server,
)

T1 = NOW + timedelta(minutes=1)
A, B, C = "a@acme.example", "b@acme.example", "c@acme.example"


def queued(db: Database, db_url: str, tmp_path: Path, url: str, contacts: tuple[str, ...] = (A, B, C)) -> Settings:
    build(db, contacts)
    settings = settings_for(db_url, tmp_path, smtp_url=url, smtp_connections=1, smtp_timeout=0.5)
    assert plan_notices(db, NOW, settings).deliveries == len(contacts)
    return settings


def state(db: Database) -> list[tuple[str, str, int, bool, int | None, str | None]]:
    with db.transaction() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id))
        return [(d.email, d.status, d.attempts, d.uncertain, d.last_code, d.last_error) for d in rows]


def times(db: Database) -> list[tuple[datetime, datetime | None, datetime | None]]:
    with db.transaction() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id))
        return [(d.next_attempt_at, d.sent_at, d.failed_at) for d in rows]


def attempts(db: Database) -> list[tuple[int, int, str, bool, int | None]]:
    with db.transaction() as session:
        rows = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number))
        return [(a.delivery_id, a.number, a.outcome, a.uncertain, a.code) for a in rows]


def message_ids(db: Database) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(Delivery.message_id).order_by(Delivery.id)))


def retry_at(db: Database, index: int, attempt: int, when: datetime, settings: Settings) -> datetime:
    key = message_ids(db)[index]
    return when + backoff(attempt, base=settings.retry_base_seconds, cap=settings.retry_cap_seconds, key=key)


# -- the sender alone -----------------------------------------------------------------------------


def test_one_transaction_with_mixed_recipients_reports_each(handler: FaultHandler, server: ServerThread) -> None:
    handler.rcpt = {B: ["450 4.2.0 greylisted"], C: ["550 5.1.1 no such user"]}
    sender = SmtpSender(parse_smtp_url(server.url, timeout=2))
    mail = Mail(1, "maintenance@example.com", (A, B, C), b"Message-ID: <m1@x>\r\n\r\nhello\r\n", "<m1@x>")

    async def go() -> tuple[dict[str, Outcome], dict[str, Outcome]]:
        first = await sender.send(mail)
        # Everyone refused: no DATA, and the envelope is reset so the connection stays usable.
        handler.rcpt = {A: ["550 5.1.1 gone"], B: ["451 4.3.0 later"]}
        second = await sender.send(Mail(2, "maintenance@example.com", (A, B), b"\r\nx\r\n", "<m2@x>"))
        await sender.close()
        return first, second

    first, second = asyncio.run(go())
    assert first == {
        A: Outcome("sent", 250, "OK: queued"),
        B: Outcome("retry", 450, "4.2.0 greylisted"),
        C: Outcome("failed", 550, "5.1.1 no such user"),
    }
    assert second == {A: Outcome("failed", 550, "5.1.1 gone"), B: Outcome("retry", 451, "4.3.0 later")}
    assert [(m.recipients, m.message_id) for m in handler.received] == [((A,), "<m1@x>")]
    assert (sender.connections, handler.sessions) == (1, 1)


# -- through the outbox, on both databases ---------------------------------------------------------


def test_mixed_250_450_550_recipients(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    settings = queued(db, db_url, tmp_path, server.url)
    handler.rcpt = {B: ["450 4.2.0 greylisted"], C: ["550 5.1.1 no such user"]}
    stats = send_due(db, settings, lambda: T1)
    assert (stats.sent, stats.retried, stats.failed) == (1, 1, 1)
    assert stats.failures == ["c@acme.example: 550 5.1.1 no such user"]
    assert state(db) == [
        (A, "sent", 1, False, 250, None),
        (B, "queued", 1, False, 450, "450 4.2.0 greylisted"),
        (C, "failed", 1, False, 550, "550 5.1.1 no such user"),
    ]
    assert times(db) == [(T1, T1, None), (retry_at(db, 1, 1, T1, settings), None, None), (T1, None, T1)]
    assert attempts(db) == [(1, 1, "sent", False, 250), (2, 1, "retry", False, 450), (3, 1, "failed", False, 550)]


def test_greylisting_450_then_250(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    settings = queued(db, db_url, tmp_path, server.url, (A,))
    handler.rcpt = {A: ["450 4.2.0 greylisted, come back later"]}
    send_due(db, settings, lambda: T1)
    due = retry_at(db, 0, 1, T1, settings)
    assert send_due(db, settings, lambda: due - timedelta(seconds=1)).handled == 0  # not yet
    stats = send_due(db, settings, lambda: due)
    assert stats.sent == 1
    assert state(db) == [(A, "sent", 2, False, 250, None)]
    assert times(db) == [(due, due, None)]
    assert attempts(db) == [(1, 1, "retry", False, 450), (1, 2, "sent", False, 250)]
    assert handler.message_ids() == message_ids(db)


def test_server_down_is_retried_and_sent_once_it_is_back(db: Database, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = queued(db, db_url, tmp_path, f"smtp://127.0.0.1:{port}")
    stats = send_due(db, settings, lambda: T1)
    assert (stats.sent, stats.retried, stats.failed) == (0, 3, 0)
    rows = state(db)
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        (A, "queued", 1, None),
        (B, "queued", 1, None),
        (C, "queued", 1, None),
    ]
    assert all(str(r[5]).startswith(f"cannot connect to smtp://127.0.0.1:{port}:") for r in rows)
    assert times(db) == [(retry_at(db, i, 1, T1, settings), None, None) for i in range(3)]
    handler = FaultHandler()
    back = smtp_server(handler, port=port)
    try:
        later = max(t[0] for t in times(db))
        assert send_due(db, settings, lambda: later).sent == 3
    finally:
        back.stop()
    assert [r[1] for r in state(db)] == ["sent"] * 3
    assert sorted(handler.message_ids()) == sorted(message_ids(db))


def test_421_greeting_is_retried(db: Database, db_url: str, tmp_path: Path) -> None:
    busy = busy_server()
    try:
        settings = queued(db, db_url, tmp_path, busy.url, (A,))
        send_due(db, settings, lambda: T1)
    finally:
        busy.stop()
    assert state(db) == [
        (A, "queued", 1, False, 421, f"421 {busy.url} refused the session: 4.3.2 mx.test too busy, try again later")
    ]


def test_data_451_retries_and_554_fails(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    settings = queued(db, db_url, tmp_path, server.url, (A, B))
    handler.data = ["451 4.3.0 local problem", "554 5.7.1 message rejected"]
    send_due(db, settings, lambda: T1)
    assert state(db) == [
        (A, "queued", 1, False, 451, "451 4.3.0 local problem"),
        (B, "failed", 1, False, 554, "554 5.7.1 message rejected"),
    ]
    assert handler.received == []
    send_due(db, settings, lambda: retry_at(db, 0, 1, T1, settings))
    assert [r[1] for r in state(db)] == ["sent", "failed"]


@pytest.mark.parametrize("fault", [DROP, HANG])
def test_reply_lost_after_data_is_resent_with_the_same_message_id_flagged_uncertain(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread, fault: str
) -> None:
    settings = queued(db, db_url, tmp_path, server.url, (A, B))
    handler.data = [fault]
    stats = send_due(db, settings, lambda: T1)
    assert (stats.sent, stats.retried, stats.uncertain) == (1, 1, 1)
    [first, second] = state(db)
    assert first[:5] == (A, "queued", 1, True, None)
    assert str(first[5]).startswith("no reply after DATA (") and str(first[5]).endswith("may have been delivered")
    assert second == (B, "sent", 1, False, 250, None)
    assert attempts(db)[0] == (1, 1, "retry", True, None)
    send_due(db, settings, lambda: retry_at(db, 0, 1, T1, settings))
    assert state(db)[0] == (A, "sent", 2, True, 250, None)
    # The server got the same message twice: identical bytes, identical Message-ID.
    assert [m.message_id for m in handler.lost] == [message_ids(db)[0]]
    assert handler.lost[0].data == next(m.data for m in handler.received if m.message_id == message_ids(db)[0])


def test_idle_disconnect_reconnects_and_loses_nothing(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    settings = queued(db, db_url, tmp_path, server.url)
    handler.close_after_message = True
    stats = send_due(db, settings, lambda: T1)
    assert (stats.sent, stats.retried, stats.failed, stats.connections) == (3, 0, 0, 3)
    assert [r[1:3] for r in state(db)] == [("sent", 1)] * 3
    assert handler.message_ids() == message_ids(db)


def test_a_reused_connection_is_reused(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    settings = queued(db, db_url, tmp_path, server.url)
    stats = send_due(db, settings, lambda: T1)
    assert (stats.sent, stats.connections, handler.sessions) == (3, 1, 1)


def test_oversized_messages_fail_permanently(db: Database, db_url: str, tmp_path: Path) -> None:
    handler = FaultHandler()
    small = smtp_server(handler, data_size_limit=2000)
    try:
        settings = queued(db, db_url, tmp_path, small.url, (A,))
        send_due(db, settings, lambda: T1)
    finally:
        small.stop()
    with db.transaction() as session:
        size = len(session.scalars(select(Delivery.mime)).one())
    assert state(db) == [
        (A, "failed", 1, False, 552, f"552 message of {size} bytes exceeds the server's limit of 2000 (SIZE)")
    ]
    assert handler.received == []


def test_starttls_required_is_never_skipped(
    db: Database, db_url: str, tmp_path: Path, handler: FaultHandler, server: ServerThread
) -> None:
    settings = queued(db, db_url, tmp_path, server.url + "?starttls=true", (A,))
    send_due(db, settings, lambda: T1)
    [(email, status, tries, uncertain, code, error)] = state(db)
    assert (email, status, tries, uncertain, code) == (A, "queued", 1, False, None)
    assert "STARTTLS" in str(error)
    assert handler.received == []


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"notices", b"s3cret:pass")
    return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize(("password", "expected"), [("s3cret%3Apass", "sent"), ("wrong", "queued")])
def test_authentication(db: Database, db_url: str, tmp_path: Path, password: str, expected: str) -> None:
    handler = FaultHandler()
    secured = smtp_server(handler, authenticator=_authenticator, auth_required=True, auth_require_tls=False)
    try:
        url = f"smtp://notices:{password}@127.0.0.1:{secured.port}?plaintext_auth=true"  # loopback, no TLS
        settings = queued(db, db_url, tmp_path, url, (A,))
        send_due(db, settings, lambda: T1)
    finally:
        secured.stop()
    [(_, status, _, _, code, error)] = state(db)
    assert status == expected
    if expected == "queued":
        assert code == 535
        assert "wrong" not in str(error)
        assert str(error).startswith(f"535 smtp://notices:***@127.0.0.1:{secured.port} refused the session")


def test_a_non_ascii_address_without_smtputf8_fails_permanently_and_with_it_is_sent() -> None:
    mail = Mail(1, "maintenance@example.com", ("jörg@acme.example",), b"Message-ID: <u@x>\r\n\r\nhi\r\n", "<u@x>")
    plain_handler, utf8_handler = FaultHandler(), FaultHandler()
    plain, utf8 = smtp_server(plain_handler), smtp_server(utf8_handler, enable_SMTPUTF8=True)

    async def go(url: str) -> dict[str, Outcome]:
        sender = SmtpSender(parse_smtp_url(url, timeout=2))
        try:
            return await sender.send(mail)
        finally:
            await sender.close()

    try:
        refused, accepted = asyncio.run(go(plain.url)), asyncio.run(go(utf8.url))
    finally:
        plain.stop()
        utf8.stop()
    assert refused == {
        "jörg@acme.example": Outcome(
            "failed", None, "a non-ASCII address needs SMTPUTF8, which the server does not offer"
        )
    }
    assert accepted == {"jörg@acme.example": Outcome("sent", 250, "OK: queued")}
    assert [m.recipients for m in utf8_handler.received] == [("jörg@acme.example",)]

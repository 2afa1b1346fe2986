"""SMTP credentials never cross the wire in clear: a real aiosmtpd without STARTTLS that offers AUTH
and records every AUTH attempt, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from click.testing import CliRunner
from sqlalchemy import select

from cli import maintcal
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery
from tests.integration.notice_fixtures import NOW, build, settings_for
from tests.smtp_server import FaultHandler, ServerThread, smtp_server

A = "a@acme.example"
PASSWORD = "s3cret:pass"


@dataclass
class AuthRecorder:
    """An authenticator that accepts ``notices`` / ``s3cret:pass`` and records every attempt."""

    attempts: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.attempts.append((mechanism, data.login, data.password))
        return AuthResult(success=(data.login, data.password) == (b"notices", PASSWORD.encode()), handled=False)


@pytest.fixture
def recorder() -> AuthRecorder:
    return AuthRecorder()


@pytest.fixture
def handler() -> FaultHandler:
    return FaultHandler()


@pytest.fixture
def plain(handler: FaultHandler, recorder: AuthRecorder) -> Iterator[ServerThread]:
    """No STARTTLS (no TLS context), AUTH offered and accepted over plaintext."""
    server = smtp_server(handler, authenticator=recorder, auth_required=True, auth_require_tls=False)
    try:
        yield server
    finally:
        server.stop()


def delivery(db: Database) -> tuple[str, int, int | None, str | None]:
    with db.transaction() as session:
        [row] = session.scalars(select(Delivery))
        return row.status, row.attempts, row.last_code, row.last_error


def test_a_password_is_never_sent_to_a_server_without_starttls(
    db: Database, db_url: str, tmp_path: Path, plain: ServerThread, handler: FaultHandler, recorder: AuthRecorder
) -> None:
    build(db, (A,))
    url = f"smtp://notices:s3cret%3Apass@127.0.0.1:{plain.port}"  # no options: STARTTLS was "if offered"
    settings = settings_for(db_url, tmp_path, smtp_url=url, smtp_connections=1)
    assert plan_notices(db, NOW, settings).deliveries == 1
    stats = send_due(db, settings, lambda: NOW)
    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 0)
    assert recorder.attempts == []  # AUTH was never tried
    assert handler.received == []
    assert delivery(db) == (
        "queued",
        1,
        None,
        f"smtp://notices:***@127.0.0.1:{plain.port} offers no STARTTLS: refusing to send the password in clear "
        "(use smtps://, or plaintext_auth=true for a relay on this host)",
    )


def test_plaintext_auth_is_allowed_for_a_loopback_relay_when_asked(
    db: Database, db_url: str, tmp_path: Path, plain: ServerThread, handler: FaultHandler, recorder: AuthRecorder
) -> None:
    build(db, (A,))
    url = f"smtp://notices:s3cret%3Apass@127.0.0.1:{plain.port}?plaintext_auth=true"
    settings = settings_for(db_url, tmp_path, smtp_url=url, smtp_connections=1)
    assert plan_notices(db, NOW, settings).deliveries == 1
    stats = send_due(db, settings, lambda: NOW)
    assert (stats.sent, stats.retried, stats.failed) == (1, 0, 0)
    assert recorder.attempts == [("PLAIN", b"notices", PASSWORD.encode())]
    assert [m.recipients for m in handler.received] == [(A,)]
    assert delivery(db)[:2] == ("sent", 1)


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            "?starttls=false",
            "error: MAINTCAL_SMTP_URL: starttls=false with a user and password would send the password in clear: "
            "use starttls=true or smtps:// (or plaintext_auth=true for a relay on this host)",
        ),
        (
            "?plaintext_auth=true",
            "error: MAINTCAL_SMTP_URL: plaintext_auth=true is allowed only for a relay on this host "
            "(127.0.0.1, ::1, localhost), not 'relay.internal': use starttls=true or smtps://",
        ),
    ],
)
def test_the_cli_refuses_a_plaintext_password_before_sending(
    db: Database, db_url: str, tmp_path: Path, plain: ServerThread, recorder: AuthRecorder, options: str, line: str
) -> None:
    build(db, (A,))
    host = "127.0.0.1" if "starttls" in options else "relay.internal"
    url = f"smtp://notices:hunter2@{host}:{plain.port}{options}"
    assert plan_notices(db, NOW, settings_for(db_url, tmp_path)).deliveries == 1
    env = {"MAINTCAL_SMTP_URL": url, "MAINTCAL_PICKUP_DIR": str(tmp_path / "pickup")}
    result = CliRunner().invoke(maintcal, ["--db", db_url, "notices", "send", "--once"], env=env)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line + "\n")
    assert recorder.attempts == []
    assert delivery(db) == ("queued", 0, None, None)

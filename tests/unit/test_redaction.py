"""Redaction of secrets in log lines and messages (scheduler/redaction.py)."""

from __future__ import annotations

import logging

import pytest

from scheduler import redaction
from scheduler.redaction import display_url, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '1.2.3.4:5 - "GET /feeds/abc_DEF-123.ics HTTP/1.1" 200',
            '1.2.3.4:5 - "GET /feeds/<redacted>.ics HTTP/1.1" 200',
        ),
        ("GET /feeds/abc.ics?x=1#y", "GET /feeds/<redacted>.ics?x=1#y"),
        (
            '1.2.3.4:5 - "GET /portal/auth/q5Xy-Z_0AbC HTTP/1.1" 303',
            '1.2.3.4:5 - "GET /portal/auth/<redacted> HTTP/1.1" 303',
        ),
        ("https://cal.example.com/portal/auth/TOKEN?x=1", "https://cal.example.com/portal/auth/<redacted>?x=1"),
        ("GET /feeds/abc.ics.ics", "GET /feeds/<redacted>.ics"),
        ("GET /feeds/abc/more", "GET /feeds/<redacted>/more"),
        ("GET /Feeds/abc%2Fdef.ICS", "GET /Feeds/<redacted>.ICS"),
        ("https://cal.example.com/maint/feeds/T0KEN.ics", "https://cal.example.com/maint/feeds/<redacted>.ics"),
        ("webcal://cal.example.com/feeds/T0KEN.ics", "webcal://cal.example.com/feeds/<redacted>.ics"),
        ("GET /products/sydney.ics", "GET /products/sydney.ics"),
        ("GET /feeds/", "GET /feeds/"),
        ("Bearer mcak_abc-DEF_123", "Bearer mcak_<redacted>"),
        ("smtp://alice:pw@mail.example.com:25", "smtp://alice:***@mail.example.com:25"),
        ("postgresql+psycopg://u:p@ss@h/db?x=1", "postgresql+psycopg://u:***@h/db?x=1"),
        ("'postgresql://u:pa/ss@h/db'", "'postgresql://u:***@h/db'"),
        ("postgresql://u@h/db and a@b.example", "postgresql://u@h/db and a@b.example"),
        ("no secret here", "no secret here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://maintcal:secret@db.internal/maintcal", "postgresql://maintcal:***@db.internal/maintcal"),
        ("postgresql+psycopg://u:p%40ss@h:5433/d", "postgresql+psycopg://u:***@h:5433/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("sqlite:////var/lib/maintcal.db", "sqlite:////var/lib/maintcal.db"),
        ("postgresql://u:secret@h:port/d", "postgresql://u:***@h:port/d"),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_app_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    redaction.install()
    redaction.install()  # idempotent
    log = logging.getLogger("maintcal.http")
    token = "Zm9vYmFyYmF6cXV4" * 2
    with caplog.at_level(logging.INFO, "maintcal.http"):
        log.info('%s - "GET /feeds/%s.ics HTTP/1.1" %d', "127.0.0.1:5000", token, 200)
        log.warning("fetch /feeds/%s.ics failed", token)
        log.error("database error: %s", ConnectionError("postgresql://maintcal:s3cret@db/maintcal is down"))
        log.info("key %(key)s", {"key": "mcak_abcDEF-123"})
        try:
            raise ValueError(f"bad path /feeds/{token}.ics")
        except ValueError:
            log.exception("unexpected")
    assert [r.getMessage() for r in caplog.records] == [
        '127.0.0.1:5000 - "GET /feeds/<redacted>.ics HTTP/1.1" 200',
        "fetch /feeds/<redacted>.ics failed",
        "database error: postgresql://maintcal:***@db/maintcal is down",
        "key mcak_<redacted>",
        "unexpected",
    ]
    assert token not in caplog.text and "s3cret" not in caplog.text
    assert "ValueError: bad path /feeds/<redacted>.ics" in caplog.text

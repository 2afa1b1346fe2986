"""Keeping secrets out of logs and messages: feed tokens, API keys and passwords in URLs.

``redact(text)`` rewrites every secret it recognises:

- a feed path ``/feeds/<token>.ics`` (any token, valid, rotated or made up) -> ``/feeds/<redacted>.ics``;
- a portal sign-in link ``/portal/auth/<token>`` -> ``/portal/auth/<redacted>``;
- an API key ``mcak_...`` -> ``mcak_<redacted>``;
- the password of a URL ``scheme://user:password@host`` -> ``scheme://user:***@host``.

``install()`` makes every log record of the process pass through ``redact`` (message, arguments
and traceback), whatever handlers and formatters are configured later: ``maintcal serve`` and
``create_app_from_env`` call it before uvicorn logs anything. ``RedactSecrets`` is the same as a
``logging.Filter`` for a custom logging configuration.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REDACTED = "<redacted>"

# A feed path: the token is everything up to the next '/', '?', '#', quote or space.
_FEED = re.compile(r"(/feeds/)[^/?#\s\"']+?(\.ics)?(?=[/?#\s\"']|$)", re.IGNORECASE)
# A portal sign-in link: /portal/auth/<token>.
_PORTAL_LINK = re.compile(r"(/portal/auth/)[^/?#\s\"']+", re.IGNORECASE)
_API_KEY = re.compile(r"mcak_[A-Za-z0-9_\-]+")
# scheme://user:password@ -- greedy up to the last '@' before a space or quote: masks too much
# rather than too little when a password holds an unencoded '@'.
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.\-]*://[^\s:/@\"']*:)[^\s\"']*@", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with feed tokens, API keys and URL passwords replaced.

    >>> redact('127.0.0.1:5000 - "GET /feeds/Zm9vYmFy.ics?x=1 HTTP/1.1" 200')
    '127.0.0.1:5000 - "GET /feeds/<redacted>.ics?x=1 HTTP/1.1" 200'
    >>> redact("cannot connect to postgresql://maintcal:s3cr@t@db.internal/maintcal")
    'cannot connect to postgresql://maintcal:***@db.internal/maintcal'
    >>> redact("Bearer mcak_abc-DEF_123 refused")
    'Bearer mcak_<redacted> refused'
    >>> redact('"GET /portal/auth/q5Xy-Z_0 HTTP/1.1" 303')
    '"GET /portal/auth/<redacted> HTTP/1.1" 303'
    """
    if "/" not in text and "mcak_" not in text:
        return text
    text = _FEED.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2) or ''}", text)
    text = _PORTAL_LINK.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _API_KEY.sub(f"mcak_{REDACTED}", text)
    return _URL_PASSWORD.sub(r"\1***@", text)


def display_url(url: str) -> str:
    """A database URL as it may be shown: the password masked (SQLAlchemy's own rendering).

    >>> display_url("postgresql://maintcal:secret@db.internal:5432/maintcal")
    'postgresql://maintcal:***@db.internal:5432/maintcal'
    >>> display_url("sqlite:///var/maintcal.db")
    'sqlite:///var/maintcal.db'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return redact(url)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_clean(v) for v in value)
    if isinstance(value, BaseException):  # e.g. log.error("failed: %s", error)
        text = str(value)
        return redact(text) if redact(text) != text else value
    return value  # numbers and other objects: left to the formatter


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place: its message, arguments and traceback text."""
    if record.args:
        record.args = _clean(record.args)
    text = record.msg if isinstance(record.msg, str) else str(record.msg)
    if redact(text) != text:
        # The format itself holds a secret ("/feeds/%s.ics" holds a "token" to redact): format
        # first, with the arguments already redacted, then redact the whole message.
        with contextlib.suppress(TypeError, ValueError, KeyError):
            text = text % record.args if record.args else text
        record.msg, record.args = redact(text), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts secrets (for handlers of a custom logging configuration)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False
_lock = threading.Lock()


def install() -> None:
    """Redact every log record created in this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True

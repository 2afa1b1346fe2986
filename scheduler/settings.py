"""Settings, read once from a mapping (the environment by default) so tests can pass their own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from windows.errors import InvalidInput

DEFAULT_DATABASE_URL = "sqlite:///maintcal.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    smtp_url: str | None = None  # smtp://user:pass@host:587?starttls=true ; None -> pickup directory
    pickup_dir: Path = Path("var/outbox")
    mail_from: str = "maintcal <maintenance@example.com>"
    base_url: str = "http://127.0.0.1:8000"  # used to build feed URLs
    uid_domain: str = "maintcal.example.com"  # iCal UIDs: <occurrence id>@<domain>
    lead_days: int = 7
    worker_interval: int = 60
    # Sending notices (see notifications/ and scheduler/notices/outbox.py).
    smtp_timeout: float = 30.0  # seconds to wait for each SMTP reply (?timeout= in the URL wins)
    smtp_connections: int = 4  # concurrent connections (one per sending task)
    send_batch: int = 50  # deliveries claimed at a time by one task
    lease_seconds: int = 300  # a claimed delivery not reported back by then is reclaimed
    retry_base_seconds: int = 60  # first retry after 30-60 s, doubling ...
    retry_cap_seconds: int = 3600  # ... up to 30-60 min
    deadline_warning_hours: int = 72  # unsent deliveries this close to their notice deadline: loud warning
    # Bounded work (issue 10 §2).
    feed_max_events: int = 5000  # a feed keeps its earliest N events; more is logged and flagged in a header
    feed_render_processes: int = 2  # processes rendering feeds off the event loop (0: a thread instead)
    list_max_rows: int = 100_000  # 'maintcal occurrences' refuses a longer listing
    # Customer portal (scheduler/portal/): None -> a secret generated once and kept in the database.
    portal_session_secret: str | None = None
    support_address: str = "support@example.com"  # named on the portal's contacts page, feed ORGANIZER
    portal_idle_minutes: int = 60  # a portal session unused this long ends
    # Lifecycle notices and channels (issue 15).
    webhook_timeout: float = 10.0  # seconds for one webhook/Slack/Teams request; then retried (uncertain)
    webhook_allow_private: bool = False  # allow private/loopback endpoint targets (tests, on-premises only)
    lifecycle_ahead_hours: int = 24  # reminders and started/finished notices are queued this long ahead
    # Feed validators from memory (issue 11): a change shows in ETags, a revoked token 404s, within this.
    feed_version_poll_ms: int = 1000  # 0: read the versions before every feed request
    # Blackouts (issue 14): new conflicts are emailed to this address by the worker; None: no ops digest.
    ops_address: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=env.get("MAINTCAL_DATABASE_URL", DEFAULT_DATABASE_URL),
            smtp_url=env.get("MAINTCAL_SMTP_URL") or None,
            pickup_dir=Path(env.get("MAINTCAL_PICKUP_DIR", "var/outbox")),
            mail_from=env.get("MAINTCAL_MAIL_FROM", cls.mail_from),
            base_url=env.get("MAINTCAL_BASE_URL", cls.base_url).rstrip("/"),
            uid_domain=env.get("MAINTCAL_UID_DOMAIN", cls.uid_domain),
            lead_days=_int(env, "MAINTCAL_LEAD_DAYS", cls.lead_days),
            worker_interval=_int(env, "MAINTCAL_WORKER_INTERVAL", cls.worker_interval),
            smtp_timeout=_positive(env, "MAINTCAL_SMTP_TIMEOUT", cls.smtp_timeout),
            smtp_connections=int(_positive(env, "MAINTCAL_SMTP_CONNECTIONS", cls.smtp_connections)),
            send_batch=int(_positive(env, "MAINTCAL_SEND_BATCH", cls.send_batch)),
            lease_seconds=int(_positive(env, "MAINTCAL_LEASE_SECONDS", cls.lease_seconds)),
            retry_base_seconds=int(_positive(env, "MAINTCAL_RETRY_BASE_SECONDS", cls.retry_base_seconds)),
            retry_cap_seconds=int(_positive(env, "MAINTCAL_RETRY_CAP_SECONDS", cls.retry_cap_seconds)),
            deadline_warning_hours=_int(env, "MAINTCAL_DEADLINE_WARNING_HOURS", cls.deadline_warning_hours),
            feed_max_events=int(_positive(env, "MAINTCAL_FEED_MAX_EVENTS", cls.feed_max_events)),
            feed_render_processes=_at_least_zero(env, "MAINTCAL_FEED_RENDER_PROCESSES", cls.feed_render_processes),
            list_max_rows=int(_positive(env, "MAINTCAL_LIST_MAX_ROWS", cls.list_max_rows)),
            portal_session_secret=env.get("MAINTCAL_PORTAL_SESSION_SECRET") or None,
            support_address=env.get("MAINTCAL_SUPPORT_ADDRESS", cls.support_address),
            portal_idle_minutes=int(_positive(env, "MAINTCAL_PORTAL_IDLE_MINUTES", cls.portal_idle_minutes)),
            webhook_timeout=_positive(env, "MAINTCAL_WEBHOOK_TIMEOUT", cls.webhook_timeout),
            webhook_allow_private=env.get("MAINTCAL_WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
            lifecycle_ahead_hours=int(_positive(env, "MAINTCAL_LIFECYCLE_AHEAD_HOURS", cls.lifecycle_ahead_hours)),
            feed_version_poll_ms=_at_least_zero(env, "MAINTCAL_FEED_VERSION_POLL_MS", cls.feed_version_poll_ms),
            ops_address=_mailbox(env, "MAINTCAL_OPS_ADDRESS"),
        )
        return settings

    def __repr__(self) -> str:  # the URLs may hold passwords
        from scheduler.redaction import redact

        secret = {"portal_session_secret"}  # shown as *** when set
        shown = ", ".join(
            f"{f.name}={'***' if f.name in secret and getattr(self, f.name) else repr(getattr(self, f.name))}"
            for f in fields(self)
        )
        return redact(f"Settings({shown})")

    def with_database(self, url: str | None) -> Settings:
        return replace(self, database_url=url) if url else self


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{key}={raw!r} is not a whole number") from None


def _positive(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{key}={raw!r} is not a number") from None
    if value <= 0 or (isinstance(default, int) and value != int(value)):
        kind = "a whole number above zero" if isinstance(default, int) else "above zero"
        raise InvalidInput(f"{key}={raw!r} must be {kind}")
    return value


def _at_least_zero(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    if value < 0:
        raise InvalidInput(f"{key}={value} must be zero or more")
    return value


def _mailbox(env: Mapping[str, str], key: str) -> str | None:
    """One email address (``Name <a@b.c>`` or ``a@b.c``), or None when unset or empty."""
    raw = (env.get(key) or "").strip()
    if not raw:
        return None
    from notifications.message import parse_mailbox

    parse_mailbox(raw, key)  # InvalidInput names the setting
    return raw

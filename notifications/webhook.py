"""Delivering to HTTP endpoints: webhooks signed per Standard Webhooks, Slack and Teams (issue 15).

The body is the stored JSON of the delivery, the same on every attempt, and so is its
``webhook-id``; ``webhook-timestamp`` is the time of the attempt and ``webhook-signature`` is
``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` with the endpoint's ``whsec_`` secret.

Outcomes: a 2xx reply is sent; 408, 429 and 5xx are retried (honouring ``Retry-After``), and so
are connection failures and timeouts (a timeout may have been delivered: uncertain, resent with
the same ``webhook-id``); any other reply (3xx included: redirects are not followed) fails for
good. A target that resolves to a private, loopback or otherwise internal address is refused
unless ``allow_private`` (server-side request forgery), and plain http with it; connections are
pinned to the addresses checked (``notifications.pinning``: no DNS rebinding in between).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import secrets
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpcore
import httpx

from notifications.delivery import FAILED, RETRY, SENT, Envelope, Outcome
from notifications.pinning import PinnedBackend, Resolver, TargetRefused, refusal, system_resolver

SECRET_PREFIX = "whsec_"
USER_AGENT = "maintcal-webhooks/1"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt.

    >>> sign("whsec_" + base64.b64encode(b"k" * 24).decode(), "msg_1", 1700000000, b"{}")
    'v1,E3sCg9uS8x43RKlJqcda1EcaYZxNkN+l2u7RBZBSZQQ='
    """
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@functools.cache
def default_tls() -> ssl.SSLContext:
    """The trust store for https targets (certifi's, as httpx): loaded once per process.

    Loading it costs tens of milliseconds of CPU; a worker makes an ``HttpSender`` per sending
    task on every pass, so each one loading its own cost more than the deliveries themselves.
    """
    return httpx.create_ssl_context(trust_env=False)


def target_problem(url: str, *, allow_private: bool, resolve: bool = True, unresolvable_ok: bool = False) -> str | None:
    """Why ``url`` may not be posted to (None when it may): scheme, host, internal addresses.

    ``unresolvable_ok``: a name that does not resolve (yet) passes. Whatever this says, the
    addresses are checked again by ``PinnedBackend`` each time a connection is made, and the
    connection goes to an address it checked (no second resolution to rebind).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"'{shown_url(url)}' is not an http(s) URL"
    if parts.scheme == "http" and not allow_private:
        return "webhook URLs must use https"
    if allow_private:
        return None
    try:
        ipaddress.ip_address(parts.hostname)
        addresses = [parts.hostname]
    except ValueError:
        if not resolve:
            return None
        try:
            addresses = system_resolver(parts.hostname, parts.port or 443)
        except OSError as error:
            return None if unresolvable_ok else f"cannot resolve {parts.hostname}: {error}"
    return refusal(parts.hostname, addresses, allow_private=False)


def shown_url(url: str) -> str:
    """A URL without its path and query (Slack and Teams URLs carry their secret there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..." if parts.netloc else "(invalid)"


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), None if absent or bad.

    >>> retry_after("120", datetime(2027, 1, 1, tzinfo=UTC))
    120.0
    >>> retry_after("Fri, 01 Jan 2027 00:00:30 GMT", datetime(2027, 1, 1, tzinfo=UTC))
    30.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify_reply(code: int, reason: str, after: float | None) -> Outcome:
    """An HTTP status as an outcome.

    >>> [classify_reply(c, "", None).status for c in (200, 204, 302, 400, 408, 410, 429, 500, 503)]
    ['sent', 'sent', 'failed', 'failed', 'retry', 'failed', 'retry', 'retry', 'retry']
    """
    detail = f"HTTP {code} {reason}".strip()
    if 200 <= code < 300:
        return Outcome(SENT, code, detail)
    if code in (408, 429) or code >= 500:
        return Outcome(RETRY, code, detail, retry_after=after)
    return Outcome(FAILED, code, detail)


class HttpSender:
    """POSTs envelopes of the webhook, slack and teams channels over one pool of kept-alive connections.

    Connections are made by ``PinnedBackend``: the target's name is resolved once per connection,
    every address is checked (internal ones refused unless ``allow_private``) and the connection
    goes to a checked address, while the Host header, TLS server name and certificate check use the
    name. ``resolve`` replaces the system resolver (tests); ``ssl_context`` the default trust store.
    """

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        resolve: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.clock = clock
        self.backend = PinnedBackend(allow_private=allow_private, resolve=resolve)
        self.ssl_context = ssl_context
        self._pools: dict[bool, httpcore.AsyncConnectionPool] = {}  # https?, -> pool
        self._targets: dict[str, httpcore.URL | str] = {}  # URL -> parsed, or why it is refused
        self._extensions = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)}
        self.connections = 0

    def _http(self, secure: bool) -> httpcore.AsyncConnectionPool:
        """The pool for https targets (with the trust store), or for plain http ones (without)."""
        pool = self._pools.get(secure)
        if pool is None:
            pool = self._pools[secure] = httpcore.AsyncConnectionPool(
                ssl_context=(self.ssl_context or default_tls()) if secure else None,
                max_connections=10,
                keepalive_expiry=5.0,
                network_backend=self.backend,
            )
            self.connections += 1
        return pool

    def _target(self, url: str) -> httpcore.URL | str:
        """The URL to request, or why not (scheme, host; addresses are checked when connecting)."""
        if url not in self._targets:
            problem = target_problem(url, allow_private=self.allow_private, resolve=False)
            if problem is None:
                parsed = httpx.URL(url)
                self._targets[url] = httpcore.URL(
                    scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
                )
            else:
                self._targets[url] = problem
        return self._targets[url]

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        return dict.fromkeys(envelope.recipients, await self._post(envelope))

    async def _post(self, envelope: Envelope) -> Outcome:
        url = envelope.target or ""
        target = self._target(url)
        if isinstance(target, str):
            return Outcome(FAILED, None, f"not sent: {target}")
        headers = [(b"content-type", b"application/json"), (b"user-agent", USER_AGENT.encode())]
        if envelope.channel == "webhook":
            if not envelope.secret:
                return Outcome(FAILED, None, "not sent: the endpoint has no signing secret")
            stamp = int(self.clock().timestamp())
            headers += [
                (b"webhook-id", envelope.message_id.encode()),
                (b"webhook-timestamp", str(stamp).encode()),
                (b"webhook-signature", sign(envelope.secret, envelope.message_id, stamp, envelope.message).encode()),
            ]
        try:
            reply = await self._http(target.scheme == b"https").request(
                "POST", target, headers=headers, content=envelope.message, extensions=self._extensions
            )
        except TargetRefused as refused:
            return Outcome(FAILED, None, f"not sent: {refused}")
        except httpcore.TimeoutException as error:
            # Sent, perhaps received: resent later with the same webhook-id for the receiver to de-duplicate.
            return Outcome(RETRY, None, f"timed out after {self.timeout:g} s ({type(error).__name__})", uncertain=True)
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
            return Outcome(RETRY, None, f"connection failed: {type(error).__name__}: {shown_url(url)}")
        found = {name.lower(): value for name, value in reply.headers}
        after = retry_after(found.get(b"retry-after", b"").decode("latin-1"), self.clock())
        reason = reply.extensions.get("reason_phrase", b"")
        return classify_reply(reply.status, reason.decode("latin-1") if isinstance(reason, bytes) else "", after)

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()

"""Delivering to HTTP endpoints: webhooks signed per Standard Webhooks, Slack and Teams (issue 15).

The body is the stored JSON of the delivery, the same on every attempt, and so is its
``webhook-id``; ``webhook-timestamp`` is the time of the attempt and ``webhook-signature`` is
``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` with the endpoint's ``whsec_`` secret.

Outcomes: a 2xx reply is sent; 408, 429 and 5xx are retried (honouring ``Retry-After``), and so
are connection failures and timeouts (a timeout may have been delivered: uncertain, resent with
the same ``webhook-id``); any other reply (3xx included: redirects are not followed) fails for
good. A target that resolves to a private, loopback or otherwise internal address is refused
unless ``allow_private`` (server-side request forgery), and plain http with it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from notifications.delivery import FAILED, RETRY, SENT, Envelope, Outcome

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


def target_problem(url: str, *, allow_private: bool, resolve: bool = True, unresolvable_ok: bool = False) -> str | None:
    """Why ``url`` may not be posted to (None when it may): scheme, host, internal addresses.

    ``unresolvable_ok``: a name that does not resolve (yet) passes; it is checked again, resolved,
    before every request.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"'{shown_url(url)}' is not an http(s) URL"
    if parts.scheme == "http" and not allow_private:
        return "webhook URLs must use https"
    if allow_private:
        return None
    try:
        addresses = [ipaddress.ip_address(parts.hostname)]
    except ValueError:
        if not resolve:
            return None
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError as error:
            return None if unresolvable_ok else f"cannot resolve {parts.hostname}: {error}"
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return f"{parts.hostname} is an internal address ({address}); refused (server-side request forgery)"
    return None


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
    """POSTs envelopes of the webhook, slack and teams channels over one pooled HTTP client."""

    def __init__(
        self, *, timeout: float, allow_private: bool, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.clock = clock
        self._client: httpx.AsyncClient | None = None
        self.connections = 0

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False)
            self.connections += 1
        return self._client

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        return dict.fromkeys(envelope.recipients, await self._post(envelope))

    async def _post(self, envelope: Envelope) -> Outcome:
        url = envelope.target or ""
        problem = target_problem(url, allow_private=self.allow_private, resolve=False)  # no DNS: in this loop
        if problem is None and not self.allow_private:  # a name: resolved in a thread (checked every time)
            problem = await asyncio.to_thread(target_problem, url, allow_private=False)
        if problem is not None:
            return Outcome(FAILED, None, f"not sent: {problem}")
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if envelope.channel == "webhook":
            if not envelope.secret:
                return Outcome(FAILED, None, "not sent: the endpoint has no signing secret")
            stamp = int(self.clock().timestamp())
            headers["webhook-id"] = envelope.message_id
            headers["webhook-timestamp"] = str(stamp)
            headers["webhook-signature"] = sign(envelope.secret, envelope.message_id, stamp, envelope.message)
        try:
            reply = await self._http().post(url, content=envelope.message, headers=headers)
        except httpx.TimeoutException as error:
            # Sent, perhaps received: resent later with the same webhook-id for the receiver to de-duplicate.
            return Outcome(RETRY, None, f"timed out after {self.timeout:g} s ({type(error).__name__})", uncertain=True)
        except httpx.HTTPError as error:
            return Outcome(RETRY, None, f"connection failed: {type(error).__name__}: {shown_url(url)}")
        after = retry_after(reply.headers.get("retry-after"), self.clock())
        return classify_reply(reply.status_code, reply.reason_phrase, after)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

"""The feed fast lane: a poll answered from memory, before FastAPI's routing (issue 11).

Most feed requests are calendar apps polling a feed they hold, or fetching one already rendered.
This pure ASGI middleware answers exactly those, when everything they need is in memory: the
schema check has passed, the data versions are within their staleness bound, the token (or public
product) and the feed's stamp are ones the ``FeedIndex`` already knows, the client is not rate
limited, and the answer is a 304 or a cached body. It sends the same status, headers and bytes as the feed routes of
``app.py`` would (``tests/integration/test_feed_fastlane.py`` compares them), for a fraction of the
CPU: no route matching, no dependency solving, no Request object. Anything else (an unknown token,
versions to read, a render, a rate-limited client, a database error) goes to the app, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.feeds.fingerprint import Validator
from scheduler.feeds.service import FeedRequest, FeedService
from scheduler.feeds.tokens import hash_token
from scheduler.http.ratelimit import FailureLimiter
from scheduler.store.migrate import SchemaGate

CALENDAR_TYPE = "text/calendar; charset=utf-8"
SECRET_CACHE_CONTROL = "private, max-age=300"  # shared caches must not keep a secret feed
PUBLIC_CACHE_CONTROL = "public, max-age=300"
TRUNCATED_HEADER = "X-Maintcal-Feed-Truncated"  # the events a capped feed would hold (it holds the first N)


def feed_headers(validator: Validator, cache_control: str, truncated: int | None) -> dict[str, str]:
    headers = {
        "ETag": validator.etag,
        "Last-Modified": format_datetime(validator.last_modified, usegmt=True),
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if truncated is not None:
        headers[TRUNCATED_HEADER] = str(truncated)
    return headers


def not_modified(feed: Validator, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110 §13.1: If-None-Match (weak comparison) wins; If-Modified-Since only without it.

    An unparseable If-Modified-Since is ignored (the client gets the feed).
    """
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or feed.etag in tags
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return feed.last_modified <= since


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class FeedFastLane:
    """Answer known feeds' 304s and cached 200s from memory; pass every other request on."""

    def __init__(
        self,
        app: ASGIApp,
        feeds: FeedService,
        gate: SchemaGate,
        failures: FailureLimiter,
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.feeds = feeds
        self.gate = gate
        self.failures = failures
        self.clock = clock
        feeds.fast_lane = self  # so tests and benchmarks can read ``served``
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            answer = self._answer(scope)
            if answer is not None:
                self.served += 1
                await send(answer[0])
                await send(answer[1])
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> tuple[Message, Message] | None:
        path: str = scope["path"]
        if not path.endswith(".ics") or not self.gate.passed:
            return None
        if path.startswith("/feeds/"):
            name, cache_control = path[7:-4], SECRET_CACHE_CONTROL
        elif path.startswith("/products/"):
            name, cache_control = path[10:-4], PUBLIC_CACHE_CONTROL
        else:
            return None
        if not name or "/" in name:
            return None
        if self.feeds.index.fresh() is None:
            return None
        now = self.clock()
        index = self.feeds.index
        if cache_control is SECRET_CACHE_CONTROL:
            client = scope.get("client")
            if self.failures.retry_after(client[0] if client else "unknown", now.timestamp()) is not None:
                return None
            found = index.known_customer(hash_token(name))
            kind = "customer"
        else:
            found = index.known_product(name)
            kind = "product"
        if found is None:
            return None
        stamp = index.known_stamp(kind, found[0])
        if stamp is None:
            return None
        request = self.feeds.request(kind, found[0], found[1], stamp, now)
        return self._response(scope, request, cache_control)

    def _response(self, scope: Scope, request: FeedRequest, cache_control: str) -> tuple[Message, Message] | None:
        if_none_match = if_modified_since = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"if-modified-since":
                if_modified_since = value.decode("latin-1")
        cached = self.feeds.cached(request)
        if not_modified(request.validator, if_none_match, if_modified_since):
            headers = feed_headers(request.validator, cache_control, cached.truncated if cached else None)
            start: Message = {"type": "http.response.start", "status": 304, "headers": _raw(headers)}
            return start, {"type": "http.response.body", "body": b""}
        if cached is None:
            return None  # to be rendered: the app's route does that, once for all who wait
        headers = feed_headers(Validator(cached.etag, cached.last_modified), cache_control, cached.truncated)
        headers["Content-Disposition"] = f'inline; filename="{cached.filename}"'
        headers["Content-Length"] = str(len(cached.body))
        headers["Content-Type"] = CALENDAR_TYPE
        body = b"" if scope["method"] == "HEAD" else cached.body
        start = {"type": "http.response.start", "status": 200, "headers": _raw(headers)}
        return start, {"type": "http.response.body", "body": body}

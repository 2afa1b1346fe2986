"""Slowing down wrong credentials (issue 10 §2): a sliding window of failures per client address.

After ``MAX_FAILURES`` wrong API keys or feed tokens from one client address within
``WINDOW_SECONDS``, every further request of that address that presents an API key or a feed
token is answered 429 with ``Retry-After``, *before* its credential is looked at, until the
oldest of those failures leaves the window. A blocked client's valid key is refused too: if it
were served, a 200 among the 429s would still tell a guesser it had found a key, and the lookup
would still cost the server work. Other addresses are not affected; requests without a
credential (``/healthz``, public product feeds, a missing ``Authorization`` header) are never
counted or blocked. So one address gets at most ``MAX_FAILURES`` guesses per window.

The state is in the memory of one server process (at most ``MAX_CLIENTS`` addresses, the least
recently failing forgotten first): with N worker processes a client may get up to N times the
limit, and a restart forgets it. Behind a reverse proxy every client has the proxy's address
unless the server is told to trust its forwarding header (``uvicorn --proxy-headers
--forwarded-allow-ips``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

from fastapi import HTTPException, Request

MAX_FAILURES = 20
WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000


class FailureLimiter:
    """Wrong credentials per client address within a sliding window; times are seconds (any epoch)."""

    def __init__(
        self, max_failures: int = MAX_FAILURES, window_seconds: float = WINDOW_SECONDS, max_clients: int = MAX_CLIENTS
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def retry_after(self, client: str, now: float) -> int | None:
        """Whole seconds until ``client`` may present a credential again; None when it may now.

        >>> limiter = FailureLimiter(max_failures=2, window_seconds=60)
        >>> limiter.record_failure("10.0.0.1", 0.0); limiter.record_failure("10.0.0.1", 10.5)
        >>> limiter.retry_after("10.0.0.1", 30.0), limiter.retry_after("10.0.0.2", 30.0)
        (30, None)
        >>> limiter.retry_after("10.0.0.1", 60.0) is None
        True
        """
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return None
            self._expire(failures, now)
            if not failures:
                del self._failures[client]
                return None
            if len(failures) < self.max_failures:
                return None
            return max(1, math.ceil(failures[0] + self.window_seconds - now))

    def record_failure(self, client: str, now: float) -> None:
        """Count one wrong credential of ``client`` at ``now``."""
        with self._lock:
            failures = self._failures.pop(client, None) or deque(maxlen=self.max_failures)
            self._expire(failures, now)
            failures.append(now)
            self._failures[client] = failures  # now the most recent
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)

    def _expire(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.window_seconds:
            failures.popleft()


# -- in the HTTP app: the limiter of the app (``app.state.failures``) and its clock ----------------


def _client_and_now(request: Request) -> tuple[FailureLimiter, str, float]:
    limiter: FailureLimiter = request.app.state.failures
    client = request.client.host if request.client is not None else "unknown"
    return limiter, client, request.app.state.clock().timestamp()


def refuse_if_blocked(request: Request) -> None:
    """429 with ``Retry-After`` when the request's address has too many recent wrong credentials."""
    limiter, client, now = _client_and_now(request)
    wait = limiter.retry_after(client, now)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=f"too many wrong API keys or feed tokens from your address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def credential_failed(request: Request) -> None:
    """Count a wrong API key or feed token of the request's address."""
    limiter, client, now = _client_and_now(request)
    limiter.record_failure(client, now)

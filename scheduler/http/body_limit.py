"""A request body limit as pure ASGI middleware (issue 10 §2).

No route of the HTTP app takes more than a small JSON body, so a request whose body is larger
than ``MAX_BODY_BYTES`` is answered 413 with ``{"error": ...}`` before the app sees it, and
before authentication (a huge unauthenticated POST gets 413, not 401):

- a ``Content-Length`` above the limit is refused at once, without reading a byte of the body;
- a body without one (chunked) is read by this middleware up to the limit and refused as soon
  as it passes it; a body within the limit is then handed to the app unchanged.

So at most ``MAX_BODY_BYTES`` (plus one chunk) of any request body is ever held in memory.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 16 * 1024


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 (also chunked ones); pass the rest on."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _error(send, 400, "invalid Content-Length header")
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return
        # Read the body here, bounded, then replay it to the app.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # a disconnect: the app sees it as it would have
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _error(send, 413, f"request body too large: at most {self.max_bytes} bytes are accepted")


def _content_length(scope: Scope) -> int | None:
    """The declared length; None without the header, -1 when it is not a plain number."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else -1
    return None


async def _error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

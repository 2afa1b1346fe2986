"""Large response bodies sent in slices, so writing them does not stall the event loop (issue 10 §2).

A feed body can be several MB (the heaviest allowed feed: 3.6 MB). Sent as one message, uvicorn
writes it to the socket at once: the kernel copies as much as the socket buffer takes, in the event
loop. When a render completes, every client waiting for it is answered in the same turn of the loop,
so 50 waiting clients meant one burst of ~40-50 ms of copying (``benchmarks/feed_load.py`` saw it as
the loop's busiest stalls) during which nothing else, ``/healthz`` included, was answered.

``BodyChunks`` splits a body over ``chunk`` bytes into slices of ``chunk`` bytes (memoryviews of the
body: no copy), each sent with ``more_body``: uvicorn waits for the socket to drain below its high
water mark before the next, so other requests are served between slices. The bytes on the wire are
the same (the response keeps its Content-Length).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHUNK_BYTES = 256 * 1024


class BodyChunks:
    """Send each response body larger than ``chunk`` bytes as slices of at most ``chunk`` bytes."""

    def __init__(self, app: ASGIApp, chunk: int = CHUNK_BYTES) -> None:
        self.app = app
        self.chunk = chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_in_slices(message: Message) -> None:
            body = message.get("body", b"")
            if message["type"] != "http.response.body" or len(body) <= self.chunk:
                await send(message)
                return
            view, more = memoryview(body), message.get("more_body", False)
            for start in range(0, len(body), self.chunk):
                end = start + self.chunk
                await send(
                    {"type": "http.response.body", "body": view[start:end], "more_body": more or end < len(body)}
                )

        await self.app(scope, receive, send_in_slices)

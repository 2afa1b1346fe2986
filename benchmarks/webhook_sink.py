"""A fast webhook receiver for ``notices.py --worker-processes``: a raw asyncio protocol on uvloop.

It answers every ``POST`` with ``200`` on a kept-alive connection and counts the ``webhook-id`` of
each, so duplicates show; it parses only the request line, ``content-length`` and ``webhook-id``
(no signature check: the tests do that with the ``standardwebhooks`` library), to keep its own CPU
small. ``GET /stats`` answers ``{"requests", "distinct", "duplicates", "cpu_seconds"}`` (CPU of
this process since it started) and starts the counts again.

Run by the benchmark as ``python benchmarks/webhook_sink.py --port N``; without ``--port`` it does
nothing (``make bench`` runs every script here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import uvloop

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"


class Counts:
    def __init__(self) -> None:
        self.requests = 0
        self.seen: set[bytes] = set()
        self.duplicates = 0

    def reset(self) -> None:
        self.requests, self.duplicates = 0, 0
        self.seen.clear()

    def stats(self) -> bytes:
        body = json.dumps(
            {
                "requests": self.requests,
                "distinct": len(self.seen),
                "duplicates": self.duplicates,
                "cpu_seconds": time.process_time(),
            }
        ).encode()
        self.reset()
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


def header(head: bytes, name: bytes) -> bytes | None:
    """The value of a header (``name`` lower case, with its colon) in a lower-cased request head."""
    at = head.find(b"\r\n" + name)
    if at < 0:
        return None
    start = at + 2 + len(name)
    end = head.find(b"\r\n", start)
    return head[start : end if end >= 0 else len(head)].strip()


class Sink(asyncio.Protocol):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCP transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        replies: list[bytes] = []
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = buffer[:end].lower()
            length = int(header(head, b"content-length:") or 0)
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            if head.startswith(b"get /stats"):
                replies.append(self.counts.stats())
                continue
            self.counts.requests += 1
            key = header(head, b"webhook-id:") or b""
            if key in self.counts.seen:
                self.counts.duplicates += 1
            else:
                self.counts.seen.add(key)
            replies.append(OK)
        self.buffer = buffer
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))


async def serve(port: int) -> None:
    counts = Counts()
    server = await asyncio.get_running_loop().create_server(lambda: Sink(counts), "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.port is None:
        return
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()

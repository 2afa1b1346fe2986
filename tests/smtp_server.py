"""A real SMTP server for tests: aiosmtpd on loopback, in a thread, with scripted faults.

``Controller(port=0)`` fails in aiosmtpd 1.4.6 (DESIGN §8), so the server is bound with
``loop.create_server(..., "127.0.0.1", 0)`` in its own event loop thread. The handler records every
message it accepted (and those it "lost" the reply of) and can be told, per address or per
message, what to answer:

- ``rcpt[address]``: replies to RCPT TO, used in order (then 250): greylisting is ``["450 ..."]``;
- ``data``: replies to the end of DATA, in order (then 250); ``DROP`` closes the connection
  after receiving the message, without a reply; ``HANG`` never answers;
- ``close_after_message``: the server hangs up after each accepted message (idle disconnect);
- ``delay`` slows every message down; ``gate`` holds every DATA reply until it is set;
- ``hold[message_id]``: events, one per arrival of that message in order: the DATA reply to its
  n-th arrival waits until the n-th event is set (a relay stuck on one message); ``hold_arrival[n]``
  holds the reply to the n-th DATA received (from 0), whatever its message;
- ``arrived``: the Message-ID of every DATA received, in order, before any delay, hold or reply.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import warnings
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

DROP, HANG = "drop", "hang"


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes

    @property
    def message_id(self) -> str:
        return str(BytesHeaderParser().parsebytes(self.data)["Message-ID"])


@dataclass
class FaultHandler:
    rcpt: dict[str, list[str]] = field(default_factory=dict)
    mail: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    close_after_message: bool = False
    delay: float = 0.0
    gate: threading.Event | None = None  # DATA replies wait until it is set
    hold: dict[str, list[threading.Event]] = field(default_factory=dict)
    hold_arrival: dict[int, threading.Event] = field(default_factory=dict)
    arrived: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lost: list[Received] = field(default_factory=list)  # received, but the reply never went out
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.lock:
            reply = self.mail.pop(0) if self.mail else "250 OK"
        if reply.startswith("250"):
            envelope.mail_from = address
            envelope.mail_options.extend(options)
        return reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.lock:
            queue = self.rcpt.get(address.lower(), [])
            reply = queue.pop(0) if queue else "250 OK"
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(envelope.original_content or b""))
        with self.lock:
            held = self.hold_arrival.get(len(self.arrived))
            self.arrived.append(message.message_id)
            holds = self.hold.get(message.message_id, [])
            held = holds.pop(0) if holds else held
        while held is not None and not held.is_set():
            await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        while self.gate is not None and not self.gate.is_set():
            await asyncio.sleep(0.01)
        with self.lock:
            reply = self.data.pop(0) if self.data else "250 OK: queued"
        transport = server.transport
        if reply == DROP:
            with self.lock:
                self.lost.append(message)
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
            return "250 OK: never seen by the client"
        if reply == HANG:
            with self.lock:
                self.lost.append(message)
            await asyncio.sleep(3600)
        if reply.startswith("250"):
            with self.lock:
                self.received.append(message)
            if self.close_after_message and transport is not None:
                asyncio.get_running_loop().call_soon(transport.close)
        return reply

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m.message_id for m in self.received]

    def arrivals(self, message_id: str) -> int:
        with self.lock:
            return self.arrived.count(message_id)


def free_port() -> int:
    """A loopback port with nothing listening on it (for a server to start on, or for "server down")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """An asyncio server (aiosmtpd or a raw protocol) on 127.0.0.1 in a background thread."""

    def __init__(self, factory: Any, port: int = 0) -> None:
        self.factory = factory
        self.loop = asyncio.new_event_loop()
        self.port = port
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(self.loop.create_server(self.factory, "127.0.0.1", self.port))
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def smtp_server(handler: FaultHandler, port: int = 0, **options: Any) -> ServerThread:
    """aiosmtpd with ``handler``; ``options`` go to ``aiosmtpd.smtp.SMTP`` (data_size_limit...)."""

    def factory() -> SMTP:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. AUTH without TLS, on purpose in tests
            return SMTP(handler, hostname="mx.test", **options)

    return ServerThread(factory, port).start()


class _Greeting421(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.3.2 mx.test too busy, try again later\r\n")
        transport.close()


def busy_server() -> ServerThread:
    """A server that greets every connection with 421 and hangs up."""
    return ServerThread(_Greeting421).start()

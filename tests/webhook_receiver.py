"""A real HTTP receiver for webhook tests: asyncio on a loopback port, in a thread, with scripted replies.

Every request is recorded (method, path, headers, body). ``replies`` are used in order, one per
request, then ``200``: each is ``(status, headers, delay_seconds)``; a delay longer than the
client's timeout makes the client time out (the request is still recorded: it may have been
"delivered"). Keep-alive connections are served (httpx pools them). With ``tls`` (a server
context) it speaks HTTPS, and ``server_names`` records the TLS server name (SNI) of each connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    replies: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    tls: ssl.SSLContext | None = None
    server_names: list[str | None] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            if self.tls is not None:
                self.tls.sni_callback = lambda _sock, name, _context: self.server_names.append(name)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.tls)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _shutdown(self) -> None:
        """End the connections still open (a slow reply), then the server."""
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                with self.lock:
                    self.requests.append(Request(method, path, headers, body))
                    status, extra, delay = self.replies.pop(0) if self.replies else (200, {}, 0.0)
                if delay:
                    await asyncio.sleep(delay)
                head = f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: application/json\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                writer.write(head.encode() + b"\r\n{}")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        finally:
            writer.close()


def free_port() -> int:
    """A loopback port nobody listens on (for "receiver down")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

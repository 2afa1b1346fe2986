"""Webhook targets are resolved once per connection, every address is checked, and the connection
goes to a checked address (no DNS rebinding between the check and the request; issue 15), against
the real receiver on loopback, over plain HTTP and over TLS with a certificate for the name.

The resolver is injected: ``hooks.example`` exists nowhere else, so a request that reached the
receiver went to the address the resolver gave and the sender checked.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifications.delivery import Envelope, Outcome
from notifications.webhook import HttpSender, default_tls
from tests.webhook_receiver import Receiver, free_port

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
SECRET = "whsec_" + "a" * 44


class ScriptedResolver:
    """Answers from a script, one answer per call (the last one repeats); counts the calls."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def envelope(url: str, n: int = 1) -> Envelope:
    body = b'{"type":"occurrence.reminder","n":%d}' % n
    return Envelope(n, "m@x.example", ("webhook endpoint 1",), body, f"msg_{n}", "webhook", url, SECRET)


def send_all(sender: HttpSender, envelopes: list[Envelope]) -> list[Outcome]:
    async def run() -> list[Outcome]:
        try:
            return [outcome for e in envelopes for outcome in (await sender.send(e)).values()]
        finally:
            await sender.close()

    return asyncio.run(run())


def sender(resolver: ScriptedResolver, *, allow_private: bool, tls: ssl.SSLContext | None = None) -> HttpSender:
    return HttpSender(timeout=5, allow_private=allow_private, clock=lambda: NOW, resolve=resolver, ssl_context=tls)


def test_a_name_that_resolves_to_an_internal_address_is_refused_unless_allowed(receiver: Receiver) -> None:
    url = f"https://hooks.example:{receiver.port}/hook"
    resolver = ScriptedResolver(["127.0.0.1"])
    assert send_all(sender(resolver, allow_private=False), [envelope(url)]) == [
        Outcome(
            "failed",
            None,
            "not sent: hooks.example is an internal address (127.0.0.1); refused (server-side request forgery)",
        )
    ]
    # Every address is checked: one public address does not let an internal one through.
    mixed = ScriptedResolver(["93.184.216.34", "10.0.0.7"])
    assert send_all(sender(mixed, allow_private=False), [envelope(url)]) == [
        Outcome(
            "failed",
            None,
            "not sent: hooks.example is an internal address (10.0.0.7); refused (server-side request forgery)",
        )
    ]
    assert receiver.requests == [] and resolver.calls == [("hooks.example", receiver.port)]


def test_an_internal_address_literal_is_refused_without_resolving(receiver: Receiver) -> None:
    resolver = ScriptedResolver(["93.184.216.34"])
    url = f"https://[::ffff:127.0.0.1]:{receiver.port}/hook"
    assert send_all(sender(resolver, allow_private=False), [envelope(url)]) == [
        Outcome(
            "failed",
            None,
            "not sent: ::ffff:127.0.0.1 is an internal address (::ffff:127.0.0.1); "
            "refused (server-side request forgery)",
        )
    ]
    assert resolver.calls == [] and receiver.requests == []


def test_the_connection_goes_to_the_checked_address_and_stays_there(receiver: Receiver) -> None:
    # A rebinding resolver: the first answer is checked and used; any later answer would point
    # elsewhere (127.0.0.2: nobody listens there), but the kept-alive connection never asks again.
    resolver = ScriptedResolver(["127.0.0.1"], ["127.0.0.2"])
    http = sender(resolver, allow_private=True)
    url = f"http://hooks.example:{receiver.port}/hook"
    outcomes = send_all(http, [envelope(url, n) for n in (1, 2, 3)])
    assert outcomes == [Outcome("sent", 200, "HTTP 200 X")] * 3
    assert resolver.calls == [("hooks.example", receiver.port)]
    assert http.backend.connected == [("hooks.example", "127.0.0.1")]
    assert [(r.headers["host"], r.headers["webhook-id"]) for r in receiver.requests] == [
        (f"hooks.example:{receiver.port}", "msg_1"),
        (f"hooks.example:{receiver.port}", "msg_2"),
        (f"hooks.example:{receiver.port}", "msg_3"),
    ]


def test_a_new_connection_resolves_and_checks_again(receiver: Receiver) -> None:
    resolver = ScriptedResolver(["127.0.0.1"], ["127.0.0.2"])
    http = sender(resolver, allow_private=True)
    url = f"http://hooks.example:{receiver.port}/hook"
    first = send_all(http, [envelope(url, 1)])  # closes the pool: the next send connects anew
    second = send_all(http, [envelope(url, 2)])
    assert first == [Outcome("sent", 200, "HTTP 200 X")]
    assert second == [
        Outcome("retry", None, f"connection failed: ConnectError: http://hooks.example:{receiver.port}/...")
    ]
    assert http.backend.connected == [("hooks.example", "127.0.0.1")]
    assert len(resolver.calls) == 2 and len(receiver.requests) == 1


def test_the_trust_store_is_loaded_once_per_process_and_only_for_https(receiver: Receiver) -> None:
    # A worker makes an HttpSender per sending task on every pass: each loading the trust store
    # cost more CPU than its deliveries. Plain http targets (allowed on premises) never load it.
    default_tls.cache_clear()
    resolver = ScriptedResolver(["127.0.0.1"])
    plain = f"http://hooks.example:{receiver.port}/hook"
    outcomes = [send_all(sender(resolver, allow_private=True), [envelope(plain, n)]) for n in (1, 2)]
    assert outcomes == [[Outcome("sent", 200, "HTTP 200 X")]] * 2
    assert default_tls.cache_info().misses == 0
    port = free_port()  # nobody listens: the https pool is made (with the store), the connection refused
    secure = [
        send_all(sender(resolver, allow_private=True), [envelope(f"https://hooks.example:{port}/hook", n)])
        for n in (3, 4)
    ]
    assert (
        secure == [[Outcome("retry", None, f"connection failed: ConnectError: https://hooks.example:{port}/...")]] * 2
    )
    assert (default_tls.cache_info().misses, default_tls.cache_info().hits) == (1, 1)


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (openssl), and its key."""
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    command += ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}"]
    command += ["-addext", f"subjectAltName=DNS:{name}"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize(
    ("served", "outcome"),
    [
        ("hooks.example", Outcome("sent", 200, "HTTP 200 X")),
        ("other.example", Outcome("retry", None, "connection failed: ConnectError: https://hooks.example:{port}/...")),
    ],
)
def test_over_tls_the_name_is_sent_and_checked_while_connecting_to_the_checked_address(
    tmp_path: Path, served: str, outcome: Outcome
) -> None:
    cert, key = certificate(tmp_path, served)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    receiver = Receiver(tls=server).start()
    try:
        resolver = ScriptedResolver(["127.0.0.1"])
        http = sender(resolver, allow_private=True, tls=ssl.create_default_context(cafile=str(cert)))
        [got] = send_all(http, [envelope(f"https://hooks.example:{receiver.port}/hook")])
    finally:
        receiver.stop()
    assert got == Outcome(outcome.status, outcome.code, outcome.detail.format(port=receiver.port))
    # SNI names the host although the connection went to 127.0.0.1; a certificate for another
    # name is refused by the client (nothing is posted).
    assert receiver.server_names == ["hooks.example"]
    assert len(receiver.requests) == (1 if served == "hooks.example" else 0)

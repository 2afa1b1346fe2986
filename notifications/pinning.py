"""Connecting only to checked addresses: the webhook client's guard against DNS rebinding (issue 15).

Checking a target's address and then letting the HTTP client connect leaves a gap: the client
resolves the name again, and a hostile DNS server may answer with an internal address the second
time. ``PinnedBackend`` closes it by being the one place where connections are made: it resolves
the host once per connection, checks every address it got, and connects to one of those addresses
by number. The HTTP layer still talks to the host by name: the ``Host`` header, the TLS server
name (SNI) and the certificate check all use the host of the URL. A connection kept alive for
further requests stays on the address it was checked for.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Callable, Iterable

import httpcore

Resolver = Callable[[str, int], list[str]]  # host, port -> addresses (blocking: run in a thread)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for ``host`` (TCP), in its order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def internal(address: str) -> bool:
    """Whether an address is private, loopback, link-local, reserved or multicast.

    >>> [internal(a) for a in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "93.184.216.34")]
    [True, True, True, True, False]
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


class TargetRefused(Exception):
    """The target resolves to an address webhooks may not reach (server-side request forgery)."""


def refusal(host: str, addresses: Iterable[str], *, allow_private: bool) -> str | None:
    """Why ``host`` may not be reached at ``addresses`` (every one is checked), or None."""
    if allow_private:
        return None
    for address in addresses:
        if internal(address):
            return f"{host} is an internal address ({address}); refused (server-side request forgery)"
    return None


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses resolved and checked just before.

    ``resolve`` is called once per new connection (in a thread); ``connected`` lists each
    connection made as ``(host, address)``.
    """

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, str]] = []

    async def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses of ``host``: raises ``TargetRefused`` if any one is internal."""
        literal = host.strip("[]")
        try:
            ipaddress.ip_address(literal.split("%", 1)[0])
            found = [literal]
        except ValueError:
            try:
                found = await asyncio.to_thread(self.resolve, host, port)
            except OSError as error:
                raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        if not found:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        problem = refusal(host, found, allow_private=self.allow_private)
        if problem is not None:
            raise TargetRefused(problem)
        return found

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for address in await self.addresses(host, port):
            try:
                stream = await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:  # the next address, if any
                error = failed
                continue
            self.connected.append((host, address))
            return stream
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks are not sent to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)

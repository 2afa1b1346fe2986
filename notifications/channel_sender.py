"""One sender for every channel: email envelopes to the email sender, the others over HTTP.

Each is made on first use, so a drain that only sends email never opens an HTTP client and one
that only posts webhooks never connects to the SMTP relay.
"""

from __future__ import annotations

from collections.abc import Callable

from notifications.delivery import Envelope, Outcome, Sender


class ChannelSender:
    def __init__(self, email: Callable[[], Sender], http: Callable[[], Sender]) -> None:
        self._make = {"email": email, "http": http}
        self._senders: dict[str, Sender] = {}

    @property
    def connections(self) -> int:
        return sum(getattr(s, "connections", 0) for s in self._senders.values())

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        route = "email" if envelope.channel == "email" else "http"
        if route not in self._senders:
            self._senders[route] = self._make[route]()
        return await self._senders[route].send(envelope)

    async def close(self) -> None:
        for sender in self._senders.values():
            await sender.close()
        self._senders.clear()

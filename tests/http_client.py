"""A blocking httpx client over an app's ASGI interface (no network), with an optional API key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class ApiClient:
    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        """``client`` is the (address, port) the app sees as the caller's."""
        self._loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, client=client)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def call(
        self, method: str, path: str, key: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """``key`` becomes ``Authorization: Bearer <key>``; ``headers`` are sent as given."""
        sent = dict(headers or {})
        if key:
            sent["Authorization"] = f"Bearer {key}"
        return self._loop.run_until_complete(self._client.request(method, path, headers=sent, **kwargs))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

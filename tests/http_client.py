"""A blocking httpx client over an app's ASGI interface (no network), with an optional API key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class ApiClient:
    def __init__(self, app: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

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

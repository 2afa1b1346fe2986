"""Fixtures shared by the integration tests: a real SMTP server (aiosmtpd) with scripted faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.smtp_server import FaultHandler, ServerThread, smtp_server


@pytest.fixture
def handler() -> FaultHandler:
    """What the server answers; a test scripts faults on it before sending."""
    return FaultHandler()


@pytest.fixture
def server(handler: FaultHandler) -> Iterator[ServerThread]:
    """A real SMTP server on a free loopback port, stopped when the test ends."""
    running = smtp_server(handler)
    try:
        yield running
    finally:
        running.stop()

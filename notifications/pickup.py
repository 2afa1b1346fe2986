"""The pickup-directory sender: each message becomes one ``.eml`` file (the default without SMTP).

A mail system (or a person) picks the files up. A file is written under a temporary name, flushed
to disk and renamed, so a reader never sees half a message; its name comes from the Message-ID, so
a retry of the same delivery rewrites the same file instead of adding a second one.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from notifications.delivery import RETRY, SENT, Envelope, Outcome

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


def file_name(message_id: str) -> str:
    """``<20270104120000.7.12.maintcal@x.org>`` -> ``20270104120000.7.12.maintcal@x.org.eml``."""
    return _UNSAFE.sub("_", message_id.strip("<>")) + ".eml"


class PickupSender:
    """Writes each envelope to ``directory`` (created on first use)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _write(self, envelope: Envelope) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / file_name(envelope.message_id)
        temporary = self.directory / f".{target.name}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(envelope.message)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return target

    async def send(self, envelope: Envelope) -> dict[str, Outcome]:
        try:
            path = await asyncio.to_thread(self._write, envelope)
        except OSError as error:
            return dict.fromkeys(envelope.recipients, Outcome(RETRY, None, f"cannot write the pickup file: {error}"))
        return dict.fromkeys(envelope.recipients, Outcome(SENT, None, f"written to {path}"))

    async def close(self) -> None:
        return None

"""JSON shapes of DESIGN §5, shared by the CLI and the HTTP API."""

from __future__ import annotations

from typing import Any

from scheduler.occurrences.reschedule import RequestInfo
from scheduler.occurrences.shape import occurrence_json

__all__ = ["occurrence_json", "request_json"]
from windows.timezones import format_utc


def request_json(info: RequestInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "occurrence": info.occurrence,
        "product": info.product,
        "customer": info.customer,
        "status": info.status,
        "proposed_start": format_utc(info.proposed_start),
        "proposed_end": format_utc(info.proposed_end),
        "reason": info.reason,
        "created_at": format_utc(info.created_at),
        "decided_at": format_utc(info.decided_at) if info.decided_at else None,
        "decision_note": info.decision_note,
    }

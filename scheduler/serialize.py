"""JSON shapes of DESIGN §5, shared by the CLI and the HTTP API."""

from __future__ import annotations

from typing import Any

from scheduler.blackouts.conflicts import ConflictItem
from scheduler.blackouts.declare import BlackoutInfo
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


def blackout_json(info: BlackoutInfo) -> dict[str, Any]:
    """``blackout list --json`` items (DESIGN §9); ``start``/``end`` only for ``once``."""
    item: dict[str, Any] = {
        "id": info.id,
        "customer": info.customer,
        "label": info.label,
        "kind": info.kind,
        "status": info.status,
        "spec": info.spec,
    }
    if info.start and info.end:
        item["start"], item["end"] = format_utc(info.start), format_utc(info.end)
    if info.note:
        item["note"] = info.note
    return item


def conflict_json(item: ConflictItem) -> dict[str, Any]:
    """``conflicts --json`` items (DESIGN §9)."""
    return {
        "occurrence": item.occurrence,
        "product": item.product,
        "customer": item.customer,
        "blackout": item.blackout,
        "label": item.label,
        "resolution": item.resolution,
        "start": format_utc(item.start),
        "end": format_utc(item.end),
        "deadline": format_utc(item.deadline) if item.deadline else None,
    }

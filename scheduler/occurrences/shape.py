"""The JSON shape of one occurrence (DESIGN §5 ``occurrences --json``), shared by the CLI, the API
and the webhook payloads; it depends on the domain alone so that any room can use it."""

from __future__ import annotations

from typing import Any

from windows.schedule import Scheduled
from windows.timezones import format_local, format_utc


def occurrence_json(s: Scheduled, uid_domain: str) -> dict[str, Any]:
    return {
        "id": s.id,
        "uid": f"{s.id}@{uid_domain}",
        "product": s.occurrence.product,
        "rule": s.occurrence.rule,
        "customer": s.customer,
        "kind": s.kind,
        "status": s.status,
        "start": format_utc(s.start),
        "end": format_utc(s.end),
        "timezone": s.timezone,
        "local_start": format_local(s.local_start),
        "local_end": format_local(s.local_end),
        "sequence": s.sequence,
        "notice_deadline": format_utc(s.notice_deadline) if s.notice_deadline else None,
        "imported": s.occurrence.imported,
    }

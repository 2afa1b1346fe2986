"""``/api/v1/blackouts``: a customer declares, lists and removes its own blackouts (DESIGN §9).

Authenticated like every customer route (``Authorization: Bearer <API key>``); another
customer's blackout answers 404, like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from scheduler.blackouts import declare
from scheduler.http.api import _ERRORS, CustomerKey
from scheduler.serialize import blackout_json
from scheduler.settings import Settings
from scheduler.store.db import Database
from windows.errors import NotFound


class BlackoutBody(BaseModel):
    label: str = Field(min_length=1, max_length=200)
    start: str | None = Field(default=None, max_length=40, description="One-off: local YYYY-MM-DDTHH:MM (your zone)")
    end: str | None = Field(default=None, max_length=40, description="One-off: local end, exclusive")
    yearly: str | None = Field(default=None, max_length=20, description="MM-DD:MM-DD, both days included")
    monthly: str | None = Field(default=None, max_length=20, description="last-N or D1-D2")


def blackouts_router(db: Database, settings: Settings, clock: Callable[[], datetime]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["customer API"], responses=_ERRORS)

    @router.get("/blackouts", summary="Your blackouts")
    def list_blackouts(customer: CustomerKey) -> list[dict[str, Any]]:
        return [blackout_json(b) for b in declare.list_blackouts(db, customer)]

    @router.post("/blackouts", status_code=201, summary="Declare a blackout (pending if later than the lead days)")
    def create_blackout(customer: CustomerKey, body: BlackoutBody) -> JSONResponse:
        spec = declare.spec_from_inputs(body.start, body.end, body.yearly, body.monthly)
        info = declare.add_blackout(db, clock(), settings, customer, spec, body.label)
        return JSONResponse(blackout_json(info), status_code=201)

    @router.delete("/blackouts/{blackout_id}", summary="Remove one of your blackouts")
    def delete_blackout(customer: CustomerKey, blackout_id: int) -> dict[str, Any]:
        if not 0 < blackout_id < 2**31:
            raise NotFound(f"no blackout {blackout_id}")
        return blackout_json(declare.remove(db, clock(), settings, blackout_id, customer))

    return router

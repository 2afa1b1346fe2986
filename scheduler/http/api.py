"""The customer JSON API under /api/v1 (DESIGN §7): occurrences and reschedule requests.

Every route authenticates the customer by its API key (``Authorization: Bearer``) and only ever
shows or touches that customer's own occurrences and requests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from scheduler.catalogue.apikeys import customer_for_key
from scheduler.http.paging import DEFAULT_LIMIT, MAX_LIMIT, collect_page, next_link
from scheduler.http.ratelimit import credential_failed, refuse_if_blocked
from scheduler.occurrences import reschedule
from scheduler.occurrences.schedule import occurrences
from scheduler.serialize import occurrence_json, request_json
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.repository import get_customer, subscribed_product
from windows.errors import InvalidInput, NotFound
from windows.parsing import LAST_DAY, check_date, parse_instant


def unauthorized(message: str, challenge: str = "Bearer") -> HTTPException:
    """401 with ``{"error": message}`` and the RFC 6750 challenge in ``WWW-Authenticate``."""
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": challenge})


END_DAY = LAST_DAY + timedelta(days=1)  # the default 'to' (exclusive) stops at the end of the range


class RescheduleBody(BaseModel):
    occurrence: str = Field(
        min_length=1, max_length=200, description="Occurrence id, e.g. premier-edition.nightly.20270316"
    )
    proposed_start: str = Field(min_length=1, max_length=40, description="New start, ISO 8601 with offset or Z")
    reason: str | None = Field(default=None, max_length=2000)


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of the HTTP app: one message."""

    error: str


_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 401, 404, 409, 422, 429)}


def customer_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The key of the customer whose API key is in ``Authorization: Bearer``; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("send your API key as 'Authorization: Bearer <key>'")
    refuse_if_blocked(request)  # before the key is looked at: no oracle, no work
    db: Database = request.app.state.db
    with db.transaction() as session:
        customer = customer_for_key(session, token.strip())
        if customer is None:
            credential_failed(request)
            raise unauthorized("unknown or revoked API key", 'Bearer error="invalid_token"')
        return customer.key


CustomerKey = Annotated[str, Depends(customer_key)]


def api_router(db: Database, settings: Settings, clock: Callable[[], datetime]) -> APIRouter:
    """The /api/v1 routes bound to one database; ``clock`` gives "now" once per request."""
    router = APIRouter(prefix="/api/v1", tags=["customer API"], responses=_ERRORS)

    @router.get(
        "/occurrences",
        summary="Your occurrences in a date range",
        description=(
            f"At most `limit` items (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}), ordered by start then id. "
            'While more remain, a `Link: <...>; rel="next"` header (RFC 8288) gives the next page.'
        ),
    )
    def list_occurrences(
        customer: CustomerKey,
        request: Request,
        response: Response,
        from_: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, default today")] = None,
        to: Annotated[date | None, Query(description="YYYY-MM-DD (exclusive), default from + 90 days")] = None,
        all: Annotated[bool, Query(description="Include cancelled occurrences")] = False,
        product: Annotated[str | None, Query(description="Only this product (one you subscribe to)")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
        after: Annotated[
            str | None, Query(max_length=400, description="The cursor of a Link header's next page")
        ] = None,
    ) -> list[dict[str, Any]]:
        start_day = check_date(from_, "'from'") if from_ is not None else clock().date()
        end_day = check_date(to, "'to'") if to is not None else min(start_day + timedelta(days=90), END_DAY)
        if end_day <= start_day:
            raise InvalidInput("'to' must be after 'from'")
        if (end_day - start_day).days > 800:
            raise InvalidInput("ask for at most 800 days at a time")
        start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=clock().tzinfo)
        end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=clock().tzinfo)
        with db.transaction() as session:
            # A product the customer does not buy answers like one that does not exist.
            if product is not None and subscribed_product(session, get_customer(session, customer), product) is None:
                raise NotFound(f"no product '{product}'")
            shown, more = collect_page(
                lambda a, b: occurrences(session, a, b, product=product, customer=customer, include_cancelled=all),
                start,
                end,
                limit,
                after,
            )
        if more:
            pinned = {"from": start_day.isoformat(), "to": end_day.isoformat()}
            response.headers["Link"] = next_link(request.url, shown[-1], limit, **pinned)
        return [occurrence_json(s, settings.uid_domain) for s in shown]

    @router.post("/reschedule-requests", status_code=201, summary="Ask to move one of your occurrences")
    def create_request(customer: CustomerKey, body: RescheduleBody) -> JSONResponse:
        now = clock()
        try:
            proposed_start = parse_instant(body.proposed_start)
        except InvalidInput as error:
            raise InvalidInput(f"proposed_start: {error.message}") from None
        info = reschedule.request(
            db,
            now,
            customer=customer,
            occurrence_id=body.occurrence,
            proposed_start=proposed_start,
            reason=body.reason,
        )
        return JSONResponse(request_json(info), status_code=201)

    @router.get("/reschedule-requests", summary="Your reschedule requests")
    def list_requests(customer: CustomerKey) -> list[dict[str, Any]]:
        return [request_json(i) for i in reschedule.list_requests(db, customer=customer)]

    @router.get("/reschedule-requests/{request_id}", summary="One of your reschedule requests")
    def get_request(customer: CustomerKey, request_id: int) -> dict[str, Any]:
        if not 0 < request_id < 2**31:
            raise NotFound(f"no reschedule request {request_id}")
        return request_json(reschedule.get_request(db, request_id, customer=customer))

    return router

"""The HTTP app (DESIGN §7): calendar feeds, health, and the place routers are added.

``create_app(settings)`` builds everything (nothing connects at import time) and refuses a
database that is not at the latest Alembic revision. Errors are JSON ``{"error": message}`` with
the status of the ``windows.errors`` class (4xx), a 503 when the database is unreachable, its
SQLite file was deleted or replaced, or its revision is wrong; every miss on a feed is the same
404 body, whatever the reason.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler import redaction
from scheduler.feeds.fingerprint import Validator
from scheduler.feeds.index import FeedIndex
from scheduler.feeds.service import FeedRequest, FeedService
from scheduler.gc_pause import freeze_start_up
from scheduler.http.api import ErrorBody, api_router
from scheduler.http.api_blackouts import blackouts_router
from scheduler.http.body_limit import BodyLimit
from scheduler.http.fastlane import (
    CALENDAR_TYPE,
    PUBLIC_CACHE_CONTROL,
    SECRET_CACHE_CONTROL,
    FeedFastLane,
    feed_headers,
    not_modified,
)
from scheduler.http.ratelimit import FailureLimiter, credential_failed, refuse_if_blocked
from scheduler.portal.routes import Answer, answered, portal_router
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.migrate import SchemaGate, SchemaNotCurrent
from scheduler.store.models import DataVersion
from windows.errors import MaintcalError

log = logging.getLogger("maintcal.http")

NOT_FOUND = {"error": "not found"}


class Health(BaseModel):
    status: str
    data_version: int


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    failures: FailureLimiter | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The ASGI app over ``settings.database_url`` (or ``database``); ``clock`` gives "now" per request.

    ``failures`` counts wrong credentials per client address (a new one per app by default);
    ``monotonic`` is the clock of the feed validators' staleness bound (``FeedIndex``).
    """
    db = database if database is not None else Database.open(settings.database_url)
    gate = SchemaGate(db)
    try:
        gate.check()
    except SQLAlchemyError as error:  # unreachable now: checked again before each request until it answers
        log.warning("database not reachable at start, its revision is not checked yet: %s", first_line(error))
    except BaseException:
        if database is None:
            db.dispose()
        raise

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        started.state.feeds.index.start()  # poll the data version in the background (FeedIndex)
        # What start-up built (modules, SQLAlchemy and pydantic models) lives as long as the process:
        # keep it out of the collector's full passes, which would otherwise walk it all, event loop stopped.
        freeze_start_up()
        yield
        await started.state.feeds.index.stop()
        started.state.feeds.close()
        if database is None:
            db.dispose()

    app = FastAPI(
        title="maintcal",
        summary="Maintenance windows: calendar feeds and the customer API",
        version="1",
        redirect_slashes=False,
        docs_url=None,  # Swagger UI and ReDoc load JavaScript from a CDN: off (/openapi.json stays)
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(schema_required(gate))],
    )
    app.state.settings, app.state.db, app.state.clock = settings, db, clock
    app.state.failures = failures if failures is not None else FailureLimiter()
    install_error_handlers(app)
    index = FeedIndex(db, settings.feed_version_poll_ms / 1000, monotonic)
    feeds = app.state.feeds = FeedService(db, settings, index=index)
    # Polls of known feeds answered from memory, before routing (inside the body limit).
    app.add_middleware(FeedFastLane, feeds=feeds, gate=gate, failures=app.state.failures, clock=clock)
    app.add_middleware(BodyLimit)  # before routing and authentication: a huge body gets 413, unread
    app.include_router(health_router(db, gate))
    app.include_router(feeds_router(feeds, clock))
    app.include_router(api_router(db, settings, clock))
    app.include_router(blackouts_router(db, settings, clock))
    app.include_router(portal_router(db, settings, clock))
    return app


def schema_required(gate: SchemaGate) -> Callable[[], Awaitable[None]]:
    """``gate.require`` as an async dependency: once the check has passed, a request costs no thread hop
    (a sync dependency would run in the thread pool for every request, 304s included)."""

    async def require() -> None:
        if not gate.passed:
            await asyncio.to_thread(gate.require)

    return require


def create_app_from_env() -> FastAPI:
    """For ``uvicorn --factory scheduler.http.app:create_app_from_env`` (several worker processes).

    A database that is missing or not at the latest revision stops the process with one
    ``error:`` line and exit status 2, as ``maintcal serve`` does. Secrets (feed tokens in request
    paths, passwords in URLs) are redacted from every log line.
    """
    redaction.install()
    try:
        return create_app(Settings.from_env())
    except MaintcalError as error:
        print(f"error: {redaction.redact(error.message)}", file=sys.stderr, flush=True)
        sys.exit(error.exit_code)


def first_line(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


# -- errors ---------------------------------------------------------------------------------------


def not_found() -> JSONResponse:
    return JSONResponse(NOT_FOUND, status_code=404)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to a JSON body ``{"error": message}``: domain errors by their http_status."""

    async def domain_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, MaintcalError)
        return JSONResponse({"error": error.message}, status_code=error.http_status)

    async def http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404:
            return not_found()
        detail = error.detail if isinstance(error.detail, str) else None
        message = detail or HTTPStatus(error.status_code).phrase.lower()
        return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)

    async def invalid_request(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'request'}: {e.get('msg', 'invalid')}"
            for e in error.errors()
        ]
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=422)

    async def database_error(_: Request, error: Exception) -> Response:
        log.error("database error: %s", error)
        return JSONResponse({"error": "the database is unavailable; try again later"}, status_code=503)

    async def bug(_: Request, error: Exception) -> Response:
        log.exception("unexpected error", exc_info=error)
        return JSONResponse({"error": "internal error"}, status_code=500)

    app.add_exception_handler(Answer, answered)
    app.add_exception_handler(MaintcalError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(Exception, bug)


# -- health ---------------------------------------------------------------------------------------


def get_and_head(router: APIRouter, path: str, endpoint: Callable[..., Any], name: str, **options: Any) -> None:
    """Route GET and HEAD to ``endpoint``, each with its own OpenAPI operation id."""
    router.add_api_route(path, endpoint, methods=["GET"], operation_id=name, **options)
    router.add_api_route(path, endpoint, methods=["HEAD"], operation_id=f"{name}_head", **options)


def health_router(db: Database, gate: SchemaGate) -> APIRouter:
    router = APIRouter(
        tags=["health"],
        responses={
            503: {
                "description": "The database is unavailable, deleted or replaced, or not at the latest revision",
                "model": ErrorBody,
            }
        },
    )

    def healthz() -> Health:
        problem = gate.problem()
        if problem is not None:
            raise SchemaNotCurrent(problem)
        with db.transaction() as session:
            version = session.execute(select(DataVersion.version).where(DataVersion.id == 1)).scalar_one()
        return Health(status="ok", data_version=version)

    get_and_head(router, "/healthz", healthz, "healthz", summary="Liveness and database check")
    return router


# -- feeds ----------------------------------------------------------------------------------------

_FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The calendar (RFC 5545), one VEVENT per occurrence",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    },
    304: {"description": "Not modified (If-None-Match or If-Modified-Since matched)"},
    404: {"description": "No such feed", "model": ErrorBody},
    422: {"description": "Invalid request", "model": ErrorBody},
    503: {"description": "The database is unavailable", "model": ErrorBody},
}

CONDITIONAL_HEADERS: dict[str, Any] = {
    "parameters": [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title},
            "description": description,
        }
        for name, title, description in (
            ("if-none-match", "If-None-Match", "ETag(s) of the copy you hold"),
            ("if-modified-since", "If-Modified-Since", "HTTP date of the copy you hold"),
        )
    ]
}


def feeds_router(feeds: FeedService, clock: Callable[[], datetime]) -> APIRouter:
    """The feed routes: async, so a request waiting for a render holds no thread (``FeedService``)."""
    router = APIRouter(tags=["calendar feeds"], responses=_FEED_RESPONSES)

    # The conditional headers are read from the request (documented in CONDITIONAL_HEADERS): parsing
    # them as parameters costs a 304 more than the rest of its work.
    async def customer_feed(token: str, request: Request) -> Response:
        refuse_if_blocked(request)
        found = await feeds.by_token(token, clock())
        if found is None:
            credential_failed(request)
        return await feed_response(request, feeds, found, SECRET_CACHE_CONTROL)

    async def product_feed(key: str, request: Request) -> Response:
        found = await feeds.by_product(key, clock())
        return await feed_response(request, feeds, found, PUBLIC_CACHE_CONTROL)

    get_and_head(
        router,
        "/feeds/{token}.ics",
        customer_feed,
        "customer_feed",
        response_class=Response,
        openapi_extra=CONDITIONAL_HEADERS,
        responses={
            429: {"description": "Too many wrong credentials from your address (Retry-After)", "model": ErrorBody}
        },
        summary="A customer's secret feed (every subscribed product)",
    )
    get_and_head(
        router,
        "/products/{key}.ics",
        product_feed,
        "product_feed",
        response_class=Response,
        openapi_extra=CONDITIONAL_HEADERS,
        summary="A public product's feed",
    )
    return router


async def feed_response(
    request: Request,
    feeds: FeedService,
    found: FeedRequest | None,
    cache_control: str,
) -> Response:
    """200 with the calendar, 304 when the client's copy is current (decided before any rendering),
    404 for any miss."""
    if found is None:
        return not_found()
    conditions = request.headers
    if not_modified(found.validator, conditions.get("if-none-match"), conditions.get("if-modified-since")):
        cached = feeds.cached(found)  # a 304 says 'truncated' when known, never renders to know
        headers = feed_headers(found.validator, cache_control, cached.truncated if cached else None)
        return Response(status_code=304, headers=headers)
    feed = await feeds.body(found)
    headers = feed_headers(Validator(feed.etag, feed.last_modified), cache_control, feed.truncated)
    headers["Content-Disposition"] = f'inline; filename="{feed.filename}"'
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(feed.body))
        return Response(b"", media_type=CALENDAR_TYPE, headers=headers)
    return Response(feed.body, media_type=CALENDAR_TYPE, headers=headers)

"""The portal's routes (DESIGN §10): server-rendered pages, plain forms with CSRF tokens.

Every page but sign-in needs a session (else a redirect to ``/portal/sign-in``). Every POST is
refused with 403 unless it carries the CSRF token of its session (sign-in: of its pre-session
cookie). Pages are never cached and never framed; nothing is loaded from elsewhere.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from scheduler.blackouts import declare
from scheduler.feeds.ical import CalendarInfo, FeedEvent, render_calendar
from scheduler.feeds.tokens import feed_urls, issue_feed_token
from scheduler.occurrences import reschedule
from scheduler.portal import auth, views
from scheduler.portal import blackouts as blackout_pages
from scheduler.portal import strings as t
from scheduler.portal.availability import availability
from scheduler.portal.signin_mail import request_sign_in
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.repository import get_customer
from windows.errors import InvalidInput, MaintcalError
from windows.timezones import aware_utc, to_utc, zone_by_name

HERE = Path(__file__).parent
log = logging.getLogger("maintcal.portal")
PRE_COOKIE = "maintcal_portal_pre"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
_STATIC = {name: (HERE / "static" / name).read_bytes() for name in ("portal.css", "copy.js")}
_STATIC_TYPES = {"portal.css": "text/css; charset=utf-8", "copy.js": "text/javascript; charset=utf-8"}


class Answer(Exception):
    """Ends a portal request early with a ready response (a redirect to sign in, a 403 page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def answered(request: Request, exc: Exception) -> Response:
    """The app's handler for :class:`Answer`."""
    assert isinstance(exc, Answer)
    return exc.response


def portal_router(db: Database, settings: Settings, clock: Callable[[], datetime]) -> APIRouter:
    router = APIRouter(prefix="/portal", include_in_schema=False)
    secure = settings.base_url.startswith("https://")
    secret_box: list[bytes] = []
    rows = views.RowCache()
    fragments: dict[tuple[object, ...], Markup] = {}  # the rendered weeks of an upcoming page
    fragments_lock = threading.Lock()

    def secret() -> bytes:
        if not secret_box:
            secret_box.append(auth.session_secret(db, settings))
        return secret_box[0]

    def page(template: str, status: int = 200, viewer: auth.Viewer | None = None, **context: Any) -> HTMLResponse:
        csrf = auth.csrf_token(secret(), viewer.token) if viewer else context.pop("csrf", "")
        body = _ENV.get_template(template).render(
            t=t, viewer=viewer, csrf=csrf, this_month=clock().strftime("%Y-%m"), **context
        )
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    def viewer_of(request: Request) -> auth.Viewer | None:
        token = auth.cookie_token(secret(), request.cookies.get(auth.COOKIE))
        return auth.find_session(db, clock(), settings, token) if token else None

    def to_sign_in(expired: bool = False) -> Response:
        response = RedirectResponse("/portal/sign-in" + ("?expired=1" if expired else ""), status_code=303)
        if expired:
            response.delete_cookie(auth.COOKIE, path="/portal")
        return response

    def signed_in(request: Request) -> auth.Viewer:
        """The viewer of a page's session; without one, the request ends in a redirect to sign in."""
        viewer = viewer_of(request)
        if viewer is None:
            raise Answer(to_sign_in(auth.COOKIE in request.cookies))
        return viewer

    async def posted(request: Request) -> tuple[auth.Viewer, dict[str, str]]:
        """The viewer and fields of a form POST; without a session it ends in a redirect to sign in,
        without the session's CSRF token in a 403 page."""
        viewer = await run_in_threadpool(viewer_of, request)
        if viewer is None:
            raise Answer(to_sign_in(True))
        form = await form_of(request)
        if not auth.csrf_ok(secret(), viewer.token, form.get("csrf")):
            raise Answer(refused(viewer))
        return viewer, form

    async def form_of(request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def refused(viewer: auth.Viewer | None = None) -> HTMLResponse:
        return page("error.html", 403, viewer, title=t.FORBIDDEN, text=t.FORBIDDEN_TEXT)

    def missing(viewer: auth.Viewer) -> HTMLResponse:
        return page("error.html", 404, viewer, title=t.NOT_FOUND, text=t.NOT_FOUND_TEXT)

    # -- static ------------------------------------------------------------------------------------

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in _STATIC:
            return Response(b"not found", status_code=404, media_type="text/plain")
        return Response(
            _STATIC[name],
            media_type=_STATIC_TYPES[name],
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    # -- sign-in -----------------------------------------------------------------------------------

    def sign_in_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        pre = request.cookies.get(PRE_COOKIE)
        if not pre or len(pre) > 100:
            pre = secrets.token_urlsafe(24)
        response = page("sign_in.html", status, csrf=auth.csrf_token(secret(), "pre:" + pre), **context)
        response.set_cookie(PRE_COOKIE, pre, path="/portal", httponly=True, samesite="lax", secure=secure)
        return response

    @router.get("/sign-in")
    def sign_in_form(request: Request, expired: str | None = None) -> Response:
        return sign_in_page(request, message=t.SIGN_IN_EXPIRED if expired else None, sent=None)

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await form_of(request)
        pre = request.cookies.get(PRE_COOKIE) or ""
        if not pre or not auth.csrf_ok(secret(), "pre:" + pre, form.get("csrf")):
            return page("error.html", 403, title=t.FORBIDDEN, text=t.FORBIDDEN_TEXT)
        email = form.get("email", "").strip()[:320]
        await run_in_threadpool(request_sign_in, db, clock(), settings, email)
        return sign_in_page(request, message=None, sent=t.SIGN_IN_SENT.format(email=email))

    @router.get("/auth/{link}")
    def redeem(request: Request, link: str) -> Response:
        token = auth.redeem(db, clock(), link)
        if token is None:
            return sign_in_page(request, 400, message=t.SIGN_IN_INVALID, sent=None)
        response = RedirectResponse("/portal/", status_code=303, headers={"Referrer-Policy": "no-referrer"})
        response.set_cookie(
            auth.COOKIE,
            auth.cookie_value(secret(), token),
            path="/portal",
            httponly=True,
            samesite="lax",
            secure=secure or request.url.scheme == "https",
        )
        return response

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        viewer = await run_in_threadpool(viewer_of, request)
        form = await form_of(request)
        if viewer is None:
            return to_sign_in()
        if not auth.csrf_ok(secret(), viewer.token, form.get("csrf")):
            return refused(viewer)
        auth.end_session(db, clock(), viewer.session_id)
        response = sign_in_page(request, message=t.SIGNED_OUT, sent=None)
        response.delete_cookie(auth.COOKIE, path="/portal")
        return response

    # -- pages -------------------------------------------------------------------------------------

    @router.get("/")
    def upcoming(request: Request, utc: str | None = None) -> Response:
        viewer = signed_in(request)
        weeks, key = views.upcoming(db, clock(), viewer.customer, rows)
        key = (*key, utc == "1")
        with fragments_lock:
            weeks_html = fragments.get(key)
        if weeks_html is None:
            template = _ENV.get_template("_weeks.html")
            weeks_html = Markup(template.render(t=t, weeks=weeks, utc_first=utc == "1", zone=viewer.timezone))
            with fragments_lock:
                if len(fragments) >= 256:
                    fragments.pop(next(iter(fragments)))
                fragments[key] = weeks_html
        return page("upcoming.html", viewer=viewer, weeks_html=weeks_html, utc_first=utc == "1", zone=viewer.timezone)

    @router.get("/month/{month}")
    def month(request: Request, month: str) -> Response:
        viewer = signed_in(request)
        first = _month(month)
        if first is None:
            return missing(viewer)
        rows, zone = views.month_rows(db, viewer.customer, first)
        return page("month.html", viewer=viewer, **_calendar(first, rows), zone=zone)

    @router.get("/windows/{occurrence_id}")
    def window(request: Request, occurrence_id: str, requested: int | None = None) -> Response:
        viewer = signed_in(request)
        return window_response(viewer, occurrence_id, 200, sent=requested)

    def window_response(
        viewer: auth.Viewer,
        occurrence_id: str,
        status: int,
        *,
        sent: int | None = None,
        error: str | None = None,
        keep: tuple[str, str] = ("", ""),
    ) -> HTMLResponse:
        found = views.window_page(db, viewer.customer, occurrence_id)
        if found is None:
            return missing(viewer)
        now = clock()
        return page(
            "window.html",
            status,
            viewer,
            w=found,
            zone=viewer.timezone,
            move=_move_range(found, now, viewer.timezone),
            sent=sent if any(r.id == sent for r in found.requests) else None,
            error=error,
            start_value=keep[0],
            reason_value=keep[1],
            fmt_local=views.fmt_local,
        )

    @router.get("/windows/{occurrence_id}/event.ics")
    def window_ics(request: Request, occurrence_id: str) -> Response:
        viewer = signed_in(request)
        body = _one_event(db, settings, clock(), viewer, occurrence_id)
        if body is None:
            return missing(viewer)
        headers = dict(HEADERS)
        headers["Content-Disposition"] = f'attachment; filename="{occurrence_id}.ics"'
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    @router.post("/windows/{occurrence_id}/reschedule")
    async def ask_to_move(request: Request, occurrence_id: str) -> Response:
        viewer, form = await posted(request)
        start_value, reason_value = form.get("start", "").strip(), form.get("reason", "")
        return await run_in_threadpool(move, viewer, occurrence_id, start_value, reason_value)

    def move(viewer: auth.Viewer, occurrence_id: str, start_value: str, reason_value: str) -> Response:
        keep = (start_value, reason_value)
        if views.window_page(db, viewer.customer, occurrence_id) is None:
            return missing(viewer)
        proposed = _local_instant(start_value, viewer.timezone)
        if proposed is None:
            return window_response(
                viewer, occurrence_id, 422, error=t.MOVE_BAD_START.format(example=_EXAMPLE), keep=keep
            )
        try:
            info = reschedule.request(
                db,
                clock(),
                customer=viewer.customer,
                occurrence_id=occurrence_id,
                proposed_start=proposed,
                reason=reason_value or None,
                requested_by=viewer.contact_id,
            )
        except MaintcalError as error:
            return window_response(viewer, occurrence_id, error.http_status, error=error.message, keep=keep)
        return RedirectResponse(f"/portal/windows/{quote(occurrence_id)}?requested={info.id}", status_code=303)

    @router.get("/requests")
    def requests_page(request: Request) -> Response:
        viewer = signed_in(request)
        items = reschedule.list_requests(db, customer=viewer.customer)
        who = views.requesters(db, [r.id for r in items])
        return page(
            "requests.html",
            viewer=viewer,
            items=list(reversed(items)),
            who=who,
            zone=viewer.timezone,
            fmt_local=views.fmt_local,
        )

    @router.get("/subscribe")
    def subscribe(request: Request) -> Response:
        viewer = signed_in(request)
        return page("subscribe.html", viewer=viewer, urls=None, error=None)

    @router.post("/subscribe/reset")
    async def reset_feed(request: Request) -> Response:
        viewer, form = await posted(request)
        if form.get("confirm") != "yes":
            return page("subscribe.html", 422, viewer, urls=None, error=t.RESET_NEEDS_CONFIRM)
        token = await run_in_threadpool(issue_feed_token, db, clock(), viewer.customer, rotate=True)
        log.info("portal: %s of %s reset the feed address", viewer.email, viewer.customer)
        return page("subscribe.html", viewer=viewer, urls=_subscribe_urls(settings, token, viewer), error=None)

    @router.get("/availability/{month}")
    def availability_page(request: Request, month: str) -> Response:
        viewer = signed_in(request)
        first = _month(month)
        if first is None:
            return missing(viewer)
        try:
            report = availability(db, clock(), viewer.customer, viewer.timezone, first)
        except InvalidInput:
            return missing(viewer)
        return page("availability.html", viewer=viewer, report=report, **_neighbours(first, "availability"))

    @router.get("/blackouts")
    def blackouts_page(request: Request, added: int | None = None, removed: int | None = None) -> Response:
        viewer = signed_in(request)
        return blackouts_response(viewer, 200, added=added, removed=removed == 1)

    def blackouts_response(
        viewer: auth.Viewer,
        status: int,
        *,
        added: int | None = None,
        removed: bool = False,
        error: str | None = None,
        remove_error: int | None = None,
        keep: dict[str, str] | None = None,
    ) -> HTMLResponse:
        items, zone, lead = blackout_pages.rows(db, clock(), viewer.customer)
        just_added = next((b for b in items if b.id == added), None)
        values = {k: (keep or {}).get(k, "") for k in blackout_pages.FORM_FIELDS}
        return page(
            "blackouts.html",
            status,
            viewer,
            items=items,
            zone=zone,
            lead=lead,
            added=just_added,
            removed=removed,
            error=error,
            remove_error=remove_error,
            values=values,
        )

    @router.post("/blackouts")
    async def add_blackout(request: Request) -> Response:
        viewer, form = await posted(request)
        return await run_in_threadpool(declare_blackout, viewer, form)

    def declare_blackout(viewer: auth.Viewer, form: dict[str, str]) -> Response:
        try:
            info = blackout_pages.declare_from_form(db, clock(), settings, viewer.customer, form, viewer.email)
        except MaintcalError as error:
            return blackouts_response(viewer, error.http_status, error=error.message, keep=form)
        log.info("portal: %s of %s declared blackout %d (%s)", viewer.email, viewer.customer, info.id, info.status)
        return RedirectResponse(f"/portal/blackouts?added={info.id}", status_code=303)

    @router.post("/blackouts/{blackout_id}/remove")
    async def remove_blackout(request: Request, blackout_id: str) -> Response:
        viewer, form = await posted(request)
        number = int(blackout_id) if blackout_id.isdigit() and len(blackout_id) < 10 else 0
        return await run_in_threadpool(remove_one, viewer, number, form.get("confirm") == "yes")

    def remove_one(viewer: auth.Viewer, blackout_id: int, confirmed: bool) -> Response:
        mine = [b.id for b in declare.list_blackouts(db, viewer.customer)]
        if blackout_id not in mine:
            return missing(viewer)
        if not confirmed:
            return blackouts_response(viewer, 422, remove_error=blackout_id)
        declare.remove(db, clock(), settings, blackout_id, viewer.customer, actor=viewer.email)
        log.info("portal: %s of %s removed blackout %d", viewer.email, viewer.customer, blackout_id)
        return RedirectResponse("/portal/blackouts?removed=1", status_code=303)

    @router.get("/contacts")
    def contacts_page(request: Request) -> Response:
        viewer = signed_in(request)
        return page(
            "contacts.html",
            viewer=viewer,
            contacts=views.contacts(db, clock(), viewer.customer),
            support=settings.support_address,
        )

    return router


# -- helpers --------------------------------------------------------------------------------------

_EXAMPLE = "2027-03-16 22:00"


def _month(text: str) -> date | None:
    """A YYYY-MM month as its first day; None when it is not one.

    >>> _month("2027-03"), _month("2027-13"), _month("x")
    (datetime.date(2027, 3, 1), None, None)
    """
    try:
        day = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return None
    return day if 1970 <= day.year <= 2199 and len(text) == 7 else None


def _neighbours(first: date, kind: str) -> dict[str, Any]:
    before = (first - timedelta(days=1)).replace(day=1)
    after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {
        "month_label": f"{first:%B %Y}",
        "previous": f"/portal/{kind}/{before:%Y-%m}",
        "next": f"/portal/{kind}/{after:%Y-%m}",
    }


def _calendar(first: date, rows: list[views.WindowRow]) -> dict[str, Any]:
    """Weeks (Monday first) of the month as lists of (day or None, windows starting that day)."""
    by_day: dict[date, list[views.WindowRow]] = {}
    for row in rows:
        by_day.setdefault(row.local_day, []).append(row)
    start = first - timedelta(days=first.weekday())
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    weeks = []
    day = start
    while day < nxt:
        weeks.append([(d if d.month == first.month else None, by_day.get(d, [])) for d in _week(day)])
        day += timedelta(days=7)
    return {"weeks": weeks, "title": t.MONTH_TITLE.format(month=f"{first:%B %Y}"), **_neighbours(first, "month")}


def _week(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]


def _local_instant(text: str, zone: str) -> datetime | None:
    """A local date and time typed by the customer (``YYYY-MM-DDTHH:MM`` or with a space) as UTC."""
    try:
        naive = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    if naive.tzinfo is not None or not 1970 <= naive.year <= 2199:
        return None
    return aware_utc(to_utc(naive, zone_by_name(zone)))


def _move_range(w: views.WindowPage, now: datetime, zone: str) -> dict[str, Any]:
    """What the form shows: the range the product's policy allows (the service checks it)."""
    s = w.scheduled
    if s.kind != "planned":
        return {"allowed": False, "reason": "unplanned maintenance cannot be rescheduled"}
    if s.status == "cancelled":
        return {"allowed": False, "reason": "it is cancelled"}
    if s.start - timedelta(hours=w.cutoff_hours) < now:
        return {"allowed": False, "reason": f"requests must come at least {w.cutoff_hours} h before the window"}
    original = s.occurrence.start
    earliest = max(now + timedelta(hours=w.cutoff_hours), original - timedelta(days=w.max_shift_days))
    latest = original + timedelta(days=w.max_shift_days)
    minutes = int((s.end - s.start).total_seconds() // 60)
    return {
        "allowed": True,
        "text": t.MOVE_RANGE.format(
            earliest=views.fmt_local(earliest, zone), latest=views.fmt_local(latest, zone), zone=zone, minutes=minutes
        ),
        "min": views.local(earliest, zone).strftime("%Y-%m-%dT%H:%M"),
        "max": views.local(latest, zone).strftime("%Y-%m-%dT%H:%M"),
        "hint": t.MOVE_START_HINT.format(zone=zone, example=_EXAMPLE),
    }


def _subscribe_urls(settings: Settings, token: str, viewer: auth.Viewer) -> dict[str, str]:
    https, webcal = feed_urls(settings, token)
    name = quote(f"{viewer.customer_name} maintenance")
    return {
        "feed": https,
        "webcal": webcal,
        "google": f"https://calendar.google.com/calendar/render?cid={quote(webcal, safe='')}",
        "outlook": f"https://outlook.live.com/calendar/0/addfromweb?url={quote(https, safe='')}&name={name}",
    }


def _one_event(
    db: Database, settings: Settings, now: datetime, viewer: auth.Viewer, occurrence_id: str
) -> bytes | None:
    """One window as a calendar (the same event the feed holds)."""
    with db.transaction() as session:
        cust = get_customer(session, viewer.customer)
        found = views.find_window(session, cust, occurrence_id)
        if found is None:
            return None
        names = views.product_names(session, cust)
    name = names.get(found.occurrence.product, found.occurrence.product)
    event = FeedEvent(found, name, now, viewer_zone=cust.timezone)
    info = CalendarInfo(
        uid=f"portal-{occurrence_id}@{settings.uid_domain}",
        name=f"{viewer.customer_name} maintenance",
        description=f"Maintenance window {occurrence_id}",
    )
    return render_calendar([event], info, settings=settings)


_ = UTC

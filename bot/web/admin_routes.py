"""The admin pages (/admin, login, logout, upload, ingest) as a router with a dependency for access.

Access is the X-Admin-Token header (scripts) or a session from the login form (browsers), never the
query string, which lands in access logs (reliability F9). A session is a random id the server
keeps, expires and revokes (F11); a form that changes something carries the session's CSRF token
and must come from this site (F12). Wrong tokens are throttled per client (F10). The access
dependency reads headers only, so nobody without access makes the server read a body (F3).
"""

# No `from __future__ import annotations` here: FastAPI reads the Depends(...) in the routes'
# annotations at runtime, and they name closures a string annotation could not resolve.

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from bot.services.admin import BUSY, AdminService, IngestBusy
from bot.web import charts
from bot.web.guard import AdminGuard, Session, client_key, same_origin

if TYPE_CHECKING:
    from bot.engine import Engine
    from ingest.settings import Settings

ADMIN_COOKIE = "govbot_admin"
MAX_UPLOAD_FILES = 20


class Refused(Exception):
    """The answer a dependency gives instead of the route's (admin off, not signed in, throttled, cross-site)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def refused_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


@dataclass
class AdminWeb:
    """What the admin routes use from the app."""

    settings: "Settings"
    service: AdminService
    guard: AdminGuard | None
    forwarded: bool  # GOVBOT_TRUST_FORWARDED_FOR
    page: Callable[..., Response]
    error_page: Callable[..., Response]
    view: Callable[[], "Engine"]
    flush_questions: Callable[[], None]
    intent_labels: dict[str, str]
    access: "AdminAccess | None" = None  # set by admin_router: the access dependencies other admin routers reuse
    queue_top: Callable[[], list[Any]] | None = None  # set by queue_router: the dashboard's top unanswered groups


@dataclass(frozen=True)
class AdminAccess:
    """The admin routes' access dependencies, for other admin routers (queue_routes): Depends(signed_in) to
    read, Depends(may_change) + csrf_checked(request, session, form) to change."""

    signed_in: Callable[..., Any]
    may_change: Callable[..., Any]
    no_token_in_address: Callable[..., Any]
    csrf_checked: Callable[..., None]
    read_form: Callable[..., Any]


def admin_router(web: AdminWeb) -> APIRouter:
    router = APIRouter(prefix="/admin")
    page, error_page = web.page, web.error_page

    # ----- refusals -----

    def admin_off(request: Request) -> Response:
        message = messages.ADMIN_OFF
        return page(request, "error.html", status_code=404, status=404, message=message)

    def login_page(request: Request, message: str) -> Response:
        response = page(request, "admin_login.html", status_code=401, message=message)
        if request.cookies.get(ADMIN_COOKIE):
            response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    def unauthorized(request: Request, why: str) -> Response:
        return login_page(request, messages.ADMIN_LOGIN_PROMPTS.get(why, messages.ADMIN_LOGIN_PROMPT))

    def throttled(request: Request, seconds: int) -> Response:
        return error_page(request, 429, messages.ADMIN_THROTTLED.format(seconds=seconds),
                          headers={"Retry-After": str(seconds)})

    # ----- dependencies -----

    async def enabled(request: Request) -> AdminGuard:
        if web.guard is None:
            raise Refused(admin_off(request))
        return web.guard

    async def signed_in(request: Request, guard: Annotated[AdminGuard, Depends(enabled)]) -> Session | None:
        """The admin's Session (cookie), or None for the header token: no CSRF token is needed
        then, because another site's form cannot set a header."""
        header = request.headers.get("x-admin-token")
        if header:
            client = client_key(request.scope, web.forwarded)
            wait = guard.blocked_for(client)
            if wait:
                raise Refused(throttled(request, wait))
            if not guard.check_token(client, header):
                raise Refused(unauthorized(request, "wrong"))
            return None
        sid = request.cookies.get(ADMIN_COOKIE)
        session = guard.session(sid)
        if session is None:
            raise Refused(unauthorized(request, "expired" if sid else "missing"))
        return session

    async def no_token_in_address(request: Request, _: Annotated[AdminGuard, Depends(enabled)]) -> None:
        if "token" in request.query_params:
            raise Refused(login_page(request, messages.ADMIN_TOKEN_IN_ADDRESS))

    async def from_this_site(request: Request) -> None:
        if not same_origin(request.headers):
            raise Refused(error_page(request, 403))

    async def may_change(request: Request, _: Annotated[None, Depends(from_this_site)],
                         session: Annotated[Session | None, Depends(signed_in)]) -> Session | None:
        return session

    def csrf_checked(request: Request, session: Session | None, form: FormData) -> None:
        assert web.guard is not None
        if session is not None and not web.guard.csrf_ok(session, form.get("csrf")):
            raise Refused(error_page(request, 403, messages.ADMIN_CSRF))

    async def read_form(request: Request, max_files: int = 0) -> FormData:
        try:
            return await request.form(max_files=max_files, max_fields=10)
        except StarletteHTTPException as exc:
            if exc.status_code == 413:
                raise  # the body cap: the app's Chinese 413
            raise Refused(error_page(request, 400, messages.ADMIN_BAD_FORM.format(detail=exc.detail))) from None

    web.access = AdminAccess(signed_in, may_change, no_token_in_address, csrf_checked, read_form)

    # ----- the page -----

    def admin_page(request: Request, session: Session | None, status_code: int = 200, **values: Any) -> Response:
        from ingest.loaders import SUPPORTED_SUFFIXES

        web.flush_questions()
        stats = web.service.stats()
        labels = web.intent_labels
        chart = {
            "per_day": charts.questions_per_day(stats.per_day),
            "refused": charts.refused_share(stats.refused, stats.questions),
            "intents": charts.horizontal_bars([(labels.get(i, i), n) for i, n in stats.top_intents],
                                              messages.CHART_INTENTS, width=420, left=90, label_chars=6),
            "unanswered": charts.horizontal_bars(stats.top_unanswered, messages.CHART_UNANSWERED, color=charts.RED),
        }
        index = web.view()
        settings = web.settings
        return page(request, "admin.html", status_code=status_code, stats=stats, chart=chart,
                    generation=index.generation_name, record_count=len(index.records),
                    knowledge_dir=settings.govbot_knowledge_dir, upload_dir=Path(web.service.upload_dir),
                    files=web.service.uploaded_files(), csrf=session.csrf if session else "",
                    max_mb=settings.govbot_max_file_mb, suffixes=sorted(SUPPORTED_SUFFIXES),
                    accept=",".join(sorted(SUPPORTED_SUFFIXES)), all_records=index.records,
                    queue_top=web.queue_top() if web.queue_top else [], **values)

    # ----- routes -----

    @router.get("", response_class=HTMLResponse)
    def admin(request: Request, _: Annotated[None, Depends(no_token_in_address)],
              session: Annotated[Session | None, Depends(signed_in)]) -> Response:
        return admin_page(request, session)

    @router.post("/login")
    def admin_login(request: Request, guard: Annotated[AdminGuard, Depends(enabled)],
                    _: Annotated[None, Depends(from_this_site)],
                    token: Annotated[str, Form(max_length=512)] = "") -> Response:
        client = client_key(request.scope, web.forwarded)
        wait = guard.blocked_for(client)
        if wait:
            return throttled(request, wait)
        if not token.strip():
            return unauthorized(request, "missing")
        if not guard.check_token(client, token):
            return unauthorized(request, "wrong")
        guard.revoke(request.cookies.get(ADMIN_COOKIE))  # a new id at each sign-in
        sid, _session = guard.open_session()
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(ADMIN_COOKIE, sid, max_age=int(web.settings.govbot_admin_session_hours * 3600),
                            httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/admin")
        return response

    @router.post("/logout")
    async def admin_logout(request: Request) -> Response:
        sid = request.cookies.get(ADMIN_COOKIE)
        session = web.guard.session(sid) if web.guard is not None else None
        if session is not None:
            form = await read_form(request)
            await form.close()
            await from_this_site(request)
            csrf_checked(request, session, form)
            web.guard.revoke(sid)  # the cookie is worthless from now on, wherever a copy of it is
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    @router.post("/upload", response_class=HTMLResponse)
    async def admin_upload(request: Request, session: Annotated[Session | None, Depends(may_change)]) -> Response:
        form = await read_form(request, MAX_UPLOAD_FILES)  # only after access was checked (F3)
        try:
            csrf_checked(request, session, form)
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)]
            if not files:
                missing = [("", messages.ADMIN_NO_FILES)]
                return await run_in_threadpool(admin_page, request, session, 400, upload_errors=missing)
            # The form parser has spooled every file already; checking them (the loader) blocks.
            outcome = await run_in_threadpool(web.service.save_uploads,
                                              [(f.filename or "", f.file) for f in files])
        finally:
            await form.close()  # the spooled temporary files
        code = 400 if outcome.errors else 200
        return await run_in_threadpool(admin_page, request, session, code, upload_saved=outcome.saved,
                                       upload_replaced=outcome.replaced, upload_errors=outcome.errors)

    @router.post("/ingest", response_class=HTMLResponse)
    async def admin_ingest(request: Request, session: Annotated[Session | None, Depends(may_change)]) -> Response:
        form = await read_form(request)
        prune = form.get("prune") == "1"
        await form.close()
        csrf_checked(request, session, form)
        from ingest.embeddings import EmbedderError
        from ingest.index import IngestLocked

        error: tuple[int, str] | None = None
        try:
            # The knowledge directory and the uploads; the ingest embeds for a while: off the event loop.
            summary = await run_in_threadpool(web.service.reingest, None, prune=prune)
        except IngestBusy:  # another admin of this process (web or Telegram) is ingesting
            error = (409, BUSY)
        except IngestLocked as exc:  # another process (govbot ingest) holds the store
            error = (409, str(exc))
        except EmbedderError as exc:
            error = (500, str(exc))
        if error is not None:
            return await run_in_threadpool(admin_page, request, session, error[0], ingest_error=error[1])
        return await run_in_threadpool(admin_page, request, session, ingest=summary)

    return router


"""The admin pages (/admin, login, logout, upload, ingest) as a router; access is bot/web/admin_access.py's.

The dashboard shows the questions' statistics and charts, the index, the uploaded files and the top
unanswered groups (bot/web/queue_routes.py has the queue itself).
"""

# No `from __future__ import annotations` here: FastAPI reads the Depends(...) in the routes'
# annotations at runtime.

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from bot import messages
from bot.services.admin import BUSY, IngestBusy
from bot.services.unanswered import QueueFilter
from bot.web import charts
from bot.web.admin_access import (
    ADMIN_COOKIE,
    AdminDep,
    AdminWeb,
    FromThisSite,
    MayChange,
    NoTokenInAddress,
    SignedIn,
    csrf_checked,
    enabled,
    from_this_site,
    read_form,
    throttled,
    unauthorized,
)
from bot.web.guard import AdminGuard, Session, client_key

MAX_UPLOAD_FILES = 20

router = APIRouter(prefix="/admin")


def queue_top(web: AdminWeb) -> list[Any]:
    """The dashboard's panel: the five biggest open groups of the unanswered queue, last 30 days."""
    return web.asking.unanswered.groups(QueueFilter(days=30, status="open"))[:5]


def admin_page(request: Request, web: AdminWeb, session: Session | None, status_code: int = 200,
               **values: Any) -> Response:
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
    return web.page(request, "admin.html", status_code=status_code, stats=stats, chart=chart,
                    generation=index.generation_name, record_count=len(index.records),
                    knowledge_dir=settings.govbot_knowledge_dir, upload_dir=Path(web.service.upload_dir),
                    files=web.service.uploaded_files(), csrf=session.csrf if session else "",
                    max_mb=settings.govbot_max_file_mb, suffixes=sorted(SUPPORTED_SUFFIXES),
                    accept=",".join(sorted(SUPPORTED_SUFFIXES)), all_records=index.records,
                    queue_top=queue_top(web), **values)


@router.get("", response_class=HTMLResponse)
def admin(request: Request, web: AdminDep, _: NoTokenInAddress, session: SignedIn) -> Response:
    return admin_page(request, web, session)


@router.post("/login")
def admin_login(request: Request, web: AdminDep, guard: Annotated[AdminGuard, Depends(enabled)],
                _: FromThisSite, token: Annotated[str, Form(max_length=512)] = "") -> Response:
    client = client_key(request.scope, web.forwarded)
    wait = guard.blocked_for(client)
    if wait:
        return throttled(request, web, wait)
    if not token.strip():
        return unauthorized(request, web, "missing")
    if not guard.check_token(client, token):
        return unauthorized(request, web, "wrong")
    guard.revoke(request.cookies.get(ADMIN_COOKIE))  # a new id at each sign-in
    sid, _session = guard.open_session()
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(ADMIN_COOKIE, sid, max_age=int(web.settings.govbot_admin_session_hours * 3600),
                        httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/admin")
    return response


@router.post("/logout")
async def admin_logout(request: Request, web: AdminDep) -> Response:
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
async def admin_upload(request: Request, web: AdminDep, session: MayChange) -> Response:
    form = await read_form(request, MAX_UPLOAD_FILES)  # only after access was checked (F3)
    try:
        csrf_checked(request, session, form)
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)]
        if not files:
            missing = [("", messages.ADMIN_NO_FILES)]
            return await run_in_threadpool(admin_page, request, web, session, 400, upload_errors=missing)
        # The form parser has spooled every file already; checking them (the loader) blocks.
        outcome = await run_in_threadpool(web.service.save_uploads,
                                          [(f.filename or "", f.file) for f in files])
    finally:
        await form.close()  # the spooled temporary files
    code = 400 if outcome.errors else 200
    return await run_in_threadpool(admin_page, request, web, session, code, upload_saved=outcome.saved,
                                   upload_replaced=outcome.replaced, upload_errors=outcome.errors)


@router.post("/ingest", response_class=HTMLResponse)
async def admin_ingest(request: Request, web: AdminDep, session: MayChange) -> Response:
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
        return await run_in_threadpool(admin_page, request, web, session, error[0], ingest_error=error[1])
    return await run_in_threadpool(admin_page, request, web, session, ingest=summary)

"""The front-desk web page, the JSON API and the admin page.

Server-rendered (Jinja2) with one small script for filtering the item list: the page must work on
government intranets, so every asset is served from here and nothing is fetched from a CDN.
The engine does the answering; this module only renders its result, logs questions and feedback,
and gives admins a way to upload guide files and start an ingest.
"""

from __future__ import annotations

import contextlib
import http
import json
import logging
import queue
import re
import secrets
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import messages
from bot.compose import is_url, source_label
from bot.engine import AnswerResult, Engine
from bot.feedback import FeedbackStore
from bot.intent import INTENTS
from bot.matcher import (
    PLAIN_LABELS,
    TAXPAYER_CHOICES,
    MatchResult,
    as_json,
    cert_choices,
    known_industries,
    match_data,
    plain_labels,
)
from bot.services.admin import AdminService
from bot.services.admin import UploadRejected as UploadRejected  # re-exported: tests import it from here
from bot.services.admin import megabytes as _mb
from bot.services.admin import safe_filename as safe_filename  # re-exported, as above
from bot.services.asking import Asker, AskService
from bot.services.container import Services
from bot.services.handoff import HandoffStore
from bot.web.admin_routes import MAX_UPLOAD_FILES, AdminWeb, Refused, admin_router, refused_handler
from bot.web.guard import AdminGuard, BodyLimit, RateLimiter, client_key
from bot.web.handoff_routes import handoff_router
from bot.web.match_form import (
    FormData,
    MatchForm,
    for_page,
    invalid_fields,
    read_form,
    submitted,
)
from bot.web.queue_routes import queue_router
from bot.web.sensitive_routes import sensitive_router
from bot.web.telegram_routes import TelegramWebhook, telegram_router
from ingest import provenance, validity
from ingest.chunking import days, needed_by
from ingest.schema import SECTION_LABELS, Record
from ingest.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
KIND_LABELS = {"guide": "办事指南", "bundle": "一件事", "policy": "惠企政策", "document": "其他文件"}
INTENT_LABELS = {str(intent): info.label for intent, info in INTENTS.items()}  # the admin page's chart
STATUS_LABELS = {
    "added": "新增", "updated": "更新", "unchanged": "未变", "removed": "移除", "failed": "失败",
    "missing": "源文件已删除（保留）",
}
ERROR_TEXT = messages.HTTP_ERRORS

# A front-desk question is a sentence; a 10,000-character paste is cut here so it cannot tie up
# retrieval, and the page says so. The default of GOVBOT_MAX_QUESTION_CHARS.
MAX_QUESTION = 500
MAX_NOTE = 1000
MAX_JSON_BODY = 256 * 1024
VISITOR_COOKIE = "govbot_vid"
VISITOR_RE = re.compile(r"^[0-9a-f]{16}$")
MIN_TOKEN_CHARS = 16

SECURITY_HEADERS = {
    # Everything is same-origin; no inline script, so an injected <script> could not run anyway.
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the /api/ask hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class QuestionLog:
    """Logs questions from one background thread.

    The answer never waits for the database, and the process has one writer: with twenty concurrent
    requests each writing itself, SQLite answered "database is locked" and p95 went past a second.
    """

    def __init__(self, asking: AskService, capacity: int = 10_000) -> None:
        self.asking = asking
        self.queue: queue.Queue[tuple[Asker, str, AnswerResult]] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def put(self, user_id: str, question: str, result: AnswerResult) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="govbot-question-log", daemon=True)
                    self._thread.start()
        try:
            self.queue.put_nowait((Asker("web", user_id), question, result))
        except queue.Full:
            log.warning("question log queue full: a question was not logged")

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                self.asking.record(*item)
            except Exception:  # noqa: BLE001 - a full disk must not stop the writer
                log.exception("could not log a question")
            finally:
                self.queue.task_done()

    def flush(self) -> None:
        """Wait until every question so far is written (tests, shutdown, the admin page)."""
        self.queue.join()


# ---------------------------------------------------------------- helpers used by templates


def dept_group(department: str) -> str:
    """The main department, for grouping: '税务部门（主管税务机关）' and '税务部门' are one group."""
    head = re.split(r"[（(；;，,]", department, maxsplit=1)[0].strip()
    return head or messages.WEB_OTHER_DEPARTMENT


def form_label(form: str) -> str:
    return form or "—"


class BadJSON(ValueError):
    """A JSON body that parses but cannot be used; the message is for the user."""


def _bounded_int(text: str) -> int:
    # 10^309 once gave OverflowError and 500 on /api/match (F20); no count or amount needs 16 digits.
    if len(text.lstrip("-")) > 15:
        raise BadJSON(messages.WEB_NUMBER_TOO_LONG)
    return int(text)


def parse_json(body: bytes) -> object:
    """json.loads with the failures people can cause turned into BadJSON (F16, F17, F20).

    ValueError (JSONDecodeError) still means "not JSON"; the callers word that themselves.
    """
    try:
        data = json.loads(body, parse_int=_bounded_int)
    except RecursionError:
        raise BadJSON(messages.WEB_JSON_TOO_DEEP) from None
    try:
        # A lone surrogate ("\ud800") cannot be written as UTF-8: the page, the log and the
        # database would all fail on it later.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadJSON(messages.WEB_BAD_UNICODE) from None
    except RecursionError:
        raise BadJSON(messages.WEB_JSON_TOO_DEEP) from None
    return data


async def _read_body(request: Request) -> bytes | None:
    """A JSON API request's body, or None once it exceeds MAX_JSON_BODY (read no further)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            return None
    return body


# ---------------------------------------------------------------- the app


def create_app(engine: Engine, settings: Settings, store_dir: Path, feedback: FeedbackStore,
               upload_dir: Path | None = None, *, admin: AdminService | None = None,
               asking: AskService | None = None, handoffs: HandoffStore | None = None,
               telegram_webhook: TelegramWebhook | None = None) -> FastAPI:
    """The FastAPI application; everything it needs is passed in, so tests build it with fixtures.

    ``admin`` is the process's admin service (`govbot serve` shares it with Telegram, so both take
    the same lock); without it the app makes its own over the same engine and store.
    ``telegram_webhook``: `govbot serve` with GOVBOT_TELEGRAM_WEBHOOK_URL adds Telegram's webhook route.
    """
    service = admin or AdminService(settings, store_dir, engine=engine, feedback=feedback, upload_dir=upload_dir)
    upload_dir = service.upload_dir
    admin_token = (settings.govbot_admin_token or "").strip() or None
    max_bytes = service.max_bytes
    max_question = settings.govbot_max_question_chars
    browse_cache: dict[str, Any] = {}
    asking = asking or AskService(engine, feedback)
    question_log = QuestionLog(asking)
    guard = (AdminGuard(admin_token, feedback.db, max_failures=settings.govbot_admin_max_failures,
                        lockout_s=settings.govbot_admin_lockout_s,
                        session_hours=settings.govbot_admin_session_hours) if admin_token else None)
    if admin_token and len(admin_token) < MIN_TOKEN_CHARS:
        log.warning("GOVBOT_ADMIN_TOKEN has only %d characters; use at least %d random ones",
                    len(admin_token), MIN_TOKEN_CHARS)
    limiter = RateLimiter(settings.govbot_rate_per_minute, settings.govbot_rate_burst)
    forwarded = settings.govbot_trust_forwarded_for
    upload_limit = settings.govbot_max_upload_mb * 1024 * 1024
    body_limit = settings.govbot_max_body_kb * 1024

    async def rate_limit(request: Request) -> None:
        """Per client on the public pages and API, so one client cannot starve the others (F8)."""
        path = request.url.path
        if path.startswith(("/admin", "/healthz", "/static", "/favicon")):
            return  # admin has its own guess throttle; health checks come from the balancer
        if telegram_webhook and path == telegram_webhook.path:
            return  # every update comes from Telegram's few addresses; its secret guards the route
        wait = limiter.take(client_key(request.scope, forwarded))
        if wait > 0:
            seconds = max(1, round(wait))
            raise StarletteHTTPException(429, messages.WEB_TOO_MANY.format(seconds=seconds),
                                         headers={"Retry-After": str(seconds)})

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(question_log.flush)  # nothing asked before a restart is lost

    app = FastAPI(title=messages.BOT_NAME, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=lifespan, dependencies=[Depends(rate_limit)])
    app.state.question_log = question_log
    app.add_middleware(BodyLimit, default=body_limit, per_path={"/admin/upload": upload_limit}, messages={
        upload_limit: messages.WEB_UPLOAD_TOO_BIG.format(total=_mb(upload_limit), each=_mb(max_bytes),
                                                         files=MAX_UPLOAD_FILES),
        body_limit: messages.WEB_BODY_TOO_BIG.format(kb=settings.govbot_max_body_kb),
    })
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def context(request: Request) -> dict[str, Any]:
        return {"root": request.scope.get("root_path", "")}

    templates = Jinja2Templates(directory=HERE / "templates", context_processors=[context])
    templates.env.globals.update(
        KIND_LABELS=KIND_LABELS, SECTION_LABELS=SECTION_LABELS, INTENT_LABELS=INTENT_LABELS,
        STATUS_LABELS=STATUS_LABELS, is_url=is_url, source_label=source_label, form_label=form_label,
        validity_notice=validity.notice, validity_status=validity.status, source_tag=provenance.source_tag,
        provenance_note=provenance.note, needed_by=needed_by,
    )
    templates.env.filters["days"] = days
    templates.env.filters["plain_labels"] = plain_labels
    templates.env.tests["is_url"] = is_url
    app.state.templates = templates

    def view() -> Engine:
        """The index this request uses, start to end (F4): a CLI ingest elsewhere shows up on the
        next request, never in the middle of one."""
        return engine.pinned()

    def page(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith(("/api/", "/healthz"))

    def error_page(request: Request, status_code: int, message: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
        text = message or ERROR_TEXT.get(status_code, messages.WEB_ERROR)
        if wants_json(request):
            response: Response = JSONResponse({"detail": text}, status_code=status_code)
        else:
            response = page(request, "error.html", status_code=status_code, status=status_code, message=text)
        response.headers.update(headers or {})
        return response

    # ----- errors: Chinese pages for people, JSON for the API -----

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        try:
            default = http.HTTPStatus(exc.status_code).phrase
        except ValueError:
            default = ""
        message = None if exc.detail in (default, None, "") else str(exc.detail)
        return error_page(request, exc.status_code, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": exc.errors()}, status_code=422)
        return error_page(request, 400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_page(request, 500)

    # ----- asking -----

    def visitor(request: Request) -> tuple[str, bool]:
        """An anonymous id per browser, only to count distinct askers; nothing personal is stored."""
        vid = request.cookies.get(VISITOR_COOKIE, "")
        if VISITOR_RE.match(vid):
            return vid, False
        return secrets.token_hex(8), True

    def remember_visitor(response: Response, vid: str, new: bool) -> Response:
        if new:
            response.set_cookie(VISITOR_COOKIE, vid, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
        return response

    def state_from(index: Engine, rid: str, intent: str) -> dict[str, Any] | None:
        # Only state that points at a real item is passed on: the hidden fields are user input.
        if rid and rid in index.records:
            return {"record_id": rid, "intent": intent if intent in INTENT_LABELS else "other"}
        return None

    def ask(index: Engine, question: str, state: dict[str, Any] | None, user_id: str) -> AnswerResult:
        result = asking.ask(question, state, engine=index)
        question_log.put(user_id, question, result)
        return result

    def browse(index: Engine) -> dict[str, Any]:
        """Items grouped by kind, then department; built once per index generation."""
        key = index.generation_name or ""
        all_records = index.records
        if browse_cache.get("key") == key:
            return browse_cache["value"]
        kinds = []
        departments: dict[str, int] = {}
        for kind, label in KIND_LABELS.items():
            items = [r for r in all_records.values() if r.kind == kind]
            if not items:
                continue
            groups: dict[str, list[Record]] = {}
            for record in items:
                groups.setdefault(dept_group(record.department), []).append(record)
            for name, members in groups.items():
                departments[name] = departments.get(name, 0) + len(members)
                members.sort(key=lambda r: (r.stage, r.title))
            ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
            kinds.append({"key": kind, "label": label, "count": len(items), "groups": ordered})
        value = {"kinds": kinds, "departments": sorted(departments, key=lambda d: (-departments[d], d)),
                 "total": len(all_records)}
        browse_cache.update(key=key, value=value)
        return value

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, q: str = "", rid: str = "", intent: str = "", kind: str = "",
             dept: str = "") -> Response:
        index = view()
        all_records = index.records
        question = q.strip()
        truncated = len(question) > max_question
        question = question[:max_question]
        vid, new = visitor(request)
        result = record = None
        state: dict[str, Any] = {}
        if question:
            result = ask(index, question, state_from(index, rid, intent), vid)
            state = result.state
            record = all_records.get(result.record_ids[0]) if result.record_ids else None
        state_qs = ""
        if state.get("record_id") in all_records:
            state_qs = "&" + urlencode({"rid": state["record_id"], "intent": state.get("intent", "other")})
        response = page(request, "index.html", q=question, truncated=truncated, result=result, record=record,
                        state=state, state_qs=state_qs, browse=browse(index), kind=kind, dept=dept,
                        examples=messages.EXAMPLES, max_question=max_question)
        return remember_visitor(response, vid, new)

    @app.post("/feedback", response_class=HTMLResponse)
    def post_feedback(request: Request, q: Annotated[str, Form(max_length=MAX_QUESTION * 2)] = "",
                      record_id: Annotated[str, Form(max_length=128)] = "",
                      vote: Annotated[int, Form()] = -1,
                      note: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "",
                      intent: Annotated[str, Form(max_length=32)] = "",
                      tag: Annotated[str, Form(max_length=32)] = "") -> Response:
        vid, new = visitor(request)
        records = view().records
        known = record_id if record_id in records else ""
        # 👎 also goes to the unanswered queue (issue 15); the thanks page then offers the reason tags.
        entry = asking.vote(Asker("web", vid), q.strip()[:max_question], known, 1 if vote > 0 else -1,
                            tag if tag in messages.DOWNVOTE_TAGS else "", note.strip()[:MAX_NOTE],
                            intent if intent in INTENT_LABELS else "other")
        response = page(request, "thanks.html", record=records.get(known), vote=vote, entry=entry,
                        tags=messages.DOWNVOTE_TAGS, tag=tag)
        return remember_visitor(response, vid, new)

    @app.post("/feedback/tag", response_class=HTMLResponse)
    def post_feedback_tag(request: Request, entry: Annotated[int, Form()], tag: Annotated[str, Form(max_length=32)] = "",
                          note: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "") -> Response:
        """The 👎 reason tag (and note) picked on the thanks page; only the visitor's own entry changes."""
        vid, new = visitor(request)
        saved = tag in messages.DOWNVOTE_TAGS and asking.tag(Asker("web", vid), entry, tag, note.strip()[:MAX_NOTE])
        response = page(request, "thanks.html", status_code=200 if saved else 400, record=None, vote=-1,
                        entry=entry, tags=messages.DOWNVOTE_TAGS, tag=tag if saved else "", tag_refused=not saved)
        return remember_visitor(response, vid, new)

    # ----- items -----

    def find(index: Engine, item_id: str) -> Record:
        record = index.records.get(item_id)
        if record is None:
            raise StarletteHTTPException(404, messages.WEB_ITEM_NOT_FOUND.format(item=item_id[:60]))
        return record

    def item_context(index: Engine, item_id: str) -> dict[str, Any]:
        record = find(index, item_id)
        all_records = index.records
        members = [(m, all_records.get(m)) for m in record.members]
        bundles = [r for r in all_records.values() if record.id in r.members]
        kind_label = KIND_LABELS.get(record.kind, SECTION_LABELS.get(record.kind, record.kind))  # faq: 常见问题
        return {"record": record, "kind_label": kind_label, "members": members,
                "bundles": bundles, "tolerance": any(m.tolerance for m in record.materials),
                "withheld": asking.sensitive.record_hit(record, "web")}  # the notice instead of the record

    @app.get("/items/{item_id}", response_class=HTMLResponse)
    def item(request: Request, item_id: str) -> Response:
        return page(request, "item.html", **item_context(view(), item_id))

    @app.get("/items/{item_id}/print", response_class=HTMLResponse)
    def item_print(request: Request, item_id: str) -> Response:
        return page(request, "print.html", **item_context(view(), item_id))

    # ----- policy matcher -----

    def match_page(request: Request, data: FormData) -> Response:
        """The form, and once it was sent, the verdicts below it; always 200 (partial results are results)."""
        all_records = view().records
        policies = {rid: r for rid, r in all_records.items() if r.kind == "policy"}
        certs = cert_choices(policies)  # the usual ones and those the policies require, as in Telegram
        form = read_form(data, certs) if submitted(data) else None
        result: MatchResult | None = None
        if form is not None:
            result = match_data(form.profile, all_records)
            result.profile_errors[:0] = form.errors
        problems = result.profile_errors if result else []
        return page(request, "match.html", form=form or MatchForm(), result=result,
                    errors=[for_page(e) for e in problems], invalid=invalid_fields(problems),
                    industries=known_industries(policies.values()), cert_choices=certs,
                    taxpayer_choices=TAXPAYER_CHOICES, labels=PLAIN_LABELS, policies=policies)

    @app.get("/match", response_class=HTMLResponse)
    def match_get(request: Request) -> Response:
        # GET is what the form uses: the result page can be bookmarked, reloaded and gone back to.
        return match_page(request, request.query_params)

    @app.post("/match", response_class=HTMLResponse)
    async def match_post(request: Request) -> Response:
        try:
            data = await request.form(max_files=0, max_fields=50)
        except StarletteHTTPException as exc:
            if exc.status_code == 413:
                raise
            return error_page(request, 400)
        try:
            return await run_in_threadpool(match_page, request, data)
        finally:
            await data.close()

    # ----- JSON API -----

    @app.get("/api/ask")
    def api_ask(request: Request, q: str = "", rid: str = "", intent: str = "") -> JSONResponse:
        """The same object as `govbot ask --json`; pass rid/intent (from record_ids/intent) to follow up."""
        vid = request.cookies.get(VISITOR_COOKIE, "")
        user = vid if VISITOR_RE.match(vid) else "api"
        index = view()
        result = ask(index, q.strip()[:max_question], state_from(index, rid, intent), user)
        return JSONResponse(result.public())

    @app.post("/api/ask")
    async def api_ask_post(request: Request) -> JSONResponse:
        """JSON body {"q", "rid"?, "intent"?}: for long questions that do not fit in a URL."""
        body = await _read_body(request)
        if body is None:
            return JSONResponse({"detail": messages.WEB_API_BODY_TOO_BIG}, status_code=413)
        try:
            data = parse_json(body or b"{}")
        except BadJSON as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in ("q", "rid", "intent")):
            return JSONResponse({"detail": messages.WEB_ASK_BODY}, status_code=400)
        vid = request.cookies.get(VISITOR_COOKIE, "")
        user = vid if VISITOR_RE.match(vid) else "api"

        def answer() -> AnswerResult:
            index = view()  # reloading reads files: off the event loop, like the answer
            return ask(index, data.get("q", "").strip()[:max_question],
                       state_from(index, data.get("rid", ""), data.get("intent", "")), user)

        return JSONResponse((await run_in_threadpool(answer)).public())

    @app.post("/api/match")
    async def api_match(request: Request) -> JSONResponse:
        """Match a company profile (a JSON object, the fields of `govbot match --profile`) against the policies.

        The body is always the object `govbot match --json` prints: eligible, near, profile_errors,
        undecided. Status 200 when the profile was read without problems; 422 when profile_errors is not
        empty (where the CLI exits 1), with the verdicts the usable fields still allow in the same body.
        """
        body = await _read_body(request)
        if body is None:
            too_big = MatchResult(profile_errors=[messages.WEB_MATCH_BODY_TOO_BIG.format(kb=MAX_JSON_BODY // 1024)])
            return JSONResponse(as_json(too_big), status_code=413)
        try:
            data: object = parse_json(body) if body.strip() else None
        except BadJSON as exc:
            result = MatchResult(profile_errors=[messages.WEB_MATCH_BAD_BODY.format(reason=exc)])
        except ValueError as exc:
            where = (messages.WEB_JSON_WHERE.format(line=exc.lineno, column=exc.colno)
                     if isinstance(exc, json.JSONDecodeError) else "")
            reason = messages.WEB_MATCH_NOT_JSON.format(where=where)
            result = MatchResult(profile_errors=[messages.WEB_MATCH_BAD_BODY.format(reason=reason)])
        else:
            # records() may reload a changed index: keep that off the event loop.
            result = await run_in_threadpool(lambda: match_data(data, view().records))
        return JSONResponse(as_json(result), status_code=422 if result.profile_errors else 200)

    @app.get("/api/items")
    def api_items(kind: str = "") -> JSONResponse:
        rows = [{"id": r.id, "kind": r.kind, "title": r.title, "department": r.department, "stage": r.stage}
                for r in view().records.values() if not kind or r.kind == kind]
        return JSONResponse(rows)

    @app.get("/api/items/{item_id}")
    def api_item(item_id: str) -> JSONResponse:
        return JSONResponse(find(view(), item_id).model_dump(mode="json"))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        index = view()
        count = len(index.records)
        body = {"status": "ok" if count else "no_index", "generation": index.generation_name,
                "records": count}
        # 503 until an index is served, so a load balancer does not route questions to an empty replica.
        return JSONResponse(body, status_code=200 if count else 503)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    # ----- admin (bot/web/admin_routes.py) -----

    app.add_exception_handler(Refused, refused_handler)
    admin_web = AdminWeb(
        settings=settings, service=service, guard=guard, forwarded=forwarded, page=page, error_page=error_page,
        view=view, flush_questions=question_log.flush, intent_labels=INTENT_LABELS)
    app.include_router(admin_router(admin_web))
    app.include_router(queue_router(admin_web, asking))  # /admin/queue (issue 15); after admin_router: its access
    app.include_router(sensitive_router(admin_web, asking.sensitive))  # /admin/sensitive (issue 15)
    # 转人工: the visitor's ticket page and /admin/handoffs (bot/web/handoff_routes.py)
    app.include_router(handoff_router(admin_web, handoffs or HandoffStore(settings.database_url), visitor))
    if telegram_webhook:
        app.include_router(telegram_router(telegram_webhook))  # bot/web/telegram_routes.py

    return app


def run_web(store_dir: Path | None = None, host: str = "127.0.0.1", port: int = 8000, *,
            services: Services | None = None) -> None:
    """`govbot web`: serve the page, the API and the admin page with uvicorn.

    ``services`` is the process's shared engine and admin service (`govbot serve`); without it the
    web page builds its own.
    """
    import uvicorn

    from bot.services.container import build_services

    services = services or build_services(store_dir)
    if not services.engine.records:
        log.warning("no index at %s yet: run `govbot ingest knowledge/` (or use the admin page)", services.store_dir)
    if not (services.settings.govbot_admin_token or "").strip():
        log.warning("GOVBOT_ADMIN_TOKEN is not set: the admin page is off")
    app = create_app(services.engine, services.settings, services.store_dir, services.feedback,
                     admin=services.admin, asking=services.asking, handoffs=services.handoffs)
    uvicorn.run(app, host=host, port=port, log_level="info")

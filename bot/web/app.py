"""The web channel's composition: the front-desk pages, the JSON API and the admin pages as one FastAPI app.

Server-rendered (Jinja2) with one small script for filtering the item list: the page must work on
government intranets, so every asset is served from here and nothing is fetched from a CDN.
The engine does the answering; the routers only render its result, log questions and feedback, and
give admins a way to upload guide files and start an ingest. ``create_app`` only composes:

- bot/web/public_routes.py: home/ask, browse, items, print checklist, feedback, /match;
- bot/web/api_routes.py: /api/ask, /api/match, /api/items, /healthz;
- bot/web/deps.py: the WebContext on ``app.state.web`` and the dependencies the routes declare;
- bot/web/errors.py, bot/web/middleware.py: error pages, security headers, body caps, rate limit;
- bot/web/admin_access.py: the admin pages' access dependencies (AdminWeb on ``app.state.admin``);
- the admin, queue, sensitive-word, handoff and Telegram webhook routers in their own modules.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from bot import messages
from bot.engine import Engine
from bot.feedback import FeedbackStore
from bot.services.admin import AdminService
from bot.services.admin import UploadRejected as UploadRejected  # re-exported: tests import it from here
from bot.services.admin import safe_filename as safe_filename  # re-exported, as above
from bot.services.asking import AskService
from bot.services.container import Services
from bot.services.handoff import HandoffStore
from bot.web import admin_routes, api_routes, handoff_routes, public_routes, queue_routes, sensitive_routes
from bot.web.admin_access import AdminWeb, Refused, refused_handler
from bot.web.deps import MAX_QUESTION as MAX_QUESTION  # re-exported: tests import it from here
from bot.web.deps import WebContext
from bot.web.errors import ERROR_TEXT as ERROR_TEXT  # re-exported, as above
from bot.web.errors import error_page, install_error_handlers
from bot.web.guard import AdminGuard, RateLimiter
from bot.web.middleware import install_middleware, rate_limit
from bot.web.question_log import QuestionLog
from bot.web.telegram_routes import TelegramWebhook, telegram_router
from bot.web.templating import HERE, INTENT_LABELS, build_templates, page
from ingest.settings import Settings

log = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16


def _admin_guard(settings: Settings, feedback: FeedbackStore) -> AdminGuard | None:
    """The admin sign-in, or None (admin off) without GOVBOT_ADMIN_TOKEN."""
    admin_token = (settings.govbot_admin_token or "").strip() or None
    if not admin_token:
        return None
    if len(admin_token) < MIN_TOKEN_CHARS:
        log.warning("GOVBOT_ADMIN_TOKEN has only %d characters; use at least %d random ones",
                    len(admin_token), MIN_TOKEN_CHARS)
    return AdminGuard(admin_token, feedback.db, max_failures=settings.govbot_admin_max_failures,
                      lockout_s=settings.govbot_admin_lockout_s, session_hours=settings.govbot_admin_session_hours)


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
    asking = asking or AskService(engine, feedback)
    question_log = QuestionLog(asking)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(question_log.flush)  # nothing asked before a restart is lost

    app = FastAPI(title=messages.BOT_NAME, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=lifespan, dependencies=[Depends(rate_limit)])
    app.state.web = WebContext(engine=engine, settings=settings, asking=asking, question_log=question_log,
                               limiter=RateLimiter(settings.govbot_rate_per_minute, settings.govbot_rate_burst),
                               telegram_path=telegram_webhook.path if telegram_webhook else None)
    app.state.question_log = question_log
    app.state.templates = build_templates()
    install_middleware(app, settings, service.max_bytes)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.include_router(public_routes.router)
    app.include_router(api_routes.router)
    # ----- admin: access in bot/web/admin_access.py, the pages in the four routers below -----
    app.add_exception_handler(Refused, refused_handler)
    app.state.admin = AdminWeb(
        settings=settings, service=service, guard=_admin_guard(settings, feedback),
        forwarded=settings.govbot_trust_forwarded_for, page=page, error_page=error_page,
        view=engine.pinned, flush_questions=question_log.flush, intent_labels=INTENT_LABELS,
        asking=asking, handoffs=handoffs or HandoffStore(settings.database_url))
    app.include_router(admin_routes.router)
    app.include_router(queue_routes.router)  # /admin/queue (issue 15)
    app.include_router(sensitive_routes.router)  # /admin/sensitive (issue 15)
    app.include_router(handoff_routes.router)  # 转人工: the visitor's ticket page and /admin/handoffs
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

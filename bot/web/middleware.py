"""The web app's request wiring: security headers, the body size caps and the per-client rate limit.

The rate limit is an app-wide dependency (every route, the admin routers' too); it reads the app's
WebContext (bot/web/deps.py) from ``request.app.state``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import messages
from bot.services.admin import megabytes
from bot.web.admin_routes import MAX_UPLOAD_FILES
from bot.web.deps import WebContext
from bot.web.guard import BodyLimit, client_key
from ingest.settings import Settings

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


async def rate_limit(request: Request) -> None:
    """Per client on the public pages and API, so one client cannot starve the others (F8)."""
    web: WebContext = request.app.state.web
    path = request.url.path
    if path.startswith(("/admin", "/healthz", "/static", "/favicon")):
        return  # admin has its own guess throttle; health checks come from the balancer
    if web.telegram_path and path == web.telegram_path:
        return  # every update comes from Telegram's few addresses; its secret guards the route
    wait = web.limiter.take(client_key(request.scope, web.settings.govbot_trust_forwarded_for))
    if wait > 0:
        seconds = max(1, round(wait))
        raise StarletteHTTPException(429, messages.WEB_TOO_MANY.format(seconds=seconds),
                                     headers={"Retry-After": str(seconds)})


def install_middleware(app: FastAPI, settings: Settings, max_file_bytes: int) -> None:
    """The body caps (uploads get their own) inside the security headers, so a 413 carries them too."""
    upload_limit = settings.govbot_max_upload_mb * 1024 * 1024
    body_limit = settings.govbot_max_body_kb * 1024
    app.add_middleware(BodyLimit, default=body_limit, per_path={"/admin/upload": upload_limit}, messages={
        upload_limit: messages.WEB_UPLOAD_TOO_BIG.format(total=megabytes(upload_limit), each=megabytes(max_file_bytes),
                                                         files=MAX_UPLOAD_FILES),
        body_limit: messages.WEB_BODY_TOO_BIG.format(kb=settings.govbot_max_body_kb),
    })
    app.add_middleware(SecurityHeaders)

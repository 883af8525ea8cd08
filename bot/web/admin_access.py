"""Who may use the admin pages, as FastAPI dependencies every admin router declares.

Access is the X-Admin-Token header (scripts) or a session from the login form (browsers), never the
query string, which lands in access logs (reliability F9). A session is a random id the server
keeps, expires and revokes (F11); a form that changes something carries the session's CSRF token
and must come from this site (F12). Wrong tokens are throttled per client (F10). The access
dependencies read headers only, so nobody without access makes the server read a body (F3).

create_app puts one AdminWeb on ``app.state.admin``; a route reads with ``_: NoTokenInAddress,
session: SignedIn`` and changes with ``session: MayChange`` plus ``csrf_checked(request, session, form)``.
"""

# No `from __future__ import annotations` here: FastAPI reads the Depends(...) in the dependencies'
# annotations at runtime.

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from bot.services.admin import AdminService
from bot.services.asking import AskService
from bot.services.handoff import HandoffStore
from bot.web.guard import AdminGuard, Session, client_key, same_origin

if TYPE_CHECKING:
    from bot.engine import Engine
    from ingest.settings import Settings

ADMIN_COOKIE = "govbot_admin"


@dataclass
class AdminWeb:
    """What the admin routes use from the app (``app.state.admin``)."""

    settings: "Settings"
    service: AdminService
    guard: AdminGuard | None
    forwarded: bool  # GOVBOT_TRUST_FORWARDED_FOR
    page: Callable[..., Response]
    error_page: Callable[..., Response]
    view: Callable[[], "Engine"]
    flush_questions: Callable[[], None]
    intent_labels: dict[str, str]
    asking: AskService  # the unanswered queue and the sensitive words (queue_routes, sensitive_routes)
    handoffs: HandoffStore  # 转人工 tickets (handoff_routes)


class Refused(Exception):
    """The answer a dependency gives instead of the route's (admin off, not signed in, throttled, cross-site)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def refused_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


async def admin_web(request: Request) -> AdminWeb:
    return request.app.state.admin


AdminDep = Annotated[AdminWeb, Depends(admin_web)]


# ----- refusals -----


def admin_off(request: Request, web: AdminWeb) -> Response:
    message = messages.ADMIN_OFF
    return web.page(request, "error.html", status_code=404, status=404, message=message)


def login_page(request: Request, web: AdminWeb, message: str) -> Response:
    response = web.page(request, "admin_login.html", status_code=401, message=message)
    if request.cookies.get(ADMIN_COOKIE):
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
    return response


def unauthorized(request: Request, web: AdminWeb, why: str) -> Response:
    return login_page(request, web, messages.ADMIN_LOGIN_PROMPTS.get(why, messages.ADMIN_LOGIN_PROMPT))


def throttled(request: Request, web: AdminWeb, seconds: int) -> Response:
    return web.error_page(request, 429, messages.ADMIN_THROTTLED.format(seconds=seconds),
                          headers={"Retry-After": str(seconds)})


# ----- dependencies -----


async def enabled(request: Request, web: AdminDep) -> AdminGuard:
    if web.guard is None:
        raise Refused(admin_off(request, web))
    return web.guard


async def signed_in(request: Request, web: AdminDep, guard: Annotated[AdminGuard, Depends(enabled)]) -> Session | None:
    """The admin's Session (cookie), or None for the header token: no CSRF token is needed
    then, because another site's form cannot set a header."""
    header = request.headers.get("x-admin-token")
    if header:
        client = client_key(request.scope, web.forwarded)
        wait = guard.blocked_for(client)
        if wait:
            raise Refused(throttled(request, web, wait))
        if not guard.check_token(client, header):
            raise Refused(unauthorized(request, web, "wrong"))
        return None
    sid = request.cookies.get(ADMIN_COOKIE)
    session = guard.session(sid)
    if session is None:
        raise Refused(unauthorized(request, web, "expired" if sid else "missing"))
    return session


async def no_token_in_address(request: Request, web: AdminDep, _: Annotated[AdminGuard, Depends(enabled)]) -> None:
    if "token" in request.query_params:
        raise Refused(login_page(request, web, messages.ADMIN_TOKEN_IN_ADDRESS))


async def from_this_site(request: Request) -> None:
    if not same_origin(request.headers):
        raise Refused(request.app.state.admin.error_page(request, 403))


async def may_change(request: Request, _: Annotated[None, Depends(from_this_site)],
                     session: Annotated[Session | None, Depends(signed_in)]) -> Session | None:
    return session


SignedIn = Annotated[Session | None, Depends(signed_in)]
MayChange = Annotated[Session | None, Depends(may_change)]
NoTokenInAddress = Annotated[None, Depends(no_token_in_address)]
FromThisSite = Annotated[None, Depends(from_this_site)]


# ----- inside a route that changes something -----


def csrf_checked(request: Request, session: Session | None, form: FormData) -> None:
    web: AdminWeb = request.app.state.admin
    assert web.guard is not None
    if session is not None and not web.guard.csrf_ok(session, form.get("csrf")):
        raise Refused(web.error_page(request, 403, messages.ADMIN_CSRF))


async def read_form(request: Request, max_files: int = 0) -> FormData:
    try:
        return await request.form(max_files=max_files, max_fields=10)
    except StarletteHTTPException as exc:
        if exc.status_code == 413:
            raise  # the body cap: the app's Chinese 413
        raise Refused(request.app.state.admin.error_page(
            request, 400, messages.ADMIN_BAD_FORM.format(detail=exc.detail))) from None

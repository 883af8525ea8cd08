"""What the web routes share, as FastAPI dependencies instead of closures.

create_app puts one WebContext on ``app.state.web``; routes declare what they use:
``index: ViewDep`` (the engine pinned to one index generation for the whole request),
``web: WebDep`` (AskService, question log, settings), ``visit: VisitorDep`` (the anonymous visitor id).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from bot.engine import AnswerResult, Engine
from bot.services.asking import AskService
from bot.web.guard import RateLimiter
from bot.web.question_log import QuestionLog
from bot.web.templating import INTENT_LABELS
from ingest.schema import Record
from ingest.settings import Settings

# A front-desk question is a sentence; a 10,000-character paste is cut here so it cannot tie up
# retrieval, and the page says so. The default of GOVBOT_MAX_QUESTION_CHARS.
MAX_QUESTION = 500
MAX_NOTE = 1000
VISITOR_COOKIE = "govbot_vid"
VISITOR_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass
class WebContext:
    """The app's parts the routes use (``app.state.web``)."""

    engine: Engine
    settings: Settings
    asking: AskService
    question_log: QuestionLog
    limiter: RateLimiter
    telegram_path: str | None = None  # the Telegram webhook route, which the rate limit leaves alone
    browse_cache: dict[str, Any] = field(default_factory=dict)

    @property
    def max_question(self) -> int:
        return self.settings.govbot_max_question_chars

    def ask(self, index: Engine, question: str, state: dict[str, Any] | None, user_id: str) -> AnswerResult:
        result = self.asking.ask(question, state, engine=index)
        self.question_log.put(user_id, question, result)
        return result


async def web_context(request: Request) -> WebContext:
    return request.app.state.web


WebDep = Annotated[WebContext, Depends(web_context)]


def pinned_view(web: WebDep) -> Engine:
    """The index this request uses, start to end (F4): a CLI ingest elsewhere shows up on the
    next request, never in the middle of one. A sync dependency: a reload reads files, so it runs
    in the thread pool, off the event loop."""
    return web.engine.pinned()


ViewDep = Annotated[Engine, Depends(pinned_view)]


def visitor(request: Request) -> tuple[str, bool]:
    """An anonymous id per browser, only to count distinct askers; nothing personal is stored."""
    vid = request.cookies.get(VISITOR_COOKIE, "")
    if VISITOR_RE.match(vid):
        return vid, False
    return secrets.token_hex(8), True


VisitorDep = Annotated[tuple[str, bool], Depends(visitor)]


def remember_visitor(response: Response, vid: str, new: bool) -> Response:
    if new:
        response.set_cookie(VISITOR_COOKIE, vid, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


def api_user(request: Request) -> str:
    """The API's asker: the page's visitor id when the browser has one (no new cookie), else "api"."""
    vid = request.cookies.get(VISITOR_COOKIE, "")
    return vid if VISITOR_RE.match(vid) else "api"


def state_from(index: Engine, rid: str, intent: str) -> dict[str, Any] | None:
    # Only state that points at a real item is passed on: the hidden fields are user input.
    if rid and rid in index.records:
        return {"record_id": rid, "intent": intent if intent in INTENT_LABELS else "other"}
    return None


def find(index: Engine, item_id: str) -> Record:
    record = index.records.get(item_id)
    if record is None:
        raise StarletteHTTPException(404, messages.WEB_ITEM_NOT_FOUND.format(item=item_id[:60]))
    return record

"""The admin page /admin/sensitive: the sensitive word list (one word per line) and the review list of hits.

Access and CSRF are the admin pages' own (bot.web.admin_routes.AdminAccess, set on ``web`` by admin_router,
so include this router after it); the list and the hits are
bot.services.sensitive's, in the shared database, so an edit here reaches every replica.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends(...) in the annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from bot import messages
from bot.services.sensitive import MAX_WORD, SensitiveWords, WordChange
from bot.web.admin_routes import AdminWeb
from bot.web.guard import Session

CHANNEL_LABELS = {"web": "网页", "telegram": "Telegram", "dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}
PART_LABELS = {"question": "提问", "answer": "回答", "record": "事项内容"}


def sensitive_router(web: AdminWeb, sensitive: SensitiveWords) -> APIRouter:
    router = APIRouter(prefix="/admin")
    access = web.access
    assert access is not None, "include admin_router first: it sets the access dependencies"

    def sensitive_page(request: Request, session: Session | None, change: WordChange | None = None) -> Response:
        web.flush_questions()  # the web's hits are written by the question log's thread
        words = sensitive.words()
        saved = (messages.SENSITIVE_SAVED.format(total=len(words), added=len(change.added),
                                                 removed=len(change.removed)) if change else "")
        values: dict[str, Any] = {
            "words": words, "hits": sensitive.hits(), "csrf": session.csrf if session else "", "saved": saved,
            "rejected": change.rejected if change else [], "max_word": MAX_WORD,
            "channel_labels": CHANNEL_LABELS, "part_labels": PART_LABELS,
        }
        return web.page(request, "sensitive.html", **values)

    @router.get("/sensitive", response_class=HTMLResponse)
    def sensitive_get(request: Request, _: Annotated[None, Depends(access.no_token_in_address)],
                      session: Annotated[Session | None, Depends(access.signed_in)]) -> Response:
        return sensitive_page(request, session)

    @router.post("/sensitive", response_class=HTMLResponse)
    async def sensitive_post(request: Request,
                             session: Annotated[Session | None, Depends(access.may_change)]) -> Response:
        form = await access.read_form(request)
        await form.close()
        access.csrf_checked(request, session, form)
        text = form.get("words")
        lines = text.splitlines() if isinstance(text, str) else []
        change = await run_in_threadpool(sensitive.replace, lines, "web")
        return await run_in_threadpool(sensitive_page, request, session, change)

    return router

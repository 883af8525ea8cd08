"""The admin page /admin/sensitive: the sensitive word list (one word per line) and the review list of hits.

Access and CSRF are the admin pages' own (bot/web/admin_access.py); the list and the hits are
bot.services.sensitive's, in the shared database, so an edit here reaches every replica.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends(...) in the annotations at runtime.

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from bot import messages
from bot.services.sensitive import MAX_WORD, WordChange
from bot.web.admin_access import (
    AdminDep,
    AdminWeb,
    MayChange,
    NoTokenInAddress,
    SignedIn,
    csrf_checked,
    read_form,
)
from bot.web.guard import Session

CHANNEL_LABELS = {"web": "网页", "telegram": "Telegram", "dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}
PART_LABELS = {"question": "提问", "answer": "回答", "record": "事项内容"}


router = APIRouter(prefix="/admin")


def sensitive_page(request: Request, web: AdminWeb, session: Session | None,
                   change: WordChange | None = None) -> Response:
    sensitive = web.asking.sensitive
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
def sensitive_get(request: Request, web: AdminDep, _: NoTokenInAddress, session: SignedIn) -> Response:
    return sensitive_page(request, web, session)


@router.post("/sensitive", response_class=HTMLResponse)
async def sensitive_post(request: Request, web: AdminDep, session: MayChange) -> Response:
    form = await read_form(request)
    await form.close()
    csrf_checked(request, session, form)
    text = form.get("words")
    lines = text.splitlines() if isinstance(text, str) else []
    change = await run_in_threadpool(web.asking.sensitive.replace, lines, "web")
    return await run_in_threadpool(sensitive_page, request, web, session, change)

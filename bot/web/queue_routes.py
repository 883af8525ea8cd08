"""The unanswered queue in the web admin: /admin/queue (groups, filters, trend), its CSV, and queue → FAQ.

An entry's page offers a draft prefilled with the question and the nearest item's section for the entry's
intent. Saving appends the pair to <GOVBOT_KNOWLEDGE_DIR>/faq/window-answers.md (ingest.faq_file), re-ingests
through the one admin service (its lock: a running ingest elsewhere makes this one wait for the admin, not
race), and only when that ingest took the FAQ file marks the entry, and the open entries with the same
question, resolved. A failed ingest keeps the pair in the file and the entry open, and says why.
Access is the admin pages' (bot/web/admin_access.py): the same sign-in, CSRF and origin checks.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends(...) annotations at runtime.

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from bot import messages
from bot.answer import BlockKind
from bot.services.admin import BUSY, IngestBusy
from bot.services.asking import AskService
from bot.services.unanswered import QueueFilter
from bot.web import charts
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
from ingest.faq_file import FaqFileError, append_faq_pair

FILTER_FIELDS = ("days", "channel", "reason", "status", "item", "intent")
DAY_CHOICES = (7, 30, 90, 365)
# Blocks that say nothing about the item: not worth prefilling into an answer.
SKIP_BLOCKS = {BlockKind.TITLE, BlockKind.SOURCE, BlockKind.CONFIRM, BlockKind.HANDOFF, BlockKind.NOTICE,
               BlockKind.NOT_STATED, BlockKind.REFUSAL}


def read_filter(params: Any) -> tuple[QueueFilter, dict[str, str]]:
    """The filter from GET parameters; unknown values are dropped rather than refused (a stale bookmark)."""
    raw = {k: str(params.get(k, "")).strip()[:128] for k in FILTER_FIELDS}
    days = int(raw["days"]) if raw["days"].isdigit() and 0 < int(raw["days"]) <= 3650 else 30
    raw["days"] = str(days)
    for key, allowed in (("channel", messages.QUEUE_CHANNELS), ("reason", messages.QUEUE_REASONS),
                         ("status", messages.QUEUE_STATUSES)):
        if raw[key] not in allowed:
            raw[key] = ""
    return QueueFilter(days=days, channel=raw["channel"], reason=raw["reason"], status=raw["status"],
                       record_id=raw["item"], intent=raw["intent"]), raw


def draft_text(asking: AskService, record_id: str, intent: str) -> str:
    """The nearest item's section for the entry's intent, as plain text to edit into an answer."""
    if not record_id or record_id not in asking.records:
        return ""
    for asked in dict.fromkeys((intent or "other", "other")):  # a section the item leaves empty: its overview
        result = asking.section(record_id, asked)
        lines = [line for b in (result.blocks if result else []) if b.kind not in SKIP_BLOCKS
                 for line in b.text_lines()]
        if lines:
            return "\n".join(lines)
    return ""


router = APIRouter(prefix="/admin")


def titles(web: AdminWeb) -> dict[str, str]:
    return {rid: r.title for rid, r in web.view().records.items()}


def queue_page(request: Request, web: AdminWeb) -> Response:
    store = web.asking.unanswered
    web.flush_questions()  # the web's own questions are written by a background thread
    flt, raw = read_filter(request.query_params)
    groups = store.groups(flt)
    trend = store.per_day(flt, days=min(flt.days or 30, 90))
    chart = charts.daily_columns(trend, messages.QUEUE_TREND.format(days=len(trend)))
    query = urlencode({k: v for k, v in raw.items() if v})
    return web.page(request, "admin_queue.html", groups=groups, chart=chart, filters=raw, query=query,
                    titles=titles(web), entries=store.entries(flt, limit=200), total=sum(g.count for g in groups),
                    day_choices=DAY_CHOICES, M=messages)


@router.get("/queue", response_class=HTMLResponse)
def admin_queue(request: Request, web: AdminDep, _: NoTokenInAddress, session: SignedIn) -> Response:
    return queue_page(request, web)


@router.get("/queue.csv")
def admin_queue_csv(request: Request, web: AdminDep, _: NoTokenInAddress, session: SignedIn) -> Response:
    web.flush_questions()
    flt, _raw = read_filter(request.query_params)
    name = f"unanswered-{dt.date.today().isoformat()}.csv"
    return Response(web.asking.unanswered.csv_text(flt), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


def entry_page(request: Request, web: AdminWeb, session: Session | None, entry_id: int, status_code: int = 200,
               **values: Any) -> Response:
    entry = web.asking.unanswered.get(entry_id)
    if entry is None:
        return web.error_page(request, 404, messages.QUEUE_ENTRY_GONE)
    draft = {"question": entry["question"], "answer": draft_text(web.asking, entry["record_id"], entry["intent"]),
             "source": messages.QUEUE_DEFAULT_SOURCE, "who": ""}
    draft.update(values.pop("draft", {}))
    return web.page(request, "admin_queue_entry.html", status_code=status_code, entry=entry, draft=draft,
                    titles=titles(web), csrf=session.csrf if session else "", M=messages, **values)


@router.get("/queue/{entry_id}", response_class=HTMLResponse)
def admin_queue_entry(request: Request, entry_id: int, web: AdminDep, _: NoTokenInAddress,
                      session: SignedIn) -> Response:
    return entry_page(request, web, session, entry_id)


@router.post("/queue/{entry_id}/answer", response_class=HTMLResponse)
async def admin_queue_answer(request: Request, entry_id: int, web: AdminDep, session: MayChange) -> Response:
    form = await read_form(request)
    await form.close()
    csrf_checked(request, session, form)
    draft = {k: str(form.get(k) or "") for k in ("question", "answer", "source", "who")}
    return await run_in_threadpool(save_answer, request, web, session, entry_id, draft)


def save_answer(request: Request, web: AdminWeb, session: Session | None, entry_id: int,
                draft: dict[str, str]) -> Response:
    store, asking = web.asking.unanswered, web.asking
    entry = store.get(entry_id)
    if entry is None:
        return web.error_page(request, 404, messages.QUEUE_ENTRY_GONE)
    who = " ".join(draft["who"].split())[:32]
    if not who:
        return entry_page(request, web, session, entry_id, 400, draft=draft, error=messages.QUEUE_NEED_WHO)
    day = dt.date.today()
    source = messages.QUEUE_FAQ_SOURCE.format(source=" ".join(draft["source"].split())[:80]
                                              or messages.QUEUE_DEFAULT_SOURCE, who=who, day=day.isoformat())
    about = entry["record_id"] if entry["record_id"] in asking.records else ""
    try:
        path = append_faq_pair(Path(web.settings.govbot_knowledge_dir), draft["question"], draft["answer"],
                               source, about, today=day)
    except FaqFileError as exc:
        return entry_page(request, web, session, entry_id, 400, draft=draft, error=str(exc))
    failure, summary = reingest(web, path)
    if failure:
        return entry_page(request, web, session, entry_id, 409 if failure == BUSY else 500, draft=draft,
                          error=messages.QUEUE_SAVE_FAILED.format(path=path, reason=failure))
    count = store.resolve(entry_id, who, str(path))
    return entry_page(request, web, session, entry_id, saved=messages.QUEUE_SAVED.format(
        path=path, generation=summary.generation or "—", count=count))


def reingest(web: AdminWeb, path: Path) -> tuple[str, Any]:
    """Re-ingest the knowledge (the admin lock); ("", summary), or (why it failed, None)."""
    from ingest.embeddings import EmbedderError
    from ingest.index import IngestLocked

    try:
        summary = web.service.reingest(None)
    except IngestBusy:
        return BUSY, None
    except (IngestLocked, EmbedderError, OSError) as exc:
        return str(exc), None
    for failed in summary.failed:
        if Path(failed.path).resolve() == path.resolve():
            return messages.QUEUE_FILE_FAILED.format(reason=failed.reason), None
    return "", summary

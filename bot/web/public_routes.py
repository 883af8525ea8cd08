"""The front desk's pages: ask (home), browse, an item and its print checklist, feedback, policy matching.

Server-rendered (Jinja2); every route reaches the engine, AskService and the visitor id through the
dependencies in bot/web/deps.py.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends(...) in the routes' annotations.

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from bot.engine import Engine
from bot.matcher import (
    PLAIN_LABELS,
    TAXPAYER_CHOICES,
    MatchResult,
    cert_choices,
    known_industries,
    match_data,
)
from bot.services.asking import Asker
from bot.web.deps import (
    MAX_NOTE,
    MAX_QUESTION,
    ViewDep,
    VisitorDep,
    WebContext,
    WebDep,
    find,
    remember_visitor,
    state_from,
)
from bot.web.errors import error_page
from bot.web.match_form import FormData, MatchForm, for_page, invalid_fields, read_form, submitted
from bot.web.templating import INTENT_LABELS, KIND_LABELS, dept_group, page
from ingest.schema import SECTION_LABELS, Record

router = APIRouter()


def browse(web: WebContext, index: Engine) -> dict[str, Any]:
    """Items grouped by kind, then department; built once per index generation."""
    key = index.generation_name or ""
    all_records = index.records
    browse_cache = web.browse_cache
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


# ----- asking -----


@router.get("/", response_class=HTMLResponse)
def home(request: Request, index: ViewDep, web: WebDep, visit: VisitorDep, q: str = "", rid: str = "",
         intent: str = "", kind: str = "", dept: str = "") -> Response:
    all_records = index.records
    max_question = web.max_question
    question = q.strip()
    truncated = len(question) > max_question
    question = question[:max_question]
    vid, new = visit
    result = record = None
    state: dict[str, Any] = {}
    if question:
        result = web.ask(index, question, state_from(index, rid, intent), vid)
        state = result.state
        record = all_records.get(result.record_ids[0]) if result.record_ids else None
    state_qs = ""
    if state.get("record_id") in all_records:
        state_qs = "&" + urlencode({"rid": state["record_id"], "intent": state.get("intent", "other")})
    response = page(request, "index.html", q=question, truncated=truncated, result=result, record=record,
                    state=state, state_qs=state_qs, browse=browse(web, index), kind=kind, dept=dept,
                    examples=messages.EXAMPLES, max_question=max_question)
    return remember_visitor(response, vid, new)


@router.post("/feedback", response_class=HTMLResponse)
def post_feedback(request: Request, index: ViewDep, web: WebDep, visit: VisitorDep,
                  q: Annotated[str, Form(max_length=MAX_QUESTION * 2)] = "",
                  record_id: Annotated[str, Form(max_length=128)] = "",
                  vote: Annotated[int, Form()] = -1,
                  note: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "",
                  intent: Annotated[str, Form(max_length=32)] = "",
                  tag: Annotated[str, Form(max_length=32)] = "") -> Response:
    vid, new = visit
    records = index.records
    known = record_id if record_id in records else ""
    # 👎 also goes to the unanswered queue (issue 15); the thanks page then offers the reason tags.
    entry = web.asking.vote(Asker("web", vid), q.strip()[:web.max_question], known, 1 if vote > 0 else -1,
                            tag if tag in messages.DOWNVOTE_TAGS else "", note.strip()[:MAX_NOTE],
                            intent if intent in INTENT_LABELS else "other")
    response = page(request, "thanks.html", record=records.get(known), vote=vote, entry=entry,
                    tags=messages.DOWNVOTE_TAGS, tag=tag)
    return remember_visitor(response, vid, new)


@router.post("/feedback/tag", response_class=HTMLResponse)
def post_feedback_tag(request: Request, web: WebDep, visit: VisitorDep, entry: Annotated[int, Form()],
                      tag: Annotated[str, Form(max_length=32)] = "",
                      note: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "") -> Response:
    """The 👎 reason tag (and note) picked on the thanks page; only the visitor's own entry changes."""
    vid, new = visit
    saved = tag in messages.DOWNVOTE_TAGS and web.asking.tag(Asker("web", vid), entry, tag, note.strip()[:MAX_NOTE])
    response = page(request, "thanks.html", status_code=200 if saved else 400, record=None, vote=-1,
                    entry=entry, tags=messages.DOWNVOTE_TAGS, tag=tag if saved else "", tag_refused=not saved)
    return remember_visitor(response, vid, new)


# ----- items -----


def item_context(index: Engine, item_id: str, web: WebContext) -> dict[str, Any]:
    record = find(index, item_id)
    all_records = index.records
    members = [(m, all_records.get(m)) for m in record.members]
    bundles = [r for r in all_records.values() if record.id in r.members]
    kind_label = KIND_LABELS.get(record.kind, SECTION_LABELS.get(record.kind, record.kind))  # faq: 常见问题
    return {"record": record, "kind_label": kind_label, "members": members,
            "bundles": bundles, "tolerance": any(m.tolerance for m in record.materials),
            "withheld": web.asking.sensitive.record_hit(record, "web")}  # the notice instead of the record


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item(request: Request, item_id: str, index: ViewDep, web: WebDep) -> Response:
    return page(request, "item.html", **item_context(index, item_id, web))


@router.get("/items/{item_id}/print", response_class=HTMLResponse)
def item_print(request: Request, item_id: str, index: ViewDep, web: WebDep) -> Response:
    return page(request, "print.html", **item_context(index, item_id, web))


# ----- policy matcher -----


def match_page(request: Request, index: Engine, data: FormData) -> Response:
    """The form, and once it was sent, the verdicts below it; always 200 (partial results are results)."""
    all_records = index.records
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


@router.get("/match", response_class=HTMLResponse)
def match_get(request: Request, index: ViewDep) -> Response:
    # GET is what the form uses: the result page can be bookmarked, reloaded and gone back to.
    return match_page(request, index, request.query_params)


@router.post("/match", response_class=HTMLResponse)
async def match_post(request: Request, index: ViewDep) -> Response:
    try:
        data = await request.form(max_files=0, max_fields=50)
    except StarletteHTTPException as exc:
        if exc.status_code == 413:
            raise
        return error_page(request, 400)
    try:
        return await run_in_threadpool(match_page, request, index, data)
    finally:
        await data.close()


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)

"""The JSON API: /api/ask (GET and POST), /api/match, /api/items[/{id}] and /healthz.

/api/ask returns the object `govbot ask --json` prints; /api/match the one `govbot match --json` prints.
Bodies are read with a cap and parsed with the failures people can cause turned into Chinese reasons.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends(...) in the routes' annotations.

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot import messages
from bot.engine import AnswerResult
from bot.matcher import MatchResult, as_json, match_data
from bot.web.deps import ViewDep, WebDep, api_user, find, state_from

MAX_JSON_BODY = 256 * 1024

router = APIRouter()


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


@router.get("/api/ask")
def api_ask(request: Request, index: ViewDep, web: WebDep, q: str = "", rid: str = "",
            intent: str = "") -> JSONResponse:
    """The same object as `govbot ask --json`; pass rid/intent (from record_ids/intent) to follow up."""
    result = web.ask(index, q.strip()[:web.max_question], state_from(index, rid, intent), api_user(request))
    return JSONResponse(result.public())


@router.post("/api/ask")
async def api_ask_post(request: Request, index: ViewDep, web: WebDep) -> JSONResponse:
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
    user = api_user(request)

    def answer() -> AnswerResult:  # the answer blocks: off the event loop
        return web.ask(index, data.get("q", "").strip()[:web.max_question],
                       state_from(index, data.get("rid", ""), data.get("intent", "")), user)

    return JSONResponse((await run_in_threadpool(answer)).public())


@router.post("/api/match")
async def api_match(request: Request, index: ViewDep) -> JSONResponse:
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
        result = await run_in_threadpool(match_data, data, index.records)  # the matching: off the event loop
    return JSONResponse(as_json(result), status_code=422 if result.profile_errors else 200)


@router.get("/api/items")
def api_items(index: ViewDep, kind: str = "") -> JSONResponse:
    rows = [{"id": r.id, "kind": r.kind, "title": r.title, "department": r.department, "stage": r.stage}
            for r in index.records.values() if not kind or r.kind == kind]
    return JSONResponse(rows)


@router.get("/api/items/{item_id}")
def api_item(item_id: str, index: ViewDep) -> JSONResponse:
    return JSONResponse(find(index, item_id).model_dump(mode="json"))


@router.get("/healthz")
def healthz(index: ViewDep) -> JSONResponse:
    count = len(index.records)
    body = {"status": "ok" if count else "no_index", "generation": index.generation_name,
            "records": count}
    # 503 until an index is served, so a load balancer does not route questions to an empty replica.
    return JSONResponse(body, status_code=200 if count else 503)

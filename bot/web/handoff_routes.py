"""转人工 on the web: the visitor's ticket page and the staff queue at /admin/handoffs.

A visitor who was refused (or told the item does not state it) presses 转人工 under the answer: the question
becomes a ticket (bot.services.handoff) and the browser goes to /handoff/<token>, a random address nobody
can guess, which shows the staff reply once there is one (the page reloads itself while it waits). Staff
answer every channel's tickets on /admin/handoffs (the admin pages' access and CSRF checks, bot/web/admin_access.py); a reply to a
Telegram or messenger ticket is delivered to its chat by that channel's delivery loop.
"""

# No `from __future__ import annotations`: FastAPI reads the Depends(...) in the routes' annotations.

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from bot.services.asking import Asker
from bot.services.handoff import Ticket
from bot.web.admin_access import (
    AdminDep,
    AdminWeb,
    MayChange,
    NoTokenInAddress,
    SignedIn,
    csrf_checked,
    read_form,
)
from bot.web.deps import visitor
from bot.web.guard import Session, same_origin

MAX_QUESTION = 1000
MAX_REPLY = 2000
TOKEN_CHARS = 64


router = APIRouter()


def ticket_values(web: AdminWeb, tickets: list[Ticket]) -> list[dict[str, Any]]:
    records = web.view().records
    return [{"t": t, "record": records.get(t.record_id),
             "channel": messages.HANDOFF_CHANNELS.get(t.channel, t.channel)} for t in tickets]


# ----- the visitor -----


@router.post("/handoff")
async def open_handoff(request: Request, web: AdminDep) -> Response:
    if not same_origin(request.headers):
        return web.error_page(request, 403)
    form = await read_form(request)
    await form.close()
    question = str(form.get("q") or "").strip()[:MAX_QUESTION]
    record_id = str(form.get("record_id") or "")
    if not question:
        return web.error_page(request, 400, messages.HANDOFF_WEB_EMPTY)
    vid, _new = visitor(request)

    def opened() -> Ticket:
        known = record_id if record_id in web.view().records else ""  # the hidden field is user input
        return web.handoffs.open(Asker("web", vid, ""), question, known)

    ticket = await run_in_threadpool(opened)
    return RedirectResponse(f"{request.scope.get('root_path', '')}/handoff/{ticket.token}", status_code=303)


@router.get("/handoff/{token}", response_class=HTMLResponse)
def ticket_page(request: Request, token: str, web: AdminDep) -> Response:
    handoffs = web.handoffs
    ticket = handoffs.by_token(token) if len(token) <= TOKEN_CHARS else None
    if ticket is None:
        raise StarletteHTTPException(404)
    if ticket.status == "replied" and ticket.delivered_at is None:
        handoffs.mark_delivered(ticket.id)  # the visitor sees it now
    record = web.view().records.get(ticket.record_id)
    return web.page(request, "handoff.html", ticket=ticket, record=record, M=messages)


# ----- staff -----


def queue_page(request: Request, web: AdminWeb, session: Session | None, status_code: int = 200,
               **values: Any) -> Response:
    handoffs = web.handoffs
    return web.page(request, "admin_handoffs.html", status_code=status_code, csrf=session.csrf if session else "",
                    open=ticket_values(web, handoffs.list_open()), recent=ticket_values(web, handoffs.recent()),
                    M=messages, **values)


@router.get("/admin/handoffs", response_class=HTMLResponse)
def admin_handoffs(request: Request, web: AdminDep, _: NoTokenInAddress, session: SignedIn) -> Response:
    return queue_page(request, web, session)


@router.post("/admin/handoffs/{ticket_id}/reply", response_class=HTMLResponse)
async def admin_reply(request: Request, ticket_id: int, web: AdminDep, session: MayChange) -> Response:
    form = await read_form(request)
    await form.close()
    csrf_checked(request, session, form)
    text = str(form.get("reply") or "").strip()[:MAX_REPLY]
    if not text:
        return await run_in_threadpool(queue_page, request, web, session, 400,
                                       error=messages.HANDOFF_ADMIN_REPLY_EMPTY)
    staff = "web:admin" if session is not None else "web:token"
    ticket = await run_in_threadpool(web.handoffs.reply, ticket_id, staff, text)
    if ticket is None:
        return await run_in_threadpool(queue_page, request, web, session, 404,
                                       error=messages.HANDOFF_UNKNOWN.format(id=ticket_id))
    return await run_in_threadpool(queue_page, request, web, session,
                                   saved=messages.HANDOFF_ADMIN_SAVED.format(id=ticket_id))


@router.post("/admin/handoffs/{ticket_id}/close", response_class=HTMLResponse)
async def admin_close(request: Request, ticket_id: int, web: AdminDep, session: MayChange) -> Response:
    form = await read_form(request)
    await form.close()
    csrf_checked(request, session, form)
    if not await run_in_threadpool(web.handoffs.close, ticket_id):
        return await run_in_threadpool(queue_page, request, web, session, 404,
                                       error=messages.HANDOFF_UNKNOWN.format(id=ticket_id))
    return await run_in_threadpool(queue_page, request, web, session,
                                   saved=messages.HANDOFF_ADMIN_CLOSED.format(id=ticket_id))

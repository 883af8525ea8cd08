"""转人工 in Telegram: open a ticket, forward it to the staff chat, take staff replies, deliver them.

A user presses 转人工 under a refusal or a "not stated" answer, sends /human (optionally with the question),
or types 转人工 in a private chat: a ticket is opened (bot.services.handoff) and forwarded to the staff chat
(GOVBOT_TELEGRAM_STAFF_CHAT_ID). Staff answer by replying to the forwarded message in that chat, or with
``/reply <编号> <内容>`` there or as an admin anywhere. A reply is written to the database first; a
repeating job (PTB's JobQueue) delivers every undelivered Telegram reply, so a reply written while the bot
was down (or by the web admin page, or on another replica) still reaches the chat it came from.
The same job forwards the web page's tickets to the staff chat (when Telegram is the channel that takes
them, bot.services.handoff.web_forwarder); a staff reply to one shows on the visitor's ticket page.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import texts
from bot.services.asking import Asker
from bot.services.handoff import STAFF_REPLY, TYPED, typed_handoff, web_forwarder
from bot.telegram.deps import CHANNEL, Context, Deps, deps

if TYPE_CHECKING:
    from bot.services.handoff import Ticket

log = logging.getLogger(__name__)

BUTTON_DATA = "h:open"
HANDOFF_PATTERN = r"^h:open$"


def handoff_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(texts.HANDOFF_BUTTON, callback_data=BUTTON_DATA)


def staff_chat(d: Deps) -> int | None:
    return d.settings.govbot_telegram_staff_chat_id


def staff_ref(chat_id: int, message_id: int) -> str:
    return f"{CHANNEL}:{chat_id}:{message_id}"


def last_asked(chat_data: dict | None) -> tuple[str, str]:
    """The question and nearest item of the last answer in this chat (remembered for 👍/👎)."""
    answers = (chat_data or {}).get("answers") or {}
    for entry in reversed(list(answers.values())):
        if entry.get("q"):
            return entry["q"], entry.get("n") or entry.get("r") or ""
    return "", ""


# ----------------------------------------------------------------------------- opening a ticket


async def open_ticket(context: Context, chat: Any, user_id: int, question: str, record_id: str) -> None:
    d = deps(context)
    if not question.strip():
        await context.bot.send_message(chat.id, html.escape(texts.HANDOFF_NO_QUESTION))
        return
    group = chat.type != ChatType.PRIVATE
    ticket = await d.db(lambda: d.handoffs.open(Asker(CHANNEL, str(user_id), str(chat.id)), question, record_id,
                                                group=group))
    await context.bot.send_message(chat.id, html.escape(texts.HANDOFF_OPENED.format(id=ticket.id)))
    await forward(context.bot, d, ticket)


async def forward(bot: Any, d: Deps, ticket: Ticket) -> bool:
    """The ticket to the staff chat; without one configured it waits on the web admin page only.

    True when it was sent; the staff-chat message is remembered, so replying to it answers the ticket.
    """
    target = staff_chat(d)
    if target is None:
        log.info("handoff %s: GOVBOT_TELEGRAM_STAFF_CHAT_ID not set; on the web admin page only", ticket.id)
        return False
    record = d.engine.records.get(ticket.record_id)
    text = texts.HANDOFF_STAFF_NEW.format(
        id=ticket.id, channel=texts.HANDOFF_CHANNELS.get(ticket.channel, ticket.channel), question=ticket.question,
        record=record.title if record else texts.HANDOFF_NO_RECORD)
    try:
        sent = await bot.send_message(target, html.escape(text))
    except TelegramError as exc:  # the ticket is stored; staff still see it on the web admin page
        log.error("handoff %s not forwarded to the staff chat %s: %s", ticket.id, target, exc)
        return False
    await d.db(d.handoffs.set_staff_ref, ticket.id, staff_ref(target, sent.message_id))
    return True


async def forward_web(bot: Any, d: Deps) -> int:
    """The web page's new tickets to the staff chat, when Telegram is the channel that takes them
    (bot.services.handoff.web_forwarder); claimed first, so two replicas never forward one twice."""
    if web_forwarder(d.settings) != CHANNEL:
        return 0
    sent = 0
    for ticket in await d.db(d.handoffs.unforwarded, "web"):
        claim = f"{CHANNEL}:sending:{uuid.uuid4().hex[:8]}"
        if not await d.db(d.handoffs.claim_forward, ticket.id, claim):
            continue
        if await forward(bot, d, ticket):
            sent += 1
        else:  # the next round tries again
            await d.db(d.handoffs.release_forward, ticket.id, claim)
    return sent


async def on_button(update: Update, context: Context) -> None:
    """转人工 under an answer: the question that answer was for goes to staff."""
    query = update.callback_query
    await query.answer()
    answers = (context.chat_data or {}).get("answers") or {}
    entry = answers.get(query.message.message_id) or {}
    await open_ticket(context, query.message.chat, query.from_user.id, entry.get("q", ""),
                      entry.get("n") or entry.get("r") or "")


async def human_command(update: Update, context: Context) -> None:
    """/human [问题]: the question given, or the last one asked in this chat."""
    message = update.message
    question = re.sub(r"^/\S+\s*", "", message.text or "", count=1).strip()
    record_id = ""
    if not question:
        question, record_id = last_asked(context.chat_data)
    await open_ticket(context, message.chat, message.from_user.id, question, record_id)


async def typed(update: Update, context: Context) -> None:
    """转人工 typed in a private chat."""
    message = update.message
    question, record_id = typed_handoff(message.text or "") or "", ""
    if not question:
        question, record_id = last_asked(context.chat_data)
    await open_ticket(context, message.chat, message.from_user.id, question, record_id)


# ----------------------------------------------------------------------------- staff replies


def _is_staff(d: Deps, update: Update) -> bool:
    chat, user = update.effective_chat, update.effective_user
    return (chat is not None and chat.id == staff_chat(d)) or (user is not None and user.id in d.admin_ids)


async def _save_reply(update: Update, context: Context, ticket_id: int, text: str) -> None:
    d = deps(context)
    staff = update.effective_user
    ticket = await d.db(d.handoffs.reply, ticket_id, f"{CHANNEL}:{staff.id if staff else ''}", text)
    message = update.effective_message
    if ticket is None:
        await message.reply_text(html.escape(texts.HANDOFF_UNKNOWN.format(id=ticket_id)))
        return
    await message.reply_text(html.escape(texts.HANDOFF_REPLY_SAVED.format(id=ticket_id)))
    if ticket.channel == CHANNEL:
        await deliver(context.bot, d)  # now rather than at the next round of the job


async def reply_command(update: Update, context: Context) -> None:
    """/reply <编号> <内容>: in the staff chat, or by an admin anywhere."""
    d = deps(context)
    message = update.effective_message
    if not _is_staff(d, update):
        log.warning("refused /reply for user %s in chat %s", update.effective_user.id, message.chat_id)
        await message.reply_text(html.escape(texts.HANDOFF_NOT_STAFF))
        return
    match = STAFF_REPLY.match(message.text or "")
    if match is None:
        await message.reply_text(html.escape(texts.HANDOFF_REPLY_USAGE))
        return
    await _save_reply(update, context, int(match.group(1)), match.group(2))


async def staff_reply(update: Update, context: Context) -> None:
    """A reply, in the staff chat, to a forwarded ticket; any other message there is an ordinary one."""
    from bot.telegram.ask import group_text, private_text  # late: ask imports this module for its keyboard

    d = deps(context)
    message = update.message
    ticket = await d.db(d.handoffs.by_staff_ref, staff_ref(message.chat_id, message.reply_to_message.message_id))
    if ticket is not None:
        await _save_reply(update, context, ticket.id, message.text or "")
        return
    await (private_text if message.chat.type == ChatType.PRIVATE else group_text)(update, context)


# ----------------------------------------------------------------------------- delivery


async def deliver(bot: Any, d: Deps) -> int:
    """Send every undelivered Telegram reply once; returns how many were sent."""
    sent = 0
    for ticket in await d.db(d.handoffs.undelivered, CHANNEL):
        if not await d.db(d.handoffs.claim_delivery, ticket):
            continue  # another replica (or a moment ago, this one) has it
        try:
            await bot.send_message(int(ticket.chat_id), html.escape(texts.HANDOFF_REPLY.format(
                id=ticket.id, reply=ticket.reply)))
        except (Forbidden, BadRequest) as exc:  # blocked the bot, chat gone: sending again cannot help
            log.error("handoff %s: reply cannot be delivered to chat %s: %s", ticket.id, ticket.chat_id, exc)
            continue
        except (TelegramError, ValueError) as exc:  # network trouble: the next round tries again
            log.warning("handoff %s: reply not delivered yet (%s)", ticket.id, exc)
            await d.db(d.handoffs.release_delivery, ticket)
            continue
        sent += 1
        log.info("handoff %s: reply delivered to chat %s", ticket.id, ticket.chat_id)
    return sent


async def delivery_job(context: Context) -> None:
    try:
        await forward_web(context.bot, deps(context))
        await deliver(context.bot, deps(context))
    except Exception:  # a database outage must not stop the job: it runs again at the next interval
        log.exception("handoff delivery round failed")


def schedule_delivery(application: Application, interval: float) -> None:
    if application.job_queue is None:  # python-telegram-bot without its job-queue extra
        log.error("handoff replies cannot be delivered: install python-telegram-bot[job-queue]")
        return
    application.job_queue.run_repeating(delivery_job, interval=interval, first=0.2, name="handoff-delivery")


def handoff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """Registered before the question handlers: 转人工 typed in a chat is not a question to look up."""
    new_text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    handlers: list[BaseHandler] = [
        CommandHandler("human", human_command),
        CommandHandler("reply", reply_command),
        MessageHandler(new_text & filters.ChatType.PRIVATE & filters.Regex(TYPED), typed),
        CallbackQueryHandler(on_button, pattern=HANDOFF_PATTERN),
    ]
    if staff_chat_id is not None:
        handlers.insert(0, MessageHandler(new_text & filters.Chat(staff_chat_id) & filters.REPLY, staff_reply))
    return handlers

"""Asking: questions in private chats, in groups and by /ask, the flood guard, and the answer keyboard."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import math
import re
import time
from collections import OrderedDict, deque
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.answer import AnswerResult
from bot.intent import INTENTS, Intent, as_intent
from bot.privacy import mask_pii
from bot.services.asking import Asker
from bot.telegram.deps import CHANNEL, Context, Deps, data, deps
from bot.telegram.render import render_answer, short

log = logging.getLogger(__name__)

ANSWERS_KEPT = 50  # answers per chat remembered for 👍/👎 (question text and record)


# ----------------------------------------------------------------------------- who is talking to us


def group_question(message: Message, bot: Any) -> str | None:
    """In a group, the question when the bot is mentioned or replied to; None otherwise."""
    text = message.text or ""
    username = (bot.username or "").lower()
    mentioned = any(
        (entity.type == MessageEntity.MENTION and value[1:].lower() == username)
        or (entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot.id)
        for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items())
    reply = message.reply_to_message
    replied = bool(reply and reply.from_user and reply.from_user.id == bot.id)
    if not (mentioned or replied):
        return None
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return text.strip()


def _counts_for_flood(update: Update, bot: Any) -> bool:
    """Only what the bot acts on counts: group chatter that does not address it is not a flood."""
    message = update.message
    if update.callback_query is not None:
        # Answering /match by buttons (跳过, ticking 资质) is cheap and naturally quick: not a flood.
        return not (update.callback_query.data or "").startswith("mt:")
    if message is None or not message.text:
        return False
    if message.chat.type == ChatType.PRIVATE or message.text.startswith("/"):
        return True
    return group_question(message, bot) is not None


async def flood_guard(update: Update, context: Context) -> None:
    """More than ``flood_max`` updates in ``flood_window`` seconds: one polite note, then silence."""
    d = deps(context)
    user = update.effective_user
    if user is None or not _counts_for_flood(update, context.bot):
        return
    now = time.monotonic()
    hits = d.hits.setdefault(user.id, deque())
    while hits and now - hits[0] > d.flood_window:
        hits.popleft()
    hits.append(now)
    if len(hits) <= d.flood_max:
        return
    if len(d.hits) > 10_000:  # forget users who went quiet
        for uid in [u for u, h in d.hits.items() if not h or now - h[-1] > d.flood_window]:
            d.hits.pop(uid, None)
            d.warned_until.pop(uid, None)
    query = update.callback_query
    if d.warned_until.get(user.id, 0.0) <= now:
        d.warned_until[user.id] = now + d.flood_window
        seconds = max(1, math.ceil(hits[0] + d.flood_window - now))
        note = texts.FLOOD.format(seconds=seconds)
        if query is not None:
            await query.answer(note, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(html.escape(note))
    elif query is not None:
        await query.answer()  # never leave a spinner, even when ignoring the press
    log.info("flood limit: user %s ignored", user.id)
    raise ApplicationHandlerStop


# ----------------------------------------------------------------------------- answering


def _state_key(chat_type: str, user_id: int | None) -> str:
    # In a group each member has their own thread of follow-ups.
    return "state" if chat_type == ChatType.PRIVATE else f"state:{user_id}"


async def _typing(bot: Any, chat_id: int) -> None:
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as exc:  # cosmetic: never let it cost the answer
        log.debug("typing action failed: %s", exc)


async def answer(context: Context, chat_id: int, chat_type: str, user_id: int | None, question: str, *,
                 reply_to: int | None = None, section: tuple[str, str] | None = None,
                 logged_as: str | None = None) -> Message:
    """Ask the engine (or show ``section``: a record id and an intent) and send the rendered answer;
    the chat's state moves on to the new item.

    No lock here: SharedStateProcessor runs one chat's (and one user's) updates in order, so a follow-up
    sees the state its predecessor left.
    """
    d = deps(context)
    chat_data = context.chat_data if context.chat_data is not None else {}
    key = _state_key(chat_type, user_id)
    typing = asyncio.create_task(_typing(context.bot, chat_id))
    try:
        if section is None:
            result = await d.run(d.asking.ask, question, chat_data.get(key))
        else:
            result = await d.run(d.asking.section, *section)
    finally:
        await typing  # the typing action must not land after the answer
    if result is None:  # the item went away with a re-ingest since the button was made
        return await context.bot.send_message(chat_id, texts.ITEM_GONE)
    chat_data[key] = result.state
    record_id = result.record_ids[0] if result.record_ids else ""
    asked = logged_as or question
    logged = None
    if asked.strip():
        logged = asyncio.ensure_future(d.db(d.asking.record, Asker(CHANNEL, str(user_id or ""), str(chat_id)),
                                            asked, result))
    try:
        sent = await send(context.bot, chat_id, render_answer(result.blocks), answer_keyboard(d, result), reply_to)
    finally:
        if logged is not None:
            try:
                await logged
            except Exception:  # a lost log line must not lose the answer
                log.exception("could not log question")
    _remember(chat_data, sent.message_id, asked, record_id, str(result.intent))
    return sent


async def send(bot: Any, chat_id: int, chunks: list[str], markup: InlineKeyboardMarkup | None,
               reply_to: int | None) -> Message:
    """Send the chunks in order; the keyboard goes on the last one, the reply on the first."""
    sent = None
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent = await bot.send_message(
            chat_id, chunk, reply_markup=markup if last else None,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None and i == 0 else None)
    assert sent is not None
    return sent


def _remember(chat_data: dict, message_id: int, question: str, record_id: str, intent: str = "other") -> None:
    answers: OrderedDict = chat_data.setdefault("answers", OrderedDict())
    answers[message_id] = {"q": mask_pii(question), "r": record_id, "i": intent, "voters": []}  # stored: masked
    while len(answers) > ANSWERS_KEPT:
        answers.popitem(last=False)


def answer_keyboard(d: Deps, result: AnswerResult) -> InlineKeyboardMarkup:
    """Other sections of the same item, related items, then 👍/👎 (from the engine's suggestions)."""
    record_id = result.record_ids[0] if result.record_ids else ""
    records = d.engine.records
    sections: list[InlineKeyboardButton] = []
    items: list[InlineKeyboardButton] = []
    for suggestion in result.follow_ups:
        target, intent = suggestion.record_id, as_intent(suggestion.intent)
        if target not in records:
            continue
        if target == record_id:
            label = INTENTS[intent].button
            if label:  # a section without a button of its own is left to the question box
                sections.append(InlineKeyboardButton(label, callback_data=data("q", d.ref(record_id), intent)))
            continue
        if intent == Intent.BUNDLE and record_id and records[target].kind == "bundle":
            label = texts.RELATED_BUNDLE.format(title=records[target].title)
        else:
            label = suggestion.text
        items.append(InlineKeyboardButton(short(label), callback_data=data("q", d.ref(target), intent)))
    rows = [sections[i: i + 3] for i in range(0, len(sections), 3)] + [[b] for b in items]
    ref = d.ref(record_id) if record_id else "-"
    rows.append([InlineKeyboardButton(texts.HELPFUL, callback_data=data("f", "+", ref)),
                 InlineKeyboardButton(texts.UNHELPFUL, callback_data=data("f", "-", ref))])
    if not result.grounded:
        rows.append([InlineKeyboardButton(texts.MENU_HUMAN, callback_data=data("m", "human"))])
    return InlineKeyboardMarkup(rows)


# ----------------------------------------------------------------------------- handlers


async def private_text(update: Update, context: Context) -> None:
    message = update.message
    await answer(context, message.chat_id, message.chat.type, message.from_user.id, message.text)


async def group_text(update: Update, context: Context) -> None:
    message = update.message
    question = group_question(message, context.bot)
    if question is None:
        return  # not addressed to us
    await answer(context, message.chat_id, message.chat.type, message.from_user.id, question,
                 reply_to=message.message_id)


async def ask_command(update: Update, context: Context) -> None:
    message = update.message
    # Keep the user's own spacing: take the text after the command instead of joining args.
    question = re.sub(r"^/\S+\s*", "", message.text or "", count=1).strip()
    if not question:
        await message.reply_text(texts.ASK_USAGE)
        return
    group = message.chat.type != ChatType.PRIVATE
    await answer(context, message.chat_id, message.chat.type, message.from_user.id, question,
                 reply_to=message.message_id if group else None)


async def on_error(update: object, context: Context) -> None:
    """Log the stack trace for us; the user only ever sees a short apology."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # already answered, or too old
            await update.callback_query.answer()
    chat = update.effective_chat
    if chat is not None:
        try:
            await context.bot.send_message(chat.id, html.escape(texts.ERROR))
        except TelegramError as exc:
            log.error("could not send the error notice: %s", exc)

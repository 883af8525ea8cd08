"""Browsing: /start, /help, the menu, item lists, section buttons and 👍/👎."""

from __future__ import annotations

import html
import logging
import math
from collections import OrderedDict

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot import texts
from bot.intent import FIRST_INTENT, INTENTS, as_intent
from bot.services.asking import Asker
from bot.telegram.ask import answer
from bot.telegram.deps import CHANNEL, Context, Deps, data, deps
from bot.telegram.handoff import last_asked, open_ticket
from bot.telegram.render import short

log = logging.getLogger(__name__)

PAGE_SIZE = 8
# Patterns of the callback data this module answers (see bot.telegram.deps for why strings).
MENU_PATTERN = r"^m:"
LIST_PATTERN = r"^l:(guide|bundle|policy|document):\d+$"
SECTION_PATTERN = r"^q:[^:]+:[a-z]+$"
VOTE_PATTERN = r"^f:[+-]:[^:]+$"
TAG_PATTERN = r"^ft:\d+:[a-z_]+$"  # a 👎 reason tag: ft:<unanswered entry id>:<tag key>


def menu_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(texts.MENU_GUIDES, callback_data="m:guide"),
         InlineKeyboardButton(texts.MENU_BUNDLES, callback_data="m:bundle")],
        [InlineKeyboardButton(texts.MENU_POLICIES, callback_data="m:policy"),
         InlineKeyboardButton(texts.MENU_HUMAN, callback_data="m:human")],
        [InlineKeyboardButton(texts.MENU_MATCH, callback_data="m:match")],
    ])


def list_page(d: Deps, kind: str, page: int, user_id: str = "") -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the items of ``kind``, each a button showing its first section.

    Blocking (an item holding a listed sensitive word is logged, and left out with the polite notice):
    handlers run it through ``d.db``.
    """
    kind_items = [r for r in d.engine.records.values() if r.kind == kind]
    items = sorted((r for r in kind_items if not d.asking.sensitive.record_hit(r, CHANNEL, user_id)),
                   key=lambda r: (r.stage, r.title))
    withheld = "\n\n" + texts.SENSITIVE_REPLY if len(items) < len(kind_items) else ""
    if not items:
        return (texts.SENSITIVE_REPLY if withheld else texts.LIST_EMPTY), None
    pages = math.ceil(len(items) / PAGE_SIZE)
    page = min(max(page, 1), pages)
    rows = [[InlineKeyboardButton(short(r.title), callback_data=data("q", d.ref(r.id), FIRST_INTENT[kind]))]
            for r in items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    nav = []
    if page > 1:
        nav.append(InlineKeyboardButton(texts.PREV_PAGE, callback_data=data("l", kind, str(page - 1))))
    if page < pages:
        nav.append(InlineKeyboardButton(texts.NEXT_PAGE, callback_data=data("l", kind, str(page + 1))))
    if nav:
        rows.append(nav)
    text = texts.LIST_TITLES[kind]
    if pages > 1:
        text += "\n" + texts.LIST_PAGE.format(page=page, pages=pages)
    return text + withheld, InlineKeyboardMarkup(rows)


# ----------------------------------------------------------------------------- commands


async def start(update: Update, context: Context) -> None:
    user = update.effective_user
    name = f"，{html.escape(user.first_name)}" if user and user.first_name else ""
    await update.effective_message.reply_text(texts.START.format(name=name), reply_markup=menu_keyboard())


async def help_command(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(texts.HELP, reply_markup=menu_keyboard())


async def unknown(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(texts.UNKNOWN_COMMAND + "\n\n" + texts.HELP)


async def not_text(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(texts.TEXT_ONLY)


async def _list(update: Update, context: Context, kind: str) -> None:
    d = deps(context)
    user = update.effective_user
    text, markup = await d.db(list_page, d, kind, 1, str(user.id) if user else "")
    await update.effective_message.reply_text(text, reply_markup=markup)


async def bundles(update: Update, context: Context) -> None:
    await _list(update, context, "bundle")


async def policies(update: Update, context: Context) -> None:
    await _list(update, context, "policy")


# ----------------------------------------------------------------------------- buttons


async def on_menu(update: Update, context: Context) -> None:
    query = update.callback_query
    await query.answer()
    choice = query.data.split(":", 1)[1]
    if choice == "human":  # 人工咨询: the last question asked here goes to staff, or the user is asked for one
        question, record_id = last_asked(context.chat_data)
        await open_ticket(context, query.message.chat, query.from_user.id, question, record_id)
        return
    d = deps(context)
    text, markup = await d.db(list_page, d, choice, 1, str(query.from_user.id))
    await context.bot.send_message(query.message.chat.id, text, reply_markup=markup)


async def on_list_page(update: Update, context: Context) -> None:
    query = update.callback_query
    await query.answer()
    _, kind, page = query.data.split(":")
    d = deps(context)
    text, markup = await d.db(list_page, d, kind, int(page), str(query.from_user.id))
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # "message is not modified" on a double press
        log.debug("list page not edited: %s", exc)


async def on_section(update: Update, context: Context) -> None:
    d = deps(context)
    query = update.callback_query
    _, ref, intent = query.data.split(":")
    record_id = d.resolve(ref)
    if record_id is None or intent not in INTENTS or not INTENTS[as_intent(intent)].prompt:
        await query.answer(texts.ITEM_GONE, show_alert=True)
        return
    await query.answer()
    record = d.engine.records[record_id]
    label = INTENTS[as_intent(intent)].button or intent
    chat = query.message.chat
    # The engine is asked for this section of this item directly: no question to interpret.
    await answer(context, chat.id, chat.type, query.from_user.id, "", section=(record_id, intent),
                 logged_as=texts.SECTION_QUESTION.format(title=record.title, question=label))


async def on_vote(update: Update, context: Context) -> None:
    d = deps(context)
    query = update.callback_query
    _, sign, ref = query.data.split(":")
    vote = 1 if sign == "+" else -1
    message = query.message
    answers = context.chat_data.setdefault("answers", OrderedDict())
    entry = answers.get(message.message_id)
    if entry is None:  # older than what we remember: the button still carries the record
        entry = answers[message.message_id] = {"q": "", "r": d.resolve(ref) or "", "voters": []}
    if query.from_user.id in entry["voters"]:
        await query.answer(texts.ALREADY_VOTED)
        return
    entry["voters"].append(query.from_user.id)
    asker = Asker(CHANNEL, str(query.from_user.id), str(message.chat.id))
    queued = await d.db(d.asking.vote, asker, entry["q"], entry["r"], vote, "", "", entry.get("i", "other"))
    await query.answer(texts.THANKS)
    if queued is not None:  # 👎: the reason tags, under a short thanks (a tag is optional)
        await context.bot.send_message(message.chat.id, texts.DOWNVOTE_ASK_TAG, reply_markup=tag_keyboard(queued))
    if message.chat.type == ChatType.PRIVATE and message.reply_markup:
        # Drop the 👍/👎 row so the chat shows the vote was taken; keep the section buttons.
        rows = [row for row in message.reply_markup.inline_keyboard
                if not any((b.callback_data or "").startswith("f:") for b in row)]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
        except BadRequest as exc:
            log.debug("feedback row not removed: %s", exc)


def tag_keyboard(entry_id: int) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(label, callback_data=data("ft", str(entry_id), key))
               for key, label in texts.DOWNVOTE_TAGS.items()]
    return InlineKeyboardMarkup([buttons[i: i + 3] for i in range(0, len(buttons), 3)])


async def on_tag(update: Update, context: Context) -> None:
    """A 👎 reason tag: updates the voter's queue entry and replaces the buttons with what was recorded."""
    d = deps(context)
    query = update.callback_query
    _, entry_id, key = query.data.split(":")
    label = texts.DOWNVOTE_TAGS.get(key)
    asker = Asker(CHANNEL, str(query.from_user.id), str(query.message.chat.id))
    if label is None or not await d.db(d.asking.tag, asker, int(entry_id), key):
        await query.answer(texts.DOWNVOTE_TAG_NOT_YOURS if label else texts.ITEM_GONE, show_alert=True)
        return
    await query.answer()
    try:
        await query.edit_message_text(texts.DOWNVOTE_TAG_THANKS.format(tag=label))
    except BadRequest as exc:  # "message is not modified" when the same tag is pressed twice
        log.debug("tag message not edited: %s", exc)


async def on_stale_button(update: Update, context: Context) -> None:
    # Buttons from an older version of the bot: answer anyway so no spinner is left.
    await update.callback_query.answer(texts.ITEM_GONE, show_alert=True)

"""/match: a company profile asked one question at a time, answered with the policy matcher's report.

A ConversationHandler with one state (MATCH_ASKING), persistent in the database like user_data, which holds
the run: the current question, the answers so far and the 资质 ticked (user_data["match"]). One user's
updates are handled in order by SharedStateProcessor, so no lock is needed here.

The idle timeout (MATCH_IDLE) is applied when the user comes back rather than by ``conversation_timeout``:
that needs a JobQueue (APScheduler, not installed) and its job lives in one replica's memory, unpersisted,
so it would end a conversation that had meanwhile continued on another replica.
"""

from __future__ import annotations

import html
import logging
import time
import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.matcher import TAXPAYER_CHOICES, cert_choices, known_certs, known_industries, match_data
from bot.telegram.ask import private_text, send
from bot.telegram.browse import not_text
from bot.telegram.deps import Context, data, deps
from bot.telegram.profile import MATCH_FIELDS, check_answer, clean_answer, render_match
from bot.telegram.render import render_answer, short

log = logging.getLogger(__name__)

MATCH_ASKING = 1  # the ConversationHandler's only state; which question is current lives in user_data
MATCH_IDLE = 30 * 60.0  # seconds without an answer after which /match is abandoned
INDUSTRY_BUTTONS = 12
RESULT_BUTTONS = 8


# ----------------------------------------------------------------------------- the run in user_data


def _session(context: Context) -> dict[str, Any] | None:
    """The user's /match in progress; None when there is none or it was abandoned (MATCH_IDLE)."""
    user_data = context.user_data if context.user_data is not None else {}
    session = user_data.get("match")
    if session is not None and time.time() - session["at"] > MATCH_IDLE:
        # Timed out when the user comes back: what they send now is a new question, not a late answer.
        user_data.pop("match", None)
        return None
    return session


def _match_keyboard(session: dict[str, Any], field: str) -> InlineKeyboardMarkup:
    def button(label: str, choice: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=data("mt", field, choice))

    choices: list[InlineKeyboardButton] = []
    per_row = 3
    if field == "in_zone":
        choices = [button(texts.MATCH_YES, "1"), button(texts.MATCH_NO, "0")]
    elif field == "industry":
        choices = [button(short(name, 12), f"i{i}") for i, name in enumerate(session["industries"])]
    elif field == "taxpayer":
        choices = [button(name, f"t{i}") for i, name in enumerate(TAXPAYER_CHOICES)]
    elif field == "certifications":
        per_row = 2
        choices = [button(("✅ " if name in session["picked"] else "") + name, f"c{i}")
                   for i, name in enumerate(session["certs"])]
    rows = [choices[i: i + per_row] for i in range(0, len(choices), per_row)]
    if field == "certifications":
        rows.append([button(texts.MATCH_NONE, "none"), button(texts.MATCH_DONE, "done")])
    rows.append([button(texts.MATCH_SKIP, "skip")])
    return InlineKeyboardMarkup(rows)


def _question(session: dict[str, Any]) -> str:
    step = session["step"]
    return texts.MATCH_PROGRESS.format(n=step + 1, total=len(MATCH_FIELDS)) + texts.MATCH_QUESTIONS[MATCH_FIELDS[step]]


async def _ask_question(bot: Any, chat_id: int, session: dict[str, Any], note: str = "") -> None:
    """Send the current question with its buttons; ``note`` (HTML) goes above it."""
    text = _question(session)
    sent = await bot.send_message(chat_id, f"{note}\n\n{text}" if note else text,
                                  reply_markup=_match_keyboard(session, MATCH_FIELDS[session["step"]]))
    session["message_id"] = sent.message_id


async def _retire_question(bot: Any, chat_id: int, session: dict[str, Any], shown: str | None = None) -> None:
    """Take the buttons off the question message (old buttons must not look pressable); when it was
    answered by a button, write the answer under the question."""
    message_id = session.get("message_id")
    if message_id is None:
        return
    session["message_id"] = None
    try:
        if shown is None:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)
        else:
            text = _question(session) + "\n" + html.escape(texts.MATCH_CHOSEN.format(answer=shown))
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:  # too old to edit, or already edited: cosmetic
        log.debug("question %s not retired: %s", message_id, exc)


async def _take_answer(context: Context, chat_id: int, session: dict[str, Any], value: object,
                       shown: str | None) -> int | None:
    """Record the answer (None: skipped) and ask the next question, or the same one again with the reason.

    Returns the conversation's next state: None (stay) or END after the result was sent.
    """
    bot = context.bot
    field = MATCH_FIELDS[session["step"]]
    policies = deps(context).policies()
    accepted, problem = check_answer(field, value, session["answers"], policies)
    if problem is not None:
        await _retire_question(bot, chat_id, session)
        await _ask_question(bot, chat_id, session, note=texts.MATCH_BAD_ANSWER.format(problem=html.escape(problem)))
        return None
    note = ""
    if field == "certifications" and accepted:
        unknown = [name for name in accepted if name not in known_certs(policies)]
        if unknown:
            note = html.escape(texts.MATCH_UNKNOWN_CERTS.format(names="、".join(unknown),
                                                               known="、".join(cert_choices(policies))))
    await _retire_question(bot, chat_id, session, shown)
    session["answers"][field] = accepted
    session["step"] += 1
    session["at"] = time.time()
    if session["step"] < len(MATCH_FIELDS):
        await _ask_question(bot, chat_id, session, note)
        return None
    if note:
        await bot.send_message(chat_id, note)
    await _send_match_result(context, chat_id, session["answers"])
    return ConversationHandler.END


async def _send_match_result(context: Context, chat_id: int, answers: dict[str, Any]) -> None:
    d = deps(context)
    if context.user_data is not None:
        context.user_data.pop("match", None)
    result = match_data({k: v for k, v in answers.items() if v is not None}, d.policies())
    # The eligible and near policies as buttons: the same "q:" buttons as answers, showing 支持标准.
    rows = [[InlineKeyboardButton(short(v.title), callback_data=data("q", d.ref(v.id), "subsidy"))]
            for v in (*result.eligible, *result.near)[:RESULT_BUTTONS] if v.id in d.engine.records]
    report = render_match(answers, result, with_buttons=bool(rows))
    rows.append([InlineKeyboardButton(texts.MATCH_AGAIN, callback_data="m:match")])
    await send(context.bot, chat_id, render_answer(report), InlineKeyboardMarkup(rows), None)


def _button_value(session: dict[str, Any], field: str, choice: str) -> tuple[object, str] | None:
    """(value, what to show as chosen) for an answer button; None for data this session does not know."""
    if choice == "skip":
        return None, texts.MATCH_SKIPPED
    index = int(choice[1:]) if choice[1:].isdigit() else -1
    if field == "in_zone" and choice in ("1", "0"):
        shown = texts.MATCH_YES if choice == "1" else texts.MATCH_NO
        return shown, shown
    if field == "industry" and choice.startswith("i") and 0 <= index < len(session["industries"]):
        return session["industries"][index], session["industries"][index]
    if field == "taxpayer" and choice.startswith("t") and 0 <= index < len(TAXPAYER_CHOICES):
        return TAXPAYER_CHOICES[index], TAXPAYER_CHOICES[index]
    if field == "certifications" and choice == "none":
        return [], texts.MATCH_NONE
    if field == "certifications" and choice == "done":
        return list(session["picked"]), "、".join(session["picked"])
    return None


def _toggle_cert(session: dict[str, Any], choice: str) -> None:
    index = int(choice[1:])
    if index < len(session["certs"]):
        name = session["certs"][index]
        picked = session["picked"]
        if name in picked:
            picked.remove(name)
        else:
            picked.append(name)
        picked.sort(key=session["certs"].index)
        session["at"] = time.time()


# ----------------------------------------------------------------------------- handlers


async def match_start(update: Update, context: Context) -> int:
    """/match, the menu button or the /start match deep link: the first question."""
    query = update.callback_query
    if query is not None:
        await query.answer()
    chat = update.effective_chat
    if chat.type != ChatType.PRIVATE:  # the menu button pressed in a group
        await match_in_group(update, context)
        return ConversationHandler.END
    policies = deps(context).policies()
    if not policies:
        await context.bot.send_message(chat.id, texts.MATCH_NO_POLICIES)
        return ConversationHandler.END
    previous = _session(context)
    if previous is not None:  # /match again: start over
        await _retire_question(context.bot, chat.id, previous)
    session: dict[str, Any] = {
        "step": 0, "answers": {}, "at": time.time(), "message_id": None, "picked": [],
        # Fixed for this run so a button's index still means the same name after a /reload.
        "industries": known_industries(policies)[:INDUSTRY_BUTTONS], "certs": cert_choices(policies)}
    context.user_data["match"] = session
    await _ask_question(context.bot, chat.id, session, note=texts.MATCH_INTRO.format(count=len(MATCH_FIELDS)))
    return MATCH_ASKING


async def match_text(update: Update, context: Context) -> int | None:
    message = update.message
    session = _session(context)
    if session is None:  # abandoned, or finished while this message waited: an ordinary question
        await private_text(update, context)
        return ConversationHandler.END
    text = message.text.strip()
    if text in texts.MATCH_CANCEL_WORDS:
        return await match_cancel(update, context)
    field = MATCH_FIELDS[session["step"]]
    if text.lower() in texts.MATCH_SKIP_WORDS:
        value: object = None
    elif field == "certifications" and text in texts.MATCH_NONE_WORDS:
        value = []
    else:
        value = clean_answer(field, text)
        if field == "in_zone" and value not in (texts.MATCH_YES, texts.MATCH_NO):
            # The matcher would ask for true/false, which is JSON talk.
            await _retire_question(context.bot, message.chat_id, session)
            await _ask_question(context.bot, message.chat_id, session,
                                note=texts.MATCH_BAD_ANSWER.format(problem=texts.MATCH_BAD_YES_NO))
            return None
    return await _take_answer(context, message.chat_id, session, value, None)


async def match_button(update: Update, context: Context) -> int | None:
    query = update.callback_query
    _, field, choice = query.data.split(":", 2)
    session = _session(context)
    if session is None:
        await query.answer(texts.MATCH_OVER, show_alert=True)
        return ConversationHandler.END
    if field != MATCH_FIELDS[session["step"]]:  # a button of an earlier question
        await query.answer(texts.MATCH_ANSWERED)
        return None
    if field == "certifications" and choice.startswith("c") and choice[1:].isdigit():
        _toggle_cert(session, choice)
        await query.answer()
        try:
            await query.edit_message_reply_markup(_match_keyboard(session, field))
        except BadRequest as exc:  # "message is not modified" on a double press
            log.debug("certification buttons not updated: %s", exc)
        return None
    if field == "certifications" and choice == "done" and not session["picked"]:
        await query.answer(texts.MATCH_PICK_FIRST, show_alert=True)
        return None
    taken = _button_value(session, field, choice)
    if taken is None:
        await query.answer(texts.MATCH_ANSWERED)
        return None
    await query.answer()
    return await _take_answer(context, query.message.chat.id, session, *taken)


async def match_cancel(update: Update, context: Context) -> int:
    session = context.user_data.pop("match", None) if context.user_data is not None else None
    chat_id = update.effective_chat.id
    if session is not None:
        await _retire_question(context.bot, chat_id, session)
    await context.bot.send_message(chat_id, texts.MATCH_CANCELLED)
    return ConversationHandler.END


async def match_not_text(update: Update, context: Context) -> int | None:
    if _session(context) is None:
        await not_text(update, context)
        return ConversationHandler.END
    await update.effective_message.reply_text(texts.MATCH_TEXT_ONLY)
    return None


async def match_in_group(update: Update, context: Context) -> None:
    # A company profile is not for a group's eyes, and in a group the bot only sees messages that
    # address it: the questions are asked in a private chat, reached by a deep link.
    link = f"https://t.me/{context.bot.username}?start=match"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(texts.MATCH_PRIVATE_BUTTON, url=link)]])
    message = update.message
    await context.bot.send_message(
        update.effective_chat.id, texts.MATCH_PRIVATE_ONLY, reply_markup=markup,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True)
        if message is not None else None)


async def cancel_idle(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(texts.MATCH_NOTHING_TO_CANCEL)


async def on_match_over(update: Update, context: Context) -> None:
    # A /match button after the conversation ended (finished, cancelled, timed out or restarted bot).
    await update.callback_query.answer(texts.MATCH_OVER, show_alert=True)


def match_conversation(new_text: filters.BaseFilter) -> ConversationHandler:
    """/match as a ConversationHandler: entered by /match, the 政策匹配 menu button or the
    ``/start match`` deep link (private chats only), left by answering the last question or /cancel."""
    private = filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # PTB warns that CallbackQueryHandlers are not tracked per message with per_message=False. That is
        # intended: the answer buttons belong to the user's one conversation, and a button of an earlier
        # question is recognised by the field in its data.
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("match", match_start, filters=private),
                CommandHandler("start", match_start, filters=private & filters.Regex(r"^/start\S*\s+match$")),
                CallbackQueryHandler(match_start, pattern=r"^m:match$"),
            ],
            states={MATCH_ASKING: [
                MessageHandler(new_text, match_text),
                CallbackQueryHandler(match_button, pattern=r"^mt:[a-z_]+:[a-z0-9]+$"),
                MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT, match_not_text),
            ]},
            fallbacks=[CommandHandler("cancel", match_cancel)],
            allow_reentry=True,  # /match again starts over
            # Keyed by (chat, user). Persistent like user_data, which holds the answers: the next answer may
            # reach another replica, or this one after a restart.
            per_chat=True, per_user=True, per_message=False,
            name="match", persistent=True,
        )

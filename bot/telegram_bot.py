"""Telegram channel: a python-telegram-bot adapter around the answer engine.

All Telegram-specific code sits here; the engine returns plain results and this module only
renders them (HTML, buttons, message splitting) and keeps the per-chat conversation state.
Every sentence users see lives in ``bot.texts``. ``/match`` asks for a company profile one question
at a time and answers with the policy matcher's report (``bot.matcher`` validates and matches).

Entry points: ``run_telegram()`` (long polling, or a webhook with ``webhook_url``) and
``build_application()`` (all wiring in one place; tests drive it against a fake Bot API).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import logging
import math
import re
import sys
import time
import warnings
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.answer import AnswerResult, Block, BlockKind
from bot.intent import FIRST_INTENT, INTENTS, Intent, as_intent
from bot.matcher import (
    NUMBER_UNITS,
    PLAIN_LABELS,
    TAXPAYER_CHOICES,
    MatchResult,
    canonical_industry,
    cert_choices,
    known_certs,
    known_industries,
    match_data,
    parse_profile,
    plain_labels,
    render_text,
    typed_value,
)
from bot.telegram_state import DatabasePersistence, SharedStateProcessor

if TYPE_CHECKING:  # imported late below: they load the index libraries, and token errors come first
    from bot.services.admin import AdminService
    from bot.services.container import Services
    from bot.services.state import ConversationStore

log = logging.getLogger(__name__)

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE

CHANNEL = "telegram"
TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
MAX_CALLBACK_BYTES = 64
PAGE_SIZE = 8
ANSWERS_KEPT = 50  # answers per chat remembered for 👍/👎 (question text and record)
FLOOD_MAX, FLOOD_WINDOW = 8, 10.0

MENU_KINDS = {"guide": texts.MENU_GUIDES, "bundle": texts.MENU_BUNDLES, "policy": texts.MENU_POLICIES}


# ----------------------------------------------------------------------------- configuration


def token_problem(token: str | None) -> str | None:
    """A Chinese explanation of what is wrong with the token, or None when it looks right."""
    if not token or not token.strip():
        return texts.TOKEN_MISSING
    if not TOKEN_RE.match(token.strip()):
        return texts.TOKEN_MALFORMED
    return None


def parse_admin_ids(raw: str | None) -> frozenset[int]:
    """TELEGRAM_ADMIN_IDS: comma-separated numeric user ids; anything else is ignored with a warning."""
    ids: set[int] = set()
    for part in re.split(r"[,，\s]+", raw or ""):
        if not part:
            continue
        if re.fullmatch(r"-?\d+", part):
            ids.add(int(part))
        else:
            log.warning("%s", texts.ADMIN_IDS_MALFORMED.format(value=part))
    return frozenset(ids)


def webhook_options(webhook_url: str, listen: str = "0.0.0.0", port: int = 8443,
                    secret: str | None = None) -> dict[str, Any]:
    """Keyword arguments for run_webhook/start_webhook; the local path mirrors the public URL's path."""
    parsed = urlparse(webhook_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(texts.WEBHOOK_URL_MALFORMED)
    if secret is not None and not SECRET_RE.match(secret):
        raise ValueError(texts.SECRET_MALFORMED)
    return {"listen": listen, "port": port, "url_path": parsed.path.lstrip("/"), "webhook_url": webhook_url,
            "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}


# ----------------------------------------------------------------------------- rendering


def _utf16_len(text: str) -> int:
    # Telegram measures message length in UTF-16 code units (an emoji counts twice).
    return len(text.encode("utf-16-le")) // 2


def _looks_like_heading(line: str) -> bool:
    """A whole-line heading in a plain-text report (/match): 【您提供的企业信息】, 《标题》."""
    stripped = line.strip()
    return (stripped.startswith("【") and stripped.endswith("】")) or (
        stripped.startswith("《") and stripped.endswith("》") and "》" not in stripped[:-1])


def _block_lines(blocks: list[Block]) -> list[tuple[str, bool]]:
    """An answer's lines, each with whether it is bold: the item's title and the section headings."""
    out: list[tuple[str, bool]] = []
    for b in blocks:
        for i, text in enumerate(b.text_lines()):
            bold = b.kind == BlockKind.TITLE or (i == 0 and bool(b.heading) and not b.inline)
            out += [(line, bold) for line in text.split("\n")]
    return out


def _cut_line(line: str, limit: int) -> list[str]:
    """Pieces of one overlong raw line, each at most ``limit`` UTF-16 units (cut between characters)."""
    pieces, current, size = [], [], 0
    for char in line:
        width = _utf16_len(char)
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def render_answer(answer: str | list[Block], limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """An answer's blocks, or a plain-text report (/match), as HTML messages split on line boundaries.

    Telegram counts the limit after entity parsing, so chunks are measured on the visible text; each
    line is escaped on its own, so no tag or entity can straddle two messages.
    """
    raw = ([(line, _looks_like_heading(line)) for line in answer.split("\n")] if isinstance(answer, str)
           else _block_lines(answer))
    lines: list[tuple[str, bool]] = []
    for line, bold in raw:
        lines.extend((piece, bold) for piece in (_cut_line(line, limit) if _utf16_len(line) > limit else [line]))
    chunks: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    size = 0
    for line, bold in lines:
        width = _utf16_len(line) + (1 if current else 0)
        if current and size + width > limit:
            chunks.append(current)
            current, size = [], 0
            width = _utf16_len(line)
        current.append((line, bold))
        size += width
    if current:
        chunks.append(current)
    # Telegram rejects empty messages; a chunk of blank lines can appear at a split.
    rendered = ["\n".join(_html_line(line, bold) for line, bold in chunk) for chunk in chunks
                if "".join(line for line, _ in chunk).strip()]
    return rendered or [html.escape(texts.ERROR)]


def _html_line(line: str, bold: bool) -> str:
    escaped = html.escape(line, quote=False)
    return f"<b>{escaped}</b>" if bold else escaped


def _short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


# ----------------------------------------------------------------------------- policy matching (/match)

MATCH_FIELDS: tuple[str, ...] = tuple(texts.MATCH_QUESTIONS)  # the order the questions are asked
MATCH_ASKING = 1  # the ConversationHandler's only state; which question is current lives in user_data
MATCH_IDLE = 30 * 60.0  # seconds without an answer after which /match is abandoned
INDUSTRY_BUTTONS = 12
# Each numeric field's first unit after its value (120人, 2019年); the 万元 fields say it in the label.
MATCH_UNITS = {field: units[0] for field, units in NUMBER_UNITS.items() if units and units[0] != "万元"}
RESULT_BUTTONS = 8


def clean_answer(field: str, text: str) -> object:
    """A typed answer in the form the matcher validates (`typed_value`: numbers, units, 1.2亿 …).

    The chat adds everyday words for yes and no (在, 不在, 没有 …), which the web's radio buttons never need.
    """
    value = typed_value(field, text)
    if field == "in_zone" and isinstance(value, str):
        lowered = value.lower()
        if lowered in texts.MATCH_YES_WORDS:
            return texts.MATCH_YES
        if lowered in texts.MATCH_NO_WORDS:
            return texts.MATCH_NO
    return value


def check_answer(field: str, value: object, answers: dict[str, Any],
                 policies: list[Any]) -> tuple[Any, str | None]:
    """Validate one answer with the matcher's profile rules, alone and then with the earlier answers.

    Returns (the matcher's canonical value, None), or (None, a Chinese reason to ask again).
    """
    if value is None:
        return None, None
    alone, errors = parse_profile({field: value}, policies)
    if errors or alone is None:
        return None, plain_labels("；".join(errors))
    together, errors = parse_profile({**answers, field: getattr(alone, field)}, policies)
    if errors or together is None:  # contradicts an earlier answer, e.g. more new hires than employees
        return None, plain_labels("；".join(errors)) + "。" + texts.MATCH_CONTRADICTION_HINT
    return getattr(together, field), None


def _show_value(field: str, value: Any) -> str:
    if field == "in_zone":
        return texts.MATCH_YES if value else texts.MATCH_NO
    if field == "industry":
        canonical = canonical_industry(value)
        return value if canonical == value else f"{value}（{canonical}）"
    if field == "certifications":
        return "、".join(value) or texts.MATCH_NO_CERTS
    if field == "rd_ratio":
        return f"{value * 100:.4f}".rstrip("0").rstrip(".") + "%"
    if isinstance(value, float):
        value = f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value}{MATCH_UNITS.get(field, '')}"


def render_match(answers: dict[str, Any], result: MatchResult, *, with_buttons: bool = False) -> str:
    """The /match result as plain text: the profile as understood, then the matcher's report.

    The report is the matcher's own, in its form for people (no field keys, no record ids), since chat
    users read Chinese only.
    """
    lines = [texts.MATCH_PROFILE]
    missing = []
    for field in MATCH_FIELDS:
        value = answers.get(field)
        if value is None:
            missing.append(PLAIN_LABELS[field])
        else:
            lines.append(texts.MATCH_PROFILE_ROW.format(label=PLAIN_LABELS[field],
                                                       value=_show_value(field, value)))
    if missing:
        lines.append(texts.MATCH_PROFILE_MISSING.format(labels="、".join(missing)))
    footer = (texts.MATCH_FOOTER_BUTTONS + texts.MATCH_FOOTER) if with_buttons else texts.MATCH_FOOTER
    return "\n".join(lines) + "\n\n" + render_text(result, plain=True) + "\n\n" + footer


# ----------------------------------------------------------------------------- retries


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's flood limits, retries on 429 with retry_after) plus retries with
    backoff for 5xx answers and timeouts, which AIORateLimiter passes straight through.

    A timed-out sendMessage may have reached Telegram; retrying risks a rare duplicate, which beats a
    question left unanswered.
    """

    __slots__ = ("_backoff", "_network_retries")

    def __init__(self, *, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network_retries = network_retries
        self._backoff = backoff

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        if endpoint == "sendChatAction":
            # Cosmetic, and not a message: it does not spend the 30 messages/s budget (which would halve
            # the answers per second) and is never retried.
            return await callback(*args, **kwargs)
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise  # our request is wrong: sending it again cannot help
            except NetworkError as exc:  # 5xx, TimedOut, connection reset
                if attempt == self._network_retries:
                    raise
                delay = self._backoff * 2**attempt
                log.warning("%s failed (%s); retry %d/%d in %.1f s", endpoint, exc, attempt + 1,
                            self._network_retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


# ----------------------------------------------------------------------------- the bot


class GovBot:
    """Handlers and the little state they share (executors, flood counters, per-chat locks)."""

    def __init__(self, engine: Any, settings: Any, store_dir: Path, feedback: Any, *,
                 flood_max: int = FLOOD_MAX, flood_window: float = FLOOD_WINDOW,
                 admin: AdminService | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.store_dir = Path(store_dir)
        self.feedback = feedback
        if admin is None:
            from bot.services.admin import AdminService

            admin = AdminService(settings, self.store_dir, engine=engine, feedback=feedback)
        self.admin = admin  # /reload and /stats: the process's one admin service, one lock with the web admin
        self.admin_ids = parse_admin_ids(settings.telegram_admin_ids)
        self.flood_max, self.flood_window = flood_max, flood_window
        # The engine is CPU-bound and not documented as thread-safe: one worker keeps it serial while
        # the event loop stays free for network I/O. SQLite likes a single writer too.
        self._engine_pool = ThreadPoolExecutor(1, thread_name_prefix="govbot-engine")
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="govbot-db")
        self._hits: dict[int, deque[float]] = defaultdict(deque)
        self._warned_until: dict[int, float] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._match_locks: dict[int, asyncio.Lock] = {}

    # ----- plumbing -----
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._engine_pool, fn, *args)

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, fn, *args)

    def close(self) -> None:
        self._engine_pool.shutdown(wait=False, cancel_futures=True)
        self._db_pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _lock_in(locks: dict[int, asyncio.Lock], key: int) -> asyncio.Lock:
        lock = locks.get(key)
        if lock is None:
            if len(locks) > 10_000:
                # Safe: an unlocked lock has no waiters, and acquiring a free lock does not yield.
                for stale in [k for k, v in locks.items() if not v.locked()]:
                    del locks[stale]
            lock = locks[key] = asyncio.Lock()
        return lock

    def _chat_lock(self, chat_id: int) -> asyncio.Lock:
        # Chats are answered concurrently, but one chat's questions in order: a follow-up must see
        # the state its predecessor left.
        return self._lock_in(self._chat_locks, chat_id)

    def _match_lock(self, user_id: int) -> asyncio.Lock:
        # A separate table: a /match step may hand a message to answer(), which takes the chat lock.
        return self._lock_in(self._match_locks, user_id)

    def _ref(self, record_id: str) -> str:
        """A record id short enough for callback data (≤ 64 bytes with prefix and intent)."""
        if len(record_id.encode()) <= 40:
            return record_id
        return "#" + hashlib.sha1(record_id.encode()).hexdigest()[:12]

    def _resolve(self, ref: str) -> str | None:
        records = self.engine.records
        if not ref.startswith("#"):
            return ref if ref in records else None
        return next((rid for rid in records if self._ref(rid) == ref), None)

    @staticmethod
    def _data(*parts: str) -> str:
        data = ":".join(parts)
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data too long: {data!r}")
        return data

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    # ----- startup -----
    async def post_init(self, application: Application) -> None:
        """Register the command menu; admins also see /reload and /stats in their own chat."""
        bot = application.bot
        commands = [BotCommand(c, d) for c, d in texts.COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault())
        admin_commands = commands + [BotCommand(c, d) for c, d in texts.ADMIN_COMMANDS]
        for admin in sorted(self.admin_ids):
            try:
                await bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(admin))
            except TelegramError as exc:  # the admin has not opened a chat with the bot yet
                log.info("admin commands for %s not registered: %s", admin, exc)
        log.info("telegram bot @%s ready; %d items in the knowledge base", bot.username,
                 len(self.engine.records))

    async def post_shutdown(self, application: Application) -> None:
        self.close()

    # ----- who is talking to us -----
    def _group_question(self, message: Message, bot: Any) -> str | None:
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

    def _counts_for_flood(self, update: Update, bot: Any) -> bool:
        """Only what the bot acts on counts: group chatter that does not address it is not a flood."""
        message = update.message
        if update.callback_query is not None:
            # Answering /match by buttons (跳过, ticking 资质) is cheap and naturally quick: not a flood.
            return not (update.callback_query.data or "").startswith("mt:")
        if message is None or not message.text:
            return False
        if message.chat.type == ChatType.PRIVATE or message.text.startswith("/"):
            return True
        return self._group_question(message, bot) is not None

    async def flood_guard(self, update: Update, context: Context) -> None:
        """More than ``flood_max`` updates in ``flood_window`` seconds: one polite note, then silence."""
        user = update.effective_user
        if user is None or not self._counts_for_flood(update, context.bot):
            return
        now = time.monotonic()
        hits = self._hits[user.id]
        while hits and now - hits[0] > self.flood_window:
            hits.popleft()
        hits.append(now)
        if len(hits) <= self.flood_max:
            return
        if len(self._hits) > 10_000:  # forget users who went quiet
            for uid in [u for u, h in self._hits.items() if not h or now - h[-1] > self.flood_window]:
                self._hits.pop(uid, None)
                self._warned_until.pop(uid, None)
        query = update.callback_query
        if self._warned_until.get(user.id, 0.0) <= now:
            self._warned_until[user.id] = now + self.flood_window
            seconds = max(1, math.ceil(hits[0] + self.flood_window - now))
            note = texts.FLOOD.format(seconds=seconds)
            if query is not None:
                await query.answer(note, show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(html.escape(note))
        elif query is not None:
            await query.answer()  # never leave a spinner, even when ignoring the press
        log.info("flood limit: user %s ignored", user.id)
        raise ApplicationHandlerStop

    # ----- answering -----
    def _state_key(self, chat_type: str, user_id: int | None) -> str:
        # In a group each member has their own thread of follow-ups.
        return "state" if chat_type == ChatType.PRIVATE else f"state:{user_id}"

    async def _typing(self, bot: Any, chat_id: int) -> None:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic: never let it cost the answer
            log.debug("typing action failed: %s", exc)

    async def answer(self, context: Context, chat_id: int, chat_type: str, user_id: int | None,
                     question: str, *, reply_to: int | None = None, section: tuple[str, str] | None = None,
                     logged_as: str | None = None) -> Message:
        """Ask the engine (or show ``section``: a record id and an intent) and send the rendered answer;
        the chat's state moves on to the new item."""
        chat_data = context.chat_data if context.chat_data is not None else {}
        key = self._state_key(chat_type, user_id)
        async with self._chat_lock(chat_id):
            typing = asyncio.create_task(self._typing(context.bot, chat_id))
            try:
                if section is None:
                    result = await self._run(self.engine.ask, question, chat_data.get(key))
                else:
                    result = await self._run(self.engine.answer_section, *section)
            finally:
                await typing  # the typing action must not land after the answer
            if result is None:  # the item went away with a re-ingest since the button was made
                return await context.bot.send_message(chat_id, texts.ITEM_GONE)
            chat_data[key] = result.state
            record_id = result.record_ids[0] if result.record_ids else ""
            asked = logged_as or question
            logged = None
            if asked.strip():
                logged = asyncio.ensure_future(self._db(
                    self.feedback.log_question, CHANNEL, str(user_id or ""), asked, result.intent,
                    result.grounded, record_id))
            try:
                sent = await self._send(context.bot, chat_id, render_answer(result.blocks),
                                        self._answer_keyboard(result), reply_to)
            finally:
                if logged is not None:
                    try:
                        await logged
                    except Exception:  # a lost log line must not lose the answer
                        log.exception("could not log question")
            self._remember(chat_data, sent.message_id, asked, record_id)
            return sent

    async def _send(self, bot: Any, chat_id: int, chunks: list[str], markup: InlineKeyboardMarkup | None,
                    reply_to: int | None) -> Message:
        sent = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            sent = await bot.send_message(
                chat_id, chunk, reply_markup=markup if last else None,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to is not None and i == 0 else None)
        assert sent is not None
        return sent

    @staticmethod
    def _remember(chat_data: dict, message_id: int, question: str, record_id: str) -> None:
        answers: OrderedDict = chat_data.setdefault("answers", OrderedDict())
        answers[message_id] = {"q": question, "r": record_id, "voters": []}
        while len(answers) > ANSWERS_KEPT:
            answers.popitem(last=False)

    def _answer_keyboard(self, result: AnswerResult) -> InlineKeyboardMarkup:
        """Other sections of the same item, related items, then 👍/👎 (from the engine's suggestions)."""
        record_id = result.record_ids[0] if result.record_ids else ""
        records = self.engine.records
        sections: list[InlineKeyboardButton] = []
        items: list[InlineKeyboardButton] = []
        for suggestion in result.follow_ups:
            target, intent = suggestion.record_id, as_intent(suggestion.intent)
            if target not in records:
                continue
            if target == record_id:
                label = INTENTS[intent].button
                if label:  # a section without a button of its own is left to the question box
                    sections.append(InlineKeyboardButton(
                        label, callback_data=self._data("q", self._ref(record_id), intent)))
                continue
            if intent == Intent.BUNDLE and record_id and records[target].kind == "bundle":
                label = texts.RELATED_BUNDLE.format(title=records[target].title)
            else:
                label = suggestion.text
            items.append(InlineKeyboardButton(_short(label), callback_data=self._data(
                "q", self._ref(target), intent)))
        rows = [sections[i: i + 3] for i in range(0, len(sections), 3)] + [[b] for b in items]
        ref = self._ref(record_id) if record_id else "-"
        rows.append([InlineKeyboardButton(texts.HELPFUL, callback_data=self._data("f", "+", ref)),
                     InlineKeyboardButton(texts.UNHELPFUL, callback_data=self._data("f", "-", ref))])
        if not result.grounded:
            rows.append([InlineKeyboardButton(texts.MENU_HUMAN, callback_data=self._data("m", "human"))])
        return InlineKeyboardMarkup(rows)

    # ----- commands -----
    def menu_keyboard(self) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([
            [InlineKeyboardButton(texts.MENU_GUIDES, callback_data="m:guide"),
             InlineKeyboardButton(texts.MENU_BUNDLES, callback_data="m:bundle")],
            [InlineKeyboardButton(texts.MENU_POLICIES, callback_data="m:policy"),
             InlineKeyboardButton(texts.MENU_HUMAN, callback_data="m:human")],
            [InlineKeyboardButton(texts.MENU_MATCH, callback_data="m:match")],
        ])

    async def start(self, update: Update, context: Context) -> None:
        user = update.effective_user
        name = f"，{html.escape(user.first_name)}" if user and user.first_name else ""
        await update.effective_message.reply_text(texts.START.format(name=name), reply_markup=self.menu_keyboard())

    async def help(self, update: Update, context: Context) -> None:
        await update.effective_message.reply_text(texts.HELP, reply_markup=self.menu_keyboard())

    async def unknown(self, update: Update, context: Context) -> None:
        await update.effective_message.reply_text(texts.UNKNOWN_COMMAND + "\n\n" + texts.HELP)

    async def not_text(self, update: Update, context: Context) -> None:
        await update.effective_message.reply_text(texts.TEXT_ONLY)

    async def bundles(self, update: Update, context: Context) -> None:
        text, markup = self.list_page("bundle", 1)
        await update.effective_message.reply_text(text, reply_markup=markup)

    async def policies(self, update: Update, context: Context) -> None:
        text, markup = self.list_page("policy", 1)
        await update.effective_message.reply_text(text, reply_markup=markup)

    def list_page(self, kind: str, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
        items = sorted((r for r in self.engine.records.values() if r.kind == kind), key=lambda r: (r.stage, r.title))
        if not items:
            return texts.LIST_EMPTY, None
        pages = math.ceil(len(items) / PAGE_SIZE)
        page = min(max(page, 1), pages)
        rows = [[InlineKeyboardButton(_short(r.title), callback_data=self._data(
            "q", self._ref(r.id), FIRST_INTENT[kind]))] for r in items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
        nav = []
        if page > 1:
            nav.append(InlineKeyboardButton(texts.PREV_PAGE, callback_data=self._data("l", kind, str(page - 1))))
        if page < pages:
            nav.append(InlineKeyboardButton(texts.NEXT_PAGE, callback_data=self._data("l", kind, str(page + 1))))
        if nav:
            rows.append(nav)
        text = texts.LIST_TITLES[kind]
        if pages > 1:
            text += "\n" + texts.LIST_PAGE.format(page=page, pages=pages)
        return text, InlineKeyboardMarkup(rows)

    async def private_text(self, update: Update, context: Context) -> None:
        message = update.message
        await self.answer(context, message.chat_id, message.chat.type, message.from_user.id, message.text)

    async def group_text(self, update: Update, context: Context) -> None:
        message = update.message
        question = self._group_question(message, context.bot)
        if question is None:
            return  # not addressed to us
        await self.answer(context, message.chat_id, message.chat.type, message.from_user.id, question,
                          reply_to=message.message_id)

    async def ask_command(self, update: Update, context: Context) -> None:
        message = update.message
        # Keep the user's own spacing: take the text after the command instead of joining args.
        question = re.sub(r"^/\S+\s*", "", message.text or "", count=1).strip()
        if not question:
            await message.reply_text(texts.ASK_USAGE)
            return
        group = message.chat.type != ChatType.PRIVATE
        await self.answer(context, message.chat_id, message.chat.type, message.from_user.id, question,
                          reply_to=message.message_id if group else None)

    # ----- buttons -----
    async def on_menu(self, update: Update, context: Context) -> None:
        query = update.callback_query
        await query.answer()
        choice = query.data.split(":", 1)[1]
        if choice == "human":
            await context.bot.send_message(query.message.chat.id, texts.HUMAN)
            return
        text, markup = self.list_page(choice, 1)
        await context.bot.send_message(query.message.chat.id, text, reply_markup=markup)

    async def on_list_page(self, update: Update, context: Context) -> None:
        query = update.callback_query
        await query.answer()
        _, kind, page = query.data.split(":")
        text, markup = self.list_page(kind, int(page))
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:  # "message is not modified" on a double press
            log.debug("list page not edited: %s", exc)

    async def on_section(self, update: Update, context: Context) -> None:
        query = update.callback_query
        _, ref, intent = query.data.split(":")
        record_id = self._resolve(ref)
        if record_id is None or intent not in INTENTS or not INTENTS[as_intent(intent)].prompt:
            await query.answer(texts.ITEM_GONE, show_alert=True)
            return
        await query.answer()
        record = self.engine.records[record_id]
        label = INTENTS[as_intent(intent)].button or intent
        chat = query.message.chat
        # The engine is asked for this section of this item directly: no question to interpret.
        await self.answer(context, chat.id, chat.type, query.from_user.id, "", section=(record_id, intent),
                          logged_as=texts.SECTION_QUESTION.format(title=record.title, question=label))

    async def on_vote(self, update: Update, context: Context) -> None:
        query = update.callback_query
        _, sign, ref = query.data.split(":")
        vote = 1 if sign == "+" else -1
        message = query.message
        answers = context.chat_data.setdefault("answers", OrderedDict())
        entry = answers.get(message.message_id)
        if entry is None:  # older than what we remember: the button still carries the record
            entry = answers[message.message_id] = {"q": "", "r": self._resolve(ref) or "", "voters": []}
        if query.from_user.id in entry["voters"]:
            await query.answer(texts.ALREADY_VOTED)
            return
        entry["voters"].append(query.from_user.id)
        await self._db(self.feedback.add_feedback, CHANNEL, str(query.from_user.id), vote, entry["q"], entry["r"])
        await query.answer(texts.THANKS)
        if message.chat.type == ChatType.PRIVATE and message.reply_markup:
            # Drop the 👍/👎 row so the chat shows the vote was taken; keep the section buttons.
            rows = [row for row in message.reply_markup.inline_keyboard
                    if not any((b.callback_data or "").startswith("f:") for b in row)]
            try:
                await query.edit_message_reply_markup(InlineKeyboardMarkup(rows))
            except BadRequest as exc:
                log.debug("feedback row not removed: %s", exc)

    async def on_stale_button(self, update: Update, context: Context) -> None:
        # Buttons from an older version of the bot: answer anyway so no spinner is left.
        await update.callback_query.answer(texts.ITEM_GONE, show_alert=True)

    # ----- policy matching (/match) -----
    # One ConversationHandler state (MATCH_ASKING); the current question, the answers so far and the
    # 资质 ticked are in user_data["match"], changed only under the user's match lock. With
    # concurrent_updates two quick answers would both be checked against the same ConversationHandler
    # state; the lock keeps them in order and the second is taken as the answer to the next question.

    def _policies(self) -> list[Any]:
        return [r for r in self.engine.records.values() if r.kind == "policy"]

    @staticmethod
    def _session(context: Context) -> dict[str, Any] | None:
        """The user's /match in progress; None when there is none or it was abandoned (MATCH_IDLE)."""
        user_data = context.user_data if context.user_data is not None else {}
        session = user_data.get("match")
        if session is not None and time.time() - session["at"] > MATCH_IDLE:
            # No JobQueue for conversation_timeout: the timeout is applied when the user comes back,
            # so what they send now is treated as a new question, not as a late answer.
            user_data.pop("match", None)
            return None
        return session

    def _match_keyboard(self, session: dict[str, Any], field: str) -> InlineKeyboardMarkup:
        def button(label: str, choice: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(label, callback_data=self._data("mt", field, choice))

        choices: list[InlineKeyboardButton] = []
        per_row = 3
        if field == "in_zone":
            choices = [button(texts.MATCH_YES, "1"), button(texts.MATCH_NO, "0")]
        elif field == "industry":
            choices = [button(_short(name, 12), f"i{i}") for i, name in enumerate(session["industries"])]
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

    def _question(self, session: dict[str, Any]) -> str:
        step = session["step"]
        return (texts.MATCH_PROGRESS.format(n=step + 1, total=len(MATCH_FIELDS))
                + texts.MATCH_QUESTIONS[MATCH_FIELDS[step]])

    async def _ask_question(self, bot: Any, chat_id: int, session: dict[str, Any], note: str = "") -> None:
        """Send the current question with its buttons; ``note`` (HTML) goes above it."""
        text = self._question(session)
        sent = await bot.send_message(chat_id, f"{note}\n\n{text}" if note else text,
                                      reply_markup=self._match_keyboard(session, MATCH_FIELDS[session["step"]]))
        session["message_id"] = sent.message_id

    async def _retire_question(self, bot: Any, chat_id: int, session: dict[str, Any],
                               shown: str | None = None) -> None:
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
                text = self._question(session) + "\n" + html.escape(texts.MATCH_CHOSEN.format(answer=shown))
                await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramError as exc:  # too old to edit, or already edited: cosmetic
            log.debug("question %s not retired: %s", message_id, exc)

    async def _take_answer(self, context: Context, chat_id: int, session: dict[str, Any], value: object,
                           shown: str | None) -> int | None:
        """Record the answer (None: skipped) and ask the next question, or the same one again with the reason.

        Returns the conversation's next state: None (stay) or END after the result was sent.
        """
        bot = context.bot
        field = MATCH_FIELDS[session["step"]]
        policies = self._policies()
        accepted, problem = check_answer(field, value, session["answers"], policies)
        if problem is not None:
            await self._retire_question(bot, chat_id, session)
            await self._ask_question(bot, chat_id, session,
                                     note=texts.MATCH_BAD_ANSWER.format(problem=html.escape(problem)))
            return None
        note = ""
        if field == "certifications" and accepted:
            unknown = [name for name in accepted if name not in known_certs(policies)]
            if unknown:
                note = html.escape(texts.MATCH_UNKNOWN_CERTS.format(names="、".join(unknown),
                                                                   known="、".join(cert_choices(policies))))
        await self._retire_question(bot, chat_id, session, shown)
        session["answers"][field] = accepted
        session["step"] += 1
        session["at"] = time.time()
        if session["step"] < len(MATCH_FIELDS):
            await self._ask_question(bot, chat_id, session, note)
            return None
        if note:
            await bot.send_message(chat_id, note)
        await self._send_match_result(context, chat_id, session["answers"])
        return ConversationHandler.END

    async def _send_match_result(self, context: Context, chat_id: int, answers: dict[str, Any]) -> None:
        if context.user_data is not None:
            context.user_data.pop("match", None)
        result = match_data({k: v for k, v in answers.items() if v is not None}, self._policies())
        # The eligible and near policies as buttons: the same "q:" buttons as answers, showing 支持标准.
        rows = [[InlineKeyboardButton(_short(v.title), callback_data=self._data("q", self._ref(v.id), "subsidy"))]
                for v in (*result.eligible, *result.near)[:RESULT_BUTTONS] if v.id in self.engine.records]
        report = render_match(answers, result, with_buttons=bool(rows))
        rows.append([InlineKeyboardButton(texts.MATCH_AGAIN, callback_data="m:match")])
        await self._send(context.bot, chat_id, render_answer(report), InlineKeyboardMarkup(rows), None)

    async def match_start(self, update: Update, context: Context) -> int:
        """/match, the menu button or the /start match deep link: the first question."""
        query = update.callback_query
        if query is not None:
            await query.answer()
        chat = update.effective_chat
        if chat.type != ChatType.PRIVATE:  # the menu button pressed in a group
            await self.match_in_group(update, context)
            return ConversationHandler.END
        async with self._match_lock(update.effective_user.id):
            policies = self._policies()
            if not policies:
                await context.bot.send_message(chat.id, texts.MATCH_NO_POLICIES)
                return ConversationHandler.END
            previous = self._session(context)
            if previous is not None:  # /match again: start over
                await self._retire_question(context.bot, chat.id, previous)
            session: dict[str, Any] = {
                "step": 0, "answers": {}, "at": time.time(), "message_id": None, "picked": [],
                # Fixed for this run so a button's index still means the same name after a /reload.
                "industries": known_industries(policies)[:INDUSTRY_BUTTONS], "certs": cert_choices(policies)}
            context.user_data["match"] = session
            await self._ask_question(context.bot, chat.id, session,
                                     note=texts.MATCH_INTRO.format(count=len(MATCH_FIELDS)))
        return MATCH_ASKING

    async def match_text(self, update: Update, context: Context) -> int | None:
        message = update.message
        async with self._match_lock(message.from_user.id):
            session = self._session(context)
            if session is None:  # abandoned, or finished while this message waited: an ordinary question
                await self.private_text(update, context)
                return ConversationHandler.END
            text = message.text.strip()
            if text in texts.MATCH_CANCEL_WORDS:
                return await self._cancel_match(update, context)
            field = MATCH_FIELDS[session["step"]]
            if text.lower() in texts.MATCH_SKIP_WORDS:
                value: object = None
            elif field == "certifications" and text in texts.MATCH_NONE_WORDS:
                value = []
            else:
                value = clean_answer(field, text)
                if field == "in_zone" and value not in (texts.MATCH_YES, texts.MATCH_NO):
                    # The matcher would ask for true/false, which is JSON talk.
                    await self._retire_question(context.bot, message.chat_id, session)
                    await self._ask_question(context.bot, message.chat_id, session, note=texts.MATCH_BAD_ANSWER.format(
                        problem=texts.MATCH_BAD_YES_NO))
                    return None
            return await self._take_answer(context, message.chat_id, session, value, None)

    def _button_value(self, session: dict[str, Any], field: str, choice: str) -> tuple[object, str] | None:
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

    async def match_button(self, update: Update, context: Context) -> int | None:
        query = update.callback_query
        _, field, choice = query.data.split(":", 2)
        async with self._match_lock(query.from_user.id):
            session = self._session(context)
            if session is None:
                await query.answer(texts.MATCH_OVER, show_alert=True)
                return ConversationHandler.END
            if field != MATCH_FIELDS[session["step"]]:  # a button of an earlier question
                await query.answer(texts.MATCH_ANSWERED)
                return None
            chat_id = query.message.chat.id
            if field == "certifications" and choice.startswith("c") and choice[1:].isdigit():
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
                await query.answer()
                try:
                    await query.edit_message_reply_markup(self._match_keyboard(session, field))
                except BadRequest as exc:  # "message is not modified" on a double press
                    log.debug("certification buttons not updated: %s", exc)
                return None
            if field == "certifications" and choice == "done" and not session["picked"]:
                await query.answer(texts.MATCH_PICK_FIRST, show_alert=True)
                return None
            taken = self._button_value(session, field, choice)
            if taken is None:
                await query.answer(texts.MATCH_ANSWERED)
                return None
            await query.answer()
            return await self._take_answer(context, chat_id, session, *taken)

    async def _cancel_match(self, update: Update, context: Context) -> int:
        session = context.user_data.pop("match", None) if context.user_data is not None else None
        chat_id = update.effective_chat.id
        if session is not None:
            await self._retire_question(context.bot, chat_id, session)
        await context.bot.send_message(chat_id, texts.MATCH_CANCELLED)
        return ConversationHandler.END

    async def match_cancel(self, update: Update, context: Context) -> int:
        async with self._match_lock(update.effective_user.id):
            return await self._cancel_match(update, context)

    async def match_not_text(self, update: Update, context: Context) -> int | None:
        if self._session(context) is None:
            await self.not_text(update, context)
            return ConversationHandler.END
        await update.effective_message.reply_text(texts.MATCH_TEXT_ONLY)
        return None

    async def match_in_group(self, update: Update, context: Context) -> None:
        # A company profile is not for a group's eyes, and in a group the bot only sees messages that
        # address it: the questions are asked in a private chat, reached by a deep link.
        link = f"https://t.me/{context.bot.username}?start=match"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(texts.MATCH_PRIVATE_BUTTON, url=link)]])
        message = update.message
        await context.bot.send_message(
            update.effective_chat.id, texts.MATCH_PRIVATE_ONLY, reply_markup=markup,
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True)
            if message is not None else None)

    async def cancel_idle(self, update: Update, context: Context) -> None:
        await update.effective_message.reply_text(texts.MATCH_NOTHING_TO_CANCEL)

    async def on_match_over(self, update: Update, context: Context) -> None:
        # A /match button after the conversation ended (finished, cancelled, timed out or restarted bot).
        await update.callback_query.answer(texts.MATCH_OVER, show_alert=True)

    # ----- admins -----
    async def _require_admin(self, update: Update, command: str) -> bool:
        user = update.effective_user
        if self.is_admin(user.id if user else None):
            return True
        log.warning("refused %s for user %s (@%s) in chat %s", command, user.id if user else "?",
                    user.username if user else "?", update.effective_chat.id if update.effective_chat else "?")
        await update.effective_message.reply_text(texts.NOT_ADMIN)
        return False

    async def reload(self, update: Update, context: Context) -> None:
        if not await self._require_admin(update, "/reload"):
            return
        from bot.services.admin import IngestBusy

        message = update.effective_message
        try:
            run = self.admin.begin()  # the lock first: a second admin hears "busy", not "started"
        except IngestBusy:  # a /reload or a web admin ingest of this process is running
            await message.reply_text(texts.RELOAD_BUSY)
            return
        with run:
            knowledge_dir = Path(self.settings.govbot_knowledge_dir)
            await message.reply_text(texts.RELOAD_STARTED.format(path=html.escape(str(knowledge_dir))))
            try:
                # The service serves the new generation before it returns, not at the next question.
                summary = await asyncio.to_thread(run.ingest, [knowledge_dir])
            except Exception as exc:  # IngestLocked (a CLI ingest is running), EmbedderError, disk errors
                log.exception("reload failed")
                await message.reply_text(texts.RELOAD_FAILED.format(reason=html.escape(str(exc))))
                return
            log.info("reload by %s: generation %s", update.effective_user.id, summary.generation)
            for chunk in render_reload(summary):
                await message.reply_text(chunk)

    async def stats(self, update: Update, context: Context) -> None:
        if not await self._require_admin(update, "/stats"):
            return
        stats = await self._db(self.admin.stats)
        lines = [texts.STATS.format(questions=stats.questions, refused=stats.refused, share=stats.refused_share,
                                    helpful=stats.helpful, unhelpful=stats.unhelpful)]
        if stats.top_unanswered:
            lines.append(texts.STATS_UNANSWERED)
            lines += [texts.STATS_UNANSWERED_ROW.format(n=n, question=html.escape(_short(q, 80)))
                      for q, n in stats.top_unanswered]
        else:
            lines.append(texts.STATS_NONE)
        await update.effective_message.reply_text("\n".join(lines))

    # ----- errors -----
    async def on_error(self, update: object, context: Context) -> None:
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


def render_reload(summary: Any, max_failed: int = 30) -> list[str]:
    """The /reload report as HTML messages: counts, then each failed file with its reason."""
    statuses = ("added", "updated", "unchanged", "removed", "failed")
    counts = {s: summary.count(s) for s in statuses}
    lines = [texts.RELOAD_DONE.format(**counts, generation=html.escape(summary.generation or texts.NO_GENERATION),
                                      records=summary.records)]
    failed = summary.failed
    if failed:
        lines.append(texts.RELOAD_FAILED_FILES)
        lines += [texts.RELOAD_FAILED_FILE.format(path=html.escape(f.path), reason=html.escape(f.reason))
                  for f in failed[:max_failed]]
        if len(failed) > max_failed:
            lines.append(texts.RELOAD_MORE.format(n=len(failed) - max_failed))
    # The lines are HTML already; split them like an answer but without escaping again.
    chunks, current = [], ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if current and _utf16_len(candidate) > MessageLimit.MAX_TEXT_LENGTH:
            chunks.append(current)
            candidate = line
        current = candidate
    return [*chunks, current]


# ----------------------------------------------------------------------------- wiring


def build_application(engine: Any, settings: Any, store_dir: Path, feedback: Any, *,
                      admin: AdminService | None = None,
                      state: ConversationStore | None = None, timeout: float = 10.0,
                      network_retries: int = 3, retry_backoff: float = 0.5, max_retries_429: int = 3,
                      flood_max: int = FLOOD_MAX, flood_window: float = FLOOD_WINDOW,
                      overall_rate: float = 30, group_rate: float = 20) -> Application:
    """The whole Telegram application, wired in one place (python-telegram-bot examples style).

    ``settings`` provides telegram_bot_token, telegram_admin_ids, govbot_telegram_base_url,
    govbot_home, govbot_knowledge_dir and database_url (where ``state``, the conversation state shared by
    replicas, lives unless given). Keyword arguments exist for tests and the benchmark.
    """
    token = (settings.telegram_bot_token or "").strip()
    problem = token_problem(token)
    if problem:
        raise ValueError(problem)
    govbot = GovBot(engine, settings, store_dir, feedback, flood_max=flood_max, flood_window=flood_window,
                    admin=admin)
    if state is None:
        from bot.services.state import ConversationStore

        state = ConversationStore(settings.database_url)
    # chat_data (the engine's state, recent answers), user_data and /match's step live in the database,
    # read before and written after every update: a restart or another replica continues the conversation.
    persistence = DatabasePersistence(state)
    processor = SharedStateProcessor(persistence)  # chats in parallel, each chat in order
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .persistence(persistence)
        .rate_limiter(RetryingRateLimiter(network_retries=network_retries, backoff=retry_backoff,
                                          max_retries=max_retries_429, overall_max_rate=overall_rate,
                                          group_max_rate=group_rate))
        .concurrent_updates(processor)
        .connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout).pool_timeout(timeout)
        .get_updates_connect_timeout(timeout).get_updates_read_timeout(timeout)
        .get_updates_write_timeout(timeout).get_updates_pool_timeout(timeout)
        .post_init(govbot.post_init)
        .post_shutdown(govbot.post_shutdown)
    )
    if settings.govbot_telegram_base_url:
        builder = builder.base_url(settings.govbot_telegram_base_url)
    application = builder.build()
    processor.bind(application)
    application.bot_data["govbot"] = govbot  # bot_data is not persisted; tests reach the handlers here

    application.add_handler(TypeHandler(Update, govbot.flood_guard), group=-1)
    new_text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    application.add_handlers([
        match_conversation(govbot, new_text),  # first: while /match runs, its answers are not questions
        CommandHandler("start", govbot.start),
        CommandHandler("help", govbot.help),
        CommandHandler("bundles", govbot.bundles),
        CommandHandler("policies", govbot.policies),
        CommandHandler("ask", govbot.ask_command),
        CommandHandler("reload", govbot.reload),
        CommandHandler("stats", govbot.stats),
        CommandHandler("match", govbot.match_in_group, filters=filters.ChatType.GROUPS),
        CommandHandler("cancel", govbot.cancel_idle, filters=filters.ChatType.PRIVATE),
        MessageHandler(new_text & filters.ChatType.PRIVATE, govbot.private_text),
        MessageHandler(new_text & filters.ChatType.GROUPS, govbot.group_text),
        # Private chats only: in a group, other bots' commands and photos are none of our business.
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND & filters.ChatType.PRIVATE, govbot.unknown),
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT & filters.ChatType.PRIVATE, govbot.not_text),
        CallbackQueryHandler(govbot.on_menu, pattern=r"^m:"),
        CallbackQueryHandler(govbot.on_list_page, pattern=r"^l:(guide|bundle|policy|document):\d+$"),
        CallbackQueryHandler(govbot.on_section, pattern=r"^q:[^:]+:[a-z]+$"),
        CallbackQueryHandler(govbot.on_vote, pattern=r"^f:[+-]:[^:]+$"),
        CallbackQueryHandler(govbot.on_match_over, pattern=r"^mt:"),
        CallbackQueryHandler(govbot.on_stale_button),
    ])
    application.add_error_handler(govbot.on_error)
    return application


def match_conversation(govbot: GovBot, new_text: filters.BaseFilter) -> ConversationHandler:
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
                CommandHandler("match", govbot.match_start, filters=private),
                CommandHandler("start", govbot.match_start, filters=private & filters.Regex(r"^/start\S*\s+match$")),
                CallbackQueryHandler(govbot.match_start, pattern=r"^m:match$"),
            ],
            states={MATCH_ASKING: [
                MessageHandler(new_text, govbot.match_text),
                CallbackQueryHandler(govbot.match_button, pattern=r"^mt:[a-z_]+:[a-z0-9]+$"),
                MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT, govbot.match_not_text),
            ]},
            fallbacks=[CommandHandler("cancel", govbot.match_cancel)],
            allow_reentry=True,  # /match again starts over
            # Keyed by (chat, user). Persistent like user_data, which holds the answers: the next answer may
            # reach another replica, or this one after a restart.
            per_chat=True, per_user=True, per_message=False,
            name="match", persistent=True,
        )


async def _check_token(token: str, base_url: str | None) -> None:
    """getMe with a throwaway Bot: raises InvalidToken when Telegram rejects the token."""
    from telegram import Bot

    async with Bot(token, base_url=base_url or "https://api.telegram.org/bot") as bot:
        await bot.get_me()


def run_telegram(store_dir: Path | None = None, webhook_url: str | None = None, listen: str = "0.0.0.0",
                 port: int = 8443, secret: str | None = None, *, services: Services | None = None) -> int:
    """Run the bot until interrupted: long polling, or a webhook when ``webhook_url`` is given.

    ``services`` is the process's shared engine and admin service (`govbot serve`); without it the
    bot builds its own once the token checks out.

    Returns the exit status: 0 after a normal stop, 2 for a missing, malformed or rejected token or
    bad webhook options, 1 when Telegram cannot be reached.
    """
    from ingest.settings import get_settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    settings = get_settings()
    problem = token_problem(settings.telegram_bot_token)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        hook = webhook_options(webhook_url, listen, port, secret) if webhook_url else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2

    # Check the token before PTB's start-up loop, which logs a rejected token with a stack trace.
    try:
        asyncio.run(_check_token(settings.telegram_bot_token.strip(), settings.govbot_telegram_base_url))
    except InvalidToken as exc:
        print(texts.TOKEN_REJECTED.format(reason=exc), file=sys.stderr)
        return 2
    except (NetworkError, OSError) as exc:
        print(texts.NETWORK_DOWN.format(reason=exc), file=sys.stderr)
        return 1

    from bot.services.container import build_services

    services = services or build_services(store_dir, settings)
    if not services.engine.records:
        print(texts.KB_EMPTY.format(store=services.store_dir), file=sys.stderr)
    application = build_application(services.engine, services.settings, services.store_dir, services.feedback,
                                    admin=services.admin, state=services.state)
    try:
        if hook:
            print(texts.STARTING_WEBHOOK.format(url=webhook_url, listen=listen, port=port), file=sys.stderr)
            application.run_webhook(**hook)
        else:
            print(texts.STARTING_POLLING, file=sys.stderr)
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken as exc:
        print(texts.TOKEN_REJECTED.format(reason=exc), file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(texts.NETWORK_DOWN.format(reason=exc), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.telegram_bot [--webhook-url URL --listen ADDR --port N --secret S]`."""
    parser = argparse.ArgumentParser(prog="python -m bot.telegram_bot", description=texts.BOT_NAME)
    parser.add_argument("--store", type=Path, default=None, help=texts.ARG_STORE)
    parser.add_argument("--webhook-url", default=None, help=texts.ARG_WEBHOOK_URL)
    parser.add_argument("--listen", default="0.0.0.0", help=texts.ARG_LISTEN)
    parser.add_argument("--port", type=int, default=8443, help=texts.ARG_PORT)
    parser.add_argument("--secret", default=None, help=texts.ARG_SECRET)
    args = parser.parse_args(argv)
    return run_telegram(args.store, args.webhook_url, args.listen, args.port, args.secret)


if __name__ == "__main__":
    sys.exit(main())

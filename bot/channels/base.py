"""What every messenger adapter shares: the neutral incoming message, the conversation turn, Markdown rendering.

A turn is plain data in, plain data out: `Conversation.handle(Incoming)` returns a `Reply` (Markdown chunks,
the plain text, the buttons); the adapter only posts it. State (the engine's follow-up state, the buttons
last shown, who voted) is kept per platform and chat in the ConversationStore, so a replica can take the next
turn. Buttons are data (record id + intent, or a vote); platforms without callback buttons (DingTalk Markdown,
WeCom text) send the button's label back as text, and the label is looked up in the stored buttons, so a
section button still goes straight to `Engine.answer_section` rather than through question matching.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.answer import AnswerResult, Block, BlockKind
from bot.intent import INTENTS, Intent, as_intent
from bot.privacy import mask_pii
from bot.services.asking import Asker

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

MAX_QUESTION = 2000  # a 20,000-character paste is cut, not refused: the start usually holds the question
MARKDOWN_CHUNK = 3500  # below every platform's message limit (DingTalk ~5000, Feishu card 30 KB, WeCom 2048 B)
REMEMBERED_VOTERS = 200


@dataclass(frozen=True)
class Incoming:
    """One user action on a platform, in our terms."""

    platform: str  # "dingtalk" | "feishu" | "wecom": the usage log's channel and the state scope
    chat_id: str  # the conversation (a single chat or a group)
    user_id: str  # the platform's user id (the admin allow-list is in these)
    text: str = ""
    group: bool = False
    section: tuple[str, str] | None = None  # a callback button: (record id, intent)
    vote: int = 0  # a callback 👍 (+1) / 👎 (-1)


@dataclass(frozen=True)
class Button:
    label: str
    record_id: str = ""
    intent: str = ""
    vote: int = 0
    tag: str = ""  # a 👎 reason tag (bot.messages.DOWNVOTE_TAGS key)

    def value(self) -> dict[str, Any]:
        """The callback payload of platforms with real buttons (Feishu cards)."""
        if self.tag:  # shaped like a section so every adapter passes it back unchanged; see tag_of
            return {"r": "", "i": TAG_PREFIX + self.tag}
        return {"v": self.vote} if self.vote else {"r": self.record_id, "i": self.intent}


TAG_PREFIX = "tag:"


def tag_of(section: tuple[str, str] | None) -> str:
    """The 👎 reason tag a callback button carried (Button.value), or ""."""
    if section and not section[0] and section[1].startswith(TAG_PREFIX):
        return section[1].removeprefix(TAG_PREFIX)
    return ""


def tag_buttons() -> list[Button]:
    return [Button(label, tag=key) for key, label in messages.DOWNVOTE_TAGS.items()]


@dataclass
class Reply:
    chunks: list[str]  # Markdown messages, buttons belong after the last
    text: str  # the same as plain text (platforms without Markdown)
    buttons: list[Button] = field(default_factory=list)
    title: str = messages.BOT_NAME  # DingTalk shows it in the notification

    @property
    def markdown(self) -> str:
        return "\n\n".join(self.chunks)


def parse_ids(raw: str | None) -> frozenset[str]:
    """An allow-list setting: ids separated by commas or spaces (platform ids are strings, not numbers)."""
    return frozenset(part for part in re.split(r"[,\s]+", raw or "") if part)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#~|>])")


def md_escape(line: str) -> str:
    """Knowledge-base text and user text shown literally: no link, emphasis, heading or HTML from a document."""
    line = line.replace("<", "＜").replace(">", "＞")  # some clients render inline HTML; full-width cannot
    return _MD_SPECIAL.sub(r"\\\1", line)


def plain(message: str) -> str:
    """A bot.messages sentence without the Telegram HTML it may carry."""
    return re.sub(r"</?b>", "", message)


def block_markdown(block: Block) -> list[str]:
    if block.kind == BlockKind.TITLE:
        return [f"**《{md_escape(line)}》**" for line in block.lines]
    body = [md_escape(line) for line in block.lines]
    if not block.heading:
        return body
    if block.inline:
        return [f"**【{md_escape(block.heading)}】**{''.join(body)}"]
    return [f"**【{md_escape(block.heading)}】**", *body]


def render_markdown(blocks: list[Block], limit: int = MARKDOWN_CHUNK) -> list[str]:
    """The answer as Markdown messages split on line boundaries (a long line is cut, never lost)."""
    lines: list[str] = []
    for b in blocks:
        for line in block_markdown(b):
            lines.extend(line[i: i + limit] for i in range(0, max(len(line), 1), limit))
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 2 > limit:
            chunks.append("  \n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 2
    if current:
        chunks.append("  \n".join(current))  # two spaces: a Markdown line break without a paragraph gap
    return [c for c in chunks if c.strip()] or [md_escape(messages.ERROR)]


def text_reply(message: str) -> Reply:
    text = plain(message)
    # Two spaces before each newline: Markdown would otherwise join the lines of a multi-line sentence.
    return Reply(["  \n".join(md_escape(line) for line in text.split("\n"))], text)


def _short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def answer_buttons(result: AnswerResult, records: dict[str, Any]) -> list[Button]:
    """Other sections of the same item, related items, then 👍/👎: the engine's suggestions as buttons."""
    record_id = result.record_ids[0] if result.record_ids else ""
    sections: list[Button] = []
    items: list[Button] = []
    for suggestion in result.follow_ups:
        target, intent = suggestion.record_id, as_intent(suggestion.intent)
        if target not in records:
            continue
        if target == record_id:
            if INTENTS[intent].button:  # a section without a button of its own is left to the question box
                sections.append(Button(INTENTS[intent].button, target, str(intent)))
            continue
        if intent == Intent.BUNDLE and record_id and records[target].kind == "bundle":
            label = messages.RELATED_BUNDLE.format(title=records[target].title)
        else:
            label = suggestion.text
        items.append(Button(_short(label), target, str(intent)))
    return [*sections, *items, Button(messages.HELPFUL, vote=1), Button(messages.UNHELPFUL, vote=-1)]


class Conversation:
    """One platform's conversations over the shared services: a turn in, a reply out."""

    def __init__(self, services: Services, platform: str, admin_ids: frozenset[str]) -> None:
        self.services = services
        self.platform = platform
        self.admin_ids = admin_ids
        self._locks: dict[str, asyncio.Lock] = {}

    def is_admin(self, user_id: str) -> bool:
        return bool(user_id) and user_id in self.admin_ids

    def _key(self, incoming: Incoming) -> str:
        # In a group each member has their own thread of follow-ups (as in Telegram).
        return f"{incoming.chat_id}:{incoming.user_id}" if incoming.group else incoming.chat_id

    async def handle(self, incoming: Incoming, notify: Callable[[Reply], Awaitable[object]] | None = None) -> Reply:
        """Answer one incoming message. ``notify`` sends an early reply (the "reload started" line)."""
        key = self._key(incoming)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one chat's turns one after another: the state of one is the input of the next
            try:
                return await self._handle(incoming, key, notify)
            except Exception:
                log.exception("%s: could not answer in chat %s", self.platform, incoming.chat_id)
                return text_reply(messages.ERROR)

    async def _handle(self, incoming: Incoming, key: str,
                      notify: Callable[[Reply], Awaitable[object]] | None) -> Reply:
        scope = f"{self.platform}:chat"
        stored = await asyncio.to_thread(self.services.state.get, scope, key) or {}
        text = incoming.text.strip()[:MAX_QUESTION]
        command = text.split()[0].lower() if text.startswith("/") else ""
        if command in ("/reload", "/stats"):
            return await self._admin(command, incoming, notify)
        section, vote, tag = incoming.section, incoming.vote, tag_of(incoming.section)
        for raw in stored.get("buttons", []):  # a text platform sends a button's label back
            if text and text == raw["label"]:
                button = Button(**raw)
                section, vote = ((button.record_id, button.intent) if not button.vote else None), button.vote
                tag = button.tag
        if tag:
            return await self._tag(incoming, stored, tag)
        if vote:
            return await self._vote(incoming, key, stored, vote)
        engine = self.services.engine
        if section is not None:
            record = engine.records.get(section[0])
            result = await asyncio.to_thread(self.services.asking.section, *section)
            if result is None or record is None:  # the item went away with a re-ingest since the button was made
                return text_reply(messages.ITEM_GONE)
            label = INTENTS[as_intent(section[1])].button or section[1]
            asked = messages.SECTION_QUESTION.format(title=record.title, question=label)
        else:
            result = await asyncio.to_thread(self.services.asking.ask, text, stored.get("engine"))
            asked = text
        buttons = answer_buttons(result, engine.records)
        record_id = result.record_ids[0] if result.record_ids else ""
        stored = {"engine": result.state, "buttons": [b.__dict__ for b in buttons],
                  "last": {"q": mask_pii(asked), "r": record_id, "i": str(result.intent), "voters": []}}  # masked
        await asyncio.to_thread(self.services.state.put, scope, key, stored)
        if asked:
            try:
                await asyncio.to_thread(self.services.asking.record,
                                        Asker(self.platform, incoming.user_id, incoming.chat_id), asked, result)
            except Exception:  # a lost log line must not lose the answer
                log.exception("could not log question")
        return Reply(render_markdown(result.blocks), result.answer, buttons)

    async def _vote(self, incoming: Incoming, key: str, stored: dict[str, Any], vote: int) -> Reply:
        last = stored.get("last") or {"q": "", "r": "", "voters": []}
        if incoming.user_id in last["voters"]:
            return text_reply(messages.ALREADY_VOTED)
        last["voters"] = [*last["voters"], incoming.user_id][-REMEMBERED_VOTERS:]
        stored["last"] = last
        asker = Asker(self.platform, incoming.user_id, incoming.chat_id)
        queued = await asyncio.to_thread(self.services.asking.vote, asker, last["q"], last["r"], vote, "", "",
                                         last.get("i", "other"))
        if queued is None:
            await asyncio.to_thread(self.services.state.put, f"{self.platform}:chat", key, stored)
            return text_reply(messages.THANKS)
        # 👎: offer the reason tags; their labels join the stored buttons so a text platform's reply finds them.
        last["queue"] = queued
        tags = tag_buttons()
        labels = {b.label for b in tags}
        stored["buttons"] = [b for b in stored.get("buttons", []) if b["label"] not in labels] + [
            b.__dict__ for b in tags]
        await asyncio.to_thread(self.services.state.put, f"{self.platform}:chat", key, stored)
        reply = text_reply(messages.DOWNVOTE_ASK_TAG)
        reply.buttons = tags
        return reply

    async def _tag(self, incoming: Incoming, stored: dict[str, Any], tag: str) -> Reply:
        """A 👎 reason tag for the last 👎 in this chat (only the voter's own entry is changed)."""
        label = messages.DOWNVOTE_TAGS.get(tag)
        entry = (stored.get("last") or {}).get("queue")
        asker = Asker(self.platform, incoming.user_id, incoming.chat_id)
        if label is None or entry is None or not await asyncio.to_thread(self.services.asking.tag, asker,
                                                                         int(entry), tag):
            return text_reply(messages.DOWNVOTE_TAG_NOT_YOURS)
        return text_reply(messages.DOWNVOTE_TAG_THANKS.format(tag=label))

    async def _admin(self, command: str, incoming: Incoming,
                     notify: Callable[[Reply], Awaitable[object]] | None) -> Reply:
        if not self.is_admin(incoming.user_id):
            log.warning("%s: refused %s for user %s in chat %s", self.platform, command, incoming.user_id,
                        incoming.chat_id)
            return text_reply(messages.NOT_ADMIN)
        admin = self.services.admin
        if command == "/stats":
            stats = await asyncio.to_thread(admin.stats)
            lines = [messages.STATS.format(questions=stats.questions, refused=stats.refused,
                                           share=stats.refused_share, helpful=stats.helpful,
                                           unhelpful=stats.unhelpful)]
            if stats.top_unanswered:
                lines.append(messages.STATS_UNANSWERED)
                lines += [messages.STATS_UNANSWERED_ROW.format(n=n, question=_short(q, 80))
                          for q, n in stats.top_unanswered]
            else:
                lines.append(messages.STATS_NONE)
            return text_reply("\n".join(lines))
        from bot.services.admin import IngestBusy

        try:
            run = admin.begin()  # the lock first: a second admin hears "busy", not "started"
        except IngestBusy:
            return text_reply(messages.RELOAD_BUSY)
        with run:
            knowledge_dir = Path(self.services.settings.govbot_knowledge_dir)
            if notify is not None:
                await notify(text_reply(messages.RELOAD_STARTED.format(path=knowledge_dir)))
            try:
                summary = await asyncio.to_thread(run.ingest, [knowledge_dir])
            except Exception as exc:  # IngestLocked, EmbedderError, disk errors
                log.exception("%s: reload failed", self.platform)
                return text_reply(messages.RELOAD_FAILED.format(reason=exc))
        log.info("%s: reload by %s: generation %s", self.platform, incoming.user_id, summary.generation)
        counts = {s: summary.count(s) for s in ("added", "updated", "unchanged", "removed", "failed")}
        lines = [messages.RELOAD_DONE.format(**counts, generation=summary.generation or messages.NO_GENERATION,
                                             records=summary.records)]
        if summary.failed:
            lines.append(messages.RELOAD_FAILED_FILES)
            lines += [messages.RELOAD_FAILED_FILE.format(path=f.path, reason=f.reason) for f in summary.failed[:30]]
        return text_reply("\n".join(lines))


async def post_with_backoff(send: Callable[[], Awaitable[tuple[int, dict[str, Any]]]], *, platform: str,
                            throttled: Callable[[int, dict[str, Any]], bool], ok: Callable[[int, dict[str, Any]], bool],
                            attempts: int = 4, first_delay: float = 1.0) -> bool:
    """Send, waiting longer after each throttling reply; log every failure (an answer is never dropped silently).

    ``send`` returns (HTTP status, JSON body); ``throttled`` and ``ok`` read the platform's codes.
    """
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            status, body = await send()
        except Exception as exc:  # network: retried like a throttle, the platform may be restarting
            log.warning("%s: send failed (attempt %d/%d): %s", platform, attempt, attempts, exc)
        else:
            if ok(status, body):
                return True
            if not throttled(status, body):
                log.error("%s: send rejected: HTTP %s %s", platform, status, body)
                return False
            log.warning("%s: throttled (attempt %d/%d): HTTP %s %s", platform, attempt, attempts, status, body)
        if attempt < attempts:
            await asyncio.sleep(delay)
            delay *= 2
    log.error("%s: answer not delivered after %d attempts", platform, attempts)
    return False

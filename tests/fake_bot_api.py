"""A fake Telegram Bot API server on 127.0.0.1 for driving the real python-telegram-bot over HTTP.

Routes ``/bot{token}/{method}``. Tests hand the bot updates (messages, button presses), read what it
sent (once a bot has called setWebhook, updates are POSTed to that URL one at a time, as Telegram does), and can make the next N calls of a method answer 429 with retry_after, 502, or hang past the
client's timeout. ``sendMessage``/``editMessageText`` validate HTML like Telegram (only its tags,
every ``<``, ``>`` and ``&`` escaped, at most 4096 characters after parsing) and store the parsed text.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, web

TOKEN = "123456789:AAF-fake_token_for_tests_only_0123"
BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "高兴办", "username": "govbot_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
# Parameters PTB sends as plain strings; every other form field is JSON-encoded.
STRING_FIELDS = {"text", "parse_mode", "action", "callback_query_id", "url", "secret_token", "language_code",
                 "inline_message_id", "caption", "ip_address"}
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
             "span", "blockquote", "tg-emoji"}
HTML_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s[^<>]*)?)>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]")
MAX_TEXT = 4096


class TelegramHTMLError(ValueError):
    pass


def parse_html(text: str) -> str:
    """The plain text Telegram would show for an HTML message; raises like Telegram on bad markup."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in HTML_TOKEN.finditer(text):
        out.append(text[pos: match.start()])
        pos = match.end()
        closing, tag, _attrs, entity = match.groups()
        if tag:
            tag = tag.lower()
            if tag not in HTML_TAGS:
                raise TelegramHTMLError(f"Unsupported start tag \"{tag}\"")
            if closing:
                if not stack or stack[-1] != tag:
                    raise TelegramHTMLError(f"Unmatched end tag \"{tag}\"")
                stack.pop()
            else:
                stack.append(tag)
        elif entity:
            out.append(html.unescape(f"&{entity};"))
        else:
            raise TelegramHTMLError(f"Unescaped \"{match.group(0)}\" at byte offset {match.start()}")
    out.append(text[pos:])
    if stack:
        raise TelegramHTMLError(f"Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    fault: str = ""  # "429" | "502" | "hang" when the call was answered with an injected fault


@dataclass
class Fault:
    mode: str
    times: int
    retry_after: int = 1
    hang: float = 3.0


@dataclass
class Sent:
    """A message the bot sent (or edited), as the fake server stored it."""

    message_id: int
    chat_id: int
    text: str  # parsed plain text, as a user sees it
    html: str  # what the bot sent
    reply_markup: dict | None
    reply_to: int | None
    at: float
    edits: list[str] = field(default_factory=list)

    def buttons(self) -> list[dict]:
        return [b for row in (self.reply_markup or {}).get("inline_keyboard", []) for b in row]

    def button(self, label: str) -> dict:
        """The button whose text contains ``label``."""
        for b in self.buttons():
            if label in b["text"]:
                return b
        raise KeyError(f"no button {label!r} in {[b['text'] for b in self.buttons()]}")

    def as_message(self, chat: dict) -> dict:
        data = {"message_id": self.message_id, "date": int(self.at), "chat": chat, "from": BOT_USER,
                "text": self.text}
        if self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data


class FakeBotAPI:
    def __init__(self, token: str = TOKEN, long_poll_cap: float = 1.0) -> None:
        self.token = token
        self.long_poll_cap = long_poll_cap
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.commands: dict[str, list[dict]] = {}
        self.webhook: dict[str, Any] = {}
        self.chats: dict[int, dict] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._pending: list[dict] = []
        self._to_deliver: list[dict] = []  # for the webhook, in order
        self._deliverer: asyncio.Task | None = None
        self.deliveries: list[tuple[int, int | str]] = []  # (update_id, HTTP status or error) per POST
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._query_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----- lifecycle -----
    async def start(self) -> FakeBotAPI:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._deliverer is not None:
            self._deliverer.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ----- feeding the bot -----
    def _chat(self, chat_id: int, chat_type: str, title: str | None = None) -> dict:
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "测试用户"
        else:
            chat["title"] = title or "测试群"
        self.chats[chat_id] = chat
        return chat

    def push(self, update: dict) -> dict:
        update["update_id"] = next(self._update_ids)
        if self.webhook.get("url"):
            self._to_deliver.append(update)
            if self._deliverer is None or self._deliverer.done():
                self._deliverer = asyncio.ensure_future(self._deliver())
            return update
        self._pending.append(update)
        self._changed.set()
        return update

    async def _deliver(self) -> None:
        """POST queued updates to the webhook, the next one after the previous was answered."""
        secret = self.webhook.get("secret_token")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with ClientSession() as session:
            while self._to_deliver:
                update = self._to_deliver.pop(0)
                try:
                    async with session.post(self.webhook["url"], json=update, headers=headers) as response:
                        self.deliveries.append((update["update_id"], response.status))
                except ClientError as exc:
                    self.deliveries.append((update["update_id"], str(exc)))

    def message(self, chat_id: int, text: str, *, user_id: int | None = None, chat_type: str = "private",
                reply_to: dict | None = None, entities: list[dict] | None = None,
                username: str = "tester") -> dict:
        """Queue a text message; commands and @mentions get their entities automatically."""
        user_id = user_id if user_id is not None else chat_id
        chat = self._chat(chat_id, chat_type)
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "text": text,
            "from": {"id": user_id, "is_bot": False, "first_name": "测试用户", "username": username},
        }
        ents = list(entities or [])
        command = re.match(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            ents.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
        for mention in re.finditer(r"@[A-Za-z0-9_]{5,}", text):
            if command and mention.start() < command.end():
                continue
            ents.append({"type": "mention", "offset": utf16_len(text[: mention.start()]),
                         "length": utf16_len(mention.group(0))})
        if ents:
            msg["entities"] = ents
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        return self.push({"message": msg})["message"]

    def press(self, sent: Sent, label_or_data: str, *, user_id: int | None = None,
              by_data: bool = False) -> dict:
        """Queue a callback query for a button of a message the bot sent."""
        data = label_or_data if by_data else sent.button(label_or_data)["callback_data"]
        chat = self.chats.get(sent.chat_id) or self._chat(sent.chat_id, "private")
        user_id = user_id if user_id is not None else sent.chat_id
        query = {"id": str(next(self._query_ids)), "chat_instance": f"ci{sent.chat_id}", "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": "测试用户"},
                 "message": sent.as_message(chat)}
        return self.push({"callback_query": query})["callback_query"]

    # ----- faults -----
    def fail_next(self, method: str, mode: str, times: int = 1, *, retry_after: int = 1,
                  hang: float = 3.0) -> None:
        """The next ``times`` calls of ``method`` answer 429 (retry_after), 502, or hang for ``hang`` s."""
        assert mode in ("429", "502", "hang")
        self._faults.setdefault(method, []).append(Fault(mode, times, retry_after, hang))

    # ----- reading what the bot did -----
    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, chat_id: int | None = None) -> list[Sent]:
        return [s for s in self.sent if chat_id is None or s.chat_id == chat_id]

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met; bot sent: "
                                   + json.dumps([(s.chat_id, s.text[:60]) for s in self.sent[-10:]],
                                                ensure_ascii=False))
            await asyncio.sleep(0.02)

    async def wait_messages(self, chat_id: int, count: int, timeout: float = 15.0) -> list[Sent]:
        """Wait until ``chat_id`` has received at least ``count`` messages; returns all of them."""
        await self.wait_until(lambda: len(self.messages(chat_id)) >= count, timeout)
        return self.messages(chat_id)

    async def ask(self, chat_id: int, text: str, timeout: float = 15.0, **kwargs: Any) -> Sent:
        """Send a message and wait for the bot's next message in that chat (the last chunk of an answer
        is returned once the bot has been quiet briefly)."""
        before = len(self.messages(chat_id))
        self.message(chat_id, text, **kwargs)
        return await self._settle(chat_id, before, timeout)

    async def click(self, sent: Sent, label: str, timeout: float = 15.0, **kwargs: Any) -> Sent:
        before = len(self.messages(sent.chat_id))
        self.press(sent, label, **kwargs)
        return await self._settle(sent.chat_id, before, timeout)

    async def press_for_answer(self, sent: Sent, label: str, timeout: float = 15.0, **kwargs: Any) -> Call:
        """Press a button and wait for the bot's answerCallbackQuery for it (the spinner stopping)."""
        query = self.press(sent, label, **kwargs)
        return await self.wait_until(lambda: next(
            (c for c in self.calls_of("answerCallbackQuery") if c.params.get("callback_query_id") == query["id"]
             and not c.fault), None), timeout)

    async def _settle(self, chat_id: int, before: int, timeout: float) -> Sent:
        await self.wait_messages(chat_id, before + 1, timeout)
        # A long answer arrives as several messages: wait until no new one came for a moment.
        count = -1
        while count != len(self.messages(chat_id)):
            count = len(self.messages(chat_id))
            await asyncio.sleep(0.15)
        return self.messages(chat_id)[-1]

    # ----- HTTP -----
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.text()
            return json.loads(body) if body else {}
        form = await request.post() if request.can_read_body else request.query
        params: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):
                continue  # file uploads: not used by this bot
            if key in STRING_FIELDS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        return params

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        params = await self._params(request)
        fault = self._take_fault(method)
        call = Call(method, params, time.monotonic(), fault.mode if fault else "")
        self.calls.append(call)
        if fault is not None:
            if fault.mode == "429":
                return self._error(429, f"Too Many Requests: retry after {fault.retry_after}",
                                   retry_after=fault.retry_after)
            if fault.mode == "502":
                return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>",
                                    content_type="text/html")
            await asyncio.sleep(fault.hang)  # the client gives up first; nothing is delivered
            return self._error(504, "Gateway Timeout")
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return self._error(404, "Not Found")
        try:
            result = await handler(params)
        except TelegramHTMLError as exc:
            return self._error(400, f"Bad Request: can't parse entities: {exc}")
        except LookupError as exc:
            return self._error(400, f"Bad Request: {exc}")
        return web.json_response({"ok": True, "result": result})

    # ----- methods -----
    async def _m_getMe(self, params: dict) -> dict:
        return BOT_USER

    async def _m_logOut(self, params: dict) -> bool:
        return True

    async def _m_close(self, params: dict) -> bool:
        return True

    async def _m_deleteWebhook(self, params: dict) -> bool:
        self.webhook = {}
        return True

    async def _m_setWebhook(self, params: dict) -> bool:
        self.webhook = dict(params)
        return True

    async def _m_getWebhookInfo(self, params: dict) -> dict:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}

    async def _m_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        if offset:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        if not self._pending:
            self._changed.clear()
            wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
        return self._pending[:limit]

    def _store(self, params: dict) -> Sent:
        chat_id = int(params["chat_id"])
        if chat_id not in self.chats:
            raise LookupError("chat not found")
        raw = str(params.get("text", ""))
        text = parse_html(raw) if str(params.get("parse_mode", "")).upper() == "HTML" else raw
        if not text.strip():
            raise LookupError("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise LookupError("message is too long")
        reply = params.get("reply_parameters") or {}
        return Sent(next(self._message_ids), chat_id, text, raw, params.get("reply_markup"),
                    reply.get("message_id") if isinstance(reply, dict) else None, time.monotonic())

    async def _m_sendMessage(self, params: dict) -> dict:
        sent = self._store(params)
        self.sent.append(sent)
        return sent.as_message(self.chats[sent.chat_id])

    def _find(self, params: dict) -> Sent:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        for sent in self.sent:
            if sent.chat_id == chat_id and sent.message_id == message_id:
                return sent
        raise LookupError("message to edit not found")

    async def _m_editMessageText(self, params: dict) -> dict:
        sent = self._find(params)
        new = self._store({**params, "chat_id": sent.chat_id})
        sent.edits.append(sent.text)
        sent.text, sent.html, sent.reply_markup = new.text, new.html, new.reply_markup
        return sent.as_message(self.chats[sent.chat_id])

    async def _m_editMessageReplyMarkup(self, params: dict) -> dict:
        sent = self._find(params)
        sent.reply_markup = params.get("reply_markup")
        return sent.as_message(self.chats[sent.chat_id])

    async def _m_answerCallbackQuery(self, params: dict) -> bool:
        return True

    async def _m_sendChatAction(self, params: dict) -> bool:
        if int(params["chat_id"]) not in self.chats:
            raise LookupError("chat not found")
        return True

    @staticmethod
    def _scope_key(params: dict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True)

    async def _m_setMyCommands(self, params: dict) -> bool:
        self.commands[self._scope_key(params)] = params.get("commands") or []
        return True

    async def _m_getMyCommands(self, params: dict) -> list[dict]:
        return self.commands.get(self._scope_key(params), [])

    async def _m_deleteMyCommands(self, params: dict) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

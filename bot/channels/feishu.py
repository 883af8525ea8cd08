"""Feishu / Lark (飞书) with the official lark-oapi SDK: long connection or event callback.

Two ways in, one dispatcher (message receive + card action), chosen by GOVBOT_FEISHU_MODE (see `mode`):
- "ws", the SDK's long connection (`lark.ws.Client`): an outbound WebSocket, for an intranet without a public
  address. The SDK finds its endpoint (POST /callback/ws/endpoint), receives protobuf frames and acknowledges
  each one with the handler's result; `LongConnection` runs it inside our event loop.
- "callback": Feishu posts each event to /feishu/events; the dispatcher decrypts it (Encrypt Key), checks the
  verification token and the X-Lark-Signature, and answers the URL-verification challenge.
Feishu wants an answer within 3 seconds and retries otherwise, so the handlers only turn the event into an
`Incoming` and start a task; the answer is sent afterwards as a message card through the open API
(im/v1/messages), with the section buttons and 👍/👎 as card buttons whose presses come back as card actions.
`push` sends a card to a chat without an incoming message. Sends are paced: 5 a second per chat, 50 per app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

import lark_oapi as lark
import lark_oapi.ws.client as lark_ws
from fastapi import FastAPI, Request, Response
from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody, P2ImMessageReceiveV1
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)
from lark_oapi.ws.exception import ClientException

from bot import channels, messages
from bot.channels.base import Conversation, Incoming, Reply, parse_ids, post_with_backoff, text_reply
from bot.channels.pacing import Limit, Pacer

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

PLATFORM = "feishu"
# 99991400: the app's request rate limit; 230020: the chat's message rate limit; HTTP 429 for both.
THROTTLE_CODES = {99991400, 230020}
# im/v1/messages: 5 QPS to one user or chat, 50 QPS for the app (counted per second: burst + rate).
PER_CHAT = Limit(rate=4.0, burst=1)
PER_APP = Limit(rate=40.0, burst=10)
LARK_HEADERS = ("X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature", "X-Request-Id")


def card(reply: Reply) -> dict[str, Any]:
    """A message card: the Markdown answer, then the buttons (their value comes back in the card callback)."""
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": chunk} for chunk in reply.chunks]
    if reply.buttons:
        elements.append({"tag": "action", "actions": [
            {"tag": "button", "text": {"tag": "plain_text", "content": b.label},
             "type": "primary" if b.vote > 0 else "default", "value": b.value()} for b in reply.buttons]})
    return {"config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": reply.title}}, "elements": elements}


def incoming_from_message(data: P2ImMessageReceiveV1) -> Incoming | None:
    event = data.event
    message = event.message if event else None
    if message is None or not message.chat_id:
        return None
    group = message.chat_type == "group"
    if group and not message.mentions:  # in a group only messages that @ the bot reach us; checked anyway
        return None
    text = ""
    if message.message_type == "text":
        try:
            text = str(json.loads(message.content or "{}").get("text", ""))
        except (ValueError, AttributeError):
            text = ""
        for mention in message.mentions or []:  # "@_user_1 开公司…": the placeholder is not the question
            text = text.replace(mention.key or "\0", "")
    sender = event.sender.sender_id.open_id if event.sender and event.sender.sender_id else ""
    return Incoming(PLATFORM, message.chat_id, sender or "", text.strip(), group=group)


def incoming_from_action(data: P2CardActionTrigger) -> Incoming | None:
    event = data.event
    value = (event.action.value if event and event.action else None) or {}
    chat = event.context.open_chat_id if event and event.context else None
    if not chat or not isinstance(value, dict):
        return None
    user = event.operator.open_id if event.operator else ""
    vote = value.get("v")
    if vote in (1, -1):
        return Incoming(PLATFORM, chat, user or "", vote=vote)
    if isinstance(value.get("r"), str) and isinstance(value.get("i"), str):
        return Incoming(PLATFORM, chat, user or "", section=(value["r"], value["i"]))
    return None


class FeishuChannel:
    def __init__(self, services: Services, *, retry_delay: float = 1.0) -> None:
        settings = services.settings
        self.conversation = Conversation(services, PLATFORM, parse_ids(settings.govbot_feishu_admin_ids))
        self.retry_delay = retry_delay
        self.pacer = Pacer(PER_CHAT, PER_APP)
        self.client = (lark.Client.builder().app_id(settings.govbot_feishu_app_id)
                       .app_secret(settings.govbot_feishu_app_secret).domain(settings.govbot_feishu_domain)
                       .log_level(lark.LogLevel.WARNING).build())
        self.dispatcher = (lark.EventDispatcherHandler.builder(settings.govbot_feishu_encrypt_key or "",
                                                               settings.govbot_feishu_verification_token or "")
                           .register_p2_im_message_receive_v1(self._on_message)
                           .register_p2_card_action_trigger(self._on_action).build())
        self.tasks: set[asyncio.Task[None]] = set()

    # The SDK calls these synchronously, inside our event loop (the callback route or the long connection).
    def _on_message(self, data: P2ImMessageReceiveV1) -> None:
        incoming = incoming_from_message(data)
        if incoming is not None:
            self._start(incoming)

    def _on_action(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        incoming = incoming_from_action(data)
        if incoming is not None:
            self._start(incoming)
        return P2CardActionTriggerResponse({})

    def _start(self, incoming: Incoming) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(incoming))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def dispatch(self, body: bytes, headers: dict[str, str], uri: str = "/feishu/events") -> lark.RawResponse:
        """Check and decode one callback; the handlers start answering what it holds."""
        request = lark.RawRequest()
        request.uri, request.body, request.headers = uri, body, headers
        return self.dispatcher.do(request)

    async def _answer(self, incoming: Incoming) -> None:
        if not incoming.text and incoming.section is None and not incoming.vote:
            await self.send(incoming.chat_id, text_reply(messages.TEXT_ONLY))
            return
        reply = await self.conversation.handle(incoming, notify=lambda r: self.send(incoming.chat_id, r))
        await self.send(incoming.chat_id, reply)

    async def push(self, chat_id: str, reply: Reply, *, group: bool = False) -> bool:
        """A card to a chat (single or group: both have a chat_id) without an incoming message."""
        return await self.send(chat_id, reply)

    async def send(self, chat_id: str, reply: Reply) -> bool:
        body = (CreateMessageRequestBody.builder().receive_id(chat_id).msg_type("interactive")
                .content(json.dumps(card(reply), ensure_ascii=False)).build())
        request = CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()

        async def once() -> tuple[int, dict[str, Any]]:
            await self.pacer.wait(chat_id)
            response = await self.client.im.v1.message.acreate(request)
            status = response.raw.status_code if response.raw else 0
            return status, {"code": response.code, "msg": response.msg}

        return await post_with_backoff(
            once, platform=PLATFORM, first_delay=self.retry_delay,
            ok=lambda status, data: data.get("code") == 0,
            throttled=lambda status, data: status == 429 or data.get("code") in THROTTLE_CODES)

    def long_connection(self) -> LongConnection:
        s = self.conversation.services.settings
        return LongConnection(s.govbot_feishu_app_id, s.govbot_feishu_app_secret, log_level=lark.LogLevel.WARNING,
                              event_handler=self.dispatcher, domain=s.govbot_feishu_domain)


class LongConnection(lark.ws.Client):
    """The SDK's long-connection client inside our event loop, reconnecting until `run` is cancelled.

    The SDK's own `start()` blocks on a module-level event loop and cannot be stopped; its coroutines schedule
    their tasks on that module global, so `run` points it at the running loop. Reconnecting is done here, not by
    the SDK: its reconnect can race its own connect lock. The endpoint discovery is a blocking HTTP request
    without a timeout, so it runs in a thread and answers keep flowing meanwhile.
    """

    _discovered = ""
    _lost: asyncio.Event | None = None

    async def run(self) -> None:
        lark_ws.loop = asyncio.get_running_loop()
        self._auto_reconnect = False
        self._lost = asyncio.Event()
        ping = asyncio.create_task(self._ping_loop())
        delay = 1.0
        try:
            while True:
                try:
                    await self._connect()
                except ClientException:  # bad app id or secret, too many connections: retrying will not help
                    log.error("feishu: long connection refused; check GOVBOT_FEISHU_APP_ID / _APP_SECRET")
                    raise
                except Exception as exc:
                    log.warning("feishu: long connection failed, retrying in %.0f s: %s", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 60.0)
                    continue
                delay = 1.0
                await self._lost.wait()  # set by _disconnect when the SDK's receive loop ends
                self._lost.clear()
                log.warning("feishu: long connection lost, reconnecting")
        finally:
            ping.cancel()
            await self._disconnect()

    async def _connect(self) -> None:
        self._discovered = await asyncio.to_thread(super()._get_conn_url)
        await super()._connect()

    def _get_conn_url(self) -> str:
        url, self._discovered = self._discovered, ""
        return url or super()._get_conn_url()

    async def _receive_message_loop(self) -> None:
        with contextlib.suppress(Exception):  # the connection ended; the SDK logged why, run() reconnects
            await super()._receive_message_loop()

    async def _disconnect(self) -> None:
        await super()._disconnect()
        if self._lost is not None:
            self._lost.set()


def build_app(channel: FeishuChannel) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/feishu/events")
    async def events(request: Request) -> Response:
        body = await request.body()
        # The SDK reads the X-Lark-* headers by their exact names from a plain dict.
        headers = {name: request.headers.get(name, "") for name in LARK_HEADERS}
        result = channel.dispatch(body, headers, str(request.url.path))
        if result.status_code != 200:  # bad signature, token or encryption: rejected, logged by the SDK
            log.warning("feishu: callback rejected: %s", (result.content or b"")[:200])
        return Response(result.content or b"", status_code=result.status_code, media_type="application/json")

    return app


def configured(settings: Any) -> bool:
    return bool(settings.govbot_feishu_app_id and settings.govbot_feishu_app_secret)


def mode(settings: Any) -> str:
    """"ws" (long connection) or "callback": see Settings.feishu_mode."""
    return str(settings.feishu_mode)


async def run_feishu(services: Services) -> None:
    import uvicorn

    settings = services.settings
    channel = FeishuChannel(services)
    channels.register(PLATFORM, channel)
    try:
        if mode(settings) == "ws":
            log.info("feishu: long connection to %s", settings.govbot_feishu_domain)
            await channel.long_connection().run()
            return
        app = build_app(channel)
        log.info("feishu: event callback on %s:%s/feishu/events", settings.govbot_feishu_listen,
                 settings.govbot_feishu_port)
        await uvicorn.Server(uvicorn.Config(app, host=settings.govbot_feishu_listen,
                                            port=settings.govbot_feishu_port, log_level="warning")).serve()
    finally:
        channels.unregister(PLATFORM, channel)

"""DingTalk (钉钉) in Stream mode with the official dingtalk-stream SDK.

The SDK opens an outbound WebSocket (an industrial park's intranet has no public callback address) and pushes
each bot message as a CALLBACK frame on ChatbotMessage.TOPIC. We acknowledge the frame at once (DingTalk
redelivers frames that are not acknowledged in time) and answer in a task: the reply goes to the message's
sessionWebhook as Markdown, the section buttons and 👍/👎 as `dtmd://dingtalkclient/sendMessage` links, which
make the client send the label back as the user's next message (see bot.channels.base).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import dingtalk_stream
import httpx
import websockets
from dingtalk_stream import AckMessage, ChatbotMessage
from dingtalk_stream.frames import CallbackMessage

from bot import messages
from bot.channels.base import Button, Conversation, Incoming, Reply, parse_ids, post_with_backoff, text_reply

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"
# Robot send limits: 130101 "发送太快" (20 messages a minute per group), 660026 / 90018 the app's QPS; HTTP 429.
THROTTLE_CODES = {130101, 660026, 90018, 90002}


def button_link(button: Button) -> str:
    # The client sends `content` as the user's message; the label is what bot.channels.base looks up.
    return f"[{button.label}](dtmd://dingtalkclient/sendMessage?content={quote(button.label)})"


def markdown_messages(reply: Reply) -> list[dict[str, Any]]:
    """The session-webhook bodies of a reply: Markdown chunks, the buttons as links under the last one."""
    bodies = []
    for i, chunk in enumerate(reply.chunks):
        text = chunk
        if i == len(reply.chunks) - 1 and reply.buttons:
            text += "\n\n" + " | ".join(button_link(b) for b in reply.buttons)
        bodies.append({"msgtype": "markdown", "markdown": {"title": reply.title, "text": text}})
    return bodies


def incoming_from(message: ChatbotMessage) -> Incoming | None:
    """A neutral message, or None for what we do not answer (a group message not addressed to the bot)."""
    group = message.conversation_type == "2"
    if group and not message.is_in_at_list:
        return None
    text = message.text.content if message.message_type == "text" and message.text else ""
    # DingTalk leaves the @-mention out of the text but keeps the space after it.
    return Incoming(PLATFORM, message.conversation_id or "", message.sender_staff_id or message.sender_id or "",
                    text.strip(), group=group)


class GovbotHandler(dingtalk_stream.CallbackHandler):
    def __init__(self, conversation: Conversation, http: httpx.AsyncClient, retry_delay: float = 1.0) -> None:
        super().__init__()
        self.conversation = conversation
        self.http = http
        self.retry_delay = retry_delay
        self.tasks: set[asyncio.Task[None]] = set()

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        try:
            message = ChatbotMessage.from_dict(callback.data)
        except Exception:  # a frame we cannot read must not stop the stream
            log.exception("dingtalk: unreadable message frame")
            return AckMessage.STATUS_BAD_REQUEST, "bad message"
        incoming = incoming_from(message)
        if incoming is None or not message.session_webhook:
            return AckMessage.STATUS_OK, "OK"
        task = asyncio.create_task(self._answer(incoming, message.session_webhook))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return AckMessage.STATUS_OK, "OK"

    async def _answer(self, incoming: Incoming, webhook: str) -> None:
        async def send(reply: Reply) -> None:
            for body in markdown_messages(reply):
                await self._post(webhook, body)

        if not incoming.text:
            await send(text_reply(messages.TEXT_ONLY))
            return
        await send(await self.conversation.handle(incoming, notify=send))

    async def _post(self, webhook: str, body: dict[str, Any]) -> bool:
        async def once() -> tuple[int, dict[str, Any]]:
            response = await self.http.post(webhook, json=body)
            try:
                data = response.json()
            except ValueError:
                data = {}
            return response.status_code, data if isinstance(data, dict) else {}

        return await post_with_backoff(
            once, platform=PLATFORM, first_delay=self.retry_delay,
            ok=lambda status, data: status == 200 and not data.get("errcode"),
            throttled=lambda status, data: status == 429 or data.get("errcode") in THROTTLE_CODES)


class StreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK's client with our gateway address, without its local-IP probe (a UDP socket to 8.8.8.8), and a
    connection loop that stops when cancelled (the SDK's own loop catches CancelledError and reconnects)."""

    def __init__(self, credential: dingtalk_stream.Credential, gateway_url: str) -> None:
        super().__init__(credential, logger=logging.getLogger("dingtalk_stream"))
        self.gateway_url = gateway_url
        self._frames: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.pre_start()
        delay = 1.0
        while True:
            # The open request blocks; in a thread so the loop keeps answering meanwhile.
            connection = await asyncio.to_thread(self.open_connection)
            if not connection:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            uri = f"{connection['endpoint']}?ticket={quote(connection['ticket'], safe='')}"
            try:
                async with websockets.connect(uri) as websocket:
                    self.websocket = websocket
                    keepalive = asyncio.create_task(self.keepalive(websocket))
                    try:
                        async for raw in websocket:
                            # The SDK routes the frame, calls our handler and sends the ack.
                            task = asyncio.create_task(self.background_task(json.loads(raw)))
                            self._frames.add(task)
                            task.add_done_callback(self._frames.discard)
                    finally:
                        keepalive.cancel()
            except (OSError, websockets.exceptions.WebSocketException, ValueError) as exc:
                log.warning("dingtalk: stream connection lost, reconnecting: %s", exc)
                await asyncio.sleep(delay)

    def get_host_ip(self) -> str:
        return ""  # optional in the open-connection request; the probe would leave the machine

    def open_connection(self) -> dict[str, Any] | None:
        # The SDK posts to a class constant; the same request to the configured gateway.
        topics = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": "govbot", "localIp": self.get_host_ip()}
        try:
            response = httpx.post(self.gateway_url, json=body, timeout=10.0)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.error("dingtalk: open connection failed: %s", exc)
            return None


def build_client(services: Services, http: httpx.AsyncClient, *, retry_delay: float = 1.0
                 ) -> tuple[StreamClient, GovbotHandler]:
    settings = services.settings
    conversation = Conversation(services, PLATFORM, parse_ids(settings.govbot_dingtalk_admin_ids))
    handler = GovbotHandler(conversation, http, retry_delay=retry_delay)
    credential = dingtalk_stream.Credential(settings.govbot_dingtalk_client_id,
                                            settings.govbot_dingtalk_client_secret)
    client = StreamClient(credential, settings.govbot_dingtalk_gateway_url)
    client.register_callback_handler(ChatbotMessage.TOPIC, handler)
    return client, handler


def configured(settings: Any) -> bool:
    return bool(settings.govbot_dingtalk_client_id and settings.govbot_dingtalk_client_secret)


async def run_dingtalk(services: Services) -> None:
    """Stay connected until cancelled (the SDK reconnects by itself after a dropped connection)."""
    async with httpx.AsyncClient(timeout=15.0, trust_env=False) as http:
        client, _ = build_client(services, http)
        log.info("dingtalk: connecting in Stream mode")
        await client.start()

"""DingTalk (钉钉) in Stream mode with the official dingtalk-stream SDK.

The SDK opens an outbound WebSocket (an industrial park's intranet has no public callback address) and pushes
each bot message as a CALLBACK frame on ChatbotMessage.TOPIC. We acknowledge the frame at once (DingTalk
redelivers frames that are not acknowledged in time) and answer in a task: the reply goes to the message's
sessionWebhook as Markdown, the section buttons and 👍/👎 as `dtmd://dingtalkclient/sendMessage` links, which
make the client send the label back as the user's next message (see bot.channels.base).

With GOVBOT_DINGTALK_CARDS=true an answer with buttons is an interactive card instead (the robot OpenAPI
`/v1.0/im/v1.0/robot/interactiveCards/send`, cardTemplateId "StandardCard" with the card defined here in code);
its buttons are "request" actions whose presses come back over the same Stream connection on the card callback
topic. A card's buttons are stored under its cardBizId, so a press is looked up, never trusted.
`push` writes to a chat without an incoming message (robot oToMessages/batchSend or groupMessages/send).
Every send waits for the chat's token bucket first: DingTalk throttles a robot for 10 minutes after more than
20 messages a minute in one group.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import dingtalk_stream
import httpx
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotMessage
from dingtalk_stream.card_callback import CardCallbackMessage
from dingtalk_stream.frames import CallbackMessage

from bot import channels, messages
from bot.channels.base import Button, Conversation, Incoming, Reply, parse_ids, post_with_backoff, text_reply
from bot.channels.pacing import Limit, Pacer

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"
# Robot send limits: 130101 "发送太快" (20 messages a minute per group), 660026 / 90018 the app's QPS; HTTP 429.
THROTTLE_CODES = {130101, 660026, 90018, 90002}
# At most 20 messages a minute per group, else 10 minutes of silence: 5 at once, then one every 4 seconds
# (5 + 60/4 = 20 in any minute).
PER_CHAT = Limit(rate=15 / 60, burst=5)
CARD_SCOPE = "dingtalk:card"  # cardBizId -> the chat and the buttons of that card
CARD_SEND = "/v1.0/im/v1.0/robot/interactiveCards/send"


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


def card_json(reply: Reply) -> dict[str, Any]:
    """The StandardCard: a header, the Markdown chunks, the buttons as request actions b0, b1, …"""
    contents: list[dict[str, Any]] = [{"type": "markdown", "text": chunk, "id": f"md{i}"}
                                      for i, chunk in enumerate(reply.chunks)]
    if reply.buttons:
        contents.append({"type": "action", "id": "actions", "actions": [
            {"type": "button", "id": f"b{i}", "label": {"type": "text", "text": b.label, "id": f"b{i}l"},
             "actionType": "request", "status": "primary" if b.vote > 0 else "normal"}
            for i, b in enumerate(reply.buttons)]})
    return {"config": {"autoLayout": True, "enableForward": True},
            "header": {"title": {"type": "text", "text": reply.title}}, "contents": contents}


def _api_ok(status: int, data: dict[str, Any]) -> bool:
    # batchSend answers 200 and lists the users it did not reach (flow-controlled or unknown) in the body.
    return (status == 200 and not data.get("code") and not data.get("flowControlledStaffIdList")
            and not data.get("invalidStaffIdList"))


def _api_throttled(status: int, data: dict[str, Any]) -> bool:
    code = str(data.get("code") or "")
    return (status in (401, 429) or "QpsLimit" in code or code.startswith("Throttling")
            or code == "InvalidAuthentication" or bool(data.get("flowControlledStaffIdList")))


class OpenApi:
    """The robot OpenAPI: an access token (cached, renewed early) and JSON posts through pacing and backoff."""

    def __init__(self, http: httpx.AsyncClient, settings: Any, pacer: Pacer, retry_delay: float = 1.0) -> None:
        self.http = http
        self.base = settings.govbot_dingtalk_api_base.rstrip("/")
        self.client_id = settings.govbot_dingtalk_client_id or ""
        self.client_secret = settings.govbot_dingtalk_client_secret or ""
        self.pacer = pacer
        self.retry_delay = retry_delay
        self._token: tuple[str, float] | None = None

    async def token(self, refresh: bool = False) -> str:
        if not refresh and self._token and self._token[1] > time.monotonic():
            return self._token[0]
        response = await self.http.post(f"{self.base}/v1.0/oauth2/accessToken",
                                        json={"appKey": self.client_id, "appSecret": self.client_secret})
        data = response.json()
        if response.status_code != 200 or "accessToken" not in data:
            raise RuntimeError(f"accessToken: HTTP {response.status_code} {data}")
        # Renewed five minutes early, as the SDK does.
        self._token = (data["accessToken"], time.monotonic() + int(data.get("expireIn", 7200)) - 300)
        return self._token[0]

    async def post(self, path: str, body: dict[str, Any], *, chat: str) -> bool:
        refresh = False

        async def once() -> tuple[int, dict[str, Any]]:
            nonlocal refresh
            await self.pacer.wait(chat)
            token = await self.token(refresh)
            response = await self.http.post(f"{self.base}{path}", json=body,
                                            headers={"x-acs-dingtalk-access-token": token})
            try:
                data = response.json()
            except ValueError:
                data = {}
            data = data if isinstance(data, dict) else {}
            refresh = response.status_code == 401 or data.get("code") == "InvalidAuthentication"
            return response.status_code, data

        return await post_with_backoff(once, platform=PLATFORM, first_delay=self.retry_delay,
                                       ok=_api_ok, throttled=_api_throttled)


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
    """Bot messages in, answers out: session-webhook Markdown, or a card through the OpenAPI."""

    def __init__(self, conversation: Conversation, http: httpx.AsyncClient, api: OpenApi, *, cards: bool = False,
                 retry_delay: float = 1.0) -> None:
        super().__init__()
        self.conversation = conversation
        self.http = http
        self.api = api
        self.cards = cards
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
        self.start(incoming, message.session_webhook)
        return AckMessage.STATUS_OK, "OK"

    def start(self, incoming: Incoming, webhook: str | None) -> None:
        """Answer in a task: the frame is acknowledged at once (DingTalk redelivers late acks)."""
        task = asyncio.create_task(self._answer(incoming, webhook))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, incoming: Incoming, webhook: str | None) -> None:
        async def send(reply: Reply) -> None:
            await self.deliver(reply, incoming, webhook)

        if not incoming.text and incoming.section is None and not incoming.vote:
            await send(text_reply(messages.TEXT_ONLY))
            return
        await send(await self.conversation.handle(incoming, notify=send))

    async def deliver(self, reply: Reply, incoming: Incoming, webhook: str | None) -> bool:
        """A card when cards are on and there are buttons; else Markdown by the webhook, or by the OpenAPI
        when there is no webhook (the answer to a card press)."""
        # The OpenAPI addresses a single chat by the user, a group by its openConversationId.
        target = incoming.chat_id if incoming.group else incoming.user_id
        if self.cards and reply.buttons:
            return await self._card(reply, incoming, target)
        if webhook is None:
            return await self.push(target, reply, group=incoming.group)
        delivered = True
        for body in markdown_messages(reply):
            delivered = await self._post(webhook, body, incoming.chat_id) and delivered
        return delivered

    async def push(self, chat_id: str, reply: Reply, *, group: bool = False) -> bool:
        """Markdown to a user (staffId) or a group (openConversationId) without an incoming message."""
        if group:
            path, address = "/v1.0/robot/groupMessages/send", {"openConversationId": chat_id}
        else:
            path, address = "/v1.0/robot/oToMessages/batchSend", {"userIds": [chat_id]}
        delivered = True
        for body in markdown_messages(reply):
            payload = {"robotCode": self.api.client_id, "msgKey": "sampleMarkdown",
                       "msgParam": json.dumps(body["markdown"], ensure_ascii=False), **address}
            delivered = await self.api.post(path, payload, chat=chat_id) and delivered
        return delivered

    async def _card(self, reply: Reply, incoming: Incoming, target: str) -> bool:
        biz_id = uuid.uuid4().hex
        stored = {"chat": incoming.chat_id, "group": incoming.group, "buttons": [b.__dict__ for b in reply.buttons]}
        await asyncio.to_thread(self.conversation.services.state.put, CARD_SCOPE, biz_id, stored)
        body: dict[str, Any] = {"cardTemplateId": "StandardCard", "robotCode": self.api.client_id,
                                "cardBizId": biz_id, "callbackType": "STREAM",
                                "cardData": json.dumps(card_json(reply), ensure_ascii=False)}
        if incoming.group:
            body["openConversationId"] = target
        else:
            body["singleChatReceiver"] = json.dumps({"userId": target})
        return await self.api.post(CARD_SEND, body, chat=target)

    async def _post(self, webhook: str, body: dict[str, Any], chat: str) -> bool:
        async def once() -> tuple[int, dict[str, Any]]:
            await self.api.pacer.wait(chat)
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


class CardHandler(CallbackHandler):
    """Presses of card buttons (the card callback topic): the stored button of that card, answered as a turn."""

    def __init__(self, bot: GovbotHandler) -> None:
        super().__init__()
        self.bot = bot

    async def process(self, callback: CallbackMessage) -> tuple[int, Any]:
        try:
            card = CardCallbackMessage.from_dict(callback.data)
            actions = (card.content.get("cardPrivateData") or {}).get("actionIds") or []
            index = int(str(actions[0]).removeprefix("b"))
        except Exception:  # not JSON, no action, not one of our button ids
            log.warning("dingtalk: unreadable card callback: %.200s", callback.data)
            return AckMessage.STATUS_BAD_REQUEST, "bad callback"
        stored = await asyncio.to_thread(self.bot.conversation.services.state.get, CARD_SCOPE,
                                         card.card_instance_id)
        if not stored or not 0 <= index < len(stored["buttons"]) or not card.user_id:
            log.warning("dingtalk: card callback for an unknown card or button: %s", card.card_instance_id)
            return AckMessage.STATUS_OK, {}
        button = Button(**stored["buttons"][index])
        section = (button.record_id, button.intent) if not button.vote else None
        incoming = Incoming(PLATFORM, stored["chat"], card.user_id, group=stored["group"], section=section,
                            vote=button.vote)
        self.bot.start(incoming, None)
        return AckMessage.STATUS_OK, {}  # an empty response: the card stays as it is


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
    api = OpenApi(http, settings, Pacer(PER_CHAT), retry_delay=retry_delay)
    handler = GovbotHandler(conversation, http, api, cards=settings.govbot_dingtalk_cards, retry_delay=retry_delay)
    credential = dingtalk_stream.Credential(settings.govbot_dingtalk_client_id,
                                            settings.govbot_dingtalk_client_secret)
    client = StreamClient(credential, settings.govbot_dingtalk_gateway_url)
    client.register_callback_handler(ChatbotMessage.TOPIC, handler)
    if handler.cards:  # card presses come on their own topic
        client.register_callback_handler(CallbackHandler.TOPIC_CARD_CALLBACK, CardHandler(handler))
    return client, handler


def configured(settings: Any) -> bool:
    return bool(settings.govbot_dingtalk_client_id and settings.govbot_dingtalk_client_secret)


async def run_dingtalk(services: Services) -> None:
    """Stay connected until cancelled (the SDK reconnects by itself after a dropped connection)."""
    async with httpx.AsyncClient(timeout=15.0, trust_env=False) as http:
        client, handler = build_client(services, http)
        channels.register(PLATFORM, handler)
        log.info("dingtalk: connecting in Stream mode (%s)", "cards" if handler.cards else "Markdown")
        try:
            await client.start()
        finally:
            channels.unregister(PLATFORM, handler)

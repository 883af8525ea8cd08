"""WeCom (企业微信) 自建应用: the callback URL with wechatpy's crypto, replies through the WeCom API.

WeCom verifies the URL with a GET (msg_signature over the encrypted echostr, which we decrypt and return),
then POSTs AES-encrypted XML; a bad signature or undecryptable body is refused with 403. WeCom wants the
response within 5 seconds and retries otherwise, so the callback answers "" at once and the answer is sent
through message/send: the answer as Markdown, then a template card (button_interaction) with the section
buttons and 👍/👎, whose presses come back as template_card_event callbacks.
`push` sends the same to a member without an incoming message. Sends to one member are paced: WeCom drops,
without an error, app messages beyond 30 a minute or 1000 an hour to one member.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import xmltodict
from fastapi import FastAPI, Request, Response
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot import channels, messages
from bot.channels.base import Button, Conversation, Incoming, Reply, parse_ids, post_with_backoff, text_reply
from bot.channels.pacing import Limit, Pacer

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

PLATFORM = "wecom"
MAX_BODY = 256 * 1024  # a callback is a few KB; anything larger is not from WeCom
MAX_CARD_BUTTONS = 6  # a button_interaction card holds at most 6 buttons
# 45009: the app's API frequency limit; 45033: concurrent calls; -1: system busy. 42001/40014: token expired.
THROTTLE_CODES = {45009, 45033, -1}
TOKEN_CODES = {42001, 40014}
# 30 a minute and 1000 an hour to one member (beyond, messages are dropped silently): 10 at once, then 0.27/s
# (10 + 16 in a minute, 10 + 972 in an hour).
PER_USER = Limit(rate=0.27, burst=10)


def button_key(button: Button) -> str:
    return json.dumps(button.value(), ensure_ascii=False, separators=(",", ":"))


def card_buttons(buttons: list[Button]) -> list[Button]:
    """The card's buttons: as many sections and items as fit, the two votes always."""
    votes = [b for b in buttons if b.vote]
    return [b for b in buttons if not b.vote][: MAX_CARD_BUTTONS - len(votes)] + votes


def incoming_from_xml(data: dict[str, Any]) -> Incoming | None:
    user = str(data.get("FromUserName") or "")
    if not user:
        return None
    kind = data.get("MsgType")
    if kind == "text":
        return Incoming(PLATFORM, user, user, str(data.get("Content") or "").strip())
    if kind == "event":
        if data.get("Event") != "template_card_event":
            return None  # enter_agent, subscribe…: nothing to answer
        try:
            value = json.loads(str(data.get("EventKey") or ""))
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        if value.get("v") in (1, -1):
            return Incoming(PLATFORM, user, user, vote=value["v"])
        if isinstance(value.get("r"), str) and isinstance(value.get("i"), str):
            return Incoming(PLATFORM, user, user, section=(value["r"], value["i"]))
        return None
    return Incoming(PLATFORM, user, user, "")  # an image, voice, file: answered with TEXT_ONLY


class WeComChannel:
    def __init__(self, services: Services, http: httpx.AsyncClient, *, retry_delay: float = 1.0) -> None:
        s = services.settings
        self.settings = s
        self.crypto = WeChatCrypto(s.govbot_wecom_token, s.govbot_wecom_aes_key, s.govbot_wecom_corp_id)
        self.conversation = Conversation(services, PLATFORM, parse_ids(s.govbot_wecom_admin_ids))
        self.http = http
        self.retry_delay = retry_delay
        self._token: tuple[str, float] | None = None
        self.pacer = Pacer(PER_USER)
        self.tasks: set[asyncio.Task[None]] = set()

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str | None:
        try:
            return self.crypto.check_signature(signature, timestamp, nonce, echostr)
        except Exception as exc:  # InvalidSignatureException, bad base64/padding, wrong corp id
            log.warning("wecom: URL verification refused: %s", exc)
            return None

    def receive(self, body: bytes, signature: str, timestamp: str, nonce: str) -> bool:
        """Check and decrypt one callback and start answering it; False when it is refused."""
        try:
            plain = self.crypto.decrypt_message(body, signature, timestamp, nonce)
            data = xmltodict.parse(plain)["xml"]
        except InvalidSignatureException:
            log.warning("wecom: callback with a bad signature refused")
            return False
        except Exception as exc:  # not XML, not decryptable, another corp's message
            log.warning("wecom: callback refused: %s", exc)
            return False
        incoming = incoming_from_xml(data) if isinstance(data, dict) else None
        if incoming is not None:
            task = asyncio.get_running_loop().create_task(self._answer(incoming))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return True

    async def _answer(self, incoming: Incoming) -> None:
        if not incoming.text and incoming.section is None and not incoming.vote:
            await self.send(incoming.user_id, text_reply(messages.TEXT_ONLY))
            return
        reply = await self.conversation.handle(incoming, notify=lambda r: self.send(incoming.user_id, r))
        await self.send(incoming.user_id, reply)

    async def push(self, chat_id: str, reply: Reply, *, group: bool = False) -> bool:
        """The answer's messages to a member (UserID) without an incoming message."""
        if group:  # a 自建应用 writes to members; group chats are not part of this channel
            log.error("wecom: push to group %s not sent: only members (UserID) can be reached", chat_id)
            return False
        return await self.send(chat_id, reply)

    async def send(self, user: str, reply: Reply) -> bool:
        agent = self.settings.govbot_wecom_agent_id
        bodies: list[dict[str, Any]] = [{"touser": user, "agentid": agent, "msgtype": "markdown",
                                         "markdown": {"content": chunk}} for chunk in reply.chunks]
        buttons = card_buttons(reply.buttons)
        if buttons:
            bodies.append({"touser": user, "agentid": agent, "msgtype": "template_card", "template_card": {
                "card_type": "button_interaction", "main_title": {"title": reply.title},
                "task_id": uuid.uuid4().hex,  # a card's buttons are pressed once per task id; one per answer
                "button_list": [{"text": b.label[:20], "style": 1 if b.vote > 0 else 2, "key": button_key(b)}
                                for b in buttons]}})
        delivered = True
        for body in bodies:
            delivered = await self._post(body) and delivered
        return delivered

    async def _access_token(self, refresh: bool = False) -> str:
        if not refresh and self._token and self._token[1] > time.monotonic():
            return self._token[0]
        response = await self.http.get(f"{self.settings.govbot_wecom_api_base}/cgi-bin/gettoken",
                                       params={"corpid": self.settings.govbot_wecom_corp_id,
                                               "corpsecret": self.settings.govbot_wecom_secret})
        data = response.json()
        if data.get("errcode"):
            raise RuntimeError(f"gettoken: {data}")
        # Renewed five minutes early: WeCom may expire it a little before expires_in.
        self._token = (data["access_token"], time.monotonic() + int(data.get("expires_in", 7200)) - 300)
        return self._token[0]

    async def _post(self, body: dict[str, Any]) -> bool:
        refresh = False

        async def once() -> tuple[int, dict[str, Any]]:
            nonlocal refresh
            await self.pacer.wait(str(body["touser"]))
            token = await self._access_token(refresh)
            response = await self.http.post(f"{self.settings.govbot_wecom_api_base}/cgi-bin/message/send",
                                            params={"access_token": token}, json=body)
            data = response.json()
            refresh = data.get("errcode") in TOKEN_CODES
            return response.status_code, data

        return await post_with_backoff(
            once, platform=PLATFORM, first_delay=self.retry_delay,
            ok=lambda status, data: status == 200 and data.get("errcode") == 0,
            throttled=lambda status, data: status == 429 or data.get("errcode") in THROTTLE_CODES | TOKEN_CODES)


def build_app(channel: WeComChannel) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/wecom/callback")
    async def verify(msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = "") -> Response:
        echo = channel.verify_url(msg_signature, timestamp, nonce, echostr)
        if echo is None:
            return Response("forbidden", status_code=403)
        return Response(echo, media_type="text/plain")

    @app.post("/wecom/callback")
    async def callback(request: Request, msg_signature: str = "", timestamp: str = "", nonce: str = ""
                       ) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY or not channel.receive(body, msg_signature, timestamp, nonce):
            return Response("forbidden", status_code=403)
        return Response("", media_type="text/plain")  # the answer goes through message/send

    return app


def configured(settings: Any) -> bool:
    return bool(settings.govbot_wecom_corp_id and settings.govbot_wecom_secret and settings.govbot_wecom_token
                and settings.govbot_wecom_aes_key and settings.govbot_wecom_agent_id)


async def run_wecom(services: Services) -> None:
    import uvicorn

    settings = services.settings
    async with httpx.AsyncClient(timeout=15.0, trust_env=False) as http:
        channel = WeComChannel(services, http)
        channels.register(PLATFORM, channel)
        log.info("wecom: callback on %s:%s/wecom/callback", settings.govbot_wecom_listen, settings.govbot_wecom_port)
        try:
            await uvicorn.Server(uvicorn.Config(build_app(channel), host=settings.govbot_wecom_listen,
                                                port=settings.govbot_wecom_port, log_level="warning")).serve()
        finally:
            channels.unregister(PLATFORM, channel)

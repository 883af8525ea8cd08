"""A fake DingTalk on 127.0.0.1: the Stream gateway (open-connection HTTP + WebSocket) and session webhooks.

The real SDK connects to it: POST /v1.0/gateway/connections/open answers with this server's WebSocket
endpoint and a ticket; the test pushes CALLBACK frames down that socket (as DingTalk does when a user writes
to the bot) and reads the acks; replies the adapter posts to a message's sessionWebhook are recorded.
It runs its own event loop in a thread, as the real one is another machine: the SDK opens the connection
with a blocking request from inside the adapter's loop. ``throttle`` makes the next N webhook posts answer errcode 130101 (DingTalk's "发送太快").

The robot OpenAPI is here too: /v1.0/oauth2/accessToken, interactive cards (recorded in ``cards``), and the
proactive sends oToMessages/batchSend and groupMessages/send (recorded in ``api``). ``api_throttle`` makes the
next N OpenAPI posts answer HTTP 429 with a QpsLimit code; ``press`` sends a card-callback frame.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.fake_server import ThreadedServer

TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


class FakeDingTalk(ThreadedServer):
    name = "fake-dingtalk"

    def __init__(self) -> None:
        self.opened: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []  # every webhook post, throttled or not
        self.replies: list[dict[str, Any]] = []  # the accepted ones
        self.throttle = 0
        self.tokens = 0
        self.cards: list[dict[str, Any]] = []  # accepted interactive cards, cardData decoded
        self.api: list[dict[str, Any]] = []  # accepted proactive sends: {"path", "body", "param"}
        self.api_posts = 0
        self.api_throttle = 0
        self.connected = threading.Event()
        self._ws: web.WebSocketResponse | None = None
        self._ids = itertools.count(1)
        super().__init__()

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.connected.is_set():
            if time.monotonic() > deadline:
                raise AssertionError("the SDK did not connect")
            await asyncio.sleep(0.02)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._socket)
        app.router.add_post("/webhook/{chat}", self._webhook)
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/im/v1.0/robot/interactiveCards/send", self._openapi)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._openapi)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._openapi)

    async def _stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await super()._stop()

    async def _open(self, request: web.Request) -> web.Response:
        self.opened.append(await request.json())
        return web.json_response({"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": "ticket-1"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        assert request.query.get("ticket") == "ticket-1"
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        self.connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.acks.append(json.loads(msg.data))
        return ws

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_chat"] = request.match_info["chat"]
        self.posts.append(body)
        if self.throttle > 0:
            self.throttle -= 1
            return web.json_response({"errcode": 130101, "errmsg": "send too fast"})
        self.replies.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"appKey": "ding-id", "appSecret": "ding-secret"}:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "bad"}, status=400)
        self.tokens += 1
        return web.json_response({"accessToken": f"at-{self.tokens}", "expireIn": 7200})

    async def _openapi(self, request: web.Request) -> web.Response:
        self.api_posts += 1
        if request.headers.get("x-acs-dingtalk-access-token") != f"at-{self.tokens}":
            return web.json_response({"code": "InvalidAuthentication", "message": "token"}, status=401)
        if self.api_throttle > 0:
            self.api_throttle -= 1
            return web.json_response({"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"},
                                     status=429)
        body = await request.json()
        if request.path.endswith("interactiveCards/send"):
            self.cards.append({**body, "card": json.loads(body["cardData"])})
            return web.json_response({"processQueryKey": f"q-{len(self.cards)}"})
        self.api.append({"path": request.path, "body": body, "param": json.loads(body["msgParam"])})
        return web.json_response({"processQueryKey": f"q-{len(self.api)}", "invalidStaffIdList": [],
                                  "flowControlledStaffIdList": []})

    async def press(self, card_biz_id: str, action_id: str, *, user: str = "staff-1",
                    content: str | None = None) -> str:
        """A card button pressed: the callback frame DingTalk pushes on the card topic; returns its message id."""
        await self.wait_connected()
        message_id = f"cb-{next(self._ids)}"
        data = {"corpId": "corp-1", "userId": user, "outTrackId": card_biz_id, "type": "actionCallback",
                "content": content if content is not None else json.dumps(
                    {"cardPrivateData": {"actionIds": [action_id], "params": {}}}),
                "extension": "{}"}
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"topic": CARD_TOPIC, "messageId": message_id, "contentType": "application/json",
                             "time": str(int(time.time() * 1000)), "appId": "app-1"},
                 "data": json.dumps(data, ensure_ascii=False)}
        assert self._ws is not None
        await self._call(self._ws.send_str(json.dumps(frame, ensure_ascii=False)))
        return message_id

    async def wait_for(self, what: str, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until ``cards``, ``api`` or ``acks`` holds n entries."""
        deadline = time.monotonic() + timeout
        while len(getattr(self, what)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} {what}, got {getattr(self, what)}")
            await asyncio.sleep(0.02)
        return getattr(self, what)

    async def push(self, text: str, *, user: str = "staff-1", chat: str = "cid-single", group: bool = False,
                   at_bot: bool = True, msgtype: str = "text", raw_data: str | None = None) -> str:
        """Send a bot message frame as DingTalk would; returns its message id."""
        await self.wait_connected()
        message_id = f"msg-{next(self._ids)}"
        data = {
            "conversationId": chat, "conversationType": "2" if group else "1", "msgId": message_id,
            "senderId": f"$:{user}", "senderStaffId": user, "senderNick": "测试用户", "chatbotUserId": "bot-1",
            "msgtype": msgtype, "createAt": int(time.time() * 1000), "isInAtList": at_bot,
            "sessionWebhook": f"{self.base}/webhook/{chat}",
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
        }
        if msgtype == "text":
            data["text"] = {"content": text}
        else:  # a picture: DingTalk sends download codes, not the file
            data["content"] = {"downloadCode": "dc-1", "pictureDownloadCode": "pc-1"}
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"topic": TOPIC, "messageId": message_id, "contentType": "application/json",
                             "time": str(int(time.time() * 1000)), "appId": "app-1"},
                 "data": raw_data if raw_data is not None else json.dumps(data, ensure_ascii=False)}
        assert self._ws is not None
        await self._call(self._ws.send_str(json.dumps(frame, ensure_ascii=False)))
        return message_id

    async def wait_replies(self, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.replies) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} replies, got {self.replies}")
            await asyncio.sleep(0.02)
        return self.replies

    async def ask(self, text: str, **kwargs: Any) -> dict[str, Any]:
        before = len(self.replies)
        await self.push(text, **kwargs)
        return (await self.wait_replies(before + 1))[-1]

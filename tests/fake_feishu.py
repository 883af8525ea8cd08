"""A fake Feishu open API on 127.0.0.1 (tenant token + im/v1/messages) and a sender of encrypted, signed events.

The server runs its own loop in a thread, like a remote machine. ``throttle`` makes the next N message posts
answer HTTP 429 with code 99991400 (Feishu's rate limit).

The long connection too: POST /callback/ws/endpoint answers with this server's WebSocket URL, and the test sends
events down it as the SDK's protobuf frames (``send_event``); the SDK's answers come back as frames in ``acks``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from typing import Any

from aiohttp import WSMsgType, web
from Crypto.Cipher import AES
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from tests.fake_server import ThreadedServer


def encrypt(plaintext: str, key: str) -> str:
    """Feishu's event encryption: AES-256-CBC with sha256(key), a random IV in front, PKCS7, base64."""
    data = plaintext.encode()
    pad = AES.block_size - len(data) % AES.block_size
    iv = os.urandom(AES.block_size)
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode()


def signed(body: bytes, key: str, *, timestamp: str | None = None, nonce: str = "n-1") -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    signature = hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()
    return {"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": signature,
            "Content-Type": "application/json"}


def message_event(text: str, *, token: str, chat: str = "oc_single", user: str = "ou_user",
                  group: bool = False, mention: bool = True, message_type: str = "text") -> dict[str, Any]:
    mentions = [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "高兴办"}] if group and mention else None
    content = json.dumps({"text": f"@_user_1 {text}" if mentions else text}, ensure_ascii=False)
    return {"schema": "2.0",
            "header": {"event_id": os.urandom(8).hex(), "event_type": "im.message.receive_v1", "token": token,
                       "create_time": str(int(time.time() * 1000)), "app_id": "cli_test", "tenant_key": "t"},
            "event": {"sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
                      "message": {"message_id": "om_" + os.urandom(4).hex(), "chat_id": chat,
                                  "chat_type": "group" if group else "p2p", "message_type": message_type,
                                  "content": content if message_type == "text" else "{}",
                                  "mentions": mentions}}}


def action_event(value: dict[str, Any], *, token: str, chat: str = "oc_single", user: str = "ou_user"
                 ) -> dict[str, Any]:
    return {"schema": "2.0",
            "header": {"event_id": os.urandom(8).hex(), "event_type": "card.action.trigger", "token": token,
                       "create_time": str(int(time.time() * 1000)), "app_id": "cli_test"},
            "event": {"operator": {"open_id": user}, "token": "c-1",
                      "action": {"tag": "button", "value": value},
                      "context": {"open_chat_id": chat, "open_message_id": "om_card"}}}


class FakeFeishu(ThreadedServer):
    name = "fake-feishu"

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []  # accepted: {"receive_id_type", "body", "card"}
        self.posts = 0
        self.throttle = 0
        self.tokens = 0
        self.endpoint_requests: list[dict[str, Any]] = []
        self.acks: list[Frame] = []  # DATA frames the SDK sent back (its answer to each event frame)
        self.pings = 0
        self.connections = 0
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/open-apis/auth/v3/app_access_token/internal", self._token)
        app.router.add_post("/open-apis/im/v1/messages", self._message)
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._socket)

    async def _stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await super()._stop()

    async def _endpoint(self, request: web.Request) -> web.Response:
        self.endpoint_requests.append(await request.json())
        return web.json_response({"code": 0, "msg": "ok", "data": {
            "URL": f"ws://127.0.0.1:{self.port}/ws?device_id=dev-1&service_id=7",
            "ClientConfig": {"ReconnectCount": 3, "ReconnectInterval": 1, "ReconnectNonce": 0,
                             "PingInterval": 120}}})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        assert request.query.get("device_id") == "dev-1"
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        self.connections += 1
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                frame = Frame()
                frame.ParseFromString(msg.data)
                if frame.method == 1:
                    self.acks.append(frame)
                else:
                    self.pings += 1
        return ws

    async def drop(self) -> None:
        """Close the long connection from the server side, as a restart of Feishu's gateway would."""
        ws, self._ws = self._ws, None
        assert ws is not None
        await self._call(ws.close())

    async def send_raw(self, data: bytes) -> None:
        await self.wait_connected()
        assert self._ws is not None
        await self._call(self._ws.send_bytes(data))

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._ws is None:
            if time.monotonic() > deadline:
                raise AssertionError("the SDK did not open its long connection")
            await asyncio.sleep(0.02)

    async def send_event(self, event: dict[str, Any], *, parts: int = 1) -> str:
        """An event as the long connection carries it: DATA frames (split in ``parts``); returns message_id."""
        await self.wait_connected()
        self._seq += 1
        message_id = f"msg-{self._seq}"
        payload = json.dumps(event, ensure_ascii=False).encode()
        size = -(-len(payload) // parts)
        for seq in range(parts):
            frame = Frame(SeqID=self._seq, LogID=self._seq, service=7, method=1,
                          payload=payload[seq * size:(seq + 1) * size])
            for key, value in (("type", "event"), ("message_id", message_id), ("sum", str(parts)),
                               ("seq", str(seq)), ("trace_id", f"trace-{self._seq}")):
                header = frame.headers.add()
                header.key, header.value = key, value
            assert self._ws is not None
            await self._call(self._ws.send_bytes(frame.SerializeToString()))
        return message_id

    async def wait_ack(self, message_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The SDK's response frame for an event: its headers and the JSON payload."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.acks:
                headers = {h.key: h.value for h in frame.headers}
                if headers.get("message_id") == message_id:
                    return {"headers": headers, "payload": json.loads(frame.payload)}
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {message_id}")
            await asyncio.sleep(0.02)

    async def _token(self, request: web.Request) -> web.Response:
        self.tokens += 1
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": "t-test",
                                  "app_access_token": "a-test", "expire": 7200})

    async def _message(self, request: web.Request) -> web.Response:
        self.posts += 1
        assert request.headers.get("Authorization") == "Bearer t-test"
        if self.throttle > 0:
            self.throttle -= 1
            return web.json_response({"code": 99991400, "msg": "request trigger frequency limit"}, status=429)
        body = await request.json()
        self.messages.append({"receive_id_type": request.query.get("receive_id_type"), "body": body,
                              "card": json.loads(body["content"])})
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": f"om_{len(self.messages)}"}})

    async def wait_messages(self, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} messages, got {self.messages}")
            await asyncio.sleep(0.02)
        return self.messages

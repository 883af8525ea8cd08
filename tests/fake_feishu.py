"""A fake Feishu open API on 127.0.0.1 (tenant token + im/v1/messages) and a sender of encrypted, signed events.

The server runs its own loop in a thread, like a remote machine. ``throttle`` makes the next N message posts
answer HTTP 429 with code 99991400 (Feishu's rate limit).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from typing import Any

from aiohttp import web
from Crypto.Cipher import AES

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
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/open-apis/auth/v3/app_access_token/internal", self._token)
        app.router.add_post("/open-apis/im/v1/messages", self._message)

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

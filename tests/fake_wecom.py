"""A fake WeCom API on 127.0.0.1 (gettoken, message/send) and callbacks encrypted as WeCom does.

``throttle`` makes the next N sends answer errcode 45009 (the app's frequency limit); ``expire`` makes the
next send answer 42001 (access token expired), after which the adapter must fetch a new token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

CORP = "ww-test-corp"
TOKEN = "callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom issues them


def callback(crypto: WeChatCrypto, fields: dict[str, Any], nonce: str = "nonce-1") -> tuple[bytes, dict[str, str]]:
    """The POST body and query WeCom sends for a message: the XML encrypted and signed."""
    inner = xmltodict.unparse({"xml": {"ToUserName": CORP, "CreateTime": int(time.time()), "AgentID": 1000002,
                                       **fields}}, full_document=False)
    outer = xmltodict.parse(crypto.encrypt_message(inner, nonce))["xml"]
    body = xmltodict.unparse({"xml": {"ToUserName": CORP, "AgentID": 1000002, "Encrypt": outer["Encrypt"]}},
                             full_document=False)
    return body.encode(), {"msg_signature": outer["MsgSignature"], "timestamp": outer["TimeStamp"],
                           "nonce": outer["Nonce"]}


class FakeWeCom:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.posts = 0
        self.tokens = 0
        self.throttle = 0
        self.expire = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _gettoken(self, request: web.Request) -> web.Response:
        assert request.query["corpid"] == CORP and request.query["corpsecret"] == "app-secret"
        self.tokens += 1
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": f"tok-{self.tokens}",
                                  "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        self.posts += 1
        if self.expire > 0:
            self.expire -= 1
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if self.throttle > 0:
            self.throttle -= 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        assert request.query["access_token"] == f"tok-{self.tokens}"
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": str(len(self.sent))})

    async def wait_sent(self, n: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} sends, got {self.sent}")
            await asyncio.sleep(0.02)
        return self.sent

"""Telegram's webhook as a route of the web app: in production `govbot serve` takes Telegram's updates on
the web port, in the web server's event loop, so replicas behind one load balancer need one port each.

The web channel knows nothing of the Telegram adapter or its library: the serve loop (bot/serving.py)
hands in the path, the secret and ``deliver``, a coroutine taking one update's JSON object. The route
checks the secret Telegram sends in ``X-Telegram-Bot-Api-Secret-Token`` (403 otherwise, nothing is
delivered), refuses a body that is not an update (400), and answers 503 while the bot is not running,
so Telegram delivers the update again later.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class TelegramWebhook:
    """Where Telegram posts (``path``), the shared secret, and what takes an update.

    ``deliver`` returns False while the bot cannot take updates and raises ValueError for a JSON
    object that is not an update.
    """

    path: str
    secret: str
    deliver: Callable[[dict[str, Any]], Awaitable[bool]]


def telegram_router(hook: TelegramWebhook) -> APIRouter:
    """One POST route at ``hook.path``. Telegram reads only the status code, so the bodies stay empty."""
    router = APIRouter()
    expected = hook.secret.encode()

    @router.post(hook.path, include_in_schema=False)
    async def telegram_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):  # constant time: the secret is the only credential
            log.warning("telegram webhook: wrong or missing %s from %s", SECRET_HEADER,
                        request.client.host if request.client else "?")
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            log.warning("telegram webhook: the body is not a JSON object")
            return Response(status_code=400)
        try:
            accepted = await hook.deliver(data)
        except ValueError as exc:
            log.warning("telegram webhook: not an update (%s)", exc)
            return Response(status_code=400)
        return Response(status_code=200 if accepted else 503)

    return router

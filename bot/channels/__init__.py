"""Messenger channels beside Telegram (issue 14): DingTalk, Feishu/Lark, WeCom.

Each adapter only turns its platform's events into a neutral `Incoming` message and renders the
structured answer back; the conversation (state, buttons, votes, admin commands) lives in bot.channels.base.
The adapters never import each other (an import-linter contract in pyproject.toml).

Proactive sends: every running adapter registers itself here with the event loop it runs on (`govbot serve`
runs each one in a thread of its own). Code that wants to write to a chat without an incoming message (a staff
handoff, a delivery loop) calls `await bot.channels.push("dingtalk", chat_id, reply)` from any thread or loop;
it returns False, logged, when the platform is not running or the message could not be delivered.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.channels.base import Reply

log = logging.getLogger(__name__)


class Pusher(Protocol):
    async def push(self, chat_id: str, reply: Reply, *, group: bool = False) -> bool: ...


_running: dict[str, tuple[Pusher, asyncio.AbstractEventLoop]] = {}
_lock = threading.Lock()


def register(platform: str, adapter: Pusher) -> None:
    """Called by an adapter from inside its running event loop."""
    with _lock:
        _running[platform] = (adapter, asyncio.get_running_loop())


def unregister(platform: str, adapter: Pusher) -> None:
    with _lock:
        if platform in _running and _running[platform][0] is adapter:
            del _running[platform]


def running() -> list[str]:
    """The platforms whose adapter is up in this process."""
    with _lock:
        return sorted(_running)


async def push(platform: str, chat_id: str, reply: Reply, *, group: bool = False) -> bool:
    """Send ``reply`` to a chat on ``platform`` through its running adapter (on the adapter's own loop)."""
    with _lock:
        entry = _running.get(platform)
    if entry is None:
        log.error("%s: push to %s not sent: the adapter is not running in this process", platform, chat_id)
        return False
    adapter, loop = entry
    coro = adapter.push(chat_id, reply, group=group)
    try:
        if loop is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))
    except Exception:  # a closed loop, a bug in the adapter: the caller hears False, the log says why
        log.exception("%s: push to %s failed", platform, chat_id)
        coro.close()  # never started when the adapter's loop was already closed
        return False

"""Outgoing pacing: a token bucket per chat (and one per app) so we stay under a platform's documented send
limits instead of running into them. Going over is worse than waiting: DingTalk blocks a robot for 10 minutes
after more than 20 messages a minute in a group, and WeCom silently drops app messages beyond 30 a minute to
one member. Retrying on a throttling reply (bot.channels.base.post_with_backoff) stays as the second line.

The clock is injected so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_CHATS = 10_000  # buckets kept in memory; beyond, idle (full) ones go first, then the oldest


class TokenBucket:
    """`burst` sends at once, then `rate` a second. A reservation may go into debt: the caller waits it out."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1 (got {rate}, {burst})")
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def reserve(self) -> float:
        """Take one token; the seconds to wait before using it (0.0 when one was there)."""
        self._refill()
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


@dataclass(frozen=True)
class Limit:
    rate: float  # sends a second, sustained
    burst: int  # sends at once


class Pacer:
    """One bucket per chat under an optional bucket for the whole app."""

    def __init__(self, per_chat: Limit, per_app: Limit | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_chat = per_chat
        self.clock = clock
        self.app = TokenBucket(per_app.rate, per_app.burst, clock) if per_app else None
        self.chats: dict[str, TokenBucket] = {}

    def reserve(self, chat: str) -> float:
        """Seconds to wait before the next send to ``chat`` (reserved: call once per send)."""
        bucket = self.chats.get(chat)
        if bucket is None:
            if len(self.chats) >= MAX_CHATS:
                self.chats = {k: b for k, b in self.chats.items() if not b.full}
                while len(self.chats) >= MAX_CHATS:
                    del self.chats[next(iter(self.chats))]
            bucket = self.chats[chat] = TokenBucket(self.per_chat.rate, self.per_chat.burst, self.clock)
        delay = bucket.reserve()
        if self.app is not None:
            delay = max(delay, self.app.reserve())
        return delay

    async def wait(self, chat: str) -> None:
        delay = self.reserve(chat)
        if delay > 0:
            await asyncio.sleep(delay)

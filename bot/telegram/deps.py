"""What the handlers share, reached through ``context.bot_data["govbot"]``, and the callback-data codec.

Callback data stays compact explicit strings ("q:<record>:<intent>", "f:+:<record>", "mt:<field>:<choice>",
…) rather than PTB's arbitrary callback data: its CallbackDataCache lives in one process and is resolved
when an update is decoded, before the update processor could read another replica's copy, and it is
persisted as one blob that two replicas would overwrite. A string is understood by any replica, survives
restarts and cache eviction (👍 on a week-old answer still names its record).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from telegram.ext import ContextTypes

if TYPE_CHECKING:
    from bot.services.admin import AdminService
    from bot.services.asking import AskService

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE

CHANNEL = "telegram"
MAX_CALLBACK_BYTES = 64
FLOOD_MAX, FLOOD_WINDOW = 8, 10.0


def _pool(name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix=name)


@dataclass
class Deps:
    """The engine and services, the admins, and per-process executors and flood counters."""

    engine: Any
    settings: Any
    store_dir: Path
    feedback: Any
    admin: AdminService
    admin_ids: frozenset[int]
    asking: AskService
    flood_max: int = FLOOD_MAX
    flood_window: float = FLOOD_WINDOW
    # The engine is CPU-bound and not documented as thread-safe: one worker keeps it serial while the
    # event loop stays free for network I/O. SQLite likes a single writer too.
    engine_pool: ThreadPoolExecutor = field(default_factory=lambda: _pool("govbot-engine"))
    db_pool: ThreadPoolExecutor = field(default_factory=lambda: _pool("govbot-db"))
    # Flood counters are per process on purpose: a user flooding two replicas is still slowed on each.
    hits: dict[int, Any] = field(default_factory=dict)
    warned_until: dict[int, float] = field(default_factory=dict)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.engine_pool, fn, *args)

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.db_pool, fn, *args)

    def close(self) -> None:
        self.engine_pool.shutdown(wait=False, cancel_futures=True)
        self.db_pool.shutdown(wait=False, cancel_futures=True)

    def policies(self) -> list[Any]:
        return [r for r in self.engine.records.values() if r.kind == "policy"]

    def ref(self, record_id: str) -> str:
        """A record id short enough for callback data (≤ 64 bytes with prefix and intent)."""
        return record_ref(record_id)

    def resolve(self, ref: str) -> str | None:
        records = self.engine.records
        if not ref.startswith("#"):
            return ref if ref in records else None
        return next((rid for rid in records if record_ref(rid) == ref), None)


def deps(context: Context) -> Deps:
    return context.bot_data["govbot"]


def record_ref(record_id: str) -> str:
    if len(record_id.encode()) <= 40:
        return record_id
    return "#" + hashlib.sha1(record_id.encode()).hexdigest()[:12]


def data(*parts: str) -> str:
    """Callback data from its parts; Telegram rejects more than 64 bytes."""
    text = ":".join(parts)
    if len(text.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {text!r}")
    return text

"""`govbot serve`'s event loop (bot.serving.serve_loop) started inside a test's own loop, over the fixture KB.

The real composition: one Services object, uvicorn on 127.0.0.1, and the real python-telegram-bot
Application against tests/fake_bot_api.py. Shared by tests/test_serve_loop.py and
tests/test_telegram_webhook.py.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from bot.services.container import build_services
from bot.serving import serve_loop
from ingest.settings import get_settings

QUESTION = "烘焙作坊登记证需要哪些材料？"
RECORD = "demo-bakery-permit"
USER = 4343


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Set (or, with "", clear) environment variables and re-read the settings."""
    for key, value in env.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()


async def wait_for_web(base: str, loop_task: asyncio.Task) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for _ in range(400):
            assert not loop_task.done(), loop_task
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the web app did not come up")


@asynccontextmanager
async def serving(store: Path):
    """serve_loop over ``store`` with the settings in the environment; stopped (and awaited) on exit."""
    services = build_services(store, get_settings())
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_loop(services, "127.0.0.1", port, stop))
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for_web(base, task)
        yield SimpleNamespace(base=base, port=port, services=services, task=task)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 60) == 0


def numbered(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit() and ". " in line[:5]]


def assert_lists_every_material(text: str, record) -> None:
    """The bot's answer lists exactly the record's materials, in order, under the record's title."""
    assert text.splitlines()[0] == f"《{record.title}》", text
    lines = numbered(text)
    assert len(lines) == len(record.materials), text
    for i, (line, material) in enumerate(zip(lines, record.materials, strict=True), 1):
        assert line.startswith(f"{i}. {material.name}"), (line, material.name)

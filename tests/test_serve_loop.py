"""`govbot serve` runs the web app and the Telegram bot in one process and one event loop (issue 12).

In-process: serve_loop with a bot token and no webhook URL polls the fake Bot API (tests/fake_bot_api.py)
while uvicorn answers /api/ask, both over the one Services object. As a process: `govbot serve` stops
cleanly on Ctrl+C (SIGINT), the bot included.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from fake_bot_api import TOKEN, FakeBotAPI
from serve_harness import QUESTION, RECORD, USER, assert_lists_every_material, configure, free_port, serving
from sqlalchemy import func, select

from bot import messages
from bot.feedback import questions as questions_table

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


async def test_the_web_app_and_the_polling_bot_answer_from_one_loop(
        home, small_store, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url, TELEGRAM_ADMIN_IDS="",
              GOVBOT_TELEGRAM_WEBHOOK_URL="", GOVBOT_TELEGRAM_WEBHOOK_SECRET="")
    async with serving(small_store) as served:
        record = served.services.engine.records[RECORD]
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
            # Both at once: the bot's polled update and a web request, in flight together.
            asked, web = await asyncio.gather(api.ask(USER, QUESTION),
                                              client.get("/api/ask", params={"q": QUESTION}))
        assert_lists_every_material(asked.text, record)
        answer = web.json()
        assert answer["grounded"] and answer["record_ids"] == [RECORD]
        assert api.calls_of("getUpdates") and not api.calls_of("setWebhook")
        db = served.services.feedback.db
    # One process, one usage store: the web's question (written at shutdown) and the bot's are in the same table.
    with db.connect() as conn:
        counts = dict(conn.execute(select(questions_table.c.channel, func.count())
                                   .group_by(questions_table.c.channel)).all())
    assert counts == {"telegram": 1, "web": 1}


def test_govbot_serve_stops_on_ctrl_c_with_the_bot(tmp_path: Path, small_engine) -> None:
    """The real command: ingest, serve, answer both channels, then SIGINT ends it with status 0."""
    api_thread_loop = asyncio.new_event_loop()
    api = FakeBotAPI(long_poll_cap=0.3)
    api_thread = threading.Thread(target=api_thread_loop.run_forever, daemon=True)
    api_thread.start()
    asyncio.run_coroutine_threadsafe(api.start(), api_thread_loop).result(30)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "tests" / "fixtures" / "kb", knowledge)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "GOVBOT_", "CHROMA_"))}
    env.update(PYTHONPATH=str(ROOT), GOVBOT_HOME=str(tmp_path / "home"), GOVBOT_KNOWLEDGE_DIR=str(knowledge),
               GOVBOT_EMBEDDING="hash", GOVBOT_TODAY="2026-12-01", TELEGRAM_BOT_TOKEN=TOKEN,
               GOVBOT_TELEGRAM_BASE_URL=api.base_url)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        async def converse() -> str:
            await api.wait_until(lambda: api.calls_of("getUpdates"), timeout=120)
            return (await api.ask(USER, QUESTION, timeout=60)).text

        text = asyncio.run_coroutine_threadsafe(converse(), api_thread_loop).result(180)
        assert_lists_every_material(text, small_engine.records[RECORD])
        answer = httpx.get(f"http://127.0.0.1:{port}/api/ask", params={"q": QUESTION}, timeout=30).json()
        assert answer["record_ids"] == [RECORD]
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        asyncio.run_coroutine_threadsafe(api.stop(), api_thread_loop).result(30)
        api_thread_loop.call_soon_threadsafe(api_thread_loop.stop)
    assert proc.returncode == 0, output
    assert messages.SERVE_POLLING in output.replace("\n", "")
    assert "Traceback" not in output, output

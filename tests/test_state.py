"""Conversation state in the database (issue 12): two replicas on one database share a conversation, and
a restart loses nothing. Each test runs on SQLite and on a real PostgreSQL server (tests/conftest.py).

The replicas are two python-telegram-bot Applications in webhook mode behind a round-robin proxy, as in
compose.yaml; the fake Bot API POSTs each update to the webhook like Telegram, so turns alternate.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fake_bot_api import TOKEN, FakeBotAPI
from round_robin import RoundRobin
from sqlalchemy import select

from bot import texts
from bot.feedback import FeedbackStore
from bot.feedback import feedback as feedback_table
from bot.services.state import ConversationStore
from bot.telegram_bot import MATCH_FIELDS, build_application
from ingest.settings import get_settings

USER = 4242
SECRET = "replica_secret_0123"
SETUP = "企业设立登记（有限责任公司）"
MATERIALS_Q = "企业设立登记需要哪些材料？"
QUESTIONS = len(MATCH_FIELDS)


def test_store_round_trip_keeps_plain_data_exactly(database_url: str) -> None:
    store = ConversationStore(database_url)
    answers = OrderedDict([(1002, {"q": "要多久", "voters": [7]}), (1001, {"q": "材料", "voters": []})])
    value = {"state": {"record_id": "company-setup", "intent": "time"}, "answers": answers,
             "match": {"step": 2, "answers": {"in_zone": "是", "industry": None}, "at": 1.5, "picked": []}}
    first = store.put("telegram:chat", "4242", value)
    got = store.get("telegram:chat", "4242")
    assert got == value and isinstance(got["answers"], OrderedDict) and list(got["answers"]) == [1002, 1001]
    assert store.get_many([("telegram:chat", "4242")])[("telegram:chat", "4242")][0] == first
    # A second store on the same database (another replica) reads it; a write gets a new version.
    other = ConversationStore(database_url)
    assert other.get("telegram:chat", "4242") == value
    assert other.put("telegram:chat", "4242", {"state": None}) != first
    assert store.get("telegram:chat", "4242") == {"state": None}
    store.put("telegram:conversation:match", "[4242, 4242]", 1)
    assert other.get("telegram:conversation:match", "[4242, 4242]") == 1
    store.delete("telegram:chat", "4242")
    assert other.get("telegram:chat", "4242") is None and other.get_many([]) == {}
    with pytest.raises(TypeError):
        store.put("telegram:chat", "1", {"when": object()})  # only plain data: any replica must load it


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


@pytest.fixture
def settings(home: Path, api: FakeBotAPI, database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("GOVBOT_TELEGRAM_BASE_URL", api.base_url)
    monkeypatch.setenv("GOVBOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    return get_settings()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def replica(engine, settings, store: Path, port: int, public_url: str):
    """One replica: its own Application (own memory), the shared database, a webhook on ``port``."""
    app = build_application(engine, settings, store, FeedbackStore(settings.database_url), timeout=5.0,
                            state=ConversationStore(settings.database_url), flood_max=100)
    errors: list[BaseException] = []

    async def collect(update: object, context) -> None:
        errors.append(context.error)

    app.add_error_handler(collect)
    async with app:
        await app.post_init(app)
        await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="telegram",
                                        webhook_url=f"{public_url}/telegram", secret_token=SECRET)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_shutdown(app)
    assert not errors, errors


async def test_a_conversation_moves_between_replicas_and_survives_a_restart(
        engine, kb_store: Path, settings, api: FakeBotAPI) -> None:
    ports = [free_port(), free_port()]
    proxy = await RoundRobin({"/telegram": [f"http://127.0.0.1:{p}" for p in ports]}).start()
    try:
        async with replica(engine, settings, kb_store, ports[0], proxy.url), \
                replica(engine, settings, kb_store, ports[1], proxy.url):
            assert api.webhook["url"] == f"{proxy.url}/telegram"
            first = await api.ask(USER, MATERIALS_Q)  # replica 0
            assert first.text.startswith(f"《{SETUP}》")
            follow = await api.ask(USER, "那要多久？")  # replica 1 knows which item "那" is
            assert follow.text.startswith(f"《{SETUP}》") and "【办理时限】" in follow.text
            # 👍 on replica 0 for the answer replica 1 sent: the question it answered is known there too.
            await api.press_for_answer(follow, texts.HELPFUL)
            await api.wait_until(lambda: feedback_rows(settings))
            assert [(r.vote, r.question) for r in feedback_rows(settings)] == [(1, "那要多久？")]
            # /match: each answer reaches the other replica, which knows the step and what came before.
            start = await api.ask(USER, "/match")  # replica 1
            assert f"（1/{QUESTIONS}）" in start.text
            industry = await api.click(start, texts.MATCH_YES)  # replica 0
            assert f"（2/{QUESTIONS}）" in industry.text
            employees = await api.ask(USER, "钠电")  # replica 1
            assert f"（3/{QUESTIONS}）" in employees.text and texts.MATCH_QUESTIONS["employees"] in employees.text
            assert not industry.buttons()  # replica 1 retired the question replica 0 asked
        assert proxy.hits["/telegram"] == [0, 1, 0, 1, 0, 1]
        assert all(status == 200 for _, status in api.deliveries)

        # Both replicas gone; a new one continues the /match, then the earlier item.
        async with replica(engine, settings, kb_store, ports[0], proxy.url):
            proxy.routes["/telegram"] = [f"http://127.0.0.1:{ports[0]}"] * 2
            revenue = await api.ask(USER, "120人")
            assert f"（4/{QUESTIONS}）" in revenue.text and texts.MATCH_QUESTIONS["revenue_wan"] in revenue.text
            assert (await api.ask(USER, "/cancel")).text == texts.MATCH_CANCELLED
            fee = await api.ask(USER, "要收费吗？")
            assert fee.text.startswith(f"《{SETUP}》")
    finally:
        await proxy.stop()


def feedback_rows(settings) -> list:
    store = FeedbackStore(settings.database_url)
    with store.db.connect() as conn:
        return conn.execute(select(feedback_table)).all()


def test_replicas_starting_at_once_on_an_empty_database_all_come_up(database_url: str):
    # Two replicas that start together both created the tables; on PostgreSQL one of them died on
    # "duplicate key value violates unique constraint pg_type_typname_nsp_index".
    import subprocess
    import sys

    script = ("import sys; from bot.services.state import ConversationStore; from bot.feedback import FeedbackStore;"
              "ConversationStore(sys.argv[1]); FeedbackStore(sys.argv[1])")
    root = Path(__file__).resolve().parent.parent
    runs = [subprocess.Popen([sys.executable, "-c", script, database_url], cwd=root, stderr=subprocess.PIPE,
                             text=True) for _ in range(6)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, [e[-400:] for e in errors if e]

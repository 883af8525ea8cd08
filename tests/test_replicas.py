"""compose.yaml's topology without Docker: two `govbot serve` replicas behind a load balancer, one Chroma
server, one PostgreSQL. One conversation is driven across both replicas (issue 12).

Telegram is the channel whose conversation lives on the server (the last item for "那要多久？", the
answers behind 👍/👎, /match's step), so it is the one that must cross replicas: the fake Bot API POSTs
each update to the webhook, a route of each replica's web app on its one port, and the round-robin proxy
(tests/round_robin.py, nginx in compose.yaml) hands them to the replicas in turn. The web page and /api/ask carry their state in the request (rid/intent);
a follow-up through the proxy lands on the other replica and must answer the same way.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from fake_bot_api import TOKEN, FakeBotAPI
from round_robin import RoundRobin
from sqlalchemy import func, select

from bot import texts
from bot.feedback import FeedbackStore
from bot.feedback import feedback as feedback_table
from bot.feedback import questions as questions_table

ROOT = Path(__file__).resolve().parent.parent
USER = 5151
SECRET = "replica_secret_0123"
SETUP = "企业设立登记（有限责任公司）"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(check, what: str, timeout: float = 180) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await check():
                return
        except (httpx.HTTPError, OSError):
            pass
        assert asyncio.get_running_loop().time() < deadline, f"{what} did not come up"
        await asyncio.sleep(0.5)


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


@pytest.fixture
async def chroma(tmp_path: Path):
    """`chroma run` on 127.0.0.1, as tests/test_ingest.py starts it."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "chroma"), "run", "--path", str(tmp_path / "chroma"), "--host",
        "127.0.0.1", "--port", str(port), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    async def up() -> bool:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)).status_code == 200

    try:
        await wait_for(up, "chroma run", 90)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 30)


async def test_one_conversation_across_two_replicas(tmp_path: Path, api: FakeBotAPI, chroma: int,
                                                    postgres_url: str) -> None:
    knowledge = tmp_path / "knowledge" / "guides"
    knowledge.mkdir(parents=True)
    for name in ("company-setup.md", "food-business-license.md"):
        shutil.copy(ROOT / "knowledge" / "guides" / name, knowledge)
    web_ports = [free_port(), free_port()]
    backends = [f"http://127.0.0.1:{p}" for p in web_ports]
    # Two prefixes over the same backends only to count the webhook's turns apart from the pages'.
    proxy = await RoundRobin({"/telegram": backends, "/": backends}).start()
    replicas = []
    try:
        for i in range(2):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "GOVBOT_", "CHROMA_"))}
            env.update(PYTHONPATH=str(ROOT), GOVBOT_HOME=str(tmp_path / f"replica-{i}"),  # an index of its own
                       GOVBOT_KNOWLEDGE_DIR=str(tmp_path / "knowledge"), GOVBOT_EMBEDDING="use",
                       CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(chroma), GOVBOT_DATABASE_URL=postgres_url,
                       TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url,
                       GOVBOT_TELEGRAM_WEBHOOK_URL=f"{proxy.url}/telegram", GOVBOT_TELEGRAM_WEBHOOK_SECRET=SECRET)
            log = open(tmp_path / f"replica-{i}.log", "wb")  # noqa: SIM115 (closed with the process below)
            replicas.append((await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(web_ports[i]),
                cwd=tmp_path, env=env, stdout=log, stderr=log), log))

        async def ready() -> bool:
            for proc, _ in replicas:
                assert proc.returncode is None, (tmp_path / "replica-0.log").read_text() + (
                    tmp_path / "replica-1.log").read_text()
            async with httpx.AsyncClient() as client:
                for port in web_ports:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)).status_code != 200:
                        return False
            return len(api.calls_of("setWebhook")) >= 2

        await wait_for(ready, "two replicas")
        assert api.webhook["url"] == f"{proxy.url}/telegram" and api.webhook["secret_token"] == SECRET

        # Telegram: three turns, three deliveries, alternating replicas.
        first = await api.ask(USER, "企业设立登记需要哪些材料？", timeout=60)  # replica 0
        assert first.text.startswith(f"《{SETUP}》") and "【申请材料】" in first.text
        follow = await api.ask(USER, "那要多久？", timeout=60)  # replica 1: which item "那" is comes from the DB
        assert follow.text.startswith(f"《{SETUP}》") and "【办理时限】" in follow.text
        await api.press_for_answer(follow, texts.HELPFUL, timeout=60)  # replica 0 votes on replica 1's answer
        db = FeedbackStore(postgres_url).db

        async def voted() -> bool:
            with db.connect() as conn:
                return bool(conn.execute(select(feedback_table)).all())

        await wait_for(voted, "the vote", 30)
        with db.connect() as conn:
            assert [(r.vote, r.question) for r in conn.execute(select(feedback_table))] == [(1, "那要多久？")]
        assert proxy.hits["/telegram"] == [0, 1, 0]

        # The web: the follow-up carries rid/intent and is answered by the other replica the same way.
        async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
            asked = (await client.get("/api/ask", params={"q": "食品经营许可要什么材料"})).json()
            assert asked["grounded"] and asked["record_ids"] == ["food-business-license"]
            again = (await client.get("/api/ask", params={"q": "那要多久？", "rid": asked["record_ids"][0],
                                                          "intent": asked["intent"]})).json()
            assert again["grounded"] and again["record_ids"] == ["food-business-license"]
            assert again["intent"] != asked["intent"]
        assert proxy.hits["/"] == [0, 1]

        async def logged() -> bool:  # both replicas log to the one database (the web in batches)
            with db.connect() as conn:
                counts = dict(conn.execute(select(questions_table.c.channel, func.count())
                                           .group_by(questions_table.c.channel)).all())
            return counts == {"telegram": 2, "web": 2}

        await wait_for(logged, "the question log", 30)
        # Each replica ingested into the one Chroma server (a collection per index generation).
        import chromadb

        names = [c.name for c in chromadb.HttpClient(host="127.0.0.1", port=chroma).list_collections()]
        assert len([n for n in names if n.startswith("govbot-")]) == 2, names
    finally:
        for proc, log in replicas:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            log.close()
        await proxy.stop()


def test_compose_file_matches_the_settings_and_the_load_balancer() -> None:
    """compose.yaml cannot be run here (no Docker); what it says must at least be what the code reads."""
    import re

    import yaml

    from ingest.settings import Settings

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert {"app", "lb", "chroma", "postgres"} <= set(compose["services"])
    app = compose["services"]["app"]
    assert app["deploy"]["replicas"] >= 2
    fields = set(Settings.model_fields)
    assert {name.lower() for name in app["environment"]} <= fields, set(app["environment"])
    assert app["environment"]["GOVBOT_DATABASE_URL"].startswith("postgresql://")
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    # The webhook is a route of the web app: one port per replica, which nginx sends every path to.
    assert "location /telegram" not in nginx and re.search(r"location / \{\s*proxy_pass http://govbot_web;", nginx)
    assert "server app:8000;" in nginx and "8000" in (ROOT / "Dockerfile").read_text(encoding="utf-8")

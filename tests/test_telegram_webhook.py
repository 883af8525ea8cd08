"""Telegram's webhook as a route of the web app (`govbot serve` with GOVBOT_TELEGRAM_WEBHOOK_URL).

bot.serving.serve_loop runs uvicorn on 127.0.0.1 and the real python-telegram-bot Application in one loop; the
fake Bot API (tests/fake_bot_api.py) POSTs each update to the URL given to setWebhook, with the secret
header, as Telegram does. Over the fixture knowledge base with the hash embedder.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fake_bot_api import TOKEN, FakeBotAPI
from serve_harness import QUESTION, RECORD, USER, assert_lists_every_material, configure, free_port, serving

from bot import messages

SECRET = "hook_secret_0123"
PATH = "/telegram/webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


def webhook_env(monkeypatch: pytest.MonkeyPatch, api: FakeBotAPI, url: str, **extra: str) -> None:
    configure(monkeypatch, TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url,
              GOVBOT_TELEGRAM_WEBHOOK_URL=url, GOVBOT_TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_ADMIN_IDS="",
              **extra)


def update(api: FakeBotAPI | None, update_id: int, text: str) -> dict:
    """A private message from USER, built by hand (api.message would deliver it itself); the fake knows the chat."""
    chat = api._chat(USER, "private") if api else {"id": USER, "type": "private", "first_name": "测试"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "text": text, "chat": chat,
                                                "from": {"id": USER, "is_bot": False, "first_name": "测试"}}}


async def test_an_update_posted_to_the_route_is_answered_with_every_material(
        home, small_store, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    public = f"https://bot.example.com{PATH}"  # behind a proxy: Telegram posts here, the proxy passes the path
    webhook_env(monkeypatch, api, public, GOVBOT_RATE_PER_MINUTE="1", GOVBOT_RATE_BURST="1")
    async with serving(small_store) as served:
        await api.wait_until(lambda: api.webhook.get("url"))
        assert api.webhook["url"] == public and api.webhook["secret_token"] == SECRET
        assert not api.calls_of("getUpdates")  # a webhook bot does not poll
        # The fake Telegram posts to the public URL; point it at this process instead (the proxy's job).
        api.webhook["url"] = f"{served.base}{PATH}"
        record = served.services.engine.records[RECORD]
        sent = await api.ask(USER, QUESTION)
        assert_lists_every_material(sent.text, record)
        # Telegram's updates all come from a few addresses: the per-client limit (1 a minute here) must not
        # throttle them, while it does throttle the public API.
        for _ in range(2):
            again = await api.ask(USER, QUESTION)
            assert_lists_every_material(again.text, record)
        assert all(status == 200 for _, status in api.deliveries), api.deliveries
        async with httpx.AsyncClient(base_url=served.base) as client:
            await client.get("/api/ask", params={"q": QUESTION})
            assert (await client.get("/api/ask", params={"q": QUESTION})).status_code == 429


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_sent(
        home, small_store, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    webhook_env(monkeypatch, api, f"http://127.0.0.1:1{PATH}")
    async with serving(small_store) as served:
        await api.wait_until(lambda: api.webhook.get("url"))
        url = f"{served.base}{PATH}"
        async with httpx.AsyncClient() as client:
            for headers in ({HEADER: "wrong_secret"}, {}, {HEADER: SECRET + "x"}, {HEADER: ""}):
                refused = await client.post(url, json=update(api, 100 + len(headers), "注销公司怎么办？"), headers=headers)
                assert refused.status_code == 403, headers
            # The same chat's next, properly signed update is the only thing it is answered.
            accepted = await client.post(url, json=update(api, 200, QUESTION), headers={HEADER: SECRET})
            assert accepted.status_code == 200
        answers = await api.wait_messages(USER, 1)
        assert_lists_every_material(answers[0].text, served.services.engine.records[RECORD])
        assert len(api.messages(USER)) == 1 and len(api.calls_of("sendMessage")) == 1


async def test_a_malformed_body_is_a_400_and_the_bot_keeps_answering(
        home, small_store, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    webhook_env(monkeypatch, api, f"http://127.0.0.1:1{PATH}")
    async with serving(small_store) as served:
        await api.wait_until(lambda: api.webhook.get("url"))
        url = f"{served.base}{PATH}"
        signed = {HEADER: SECRET, "content-type": "application/json"}
        bodies = [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"{}", b'{"update_id": "x"}',
                  b'{"update_id": 7, "message": 5}', b'{"update_id": 8, "message": {"text": "no date, no chat"}}']
        async with httpx.AsyncClient() as client:
            for body in bodies:
                assert (await client.post(url, content=body, headers=signed)).status_code == 400, body
            assert (await client.get(url)).status_code == 405  # Telegram only POSTs
            ok = await client.post(url, json=update(api, 9, QUESTION), headers=signed)
            assert ok.status_code == 200
            assert (await client.get(f"{served.base}/healthz")).status_code == 200
        answers = await api.wait_messages(USER, 1)
        assert_lists_every_material(answers[0].text, served.services.engine.records[RECORD])
        assert len(api.calls_of("sendMessage")) == 1


async def test_telegram_unreachable_leaves_the_web_page_and_the_route_says_try_later(
        home, small_store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    closed = free_port()  # nothing listens there: getMe fails at start-up
    configure(monkeypatch, TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=f"http://127.0.0.1:{closed}/bot",
              GOVBOT_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:1{PATH}", GOVBOT_TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with serving(small_store) as served, httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        printed = ""
        for _ in range(600):  # until the bot has given up starting (getMe is retried with backoff)
            printed += capsys.readouterr().err
            if messages.SERVE_TELEGRAM_OFF in printed:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the bot did not report its failed start")
        assert messages.NETWORK_DOWN.split("（")[0] in printed
        later = await client.post(PATH, json=update(None, 1, QUESTION), headers={HEADER: SECRET})
        assert later.status_code == 503  # Telegram delivers it again once the bot runs
        answer = (await client.get("/api/ask", params={"q": QUESTION})).json()
        assert answer["grounded"] and answer["record_ids"] == [RECORD]


@pytest.mark.parametrize(("url", "secret", "problem"), [
    (f"http://127.0.0.1:1{PATH}", "", messages.SERVE_WEBHOOK_SECRET_MISSING),
    (f"http://127.0.0.1:1{PATH}", "bad secret!", messages.SERVE_WEBHOOK_SECRET_MALFORMED),
    ("https://bot.example.com", SECRET, messages.SERVE_WEBHOOK_URL_MALFORMED.format(url="https://bot.example.com")),
    ("ftp://bot.example.com/hook", SECRET, messages.SERVE_WEBHOOK_URL_MALFORMED.format(url="ftp://bot.example.com/hook")),
])
async def test_a_bad_webhook_setting_is_named_and_the_web_page_still_serves(
        home, small_store, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        url: str, secret: str, problem: str) -> None:
    configure(monkeypatch, TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url,
              GOVBOT_TELEGRAM_WEBHOOK_URL=url, GOVBOT_TELEGRAM_WEBHOOK_SECRET=secret)
    async with serving(small_store) as served, httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        assert (await client.get("/api/ask", params={"q": QUESTION})).json()["record_ids"] == [RECORD]
        assert (await client.post(PATH, json=update(None, 1, QUESTION), headers={HEADER: SECRET})).status_code in (404, 405)
    printed = capsys.readouterr().err.replace("\n", "")
    assert problem in printed and messages.SERVE_TELEGRAM_OFF in printed
    assert not api.calls_of("setWebhook") and not api.calls_of("getUpdates")


def test_the_contracts_keep_the_webhook_route_out_of_the_telegram_channel(tmp_path) -> None:
    """The route is handed a callable: reaching for the adapter or for PTB's Update breaks a contract."""
    import shutil

    from test_architecture import ROOT, lint

    for package in ("bot", "ingest"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "bot" / "web" / "telegram_routes.py", "a", encoding="utf-8") as handle:
        handle.write("\nfrom telegram import Update  # noqa\nfrom bot.telegram.app import EmbeddedBot  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bot.web.telegram_routes -> bot.telegram.app" in result.stdout
    assert "bot.web.telegram_routes -> telegram" in result.stdout

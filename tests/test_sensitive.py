"""Sensitive words: the admin keeps a list; questions with a listed word get the fixed polite reply and are
logged for review; an answer holding a listed word is never sent.

Through the channels people use: the web admin page and the front page in real headless Chromium
(uvicorn on 127.0.0.1), Telegram with the real python-telegram-bot against tests/fake_bot_api.py, and
`govbot sensitive`. The list lives in the database: a second process (replica) sees an edit.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import messages
from bot.database import open_database
from bot.feedback import FeedbackStore, questions
from bot.services.asking import Asker, AskService
from bot.services.sensitive import SensitiveWords, compact

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TOKEN = "sensitive-admin-token-0123"
MATERIALS_Q = "烘焙作坊登记证需要哪些材料？"
LAYOUT = "平面布局图"  # in demo-bakery-permit's materials: an answer that must not be sent once listed
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# ---------------------------------------------------------------- the list and its matching


def test_matching_ignores_script_width_case_spaces_and_punctuation(tmp_path: Path) -> None:
    words = SensitiveWords(open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    change = words.add(["赌博", "ＶＰＮ翻墙", "赌博", "  ", "!!!", "长" * 51])
    assert change.added == ["赌博", "ＶＰＮ翻墙"]
    assert [line for line, _ in change.rejected] == ["!!!", "长" * 50 + "…"]
    for text in ["怎么赌博", "賭博", "赌 博", "赌-博", "赌，博", "vpn 翻墙", "Vpn翻牆", "V P N 翻 墙"]:
        assert words.find(text), text
    for text in ["开公司要什么材料", "博物馆", "赌", ""]:
        assert words.find(text) is None, text
    assert compact("  賭，博! ") == "赌博"
    assert words.remove(["賭博"]).removed == ["赌博"]  # removed by any spelling
    assert words.find("赌博") is None and words.words() == ["ＶＰＮ翻墙"]


def test_a_replica_sees_an_edit(database_url: str) -> None:
    """Two processes' lists over one database: an edit through one reaches the other at its next check."""
    here = SensitiveWords(open_database(database_url), check_s=3600)
    there = SensitiveWords(open_database(database_url), check_s=0)
    assert there.find("赌博") is None
    here.add(["赌博"])
    assert here.find("赌博") == "赌博"  # the process that changed it: at once, whatever check_s
    assert there.find("赌博") == "赌博"
    here.replace(["平面布局图"])
    assert there.find("赌博") is None and there.find("平面布局图") == "平面布局图"


def test_ask_service_screens_questions_and_answers(small_engine, tmp_path: Path) -> None:
    feedback = FeedbackStore(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    asking = AskService(small_engine, feedback)
    before = asking.ask(MATERIALS_Q)
    assert LAYOUT in before.answer and before.grounded
    asking.sensitive.add(["赌博", LAYOUT])
    state = {"record_id": "demo-bakery-permit", "intent": "materials"}
    for question in ["烘焙作坊里能赌博吗", "烘焙作坊裡能賭 博嗎"]:
        result = asking.ask(question, state)
        assert result.answer == messages.SENSITIVE_REPLY and not result.grounded
        assert result.record_ids == [] and result.follow_ups == [] and result.sources == []
        assert result.state == state  # the conversation stays where it was
        asking.record(Asker("web", "u1"), question + " 电话13812345678", result)
    held = asking.ask(MATERIALS_Q)
    assert held.answer == messages.SENSITIVE_REPLY and LAYOUT not in str(held.public())
    asking.record(Asker("web", "u1"), MATERIALS_Q, held)
    section = asking.section("demo-bakery-permit", "materials")
    assert section is not None and section.answer == messages.SENSITIVE_REPLY
    assert asking.section("no-such-item", "materials") is None
    hits = asking.sensitive.hits()
    assert [(h["word"], h["part"]) for h in hits] == [(LAYOUT, "answer"), ("赌博", "question"), ("赌博", "question")]
    assert hits[-1]["question"] == "烘焙作坊里能赌博吗 电话138****5678"  # masked like every stored question
    with feedback.db.connect() as conn:  # held back for review, not in the usage statistics
        assert conn.scalar(select(func.count()).select_from(questions)) == 0


# ---------------------------------------------------------------- the web: admin page and front page in Chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(small_engine, small_store: Path, tmp_path: Path) -> Iterator[dict]:
    import uvicorn

    from bot.web.app import create_app
    from ingest.settings import Settings

    settings = Settings(govbot_home=tmp_path / "home", govbot_knowledge_dir=tmp_path / "knowledge",
                        govbot_admin_token=TOKEN)
    feedback = FeedbackStore(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    app = create_app(small_engine, settings, small_store, feedback, upload_dir=tmp_path / "uploads")
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "feedback": feedback}
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed: run `bash scripts/install-browser.sh`")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _ask(tab, url: str, question: str) -> str:
    tab.goto(url + "/")
    tab.fill("input[name=q]", question)
    with tab.expect_navigation():
        tab.press("input[name=q]", "Enter")
    return tab.locator("#answer .answer-text").inner_text()


def test_admin_lists_words_and_visitors_get_the_polite_reply(browser, server: dict) -> None:
    url = server["url"]
    admin = browser.new_context(locale="zh-CN").new_page()
    visitor = browser.new_context(locale="zh-CN").new_page()
    errors: list[str] = []
    for tab in (admin, visitor):
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
    assert LAYOUT in _ask(visitor, url, MATERIALS_Q)  # before the word is listed

    # Not signed in: the page asks for the token.
    assert admin.goto(url + "/admin/sensitive").status == 401
    admin.fill("input[name=token]", TOKEN)
    admin.click("button[type=submit]")
    admin.wait_for_url("**/admin")
    with admin.expect_navigation():
        admin.locator("nav.admin-nav a", has_text="敏感词").click()
    assert admin.locator("h1").inner_text() == "敏感词"
    admin.fill("textarea[name=words]", f"赌博\n{LAYOUT}\n！！！\n")
    with admin.expect_navigation():
        admin.locator("form[action='/admin/sensitive'] button").click()
    assert "共 2 个，新增 2 个" in admin.locator("#sensitive-saved").inner_text()
    assert "！！！" in admin.locator("#sensitive-rejected").inner_text()
    assert admin.locator("textarea[name=words]").input_value().splitlines() == [LAYOUT, "赌博"]

    # The visitor: listed words in the question, also traditional and spaced out, get the fixed reply.
    for question in ["在园区开赌博场所要什么手续？电话13812345678", "賭博要什麼許可", "赌 博 要 备 案 吗"]:
        assert _ask(visitor, url, question) == messages.SENSITIVE_REPLY
    # An answer that would show a listed word is never shown, not even in part.
    assert _ask(visitor, url, MATERIALS_Q) == messages.SENSITIVE_REPLY
    assert LAYOUT not in visitor.content()
    api = visitor.request.get(url + "/api/ask", params={"q": MATERIALS_Q}).json()
    assert api["answer"] == messages.SENSITIVE_REPLY and LAYOUT not in str(api)

    # The review list: each hit, with the question masked.
    admin.goto(url + "/admin/sensitive")
    assert admin.locator("#sensitive-saved").count() == 0
    rows = admin.locator("#sensitive-hits tbody tr").all_inner_texts()
    assert len(rows) == 5
    assert sum("回答" in r and LAYOUT in r for r in rows) == 2
    assert sum("提问" in r and "赌博" in r for r in rows) == 3
    assert any("138****5678" in r for r in rows) and not any("13812345678" in r for r in rows)
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "admin-sensitive.png"), full_page=True)  # for a person to look at

    # Changing the list needs the session's CSRF token; removing a word takes effect at once.
    forged = admin.request.post(url + "/admin/sensitive", form={"words": "", "csrf": "forged"})
    assert forged.status == 403
    anonymous = browser.new_context()
    assert anonymous.request.post(url + "/admin/sensitive", form={"words": ""}).status == 401
    anonymous.close()
    admin.fill("textarea[name=words]", "赌博")
    with admin.expect_navigation():
        admin.locator("form[action='/admin/sensitive'] button").click()
    assert "删除 1 个" in admin.locator("#sensitive-saved").inner_text()
    assert LAYOUT in _ask(visitor, url, MATERIALS_Q)


# ---------------------------------------------------------------- Telegram against the fake Bot API


async def test_telegram_gets_the_polite_reply(small_engine, small_store: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from test_privacy import telegram_bot

    async with telegram_bot(small_engine, small_store, tmp_path, monkeypatch) as (api, feedback, app):
        asking = app.bot_data["govbot"].asking
        asking.sensitive.add(["赌博", LAYOUT])
        sent = await api.ask(4242, "賭 博 需要办什么证")
        assert sent.text == messages.SENSITIVE_REPLY
        assert not [b for b in sent.buttons() if b.get("callback_data", "").startswith("q:")]  # no item buttons
        held = await api.ask(4242, MATERIALS_Q)
        assert held.text == messages.SENSITIVE_REPLY and LAYOUT not in held.html
        for _ in range(100):  # the hit is written beside the answer
            if len(asking.sensitive.hits()) == 2:
                break
            await asyncio.sleep(0.05)
        hits = asking.sensitive.hits()
        assert [(h["channel"], h["user_id"], h["word"], h["part"]) for h in hits] == [
            ("telegram", "4242", LAYOUT, "answer"), ("telegram", "4242", "赌博", "question")]
        asking.sensitive.remove([LAYOUT])
        assert LAYOUT in (await api.ask(4242, MATERIALS_Q)).text


# ---------------------------------------------------------------- the CLI


def test_sensitive_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app
    from ingest.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("GOVBOT_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["sensitive", "list"]).output.strip() == messages.SENSITIVE_CLI_EMPTY
        added = runner.invoke(app, ["sensitive", "add", "赌博", "翻墙"])
        assert added.exit_code == 0 and "已添加：赌博、翻墙" in added.output
        assert "没有变化" in runner.invoke(app, ["sensitive", "add", "賭博"]).output
        listed = runner.invoke(app, ["sensitive", "list"])
        assert listed.output.splitlines()[:2] == ["翻墙", "赌博"]
        bad = runner.invoke(app, ["sensitive", "add", "？？"])
        assert bad.exit_code == 1 and "只有空格或标点" in bad.output
        removed = runner.invoke(app, ["sensitive", "remove", "翻 墙"])
        assert removed.exit_code == 0 and "已删除：翻墙" in removed.output
        # What the CLI changed, a serving process over the same database sees.
        assert SensitiveWords(open_database(url)).words() == ["赌博"]
    finally:
        get_settings.cache_clear()


# ---------------------------------------------------------------- a messenger (DingTalk, Stream mode against a fake)


async def test_dingtalk_gets_the_polite_reply(small_store: Path, tmp_path: Path) -> None:
    import httpx

    from bot.channels import dingtalk
    from bot.services.container import build_services
    from ingest.settings import Settings
    from tests.fake_dingtalk import FakeDingTalk

    fake = FakeDingTalk()
    await fake.start()
    settings = Settings(govbot_home=tmp_path, govbot_dingtalk_client_id="ding-id",
                        govbot_dingtalk_client_secret="ding-secret",
                        govbot_dingtalk_gateway_url=f"{fake.base}/v1.0/gateway/connections/open")
    services = build_services(small_store, settings)
    services.asking.sensitive.add(["赌博"])
    try:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
            client, handler = dingtalk.build_client(services, http, retry_delay=0.01)
            task = asyncio.create_task(client.start())
            await fake.wait_connected()
            try:
                reply = await fake.ask("賭博场所怎么办证？手机 13812345678")
            finally:
                task.cancel()
                await asyncio.gather(task, *handler.tasks, return_exceptions=True)
    finally:
        await fake.stop()
    assert messages.SENSITIVE_REPLY in str(reply)
    hits = services.asking.sensitive.hits()
    assert [(h["channel"], h["word"], h["part"], h["question"]) for h in hits] == [
        ("dingtalk", "赌博", "question", "賭博场所怎么办证？手机 138****5678")]

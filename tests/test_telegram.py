"""The Telegram channel: the real python-telegram-bot Application over real HTTP against a fake Bot API.

Each test starts the application the way ``run_polling`` does (initialize, post_init, polling, start)
against ``tests/fake_bot_api.py`` and talks to it as users would: messages, button presses, faults.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import shutil
import socket
import sys
from pathlib import Path

import httpx
import pytest
import telegram_running
from fake_bot_api import BOT_USER, TOKEN, FakeBotAPI, parse_html, utf16_len
from sqlalchemy import select
from telegram import BotCommand

from bot import texts
from bot.feedback import FeedbackStore
from bot.feedback import feedback as feedback_table
from bot.matcher import FIELD_LABELS, PLAIN_LABELS, TAXPAYER_CHOICES
from bot.services.state import ConversationStore
from bot.telegram_bot import (
    MATCH_FIELDS,
    MATCH_IDLE,
    build_application,
    check_answer,
    clean_answer,
    parse_admin_ids,
    render_answer,
    run_telegram,
    token_problem,
    webhook_options,
)
from ingest.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
ADMIN = 900001
USER = 4242
GROUP = -100777
SETUP = "企业设立登记（有限责任公司）"
MATERIALS_Q = "企业设立登记需要哪些材料？"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


@pytest.fixture
def settings(home: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", f"{ADMIN}, ")
    monkeypatch.setenv("GOVBOT_TELEGRAM_BASE_URL", api.base_url)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def feedback(settings) -> FeedbackStore:
    return FeedbackStore(settings.database_url)


def running(engine, settings, store: Path, feedback: FeedbackStore, **kwargs):
    """Start the application like run_polling does; these tests look at the errors themselves."""
    return telegram_running.running(engine, store, settings, feedback, check_errors=False, **kwargs)


@pytest.fixture
async def bot(engine, kb_store, settings, feedback):
    async with running(engine, settings, kb_store, feedback) as harness:
        yield harness
    assert not harness.errors, harness.errors


def numbered(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit() and ". " in line[:5]]


def all_callback_data(sent) -> list[str]:
    return [b["callback_data"] for b in sent.buttons() if "callback_data" in b]


# ----------------------------------------------------------------------------- pure helpers


def test_token_and_admin_parsing() -> None:
    assert token_problem(None) == texts.TOKEN_MISSING
    assert token_problem("  ") == texts.TOKEN_MISSING
    assert token_problem("123:short") == texts.TOKEN_MALFORMED
    assert token_problem("abc:" + "A" * 30) == texts.TOKEN_MALFORMED
    assert token_problem(TOKEN) is None
    assert parse_admin_ids("1, 2，3 x4") == {1, 2, 3}
    assert parse_admin_ids("") == frozenset()


def test_render_answer_splits_on_lines_and_escapes() -> None:
    lines = [f"{i}. 材料 <{i}> & 说明" + "字" * 50 for i in range(120)]
    chunks = render_answer("\n".join(lines))
    assert len(chunks) >= 2
    assert all(utf16_len(parse_html(c)) <= 4096 for c in chunks)
    assert "\n".join(parse_html(c) for c in chunks) == "\n".join(lines)  # split exactly at line ends
    one_line = "<&>" * 3000  # a single 9,000-character line must be cut, never inside an entity
    cut = render_answer(one_line)
    assert len(cut) == 3 and "".join(parse_html(c) for c in cut) == one_line


# ----------------------------------------------------------------------------- conversations


async def test_start_shows_menu_and_registers_commands(bot, api: FakeBotAPI) -> None:
    sent = await api.ask(USER, "/start")
    assert "您好" in sent.text and texts.BOT_NAME in sent.text
    labels = [b["text"] for b in sent.buttons()]
    assert labels == [texts.MENU_GUIDES, texts.MENU_BUNDLES, texts.MENU_POLICIES, texts.MENU_HUMAN, texts.MENU_MATCH]
    # post_init registered the command menu, and the admin's chat gets the admin commands too.
    assert await bot.app.bot.get_my_commands() == tuple(
        BotCommand(c, d) for c, d in texts.COMMANDS)
    scopes = [c.params.get("scope") for c in api.calls_of("setMyCommands")]
    assert {"type": "chat", "chat_id": ADMIN} in scopes
    helped = await api.ask(USER, "/help")
    assert "/bundles" in helped.text and "/ask" in helped.text and "/match" in helped.text
    unknown = await api.ask(USER, "/nonsense")
    assert unknown.text.startswith(texts.UNKNOWN_COMMAND)
    before = len(api.messages(USER))
    api.push({"message": {"message_id": 1, "date": 0, "chat": api.chats[USER], "sticker": {
        "file_id": "x", "file_unique_id": "x", "width": 1, "height": 1, "is_animated": False,
        "is_video": False, "type": "regular"}, "from": {"id": USER, "is_bot": False, "first_name": "测试用户"}}})
    sticker_reply = (await api.wait_messages(USER, before + 1))[-1]
    assert sticker_reply.text == texts.TEXT_ONLY


async def test_materials_answer_lists_every_material(bot, api: FakeBotAPI, engine, feedback) -> None:
    sent = await api.ask(USER, MATERIALS_Q)
    record = engine.records["company-setup"]
    assert sent.text.splitlines()[0] == f"《{record.title}》"
    lines = numbered(sent.text)
    assert len(lines) == len(record.materials)
    for i, (line, material) in enumerate(zip(lines, record.materials, strict=True), 1):
        assert line.startswith(f"{i}. {material.name}")
    assert "来源：" in sent.text
    # typing first, then the answer, as HTML with the heading in bold
    typing = [c for c in api.calls_of("sendChatAction") if c.params["chat_id"] == USER]
    assert typing and typing[0].params["action"] == "typing" and typing[0].at <= sent.at
    assert sent.html.startswith(f"<b>《{record.title}》</b>")
    # the other sections of the same item, the related bundle, and feedback; all callback data ≤ 64 bytes
    labels = [b["text"] for b in sent.buttons()]
    for label in ("时限", "收费", "地点", "流程", "条件", texts.HELPFUL, texts.UNHELPFUL):
        assert label in labels
    assert any(label.startswith("相关一件事：企业开办") for label in labels)
    assert "材料" not in labels  # that is what was just answered
    assert all(len(d.encode()) <= 64 for d in all_callback_data(sent))
    await asyncio.sleep(0.1)
    assert feedback.stats().questions == 1


async def test_follow_up_answers_the_same_item(bot, api: FakeBotAPI) -> None:
    await api.ask(USER, MATERIALS_Q)
    sent = await api.ask(USER, "那要多久？")
    assert sent.text.startswith(f"《{SETUP}》")
    assert "【办理时限】" in sent.text and "3个工作日" in sent.text
    assert bot.app.chat_data[USER]["state"]["record_id"] == "company-setup"


async def test_answer_buttons_answer_in_the_same_chat(bot, api: FakeBotAPI) -> None:
    answer = await api.ask(USER, MATERIALS_Q)
    expected = {"时限": "【办理时限】", "收费": "【收费标准】", "地点": "【办理地点】", "流程": "【办理流程】",
                "条件": "【受理条件】", "相关一件事": "【包含事项】"}
    for label, heading in expected.items():
        before = len(api.messages(USER))
        reply = await api.click(answer, label)
        # A long answer (a bundle's whole derived materials list) arrives as several messages.
        text = "\n".join(m.text for m in api.messages(USER)[before:])
        assert reply.chat_id == USER and heading in text, (label, text[:80])
    before = len(api.messages(USER))
    await api.click(answer, "相关一件事")
    assert api.messages(USER)[before].text.startswith("《企业开办“一件事”》")
    presses = len(expected) + 1
    await api.wait_until(lambda: len(api.calls_of("answerCallbackQuery")) >= presses)
    assert len(api.calls_of("answerCallbackQuery")) == presses  # every press answered: no spinner left


async def test_menu_lists_and_paging(bot, api: FakeBotAPI, engine) -> None:
    menu = await api.ask(USER, "/start")
    guides = await api.click(menu, texts.MENU_GUIDES)
    assert "办事指南" in guides.text and "第 1/" in guides.text
    first_page = [b["text"] for b in guides.buttons()]
    await api.press_for_answer(guides, texts.NEXT_PAGE)
    await api.wait_until(lambda: guides.edits)  # edited in place (editMessageText)
    assert "第 2/" in guides.text and [b["text"] for b in guides.buttons()] != first_page
    item = guides.buttons()[0]["text"]
    materials = await api.click(guides, item)
    assert materials.text.startswith(f"《{item}》") and "【申请材料】" in materials.text

    # another user for the rest: one user pressing this fast would hit the flood limit (8 in 10 s)
    other = USER + 1
    menu = await api.ask(other, "/start")
    bundles = await api.click(menu, texts.MENU_BUNDLES)
    assert "一件事套餐" in bundles.text
    names = {r.title for r in engine.records.values() if r.kind == "bundle"}
    assert {b["text"] for b in bundles.buttons()} & names
    policies = await api.ask(other, "/policies")
    with_amount = {r.title for r in engine.records.values() if r.kind == "policy" and r.amount}
    policy_title = next(b["text"] for b in policies.buttons() if b["text"] in with_amount)
    policy = await api.click(policies, policy_title)
    assert policy.text.startswith(f"《{policy_title}》") and "【支持标准】" in policy.text
    listed = await api.ask(other, "/bundles")
    assert {b["text"] for b in listed.buttons()} & names
    human = await api.click(menu, texts.MENU_HUMAN)
    assert "政务服务中心" in human.text
    assert all(len(d.encode()) <= 64 for s in api.sent for d in all_callback_data(s))


async def test_feedback_is_stored(bot, api: FakeBotAPI, feedback: FeedbackStore) -> None:
    answer = await api.ask(USER, MATERIALS_Q)
    down = answer.button(texts.UNHELPFUL)["callback_data"]
    call = await api.press_for_answer(answer, texts.HELPFUL)
    assert call.params.get("text") == texts.THANKS
    again = await api.press_for_answer(answer, down, by_data=True)  # a second vote on the same answer
    assert again.params.get("text") == texts.ALREADY_VOTED
    await api.wait_until(lambda: not any(b["text"] == texts.HELPFUL for b in answer.buttons()))
    assert "时限" in [b["text"] for b in answer.buttons()]  # the section buttons stay
    other = await api.ask(USER, "那要多久？")
    await api.press_for_answer(other, texts.UNHELPFUL)
    stats = feedback.stats()
    assert (stats.helpful, stats.unhelpful) == (1, 1)
    with feedback.db.connect() as conn:
        rows = conn.execute(select(feedback_table).order_by(feedback_table.c.id)).mappings().all()
    assert [(r["vote"], r["question"], r["record_id"], r["channel"]) for r in rows] == [
        (1, MATERIALS_Q, "company-setup", "telegram"), (-1, "那要多久？", "company-setup", "telegram")]


# ----------------------------------------------------------------------------- rendering


async def test_long_answer_is_split(bot, api: FakeBotAPI, engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.answer import Suggestion
    from bot.engine import AnswerResult

    body = "\n".join(f"{i:03d}. " + "很长的说明文字" * 12 for i in range(70))
    assert len(body) >= 6000
    monkeypatch.setattr(engine, "ask", lambda q, s=None: AnswerResult(
        body, grounded=True, intent="materials", record_ids=["company-setup"],
        follow_ups=[Suggestion("company-setup", "time", "要多久？")],
        state={"record_id": "company-setup", "intent": "materials"}))
    await api.ask(USER, "长答案")
    parts = api.messages(USER)
    assert len(parts) == 2
    assert all(utf16_len(p.text) <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts) == body  # nothing lost, split on a line boundary
    assert parts[0].reply_markup is None and parts[-1].buttons()  # buttons under the last part only


async def test_html_is_escaped(bot, api: FakeBotAPI, engine, feedback, monkeypatch: pytest.MonkeyPatch) -> None:
    # A user question with markup goes through (the fake server rejects unescaped HTML like Telegram).
    weird = "<b>开公司</b> & 需要哪些材料？"
    sent = await api.ask(USER, weird)
    assert "《" in sent.text
    await api.ask(ADMIN, "<b>火星</b>&月球 的 <i>补贴</i>")  # refused: shows up in /stats below
    stats = await api.ask(ADMIN, "/stats")
    assert "<b>火星</b>&月球 的 <i>补贴</i>" in stats.text
    assert "&lt;b&gt;火星&lt;/b&gt;&amp;月球" in stats.html

    from bot.engine import AnswerResult

    answer = "《标题 <b>》\n价格 < 100 & 数量 > 3\n<script>alert(1)</script>"
    monkeypatch.setattr(engine, "ask", lambda q, s=None: AnswerResult(answer, grounded=True, record_ids=[]))
    sent = await api.ask(USER, "任意")
    assert sent.text == answer
    assert "&lt;script&gt;" in sent.html and "&amp;" in sent.html and "<script>" not in sent.html


# ----------------------------------------------------------------------------- groups


async def test_group_answers_only_when_addressed(bot, api: FakeBotAPI) -> None:
    api.message(GROUP, MATERIALS_Q, user_id=501, chat_type="supergroup")  # not for us
    mentioned = await api.ask(GROUP, f"@{BOT_USER['username']} {MATERIALS_Q}", user_id=501, chat_type="supergroup")
    assert mentioned.text.startswith(f"《{SETUP}》")
    assert mentioned.reply_to is not None
    assert len(api.messages(GROUP)) == 1  # the unaddressed question was ignored
    bot_message = mentioned.as_message(api.chats[GROUP])
    follow = await api.ask(GROUP, "那要多久？", user_id=501, chat_type="supergroup", reply_to=bot_message)
    assert "【办理时限】" in follow.text
    asked = await api.ask(GROUP, "/ask 食品经营许可要多久？", user_id=502, chat_type="supergroup")
    assert "食品" in asked.text.splitlines()[0]
    asked_at = await api.ask(GROUP, f"/ask@{BOT_USER['username']} 食品经营许可在哪里办？", user_id=502,
                             chat_type="supergroup")
    assert "【办理地点】" in asked_at.text
    usage = await api.ask(GROUP, "/ask", user_id=502, chat_type="supergroup")
    assert usage.text == texts.ASK_USAGE
    api.message(GROUP, "大家好，今天开会", user_id=503, chat_type="supergroup")
    await asyncio.sleep(0.5)
    assert len(api.messages(GROUP)) == 5


# ----------------------------------------------------------------------------- admins


async def test_admin_commands_refused_for_others(bot, api: FakeBotAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="bot.telegram_bot")
    for command in ("/reload", "/stats"):
        sent = await api.ask(USER, command)
        assert sent.text == texts.NOT_ADMIN
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2 and all(str(USER) in r for r in refusals)


async def test_admin_stats(bot, api: FakeBotAPI) -> None:
    await api.ask(USER, MATERIALS_Q)
    await api.ask(USER, "怎么申请火星移民签证")
    answer = await api.ask(USER, "那要多久？")
    await api.press_for_answer(answer, texts.HELPFUL)
    stats = await api.ask(ADMIN, "/stats")
    assert "提问 3 次" in stats.text and "👍 1" in stats.text and "👎 0" in stats.text


async def test_reload_and_new_generations_are_served(tmp_path: Path, settings, feedback, api: FakeBotAPI,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import run_ingest
    from bot.engine import Engine

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for name in ("company-setup.md", "food-business-license.md"):
        shutil.copy(ROOT / "knowledge" / "guides" / name, knowledge / name)
    (knowledge / "broken.md").write_text("---\nid: Bad Id\nkind: guide\n---\n正文\n", encoding="utf-8")
    monkeypatch.setenv("GOVBOT_KNOWLEDGE_DIR", str(knowledge))
    get_settings.cache_clear()
    settings = get_settings()
    store = tmp_path / "store"
    engine = Engine(store, settings=settings)
    assert not engine.records
    async with running(engine, settings, store, feedback) as harness:
        empty = await api.ask(USER, MATERIALS_Q)
        assert "尚未导入" in empty.text
        api.message(ADMIN, "/reload")
        report = (await api.wait_until(lambda: [s for s in api.messages(ADMIN) if "导入完成" in s.text],
                                       timeout=90))[0]
        assert api.messages(ADMIN)[0].text.startswith("正在重新导入")
        assert "新增 2" in report.text and "失败 1" in report.text
        assert "broken.md" in report.text
        sent = await api.ask(USER, MATERIALS_Q)
        assert sent.text.startswith(f"《{SETUP}》")
        # A generation made outside the bot (the CLI) is served without a restart.
        shutil.copy(ROOT / "knowledge" / "guides" / "hnte-recognition.md", knowledge / "hnte-recognition.md")
        summary = await asyncio.to_thread(run_ingest, [knowledge], store, show_progress=False)
        assert summary.count("added") == 1
        sent = await api.ask(USER, "高新技术企业认定需要哪些材料？")
        assert "高新技术企业" in sent.text.splitlines()[0] and "【申请材料】" in sent.text
    assert not harness.errors, harness.errors


# ----------------------------------------------------------------------------- resilience


@pytest.mark.parametrize("mode", ["429", "502", "hang"])
async def test_delivery_survives_api_faults(mode: str, engine, kb_store, settings, feedback,
                                            api: FakeBotAPI) -> None:
    async with running(engine, settings, kb_store, feedback, timeout=1.0) as harness:
        api.fail_next("sendMessage", mode, times=2 if mode != "hang" else 1, retry_after=1, hang=2.5)
        sent = await api.ask(USER, MATERIALS_Q, timeout=30)
        assert sent.text.startswith(f"《{SETUP}》")
        attempts = api.calls_of("sendMessage")
        assert [c.fault for c in attempts] == ([mode, mode, ""] if mode != "hang" else ["hang", ""])
        if mode == "429":
            assert attempts[-1].at - attempts[0].at >= 2.0  # honoured retry_after twice
        assert len(api.messages(USER)) == 1  # delivered once
    assert not harness.errors, harness.errors


async def test_fifty_chats_at_once(bot, api: FakeBotAPI) -> None:
    questions = [MATERIALS_Q, "食品经营许可要多久？", "开公司收费吗？", "高新技术企业认定需要哪些材料？", "怎么刻公章？"]
    chats = [10_000 + i for i in range(50)]
    for i, chat in enumerate(chats):
        api.message(chat, questions[i % len(questions)])
    await api.wait_until(lambda: all(api.messages(c) for c in chats), timeout=120)
    await asyncio.sleep(0.3)
    for chat in chats:
        got = api.messages(chat)
        assert len(got) == 1 and got[0].text.startswith("《"), (chat, got[0].text[:60])
    first = {c: api.messages(c)[0].text.splitlines()[0] for c in chats}
    assert first[chats[0]] == first[chats[5]] == f"《{SETUP}》"


async def test_flood_limit(bot, api: FakeBotAPI) -> None:
    for _ in range(10):
        api.message(USER, "开公司收费吗？")
    await api.wait_messages(USER, 9, timeout=60)
    await asyncio.sleep(0.5)
    got = [s.text for s in api.messages(USER)]
    notes = [t for t in got if "发得有点快" in t]
    assert len(got) == 9 and len(notes) == 1  # 8 answers, one polite note, the 10th ignored


async def test_errors_reach_the_user_as_an_apology(engine, kb_store, settings, feedback, api: FakeBotAPI,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(question, state=None):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(engine, "ask", broken)
    async with running(engine, settings, kb_store, feedback) as harness:
        sent = await api.ask(USER, MATERIALS_Q)
        assert sent.text == texts.ERROR
        assert "Traceback" not in sent.text and "exploded" not in sent.text
    assert [type(e) for e in harness.errors] == [RuntimeError]


async def test_state_survives_restart(engine, kb_store, settings, feedback, api: FakeBotAPI) -> None:
    async with running(engine, settings, kb_store, feedback) as first:
        await api.ask(USER, MATERIALS_Q)
    assert not (Path(settings.govbot_home) / "telegram.pickle").exists()  # the database holds it (issue 12)
    async with running(engine, settings, kb_store, feedback) as second:
        sent = await api.ask(USER, "那要多久？")
        assert sent.text.startswith(f"《{SETUP}》") and "【办理时限】" in sent.text
    assert not first.errors and not second.errors


async def test_webhook_mode(engine, kb_store, settings, feedback, api: FakeBotAPI) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = webhook_options(f"http://127.0.0.1:{port}/tg-hook", "127.0.0.1", port, "s3cret_token")
    app = build_application(engine, settings, kb_store, feedback, timeout=5.0)
    async with app:
        await app.post_init(app)
        await app.updater.start_webhook(**options)
        await app.start()
        try:
            assert api.webhook["url"] == f"http://127.0.0.1:{port}/tg-hook"
            assert api.webhook["secret_token"] == "s3cret_token"
            update = {"update_id": 1, "message": {
                "message_id": 1, "date": 0, "chat": api._chat(USER, "private"), "text": MATERIALS_Q,
                "from": {"id": USER, "is_bot": False, "first_name": "测试用户"}}}
            async with httpx.AsyncClient() as client:
                bad = await client.post(f"http://127.0.0.1:{port}/tg-hook", json=update,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                assert bad.status_code == 403
                ok = await client.post(f"http://127.0.0.1:{port}/tg-hook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret_token"})
                assert ok.status_code == 200
            sent = (await api.wait_messages(USER, 1))[0]
            assert sent.text.startswith(f"《{SETUP}》")
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_shutdown(app)
    with pytest.raises(ValueError):
        webhook_options("ftp://x", secret="s3cret")
    with pytest.raises(ValueError):
        webhook_options("https://example.com/hook", secret="bad secret!")


# ----------------------------------------------------------------------------- start-up


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "GOVBOT_"))}
    env.update(PYTHONPATH=str(ROOT), GOVBOT_HOME=str(tmp_path / "home"), **extra)
    return env


async def test_bad_token_exits_2_with_a_chinese_message(tmp_path: Path) -> None:
    for token, expected in (("12345:short", "格式不对"), ("", "未设置")):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.telegram_bot", cwd=tmp_path, env=_env(tmp_path, TELEGRAM_BOT_TOKEN=token),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        stderr = err.decode()
        assert proc.returncode == 2, stderr
        assert expected in stderr and "TELEGRAM_BOT_TOKEN" in stderr and "Traceback" not in stderr


async def test_token_rejected_by_telegram_exits_2(tmp_path: Path, api: FakeBotAPI) -> None:
    wrong = "987654321:" + "B" * 30  # well-formed, but not the token the server knows
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.telegram_bot", cwd=tmp_path,
        env=_env(tmp_path, TELEGRAM_BOT_TOKEN=wrong, GOVBOT_TELEGRAM_BASE_URL=api.base_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 90)
    stderr = err.decode()
    assert proc.returncode == 2, stderr
    assert "拒绝" in stderr and "Traceback" not in stderr


def test_run_telegram_missing_token_in_process(home: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    get_settings.cache_clear()
    assert run_telegram() == 2
    assert texts.TOKEN_MISSING in capsys.readouterr().err


async def test_run_telegram_polls_and_stops_cleanly(tmp_path: Path, kb_store: Path, api: FakeBotAPI) -> None:
    """The real entry point end to end: `python -m bot.telegram_bot` long-polls, answers, stops on SIGINT."""
    import signal

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.telegram_bot", "--store", str(kb_store), cwd=tmp_path,
        env=_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await api.wait_until(lambda: api.calls_of("setMyCommands"), timeout=90)  # post_init ran
        sent = await api.ask(USER, MATERIALS_Q, timeout=30)
        assert sent.text.startswith(f"《{SETUP}》")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    # The chat's state is in the database (GOVBOT_HOME's SQLite by default), written as the answer went out.
    state = ConversationStore(f"sqlite:///{tmp_path / 'home' / 'govbot.sqlite3'}").get("telegram:chat", str(USER))
    assert state["state"]["record_id"]



async def test_readme_main_command_runs_web_and_bot_together(tmp_path: Path, api: FakeBotAPI) -> None:
    """`govbot serve` with a token: ingests, serves the web page and answers in Telegram."""
    import shutil
    import signal
    import socket

    import httpx

    knowledge = tmp_path / "knowledge" / "guides"
    knowledge.mkdir(parents=True)
    shutil.copy(ROOT / "knowledge" / "guides" / "company-setup.md", knowledge)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port), cwd=tmp_path,
        env=_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url,
                 GOVBOT_KNOWLEDGE_DIR=str(tmp_path / "knowledge"), GOVBOT_EMBEDDING="use"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await api.wait_until(lambda: api.calls_of("setMyCommands"), timeout=120)
        sent = await api.ask(USER, MATERIALS_Q, timeout=30)
        assert sent.text.startswith(f"《{SETUP}》")
        async with httpx.AsyncClient() as client:
            answer = (await client.get(f"http://127.0.0.1:{port}/api/ask", params={"q": MATERIALS_Q}, timeout=30)).json()
        assert answer["grounded"] and answer["record_ids"] == ["company-setup"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()

# ----------------------------------------------------------------------------- policy matching (/match)

QUESTIONS = len(MATCH_FIELDS)


@pytest.fixture
async def mbot(engine, kb_store, settings, feedback):
    """The bot with a flood limit a typed-through /match cannot reach (a dozen answers in a few seconds)."""
    async with running(engine, settings, kb_store, feedback, flood_max=100) as harness:
        yield harness
    assert not harness.errors, harness.errors


def labels(sent) -> list[str]:
    return [b["text"] for b in sent.buttons()]


def sections(text: str) -> dict[str, str]:
    """The /match result by its 【…】 headings (the heading line's tail, e.g. "共 3 项", stays in the body)."""
    parts = re.split(r"^【([^】]+)】", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def title(engine, policy_id: str) -> str:
    return engine.records[policy_id].title


async def result_text(api: FakeBotAPI, chat: int, before: int, last) -> str:
    """Every message of the result (it is split at Telegram's limit), joined."""
    parts = api.messages(chat)[before:]
    assert parts[-1] is last
    return "\n".join(p.text for p in parts)


def assert_chinese_only(api: FakeBotAPI, chat: int) -> None:
    for sent in api.messages(chat):
        for key in FIELD_LABELS:  # the matcher's JSON keys never reach a chat user
            assert key not in sent.text, (key, sent.text[:200])
        assert "policy-" not in sent.text


def test_match_answers_are_cleaned_then_validated_by_the_matcher() -> None:
    assert set(MATCH_FIELDS) == set(FIELD_LABELS)  # every profile field is asked
    assert set(texts.MATCH_QUESTIONS) == set(PLAIN_LABELS) == set(FIELD_LABELS)
    # Numbers and units are the matcher's typed_value (tests/test_matcher.py); yes/no words are the chat's own.
    assert clean_answer("revenue_wan", "1.2亿") == 12000
    assert clean_answer("rd_ratio", "５％") == "5%"
    assert clean_answer("in_zone", "不在") == texts.MATCH_NO
    assert clean_answer("in_zone", "ＹＥＳ") == texts.MATCH_YES
    assert clean_answer("in_zone", "也许") == "也许"  # asked again with the 是/否 buttons
    assert clean_answer("industry", " 钠电 ") == "钠电"
    assert check_answer("employees", -5, {}, []) == (None, "“员工人数”不能为负数（收到：-5）")
    assert check_answer("rd_ratio", "5%", {}, []) == (0.05, None)
    value, problem = check_answer("new_hires", 80, {"employees": 50}, [])
    assert value is None and "多于“员工人数”50" in problem and "/match" in problem


async def test_match_full_conversation(before_expiry, mbot, api: FakeBotAPI, engine) -> None:
    first = await api.ask(USER, "/match")
    assert "政策匹配" in first.text and f"（1/{QUESTIONS}）" in first.text
    assert texts.MATCH_QUESTIONS["in_zone"] in first.text
    assert labels(first) == [texts.MATCH_YES, texts.MATCH_NO, texts.MATCH_SKIP]
    industry = await api.click(first, texts.MATCH_YES)
    assert first.text.endswith("→ 是") and not first.buttons()  # the answer shown, the buttons gone
    assert f"（2/{QUESTIONS}）" in industry.text and "所属行业" in industry.text
    assert {"新能源", "钠离子电池", "锂电池"} <= set(labels(industry))  # the policies' industries as buttons
    employees = await api.ask(USER, "钠电")  # typed, a synonym
    assert not industry.buttons()
    assert f"（3/{QUESTIONS}）" in employees.text and texts.MATCH_QUESTIONS["employees"] in employees.text
    revenue = await api.ask(USER, "120人")
    founded = await api.ask(USER, "8,000万元")
    assert texts.MATCH_QUESTIONS["revenue_wan"] in revenue.text
    assert texts.MATCH_QUESTIONS["founded_year"] in founded.text
    certs = await api.ask(USER, "2019")
    assert texts.MATCH_QUESTIONS["certifications"] in certs.text
    assert {"高新技术企业", "科技型中小企业", "规模以上企业", texts.MATCH_DONE, texts.MATCH_NONE} <= set(labels(certs))
    # 资质: a multi-select; ticking edits the buttons in place, pressing again unticks.
    for label, shown in (("高新技术企业", "✅ 高新技术企业"), ("科技型中小企业", "✅ 科技型中小企业"),
                         ("规模以上企业", "✅ 规模以上企业")):
        await api.press_for_answer(certs, label)
        await api.wait_until(lambda shown=shown: shown in labels(certs))
    await api.press_for_answer(certs, "✅ 科技型中小企业")
    await api.wait_until(lambda: "科技型中小企业" in labels(certs))
    taxpayer = await api.click(certs, texts.MATCH_DONE)
    assert certs.text.endswith("→ 高新技术企业、规模以上企业")
    assert labels(taxpayer) == [*TAXPAYER_CHOICES, texts.MATCH_SKIP]
    rd = await api.click(taxpayer, "一般纳税人")
    assert texts.MATCH_QUESTIONS["rd_ratio"] in rd.text
    hires = await api.ask(USER, "5%")
    assert texts.MATCH_QUESTIONS["new_hires"] in hires.text
    investment = await api.ask(USER, "0")
    assert texts.MATCH_QUESTIONS["fixed_asset_investment_wan"] in investment.text
    before = len(api.messages(USER))
    last = await api.ask(USER, "3000")
    text = await result_text(api, USER, before, last)
    parts = api.messages(USER)[before:]
    assert all(utf16_len(p.text) <= 4096 for p in parts)  # split at Telegram's limit when longer
    assert all(p.reply_markup is None for p in parts[:-1]) and parts[-1].buttons()

    # The profile as understood, then the verdicts, checked against knowledge/policies.
    got = sections(text)
    assert "所属行业：钠电（钠离子电池）" in got["您提供的企业信息"]
    assert "员工人数：120人" in got["您提供的企业信息"] and "研发投入占比：5%" in got["您提供的企业信息"]
    assert "资质与身份：高新技术企业、规模以上企业" in got["您提供的企业信息"]
    eligible = got["符合条件"]
    for policy_id in ("policy-new-energy-cluster", "policy-hnte-award", "policy-rd-investment-reward",
                      "policy-vat-refund", "policy-small-profit-tax", "policy-incubator"):
        assert title(engine, policy_id) in eligible, policy_id
    near = got["差一项条件"]
    job = near.split(title(engine, "policy-job-expansion"), 1)[1].splitlines()[1]
    assert job.strip() == "未满足：本年新招用人数需不少于1人，当前为0人"
    six = near.split(title(engine, "policy-six-taxes-two-fees"), 1)[1].splitlines()[1]
    assert "增值税小规模纳税人" in six and "当前资质与身份：高新技术企业、规模以上企业、增值税一般纳税人" in six
    assert title(engine, "policy-science-award") in got["不适用"]
    # Every question answered: nothing is undecided for want of information (only for prose-only conditions).
    assert "需要补充" not in got.get("信息不足，暂无法判断", "") and "补充以下信息" not in text
    assert_chinese_only(api, USER)
    assert "match" not in bot_user_data(mbot, USER)

    # The result's buttons open a policy like the /policies list does; then ordinary questions work again.
    assert texts.MATCH_AGAIN in labels(last)
    award = await api.click(last, title(engine, "policy-hnte-award"))
    assert award.text.startswith(f"《{title(engine, 'policy-hnte-award')}》") and "20万元" in award.text
    plain = await api.ask(USER, MATERIALS_Q)
    assert plain.text.startswith(f"《{SETUP}》")


def bot_user_data(harness, user: int) -> dict:
    return harness.app.user_data.get(user, {})


async def test_match_bad_answers_are_asked_again(mbot, api: FakeBotAPI) -> None:
    first = await api.ask(USER, "/match")
    again = await api.ask(USER, "也许")
    assert texts.MATCH_BAD_YES_NO in again.text and f"（1/{QUESTIONS}）" in again.text
    assert not first.buttons() and labels(again) == [texts.MATCH_YES, texts.MATCH_NO, texts.MATCH_SKIP]
    await api.ask(USER, "在")

    unknown = await api.ask(USER, "火星采矿")
    assert "所属行业“火星采矿”无法识别" in unknown.text
    assert "钠离子电池" in unknown.text and "餐饮业" in unknown.text  # what can be typed instead
    assert f"（2/{QUESTIONS}）{texts.MATCH_QUESTIONS['industry']}" in unknown.text  # the same question again
    assert texts.MATCH_SKIP in labels(unknown) and "锂电池" in labels(unknown)
    await api.ask(USER, "锂电")

    steps = [
        ("-5", "“员工人数”不能为负数", "employees"),
        ("很多", "“员工人数”须为整数", "employees"),
        ("50", None, "revenue_wan"),
        ("八千", "“年营业收入（万元）”须为数字", "revenue_wan"),
        ("8000元", "“年营业收入（万元）”须为数字（收到：\"8000元\"）", "revenue_wan"),
        ("1.2亿", None, "founded_year"),
        (str(datetime.date.today().year + 1), f"“成立年份”不能晚于今年（{datetime.date.today().year}年）",
         "founded_year"),
        ("1850", "“成立年份”不能小于1900", "founded_year"),
        ("2020年", None, "certifications"),
        ("高企、瞪羚企业", "“瞪羚企业”不是政策申报条件中使用的名称", "taxpayer"),
        ("个体户", "“增值税纳税人类型”只能是：一般纳税人 或 小规模纳税人", "taxpayer"),
        ("小规模纳税人", None, "rd_ratio"),
        ("12", "“研发投入占比”应为0到1之间的小数", "rd_ratio"),
        ("3%", None, "new_hires"),
        ("80", "“本年新招用人数”为80，多于“员工人数”50", "new_hires"),
        ("5", None, "fixed_asset_investment_wan"),
    ]
    for answer, problem, asked in steps:
        sent = await api.ask(USER, answer)
        position = MATCH_FIELDS.index(asked) + 1
        assert f"（{position}/{QUESTIONS}）{texts.MATCH_QUESTIONS[asked]}" in sent.text, (answer, sent.text)
        if problem is None:
            assert "请重新回答" not in sent.text and "不是政策申报条件" not in sent.text, (answer, sent.text)
        else:
            assert problem in sent.text, (answer, sent.text)
    before = len(api.messages(USER))
    last = await api.click(api.messages(USER)[-1], texts.MATCH_SKIP)
    profile = sections(await result_text(api, USER, before, last))["您提供的企业信息"]
    assert "员工人数：50人" in profile and "年营业收入（万元）：12000" in profile and "成立年份：2020年" in profile
    assert "资质与身份：高新技术企业、瞪羚企业" in profile and "本年新招用人数：5人" in profile
    assert "未提供：固定资产投资（万元）" in profile
    assert_chinese_only(api, USER)


async def test_match_skipped_fields_are_named_as_missing(before_expiry, bot, api: FakeBotAPI, engine) -> None:
    # All by buttons and quickly, on the default flood limit: answer buttons do not count as flooding.
    sent = await api.ask(USER, "/match")
    sent = await api.click(sent, texts.MATCH_YES)
    sent = await api.ask(USER, "不知道")  # typed skip
    before = 0
    for _ in range(QUESTIONS - 2):
        before = len(api.messages(USER))
        previous, sent = sent, await api.click(sent, texts.MATCH_SKIP)
        assert previous.text.endswith("→ " + texts.MATCH_SKIPPED)
    got = sections(await result_text(api, USER, before, sent))
    assert "未提供：所属行业、员工人数" in got["您提供的企业信息"]
    # What could be decided is decided…
    assert title(engine, "policy-incubator") in got["符合条件"]
    assert title(engine, "policy-stable-growth") in got["符合条件"]
    # …and the rest names the information that is missing.
    undecided = got["信息不足，暂无法判断"]
    assert f"{title(engine, 'policy-new-energy-cluster')}：需要补充：“所属行业”" in undecided
    assert f"{title(engine, 'policy-vat-refund')}：需要补充：“增值税纳税人类型”" in undecided
    assert f"{title(engine, 'policy-job-expansion')}：需要补充：“本年新招用人数”" in undecided
    assert ("补充以下信息可判断更多政策：“所属行业”、“员工人数”、“资质与身份”、“增值税纳税人类型”、“本年新招用人数”"
            in undecided)
    assert_chinese_only(api, USER)
    flood_notes = [s for s in api.messages(USER) if "发得有点快" in s.text]
    assert not flood_notes


async def test_match_cancel_and_stale_buttons(mbot, api: FakeBotAPI) -> None:
    first = await api.ask(USER, "/match")
    industry = await api.click(first, texts.MATCH_NO)
    # A button of an answered question does nothing but say so.
    call = await api.press_for_answer(first, "mt:in_zone:1", by_data=True)
    assert call.params.get("text") == texts.MATCH_ANSWERED
    cancelled = await api.ask(USER, "/cancel")
    assert cancelled.text == texts.MATCH_CANCELLED
    assert not industry.buttons()
    assert "match" not in bot_user_data(mbot, USER)
    # After /cancel: the old buttons say the matching is over, and text is a question for the engine again.
    call = await api.press_for_answer(industry, "mt:industry:i0", by_data=True)
    assert call.params.get("text") == texts.MATCH_OVER and call.params.get("show_alert") is True
    plain = await api.ask(USER, MATERIALS_Q)
    assert plain.text.startswith(f"《{SETUP}》")
    idle = await api.ask(USER, "/cancel")
    assert idle.text == texts.MATCH_NOTHING_TO_CANCEL
    # Typing 取消 stops it too; /match while one runs starts over.
    await api.ask(USER, "/match")
    await api.ask(USER, "是")
    restarted = await api.ask(USER, "/match")
    assert f"（1/{QUESTIONS}）" in restarted.text
    stopped = await api.ask(USER, "取消")
    assert stopped.text == texts.MATCH_CANCELLED
    assert (await api.ask(USER, "那要多久？")).text.startswith(f"《{SETUP}》")


async def test_match_entry_points_groups_and_abandoned_runs(mbot, api: FakeBotAPI) -> None:
    hint = await api.ask(GROUP, "/match", user_id=501, chat_type="supergroup")
    assert hint.text == texts.MATCH_PRIVATE_ONLY
    assert hint.button(texts.MATCH_PRIVATE_BUTTON)["url"] == f"https://t.me/{BOT_USER['username']}?start=match"
    api.message(GROUP, "是", user_id=501, chat_type="supergroup")  # no conversation in the group
    await asyncio.sleep(0.3)
    assert len(api.messages(GROUP)) == 1

    deep = await api.ask(501, "/start match")  # the hint's button opens the private chat like this
    assert f"（1/{QUESTIONS}）" in deep.text
    await api.ask(501, "/cancel")
    menu = await api.ask(501, "/start")
    from_menu = await api.click(menu, texts.MENU_MATCH)
    assert f"（1/{QUESTIONS}）" in from_menu.text

    # Half an hour without an answer: what the user sends next is an ordinary question.
    await api.click(from_menu, texts.MATCH_YES)
    mbot.app.user_data[501]["match"]["at"] -= MATCH_IDLE + 1
    plain = await api.ask(501, MATERIALS_Q)
    assert plain.text.startswith(f"《{SETUP}》")
    assert "match" not in bot_user_data(mbot, 501)

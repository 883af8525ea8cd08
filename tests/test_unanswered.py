"""The unanswered queue: refusals, "not stated" answers and 👎 (with a reason tag) from every channel.

Real parts: the ingest pipeline with the ``hash`` embedder over two shipped guides, the FastAPI app over
ASGI, python-telegram-bot against the fake Bot API, the messenger Conversation, the `govbot report` CLI,
and SQLite / PostgreSQL for the store itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
import test_feishu
from fake_bot_api import TOKEN as BOT_TOKEN
from fake_bot_api import FakeBotAPI
from starlette.testclient import TestClient
from test_telegram import running
from typer.testing import CliRunner

from bot import messages, texts
from bot.channels.base import Conversation, Incoming
from bot.cli import app as cli_app
from bot.cli import run_ingest
from bot.database import open_database
from bot.services.asking import nearest_record
from bot.services.container import Services, build_services
from bot.services.unanswered import QueueFilter, UnansweredStore, question_key
from bot.web.app import create_app
from ingest.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "knowledge" / "guides"
ADMIN_TOKEN = "queue-admin-token-0123456789"
ID_NUMBER = "510302199001011239"  # a well-formed 身份证号 (check digit right): must never be stored whole
ID_MASKED = "510***********1239"
REFUSED_Q = "社保卡丢了怎么补办"  # nothing in the two guides answers it
REFUSED_WITH_ID = f"我的身份证{ID_NUMBER}丢了怎么办"  # refused too, with a personal number in it
NOT_STATED_Q = "企业设立登记的有效期多久"  # company-setup states no validity
ANSWERED_Q = "开公司需要哪些材料"
USER, OTHER = 4242, 4343


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for name in ("company-setup.md", "food-business-license.md"):
        shutil.copy(GUIDES / name, folder / name)
    return folder


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


@pytest.fixture
def services(home: Path, knowledge: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> Services:
    """One process's services over an index of the two guides, as `govbot serve` builds them."""
    for key, value in {"GOVBOT_EMBEDDING": "hash", "GOVBOT_KNOWLEDGE_DIR": str(knowledge),
                       "GOVBOT_ADMIN_TOKEN": ADMIN_TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                       "GOVBOT_TELEGRAM_BASE_URL": api.base_url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    assert not run_ingest([knowledge], settings.store_dir, show_progress=False).failed
    return build_services(settings=settings)


def web_client(services: Services) -> TestClient:
    return TestClient(create_app(services.engine, services.settings, services.store_dir, services.feedback,
                                 admin=services.admin, asking=services.asking))


def flushed(client: TestClient) -> None:
    client.app.state.question_log.flush()


def nearest(services: Services, question: str) -> str:
    """The item the engine itself suggests first for a refused question."""
    result = services.engine.ask(question)
    assert not result.grounded and result.follow_ups
    return nearest_record(result)


def queue(services: Services, **filters) -> list[dict]:
    return services.asking.unanswered.entries(QueueFilter(**filters))


# ----------------------------------------------------------------------------- the store itself


def test_store_groups_filters_trend_csv_and_resolve(database_url: str) -> None:
    store = UnansweredStore(open_database(database_url))
    a = store.add("web", "v1", "", f"社保卡丢了怎么补办？我的身份证{ID_NUMBER}", "other", "refused", "company-setup")
    store.add("telegram", "7", "7", "社保卡 丢了怎么补办", "other", "refused", "company-setup")
    store.add("telegram", "8", "8", NOT_STATED_Q, "validity", "not_stated", "company-setup")
    d = store.add("dingtalk", "u1", "c1", ANSWERED_Q, "materials", "downvote", "company-setup", tag="outdated")
    store.add("web", "v2", "", "=HYPERLINK(\"x\")", "other", "refused", "")

    groups = store.groups()
    assert [(g.record_id, g.intent, g.count, g.open) for g in groups][:1] == [("company-setup", "other", 2, 2)]
    assert {(g.record_id, g.intent): g.count for g in groups} == {
        ("company-setup", "other"): 2, ("company-setup", "validity"): 1, ("company-setup", "materials"): 1,
        ("", "other"): 1}
    assert [e["id"] for e in store.entries(QueueFilter(channel="telegram", reason="not_stated"))] != []
    assert {e["reason"] for e in store.entries(QueueFilter(reason="downvote"))} == {"downvote"}
    assert store.get(d)["tag"] == "outdated"
    assert len(store.entries(QueueFilter(record_id="company-setup"))) == 4
    assert store.entries(QueueFilter(intent="validity"))[0]["question"] == NOT_STATED_Q
    assert store.entries(QueueFilter(since=dt.datetime.now() + dt.timedelta(hours=1))) == []

    trend = store.per_day(days=7)
    assert len(trend) == 7 and trend[-1] == (dt.date.today().isoformat(), 5) and sum(n for _, n in trend) == 5

    text = store.csv_text()
    assert ID_NUMBER not in text and ID_MASKED in text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 5 and {r["channel"] for r in rows} == {"web", "telegram", "dingtalk"}
    assert any(r["question"].startswith("'=HYPERLINK") for r in rows)  # no formula for Excel to run

    # Resolving one resolves the open entries with the same question, however it was spaced or punctuated.
    assert question_key("社保卡 丢了怎么补办？") == question_key("社保卡丢了怎么补办")
    store.add("web", "v3", "", "社保卡丢了怎么补办？", "other", "refused", "company-setup")
    assert store.resolve(a, "张三", "knowledge/faq/window-answers.md") == 1  # a's text differs (ID number)
    b = store.entries(QueueFilter(channel="telegram", intent="other"))[0]["id"]
    assert store.resolve(b, "李四", "faq") == 2
    resolved = store.entries(QueueFilter(status="resolved"))
    assert {e["resolved_by"] for e in resolved} == {"张三", "李四"} and len(resolved) == 3
    assert all(e["resolved_at"] is not None for e in resolved)
    assert store.groups(QueueFilter(status="open"))[0].count == 1


# ----------------------------------------------------------------------------- web


def test_web_refusal_and_not_stated_land_in_the_queue(services: Services) -> None:
    client = web_client(services)
    refused = client.get("/api/ask", params={"q": REFUSED_WITH_ID}).json()
    assert not refused["grounded"]
    not_stated = client.post("/api/ask", json={"q": NOT_STATED_Q}).json()
    assert "没有写明" in not_stated["answer"]
    client.get("/api/ask", params={"q": ANSWERED_Q})  # answered: not queued
    flushed(client)
    entries = {e["reason"]: e for e in queue(services)}
    assert set(entries) == {"refused", "not_stated"}
    assert entries["refused"]["channel"] == "web"
    assert entries["refused"]["record_id"] == nearest(services, REFUSED_WITH_ID) != ""
    assert ID_NUMBER not in entries["refused"]["question"] and ID_MASKED in entries["refused"]["question"]
    assert (entries["not_stated"]["record_id"], entries["not_stated"]["intent"]) == ("company-setup", "validity")
    assert entries["not_stated"]["status"] == "open"


def test_web_downvote_then_reason_tag(services: Services) -> None:
    client = web_client(services)
    page = client.get("/", params={"q": ANSWERED_Q})
    assert 'name="intent" value="materials"' in page.text
    thanks = client.post("/feedback", data={"q": ANSWERED_Q, "record_id": "company-setup", "vote": "-1",
                                            "intent": "materials", "note": "电话13812345678不对"})
    assert thanks.status_code == 200 and 'action="/feedback/tag"' in thanks.text
    for label in messages.DOWNVOTE_TAGS.values():
        assert label in thanks.text
    [entry] = queue(services, reason="downvote")
    assert (entry["channel"], entry["record_id"], entry["intent"], entry["tag"]) == (
        "web", "company-setup", "materials", "")
    assert "13812345678" not in entry["note"]
    assert services.feedback.stats().unhelpful == 1  # the feedback row is still written

    tagged = client.post("/feedback/tag", data={"entry": str(entry["id"]), "tag": "outdated", "note": "已更新"})
    assert tagged.status_code == 200 and "已记录原因：信息过时" in tagged.text
    assert services.asking.unanswered.get(entry["id"])["tag"] == "outdated"
    # Another browser (another visitor id) cannot relabel someone else's entry.
    stranger = web_client(services)
    refused = stranger.post("/feedback/tag", data={"entry": str(entry["id"]), "tag": "other"})
    assert refused.status_code == 400 and "只能由提出反馈的用户选择" in refused.text
    assert services.asking.unanswered.get(entry["id"])["tag"] == "outdated"
    for bad in ({"entry": "9" * 40, "tag": "other"}, {"entry": str(entry["id"])}, {"entry": "x", "tag": "other"}):
        assert client.post("/feedback/tag", data=bad).status_code == 400  # never a 500
    # A tag picked on the 👎 form itself is kept at once.
    client.post("/feedback", data={"q": "x", "record_id": "", "vote": "-1", "tag": "off_topic"})
    assert queue(services, reason="downvote")[0]["tag"] == "off_topic"


def test_web_thumbs_up_is_not_queued(services: Services) -> None:
    client = web_client(services)
    thanks = client.post("/feedback", data={"q": ANSWERED_Q, "record_id": "company-setup", "vote": "1"})
    assert thanks.status_code == 200 and "/feedback/tag" not in thanks.text
    assert queue(services) == []


# ----------------------------------------------------------------------------- Telegram


async def test_telegram_refusal_not_stated_and_tagged_downvote(services: Services, api: FakeBotAPI) -> None:
    async with running(services.engine, services.settings, services.store_dir, services.feedback,
                       admin=services.admin, asking=services.asking) as harness:
        await api.ask(USER, REFUSED_WITH_ID)
        await api.ask(USER, NOT_STATED_Q)
        answer = await api.ask(USER, ANSWERED_Q)
        ask_tag = await api.click(answer, texts.UNHELPFUL)
        assert ask_tag.text == texts.DOWNVOTE_ASK_TAG
        assert [b["text"] for b in ask_tag.buttons()] == list(texts.DOWNVOTE_TAGS.values())
        # Someone else pressing the tag (in a group, say) changes nothing.
        refused = await api.press_for_answer(ask_tag, "信息不全", user_id=OTHER)
        assert refused.params.get("text") == texts.DOWNVOTE_TAG_NOT_YOURS
        await api.press_for_answer(ask_tag, "信息不全")
        await api.wait_until(lambda: ask_tag.text == texts.DOWNVOTE_TAG_THANKS.format(tag="信息不全"))
    assert not harness.errors, harness.errors
    entries = {e["reason"]: e for e in queue(services, channel="telegram")}
    assert set(entries) == {"refused", "not_stated", "downvote"}
    assert entries["refused"]["record_id"] == nearest(services, REFUSED_WITH_ID) != ""
    assert entries["refused"]["chat_id"] == str(USER)
    assert ID_NUMBER not in entries["refused"]["question"] and ID_MASKED in entries["refused"]["question"]
    assert (entries["not_stated"]["record_id"], entries["not_stated"]["intent"]) == ("company-setup", "validity")
    down = entries["downvote"]
    assert (down["question"], down["record_id"], down["intent"], down["tag"], down["user_id"]) == (
        ANSWERED_Q, "company-setup", "materials", "incomplete", str(USER))


# ----------------------------------------------------------------------------- messengers


async def test_messenger_downvote_offers_tags_a_text_platform_sends_back(services: Services) -> None:
    talk = Conversation(services, "dingtalk", frozenset())
    await talk.handle(Incoming("dingtalk", "c1", "u1", text=ANSWERED_Q))
    reply = await talk.handle(Incoming("dingtalk", "c1", "u1", text=messages.UNHELPFUL))  # the label sent back
    assert reply.text == messages.DOWNVOTE_ASK_TAG
    assert [b.label for b in reply.buttons] == list(messages.DOWNVOTE_TAGS.values())
    done = await talk.handle(Incoming("dingtalk", "c1", "u1", text="答非所问"))
    assert done.text == messages.DOWNVOTE_TAG_THANKS.format(tag="答非所问")
    [entry] = queue(services, channel="dingtalk")
    assert (entry["reason"], entry["tag"], entry["record_id"], entry["chat_id"]) == (
        "downvote", "off_topic", "company-setup", "c1")
    # A callback platform (Feishu cards) sends the button's value: the same tag path.
    value = reply.buttons[2].value()
    feishu = Conversation(services, "feishu", frozenset())
    await feishu.handle(Incoming("feishu", "oc1", "ou1", text=NOT_STATED_Q))
    await feishu.handle(Incoming("feishu", "oc1", "ou1", vote=-1))
    await feishu.handle(Incoming("feishu", "oc1", "ou1", section=(value["r"], value["i"])))
    entries = {e["reason"]: e for e in queue(services, channel="feishu")}
    assert entries["not_stated"]["intent"] == "validity"
    assert (entries["downvote"]["tag"], entries["downvote"]["intent"]) == ("outdated", "validity")


# Feishu through its real adapter (lark-oapi, encrypted events, the fake open API): fixtures of test_feishu.
fake, channel, post = test_feishu.fake, test_feishu.channel, test_feishu.post


async def test_feishu_card_downvote_and_tag_buttons(post, fake, channel) -> None:
    from tests.fake_feishu import action_event, message_event

    await post(message_event(test_feishu.QUESTION, token=test_feishu.TOKEN))
    answer = (await fake.wait_messages(1))[0]
    by_label = {b["text"]["content"]: b["value"] for b in test_feishu.buttons(answer)}
    await post(action_event(by_label[messages.UNHELPFUL], token=test_feishu.TOKEN))
    ask_tag = (await fake.wait_messages(2))[1]
    assert test_feishu.markdown(ask_tag).startswith(messages.DOWNVOTE_ASK_TAG[:6])
    tags = {b["text"]["content"]: b["value"] for b in test_feishu.buttons(ask_tag)}
    assert list(tags) == list(messages.DOWNVOTE_TAGS.values())
    await post(action_event(tags["信息不全"], token=test_feishu.TOKEN))
    done = (await fake.wait_messages(3))[2]
    assert test_feishu.markdown(done) == messages.DOWNVOTE_TAG_THANKS.format(tag="信息不全")
    [entry] = channel.conversation.services.asking.unanswered.entries(QueueFilter(channel="feishu"))
    assert (entry["reason"], entry["tag"], entry["record_id"], entry["question"]) == (
        "downvote", "incomplete", test_feishu.ITEM, test_feishu.QUESTION)


# ----------------------------------------------------------------------------- govbot report


def test_report_groups_filters_and_exports_csv(services: Services, tmp_path: Path) -> None:
    store = services.asking.unanswered
    store.add("web", "v1", "", f"{REFUSED_Q} 身份证{ID_NUMBER}", "other", "refused", "company-setup")
    store.add("telegram", "7", "7", NOT_STATED_Q, "validity", "not_stated", "company-setup")
    store.add("telegram", "8", "8", "食品许可证材料对不上", "materials", "downvote", "food-business-license",
              tag="outdated")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["report"])
    assert result.exit_code == 0, result.output
    assert "company-setup" in result.output and "food-business-license" in result.output
    assert "每日趋势" in result.output and ID_NUMBER not in result.output

    only = runner.invoke(cli_app, ["report", "--channel", "telegram", "--reason", "downvote"])
    assert "food-business-license" in only.output and "company-setup" not in only.output
    item = runner.invoke(cli_app, ["report", "--item", "company-setup", "--status", "open", "--days", "7"])
    assert "company-setup" in item.output and "food-business-license" not in item.output
    none = runner.invoke(cli_app, ["report", "--status", "resolved"])
    assert none.exit_code == 0 and messages.REPORT_EMPTY in none.output
    bad = runner.invoke(cli_app, ["report", "--reason", "nope"])
    assert bad.exit_code == 2 and "--reason" in bad.output and "refused" in bad.output

    target = tmp_path / "queue.csv"
    exported = runner.invoke(cli_app, ["report", "--channel", "web", "--csv", str(target)])
    assert exported.exit_code == 0, exported.output
    text = target.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["channel"] for r in rows] == ["web"]
    assert ID_NUMBER not in text and ID_MASKED in rows[0]["question"]
    unwritable = runner.invoke(cli_app, ["report", "--csv", str(tmp_path / "missing" / "dir" / "q.csv")])
    assert unwritable.exit_code == 1 and "无法写入" in unwritable.output

"""The service-hall loop's second pass in Telegram: the real python-telegram-bot over HTTP against
tests/fake_bot_api.py, on the fixture knowledge base.

The menu's 人工咨询 opens a ticket for the last question (or asks for one); a "not stated" answer names the
item's own department and window and offers 转人工; /policies and /bundles leave out an item holding a
listed sensitive word and show the polite notice; a ticket opened on the web page reaches the Telegram
staff chat, and a staff reply there shows on the visitor's ticket page.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fake_bot_api import TOKEN, FakeBotAPI
from telegram_running import running

from bot import texts
from bot.feedback import FeedbackStore
from bot.services.handoff import HandoffStore, web_forwarder
from ingest.settings import Settings, get_settings

USER = 4242
STAFF_CHAT = -100556
STAFF_MEMBER = 7778
NOT_STATED_Q = "门店招牌设置备案的有效期是多久？"
WEB_Q = "游艇码头经营许可怎么办理？"
REPLY = "游艇码头经营许可不在本中心办理，请咨询交通运输部门。"


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


@pytest.fixture
def settings(home: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("GOVBOT_TELEGRAM_BASE_URL", api.base_url)
    monkeypatch.setenv("GOVBOT_TELEGRAM_STAFF_CHAT_ID", str(STAFF_CHAT))
    monkeypatch.setenv("GOVBOT_HANDOFF_POLL_S", "0.2")
    get_settings.cache_clear()
    api._chat(STAFF_CHAT, "supergroup", "工作人员群")
    return get_settings()




async def test_the_menus_human_button_opens_a_ticket_for_the_last_question(small_engine, small_store, settings,
                                                                          api: FakeBotAPI) -> None:
    async with running(small_engine, small_store, settings):
        menu = await api.ask(USER, "/start")
        asked = await api.click(menu, texts.MENU_HUMAN)  # nothing asked yet: asks for the question
        assert asked.text == texts.HANDOFF_NO_QUESTION
        assert HandoffStore(settings.database_url).list_open() == []

        answer = await api.ask(USER, NOT_STATED_Q)
        assert texts.NOT_STATED_ASK.format(title="门店招牌设置备案") in answer.text
        assert "办理窗口：示例政务服务中心二楼城管窗口（示例）" in answer.text
        assert texts.HANDOFF_BUTTON in [b["text"] for b in answer.buttons()]  # offered like a refusal
        opened = await api.click(menu, texts.MENU_HUMAN)
        (ticket,) = HandoffStore(settings.database_url).list_open()
        assert opened.text == texts.HANDOFF_OPENED.format(id=ticket.id)
        assert ticket.question == NOT_STATED_Q and ticket.record_id == "demo-shop-sign"
        forwarded = (await api.wait_messages(STAFF_CHAT, 1))[-1]
        assert NOT_STATED_Q in forwarded.text and "门店招牌设置备案" in forwarded.text


async def test_lists_leave_out_an_item_with_a_listed_word(small_engine, small_store, settings,
                                                         api: FakeBotAPI) -> None:
    async with running(small_engine, small_store, settings) as bot:
        sensitive = bot.app.bot_data["govbot"].asking.sensitive
        sensitive.add(["专项审计"])  # in 研发投入后补助's how-to-apply only
        policies = await api.ask(USER, "/policies")
        labels = [b["text"] for b in policies.buttons()]
        assert texts.SENSITIVE_REPLY in policies.text
        assert "新招员工一次性岗位补贴" in labels and not any("研发" in label for label in labels)
        assert [(h["channel"], h["user_id"], h["word"], h["part"]) for h in sensitive.hits()] == [
            ("telegram", str(USER), "专项审计", "record")]
        sensitive.add(["一件事"])  # the only bundle: the list is the notice alone
        bundles = await api.ask(USER, "/bundles")
        assert bundles.text == texts.SENSITIVE_REPLY and not bundles.buttons()
        sensitive.remove(["专项审计", "一件事"])
        again = await api.ask(USER, "/policies")
        assert texts.SENSITIVE_REPLY not in again.text and any("研发" in b["text"] for b in again.buttons())


async def test_a_web_ticket_reaches_the_telegram_staff_chat_and_the_reply_the_ticket_page(
        small_engine, small_store, settings, api: FakeBotAPI) -> None:
    from bot.web.app import create_app

    assert web_forwarder(settings) == "telegram"
    web = create_app(small_engine, settings, small_store, FeedbackStore(settings.database_url),
                     handoffs=HandoffStore(settings.database_url))
    async with running(small_engine, small_store, settings), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://127.0.0.1") as visitor:
        opened = await visitor.post("/handoff", data={"q": WEB_Q, "record_id": "demo-shop-sign"})
        assert opened.status_code == 303
        ticket_page = opened.headers["location"]
        forwarded = (await api.wait_messages(STAFF_CHAT, 1))[-1]
        ticket = HandoffStore(settings.database_url).list_open()[0]
        assert f"转人工 {ticket.id}" in forwarded.text and "来自网页" in forwarded.text and WEB_Q in forwarded.text
        assert REPLY not in (await visitor.get(ticket_page)).text

        api.message(STAFF_CHAT, REPLY, user_id=STAFF_MEMBER, chat_type="supergroup",
                    reply_to=forwarded.as_message(api.chats[STAFF_CHAT]))
        saved = (await api.wait_messages(STAFF_CHAT, 2))[-1]
        assert saved.text == texts.HANDOFF_REPLY_SAVED.format(id=ticket.id)
        page = (await visitor.get(ticket_page)).text
        assert REPLY in page and texts.HANDOFF_PAGE_REPLIED in page
        assert len(api.messages(STAFF_CHAT)) == 2  # forwarded once, however many rounds the job ran
        assert not [m for m in api.messages() if m.chat_id not in (STAFF_CHAT,)]  # nothing sent to anyone else


def test_which_channel_takes_the_web_pages_tickets(tmp_path: Path) -> None:
    base = {"govbot_home": tmp_path}
    assert web_forwarder(Settings(**base)) == ""  # the web admin page only
    assert web_forwarder(Settings(**base, govbot_telegram_staff_chat_id=-1)) == ""  # no bot runs
    both = Settings(**base, telegram_bot_token="1:x", govbot_telegram_staff_chat_id=-1,
                    govbot_feishu_staff_chat="oc_1")
    assert web_forwarder(both) == "telegram"
    assert web_forwarder(Settings(**base, govbot_feishu_staff_chat="oc_1", govbot_wecom_staff_users="u1")) == "feishu"
    assert web_forwarder(Settings(**base, govbot_wecom_staff_users="u1")) == "wecom"
    assert web_forwarder(Settings(**base, govbot_dingtalk_staff_chat="cid1", govbot_wecom_staff_users="u1")) == "dingtalk"

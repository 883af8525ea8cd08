"""DingTalk Stream mode with the real dingtalk-stream SDK against a fake gateway and session webhook."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from bot import channels, messages
from bot.channels import dingtalk
from bot.channels.base import render_markdown, text_reply
from bot.services.container import build_services
from ingest.settings import Settings
from tests.fake_dingtalk import FakeDingTalk

ITEM = "demo-forklift-registration"
QUESTION = "叉车使用登记需要哪些材料？"
ADMIN = "staff-admin"


@pytest.fixture
async def fake():
    server = FakeDingTalk()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def services(small_store: Path, tmp_path: Path, fake: FakeDingTalk):
    settings = Settings(govbot_home=tmp_path, govbot_dingtalk_client_id="ding-id",
                        govbot_dingtalk_client_secret="ding-secret", govbot_dingtalk_admin_ids=f"{ADMIN}, other",
                        govbot_dingtalk_gateway_url=f"{fake.base}/v1.0/gateway/connections/open",
                        govbot_dingtalk_api_base=fake.base)
    return build_services(small_store, settings)


@pytest.fixture
async def stream(services, fake: FakeDingTalk):
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        client, handler = dingtalk.build_client(services, http, retry_delay=0.01)
        task = asyncio.create_task(client.start())
        await fake.wait_connected()
        yield handler
        task.cancel()
        await asyncio.gather(task, *handler.tasks, return_exceptions=True)


@pytest.fixture
async def card_stream(services, fake: FakeDingTalk):
    services.settings.govbot_dingtalk_cards = True
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        client, handler = dingtalk.build_client(services, http, retry_delay=0.01)
        task = asyncio.create_task(client.start())
        await fake.wait_connected()
        yield handler
        task.cancel()
        await asyncio.gather(task, *handler.tasks, return_exceptions=True)


def numbered(markdown: str) -> list[str]:
    return [line for line in markdown.split("  \n") if re.match(r"\d+\\?\. ", line)]


async def test_a_question_gets_the_exact_materials_list_with_buttons(stream, fake: FakeDingTalk, services) -> None:
    reply = await fake.ask(QUESTION)
    # The SDK opened the connection at our gateway with the bot-message topic and no local-IP probe.
    assert fake.opened[0]["clientId"] == "ding-id" and fake.opened[0]["localIp"] == ""
    assert fake.opened[0]["subscriptions"] == [{"type": "CALLBACK", "topic": dingtalk.ChatbotMessage.TOPIC}]
    assert fake.acks and fake.acks[0]["code"] == 200  # acknowledged, so DingTalk does not redeliver
    assert reply["msgtype"] == "markdown" and reply["_chat"] == "cid-single"
    text = reply["markdown"]["text"]
    record = services.engine.records[ITEM]
    assert text.startswith(f"**《{record.title}》**")
    lines = numbered(text)
    assert len(lines) == len(record.materials) > 0
    for i, (line, material) in enumerate(zip(lines, record.materials, strict=True), 1):
        assert line.replace("\\", "").startswith(f"{i}. {material.name}")
    for label in ("时限", "收费", messages.HELPFUL, messages.UNHELPFUL):
        assert f"[{label}](dtmd://dingtalkclient/sendMessage?content=" in text


async def test_a_section_button_answers_that_section_directly(stream, fake: FakeDingTalk, services) -> None:
    await fake.ask(QUESTION)
    reply = await fake.ask("时限")  # what the client sends when the 时限 link is pressed
    expected = services.engine.answer_section(ITEM, "time")
    assert reply["markdown"]["text"].startswith(render_markdown(expected.blocks)[0])


async def test_votes_are_recorded_once_per_user(stream, fake: FakeDingTalk, services) -> None:
    await fake.ask(QUESTION)
    assert (await fake.ask(messages.HELPFUL))["markdown"]["text"] == messages.THANKS
    assert (await fake.ask(messages.UNHELPFUL))["markdown"]["text"] == messages.ALREADY_VOTED
    stats = services.feedback.stats()
    assert (stats.helpful, stats.unhelpful) == (1, 0)


async def test_group_messages_are_answered_only_when_the_bot_is_mentioned(stream, fake: FakeDingTalk) -> None:
    await fake.push(QUESTION, chat="cid-group", group=True, at_bot=False)
    reply = await fake.ask(QUESTION, chat="cid-group", group=True, at_bot=True)
    assert len(fake.replies) == 1 and reply["_chat"] == "cid-group"
    assert numbered(reply["markdown"]["text"])


async def test_hostile_messages_are_answered_without_a_crash(stream, fake: FakeDingTalk) -> None:
    markup = await fake.ask("<b>叉车</b> [点我](http://evil.example) **需要哪些材料？**")
    assert "](http://evil.example)" not in markup["markdown"]["text"]  # no link from the user's text
    long = await fake.ask("叉车" * 10_000)
    assert long["markdown"]["text"]
    image = await fake.ask("", msgtype="picture")
    assert image["markdown"]["text"] == messages.TEXT_ONLY
    # An unreadable frame is rejected in its ack; the stream keeps serving.
    await fake.push("", raw_data='{"conversationType": ')
    assert (await fake.ask(QUESTION))["markdown"]["text"].startswith("**《")


async def test_a_throttled_reply_is_retried(stream, fake: FakeDingTalk) -> None:
    fake.throttle = 2
    reply = await fake.ask(QUESTION)
    assert numbered(reply["markdown"]["text"])
    assert len(fake.posts) == 3  # two 130101 answers, then delivered


async def test_admin_commands_follow_the_allow_list(stream, fake: FakeDingTalk) -> None:
    refused = await fake.ask("/stats", user="staff-1")
    assert refused["markdown"]["text"] == messages.NOT_ADMIN
    stats = await fake.ask("/stats", user=ADMIN)
    assert stats["markdown"]["text"].startswith("使用统计")


def test_serve_starts_dingtalk_only_when_configured(services, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot import cli

    ran: list[object] = []

    async def fake_run(given) -> None:
        ran.append(given)

    monkeypatch.setattr(dingtalk, "run_dingtalk", fake_run)
    threads = cli.start_messengers(services)
    for thread in threads:
        thread.join(5)
    assert ran == [services]
    services.settings.govbot_dingtalk_client_id = None
    assert cli.start_messengers(services) == []
    assert "不启动钉钉机器人" in capsys.readouterr().err


def card_markdown(card: dict) -> str:
    return "  \n".join(c["text"] for c in card["card"]["contents"] if c["type"] == "markdown")


def card_buttons(card: dict) -> dict[str, str]:
    """label -> action id"""
    return {a["label"]["text"]: a["id"] for c in card["card"]["contents"] if c["type"] == "action"
            for a in c["actions"]}


async def test_cards_carry_the_answer_and_their_buttons_answer_over_stream(card_stream, fake: FakeDingTalk,
                                                                          services) -> None:
    await fake.push(QUESTION)
    card = (await fake.wait_for("cards", 1))[0]
    assert fake.opened[0]["subscriptions"][1] == {"type": "CALLBACK", "topic": "/v1.0/card/instances/callback"}
    assert card["cardTemplateId"] == "StandardCard" and card["robotCode"] == "ding-id"
    assert json.loads(card["singleChatReceiver"]) == {"userId": "staff-1"}
    assert fake.replies == []  # nothing through the session webhook: the card replaces the Markdown
    record = services.engine.records[ITEM]
    lines = numbered(card_markdown(card))
    assert [line.replace("\\", "").split("，")[0] for line in lines] == [
        f"{i}. {m.name}" for i, m in enumerate(record.materials, 1)]
    buttons = card_buttons(card)
    assert "时限" in buttons and messages.HELPFUL in buttons
    # The 时限 button: that section, as a card of its own.
    pressed = await fake.press(card["cardBizId"], buttons["时限"])
    section = (await fake.wait_for("cards", 2))[1]
    expected = services.engine.answer_section(ITEM, "time")
    assert card_markdown(section).startswith(render_markdown(expected.blocks)[0])
    ack = next(a for a in fake.acks if a["headers"]["messageId"] == pressed)
    assert ack["code"] == 200
    # 👍 twice on the first card: thanked once, then told it is already counted; one vote recorded.
    await fake.press(card["cardBizId"], buttons[messages.HELPFUL])
    await fake.wait_for("api", 1)
    await fake.press(card["cardBizId"], buttons[messages.HELPFUL])
    votes = await fake.wait_for("api", 2)
    assert [v["param"]["text"] for v in votes] == [messages.THANKS, messages.ALREADY_VOTED]
    assert votes[0]["path"] == "/v1.0/robot/oToMessages/batchSend" and votes[0]["body"]["userIds"] == ["staff-1"]
    stats = services.feedback.stats()
    assert (stats.helpful, stats.unhelpful) == (1, 0)
    assert fake.tokens == 1  # one access token for all of it


async def test_group_cards_go_to_the_conversation(card_stream, fake: FakeDingTalk) -> None:
    await fake.push(QUESTION, chat="cid-group", group=True, at_bot=True)
    card = (await fake.wait_for("cards", 1))[0]
    assert card["openConversationId"] == "cid-group" and "singleChatReceiver" not in card


async def test_forged_and_unreadable_card_callbacks_are_refused(card_stream, fake: FakeDingTalk) -> None:
    bad = await fake.press("x", "b0", content='{"cardPrivateData": ')
    unknown = await fake.press("no-such-card", "b0")
    await fake.push(QUESTION)
    card = (await fake.wait_for("cards", 1))[0]
    out_of_range = await fake.press(card["cardBizId"], "b99")
    acks = await fake.wait_for("acks", 4)
    by_id = {a["headers"]["messageId"]: a["code"] for a in acks}
    assert by_id[bad] == 400 and by_id[unknown] == 200 and by_id[out_of_range] == 200
    await asyncio.sleep(0.2)
    assert len(fake.cards) == 1 and fake.api == []  # none of them answered


async def test_push_reaches_a_user_and_a_group_and_retries_a_throttle(stream, fake: FakeDingTalk) -> None:
    fake.api_throttle = 1
    assert await stream.push("staff-9", text_reply("您的问题已转给窗口工作人员。"))
    assert fake.api_posts == 2  # a 429 QpsLimit, then delivered
    assert await stream.push("cid-group", text_reply("群通知"), group=True)
    single, group = fake.api
    assert single["path"] == "/v1.0/robot/oToMessages/batchSend" and single["body"]["userIds"] == ["staff-9"]
    assert single["body"]["msgKey"] == "sampleMarkdown" and single["param"]["text"] == "您的问题已转给窗口工作人员。"
    assert group["path"] == "/v1.0/robot/groupMessages/send" and group["body"]["openConversationId"] == "cid-group"


async def test_push_through_the_registry(stream, fake: FakeDingTalk) -> None:
    assert not await channels.push("dingtalk", "staff-9", text_reply("x"))  # not registered: False, logged
    channels.register("dingtalk", stream)
    try:
        assert channels.running() == ["dingtalk"]
        assert await channels.push("dingtalk", "staff-9", text_reply("转人工"))
    finally:
        channels.unregister("dingtalk", stream)
    assert fake.api[0]["param"]["text"] == "转人工" and channels.running() == []


async def test_push_that_cannot_be_delivered_returns_false(stream, fake: FakeDingTalk) -> None:
    stream.api.client_secret = "wrong"  # no access token: retried, then given up
    assert not await stream.push("staff-9", text_reply("x"))
    assert fake.api == []

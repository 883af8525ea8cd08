"""DingTalk Stream mode with the real dingtalk-stream SDK against a fake gateway and session webhook."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from bot import messages
from bot.channels import dingtalk
from bot.channels.base import render_markdown
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
                        govbot_dingtalk_gateway_url=f"{fake.base}/v1.0/gateway/connections/open")
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

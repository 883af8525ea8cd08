"""Feishu event callbacks with the real lark-oapi SDK: encrypted, signed events in, cards out to a fake open API."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from bot import messages
from bot.channels import feishu
from bot.channels.base import render_markdown
from bot.services.container import build_services
from ingest.settings import Settings
from tests.fake_feishu import FakeFeishu, action_event, encrypt, message_event, signed

ITEM = "demo-forklift-registration"
QUESTION = "叉车使用登记需要哪些材料？"
KEY = "encrypt-key-test"
TOKEN = "verification-token-test"


@pytest.fixture
async def fake():
    server = FakeFeishu()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def channel(small_store: Path, tmp_path: Path, fake: FakeFeishu):
    settings = Settings(govbot_home=tmp_path, govbot_feishu_app_id="cli_test", govbot_feishu_app_secret="secret",
                        govbot_feishu_encrypt_key=KEY, govbot_feishu_verification_token=TOKEN,
                        govbot_feishu_admin_ids="ou_admin", govbot_feishu_domain=fake.base)
    return feishu.FeishuChannel(build_services(small_store, settings), retry_delay=0.01)


@pytest.fixture
async def post(channel):
    transport = httpx.ASGITransport(app=feishu.build_app(channel))
    async with httpx.AsyncClient(transport=transport, base_url="http://govbot") as client:
        async def send(event: dict, *, key: str = KEY, sign_key: str | None = None, plain: bool = False
                       ) -> httpx.Response:
            text = json.dumps(event, ensure_ascii=False)
            body = text.encode() if plain else json.dumps({"encrypt": encrypt(text, key)}).encode()
            return await client.post("/feishu/events", content=body, headers=signed(body, sign_key or KEY))
        yield send
    await asyncio.gather(*channel.tasks, return_exceptions=True)


def markdown(message: dict) -> str:
    return "\n".join(e["content"] for e in message["card"]["elements"] if e["tag"] == "markdown")


def buttons(message: dict) -> list[dict]:
    return [a for e in message["card"]["elements"] if e["tag"] == "action" for a in e["actions"]]


async def test_url_verification_answers_the_challenge(post) -> None:
    response = await post({"type": "url_verification", "challenge": "ch-1", "token": TOKEN})
    assert response.status_code == 200 and response.json() == {"challenge": "ch-1"}


async def test_a_question_gets_a_card_with_the_exact_materials(post, fake: FakeFeishu, channel) -> None:
    response = await post(message_event(QUESTION, token=TOKEN))
    assert response.status_code == 200
    message = (await fake.wait_messages(1))[0]
    assert message["receive_id_type"] == "chat_id" and message["body"]["receive_id"] == "oc_single"
    assert message["body"]["msg_type"] == "interactive"
    record = channel.conversation.services.engine.records[ITEM]
    text = markdown(message)
    assert text.startswith(f"**《{record.title}》**")
    lines = [line.replace("\\", "") for line in text.split("  \n") if re.match(r"\d+\\?\. ", line)]
    assert [line.split("，")[0] for line in lines] == [f"{i}. {m.name}" for i, m in enumerate(record.materials, 1)]
    labels = [b["text"]["content"] for b in buttons(message)]
    assert "时限" in labels and messages.HELPFUL in labels


async def test_buttons_answer_a_section_and_take_one_vote(post, fake: FakeFeishu, channel) -> None:
    await post(message_event(QUESTION, token=TOKEN))
    first = (await fake.wait_messages(1))[0]
    by_label = {b["text"]["content"]: b["value"] for b in buttons(first)}
    await post(action_event(by_label["时限"], token=TOKEN))
    section = (await fake.wait_messages(2))[1]
    expected = channel.conversation.services.engine.answer_section(ITEM, "time")
    assert markdown(section).startswith(render_markdown(expected.blocks)[0])
    await post(action_event(by_label[messages.HELPFUL], token=TOKEN))
    await post(action_event(by_label[messages.HELPFUL], token=TOKEN))
    votes = await fake.wait_messages(4)
    assert [markdown(m) for m in votes[2:]] == [messages.THANKS, messages.ALREADY_VOTED]


async def test_bad_signature_wrong_key_and_plain_events_are_rejected(post, fake: FakeFeishu) -> None:
    assert (await post(message_event(QUESTION, token=TOKEN), sign_key="wrong")).status_code == 500
    assert (await post(message_event(QUESTION, token=TOKEN), key="wrong-key")).status_code == 500
    assert (await post(message_event(QUESTION, token="bad-token"))).status_code == 500
    assert (await post(message_event(QUESTION, token="bad-token"), plain=True)).status_code == 500
    await asyncio.sleep(0.2)
    assert fake.messages == []


async def test_hostile_and_group_messages(post, fake: FakeFeishu) -> None:
    await post(message_event("叉车" * 10_000 + "<at>[x](http://evil)</at>", token=TOKEN))
    await post(message_event("", token=TOKEN, message_type="image"))
    await post(message_event(QUESTION, token=TOKEN, chat="oc_group", group=True, mention=False))
    await post(message_event(QUESTION, token=TOKEN, chat="oc_group", group=True))
    sent = await fake.wait_messages(3)
    await asyncio.sleep(0.2)
    assert len(fake.messages) == 3
    assert any(markdown(m) == messages.TEXT_ONLY for m in sent)
    assert any(m["body"]["receive_id"] == "oc_group" and "**《" in markdown(m) for m in sent)


async def test_a_throttled_send_is_retried(post, fake: FakeFeishu) -> None:
    fake.throttle = 2
    await post(message_event(QUESTION, token=TOKEN))
    await fake.wait_messages(1)
    assert fake.posts == 3


def test_serve_starts_feishu_only_when_configured(channel, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot import cli

    ran: list[object] = []

    async def fake_run(given) -> None:
        ran.append(given)

    services = channel.conversation.services
    monkeypatch.setattr(feishu, "run_feishu", fake_run)
    for thread in cli.start_messengers(services):
        thread.join(5)
    assert ran == [services]
    assert "不启动钉钉机器人" in capsys.readouterr().err

"""Feishu with the real lark-oapi SDK against a fake open API: the long connection (protobuf frames over a
WebSocket) and event callbacks (encrypted, signed events); cards out through im/v1/messages."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path

import httpx
import pytest

from bot import messages
from bot.channels import feishu
from bot.channels.base import render_markdown, text_reply
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


@pytest.fixture
def ws_channel(small_store: Path, tmp_path: Path, fake: FakeFeishu):
    # Only the app's id and secret: the long connection is the default.
    settings = Settings(govbot_home=tmp_path, govbot_feishu_app_id="cli_test", govbot_feishu_app_secret="secret",
                        govbot_feishu_domain=fake.base)
    assert feishu.mode(settings) == "ws"
    return feishu.FeishuChannel(build_services(small_store, settings), retry_delay=0.01)


@pytest.fixture
async def connected(ws_channel, fake: FakeFeishu):
    task = asyncio.create_task(ws_channel.long_connection().run())
    await fake.wait_connected()
    yield ws_channel
    task.cancel()
    await asyncio.gather(task, *ws_channel.tasks, return_exceptions=True)


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


def materials(message: dict) -> list[str]:
    lines = [line.replace("\\", "") for line in markdown(message).split("  \n") if re.match(r"\d+\\?\. ", line)]
    return [line.split("，")[0] for line in lines]


async def test_long_connection_answers_a_question_and_a_card_button(connected, fake: FakeFeishu) -> None:
    assert fake.endpoint_requests == [{"AppID": "cli_test", "AppSecret": "secret"}]
    sent = await fake.send_event(message_event(QUESTION, token=""))
    ack = await fake.wait_ack(sent)
    # The SDK acknowledges the frame on the same message id with HTTP 200 and how long the handler took.
    assert ack["payload"]["code"] == 200 and "biz_rt" in ack["headers"] and ack["headers"]["type"] == "event"
    message = (await fake.wait_messages(1))[0]
    assert message["body"]["receive_id"] == "oc_single" and message["body"]["msg_type"] == "interactive"
    record = connected.conversation.services.engine.records[ITEM]
    assert materials(message) == [f"{i}. {m.name}" for i, m in enumerate(record.materials, 1)]
    by_label = {b["text"]["content"]: b["value"] for b in buttons(message)}
    # A card button press arrives as a card.action.trigger event frame; its answer is the frame's response.
    pressed = await fake.send_event(action_event(by_label["时限"], token=""))
    ack = await fake.wait_ack(pressed)
    assert ack["payload"]["code"] == 200 and json.loads(base64.b64decode(ack["payload"]["data"])) == {}
    section = (await fake.wait_messages(2))[1]
    expected = connected.conversation.services.engine.answer_section(ITEM, "time")
    assert markdown(section).startswith(render_markdown(expected.blocks)[0])


async def test_long_connection_joins_split_frames_and_survives_bad_ones(connected, fake: FakeFeishu) -> None:
    await fake.send_raw(b"\xff not a protobuf frame")  # logged by the SDK, nothing else
    bad = await fake.send_event({"schema": "2.0", "header": {"event_type": "im.message.receive_v1"},
                                 "event": "not an object"})
    assert (await fake.wait_ack(bad))["payload"]["code"] == 500  # the SDK's answer to a handler error
    split = await fake.send_event(message_event("叉车" * 3000, token=""), parts=3)
    assert (await fake.wait_ack(split))["payload"]["code"] == 200
    await fake.wait_messages(1)
    await fake.send_event(message_event(QUESTION, token=""))
    assert materials((await fake.wait_messages(2))[1])


async def test_long_connection_reconnects_after_the_server_drops_it(connected, fake: FakeFeishu) -> None:
    await fake.drop()
    await fake.wait_connected()  # a new socket, after a new endpoint discovery
    assert fake.connections == 2 and len(fake.endpoint_requests) == 2
    sent = await fake.send_event(message_event(QUESTION, token=""))
    assert (await fake.wait_ack(sent))["payload"]["code"] == 200
    assert materials((await fake.wait_messages(1))[0])


async def test_push_sends_a_card_to_a_chat_and_retries_a_throttle(ws_channel, fake: FakeFeishu) -> None:
    fake.throttle = 1
    assert await ws_channel.push("oc_group", text_reply("您的问题已转给窗口工作人员。"), group=True)
    assert fake.posts == 2
    message = fake.messages[0]
    assert message["receive_id_type"] == "chat_id" and message["body"]["receive_id"] == "oc_group"
    assert markdown(message) == "您的问题已转给窗口工作人员。"
    fake.throttle = 10  # throttled every time: given up, and said so
    assert not await ws_channel.push("oc_group", text_reply("x"))


def test_mode_follows_the_settings(tmp_path: Path) -> None:
    base = {"govbot_home": tmp_path, "govbot_feishu_app_id": "a", "govbot_feishu_app_secret": "s"}
    assert feishu.mode(Settings(**base)) == "ws"
    assert feishu.mode(Settings(**base, govbot_feishu_encrypt_key="k")) == "callback"
    assert feishu.mode(Settings(**base, govbot_feishu_encrypt_key="k", govbot_feishu_mode="ws")) == "ws"
    assert feishu.mode(Settings(**base, govbot_feishu_mode="callback")) == "callback"

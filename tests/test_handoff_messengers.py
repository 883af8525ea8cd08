"""转人工 on the messengers: the real SDKs against the fake DingTalk gateway and the fake Feishu open API.

A refused user presses 转人工 (DingTalk: the link sends its label back; Feishu: a card button), a ticket is
opened; a staff member in the staff chat answers with ``回复 <编号> <内容>``; others may not. The delivery
loop (bot/channels/handoff.py) then forwards and delivers through the adapters' ``push``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from bot import channels, messages
from bot.channels import dingtalk, feishu
from bot.channels.base import HANDOFF_INTENT, Reply
from bot.channels.handoff import delivery_round
from bot.services.container import build_services
from ingest.settings import Settings
from tests.fake_dingtalk import FakeDingTalk
from tests.fake_feishu import FakeFeishu, action_event, encrypt, message_event, signed

REFUSED = "游艇码头经营许可怎么办理"
STAFF_CHAT = "cid-staff"
ID_NUMBER = "510302199001011239"  # a well-formed 身份证号 (check digit right), made up


@pytest.fixture
async def fake():
    server = FakeDingTalk()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def services(small_store: Path, tmp_path: Path, fake: FakeDingTalk):
    settings = Settings(govbot_home=tmp_path, govbot_dingtalk_client_id="ding-id",
                        govbot_dingtalk_client_secret="ding-secret", govbot_dingtalk_staff_chat=STAFF_CHAT,
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


class Pushed:
    """What the delivery loop hands the adapters' push (bot.channels.push, from the messengers2 branch)."""

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.sent: list[tuple[str, str, str, bool]] = []

    async def __call__(self, platform: str, chat_id: str, reply: Reply, group: bool) -> bool:
        if self.ok:
            self.sent.append((platform, chat_id, reply.text, group))
        return self.ok


async def test_dingtalk_user_hands_off_and_staff_answer_in_the_staff_chat(stream, fake: FakeDingTalk,
                                                                          services) -> None:
    refused = (await fake.ask(REFUSED))["markdown"]["text"]
    assert "知识库里没有找到" in refused and "办理窗口：" in refused.replace("\\", "")
    assert f"[{messages.HANDOFF_BUTTON}](dtmd://dingtalkclient/sendMessage?content=" in refused
    opened = (await fake.ask(messages.HANDOFF_BUTTON))["markdown"]["text"]  # what pressing the link sends
    (ticket,) = services.handoffs.list_open()
    assert opened == messages.HANDOFF_OPENED.format(id=ticket.id)
    assert (ticket.channel, ticket.user_id, ticket.question) == ("dingtalk", "staff-1", REFUSED)
    assert ticket.record_id in services.engine.records  # the nearest item of the refusal

    # Nobody outside the staff chat may answer; a member of the staff chat may.
    impostor = (await fake.ask(f"回复 {ticket.id} 我来答", user="someone"))["markdown"]["text"]
    assert impostor == messages.HANDOFF_NOT_STAFF
    saved = await fake.ask(f"回复 {ticket.id} 请咨询交通运输部门。", user="clerk", chat=STAFF_CHAT, group=True)
    assert saved["markdown"]["text"] == messages.HANDOFF_REPLY_SAVED.format(id=ticket.id)
    assert saved["_chat"] == STAFF_CHAT
    answered = services.handoffs.get(ticket.id)
    assert answered.status == "replied" and answered.replied_by == "dingtalk:clerk"

    # The loop: the staff chat was sent the ticket, the user the reply; a second round sends nothing again.
    push = Pushed()
    await delivery_round(services, ["dingtalk"], push)
    await delivery_round(services, ["dingtalk"], push)
    reply = messages.HANDOFF_REPLY.format(id=ticket.id, reply="请咨询交通运输部门。")
    assert push.sent == [("dingtalk", "staff-1", reply, False)]  # not forwarded: answered before the loop ran
    assert services.handoffs.get(ticket.id).delivered_at is not None


async def test_new_tickets_are_forwarded_once_and_retried_when_push_fails(stream, fake: FakeDingTalk,
                                                                          services) -> None:
    await fake.ask(f"转人工 我的身份证{ID_NUMBER}丢了，营业执照怎么补办", chat="cid-group", group=True, user="u-9")
    (ticket,) = services.handoffs.list_open()
    assert ID_NUMBER not in ticket.question and ticket.in_group  # masked; a group ticket
    down = Pushed(ok=False)
    await delivery_round(services, ["dingtalk"], down)
    assert services.handoffs.get(ticket.id).staff_ref == ""  # not forwarded: tried again next round
    push = Pushed()
    await delivery_round(services, ["dingtalk"], push)
    await delivery_round(services, ["dingtalk"], push)
    ((platform, chat, text, group),) = push.sent
    assert (platform, chat, group) == ("dingtalk", STAFF_CHAT, True)
    assert f"转人工 {ticket.id}" in text and f"回复 {ticket.id}" in text and ID_NUMBER not in text

    services.handoffs.reply(ticket.id, "web:admin", "请带身份证原件到市场监管窗口。")
    await delivery_round(services, ["dingtalk"], down)
    assert services.handoffs.get(ticket.id).delivered_at is None  # push failed: still undelivered
    await delivery_round(services, ["dingtalk"], push)
    assert push.sent[-1][:2] == ("dingtalk", "cid-group") and push.sent[-1][3] is True  # back to the group


KEY = "encrypt-key-test"
TOKEN = "verification-token-test"


async def test_feishu_card_button_opens_a_ticket(small_store: Path, tmp_path: Path) -> None:
    server = FakeFeishu()
    await server.start()
    try:
        settings = Settings(govbot_home=tmp_path, govbot_feishu_app_id="cli_test", govbot_feishu_app_secret="secret",
                            govbot_feishu_encrypt_key=KEY, govbot_feishu_verification_token=TOKEN,
                            govbot_feishu_domain=server.base, govbot_feishu_staff_chat="oc_staff")
        channel = feishu.FeishuChannel(build_services(small_store, settings), retry_delay=0.01)
        transport = httpx.ASGITransport(app=feishu.build_app(channel))
        async with httpx.AsyncClient(transport=transport, base_url="http://govbot") as client:
            async def send(event: dict) -> None:
                body = json.dumps({"encrypt": encrypt(json.dumps(event, ensure_ascii=False), KEY)}).encode()
                assert (await client.post("/feishu/events", content=body, headers=signed(body, KEY))).status_code == 200

            await send(message_event(REFUSED, token=TOKEN))
            card = (await server.wait_messages(1))[-1]["card"]
            (button,) = [a for e in card["elements"] if e["tag"] == "action" for a in e["actions"]
                         if a["text"]["content"] == messages.HANDOFF_BUTTON]
            assert button["value"]["i"] == HANDOFF_INTENT
            await send(action_event(button["value"], token=TOKEN))
            opened = (await server.wait_messages(2))[-1]
            (ticket,) = channel.conversation.services.handoffs.list_open()
            assert messages.HANDOFF_OPENED.format(id=ticket.id) in json.dumps(opened, ensure_ascii=False)
            assert ticket.channel == "feishu" and ticket.question == REFUSED
            await asyncio.gather(*channel.tasks, return_exceptions=True)
    finally:
        await server.stop()


@pytest.mark.skipif(not hasattr(channels, "push"), reason="needs the adapters' push (bot.channels.push, messengers2)")
async def test_the_loop_forwards_and_delivers_through_the_real_dingtalk_push(small_store: Path, tmp_path: Path,
                                                                            fake: FakeDingTalk) -> None:
    settings = Settings(govbot_home=tmp_path, govbot_dingtalk_client_id="ding-id",
                        govbot_dingtalk_client_secret="ding-secret", govbot_dingtalk_staff_chat=STAFF_CHAT,
                        govbot_dingtalk_api_base=fake.base,
                        govbot_dingtalk_gateway_url=f"{fake.base}/v1.0/gateway/connections/open")
    services = build_services(small_store, settings)
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        client, handler = dingtalk.build_client(services, http, retry_delay=0.01)
        task = asyncio.create_task(client.start())
        await fake.wait_connected()
        channels.register("dingtalk", handler)  # as run_dingtalk does
        try:
            await fake.ask(REFUSED)
            await fake.ask(messages.HANDOFF_BUTTON)
            (ticket,) = services.handoffs.list_open()
            await delivery_round(services, ["dingtalk"])
            (forwarded,) = fake.api
            assert forwarded["body"]["openConversationId"] == STAFF_CHAT and REFUSED in forwarded["param"]["text"]
            await fake.ask(f"回复 {ticket.id} 请咨询交通运输部门。", user="clerk", chat=STAFF_CHAT, group=True)
            await delivery_round(services, ["dingtalk"])
            delivered = fake.api[-1]
            assert delivered["body"]["userIds"] == ["staff-1"] and "请咨询交通运输部门。" in delivered["param"]["text"]
        finally:
            channels.unregister("dingtalk", handler)
            task.cancel()
            await asyncio.gather(task, *handler.tasks, return_exceptions=True)

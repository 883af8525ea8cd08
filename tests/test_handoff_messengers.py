"""转人工 on the messengers: the real SDKs against the fake DingTalk gateway and the fake Feishu open API.

A refused user presses 转人工 (DingTalk: the link sends its label back; Feishu: a card button), a ticket is
opened; a staff member in the staff chat answers with ``回复 <编号> <内容>``; others may not. The delivery
loop (bot/channels/handoff.py) forwards tickets and delivers replies through the adapters' real ``push``
(registered as run_dingtalk and run_feishu register them), once each, and again after a failed send.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from bot import channels, messages
from bot.channels import feishu
from bot.channels.base import HANDOFF_INTENT
from bot.channels.handoff import delivery_round
from bot.services.container import build_services
from ingest.settings import Settings
from tests import dingtalk_staff
from tests.dingtalk_staff import STAFF_CHAT
from tests.fake_dingtalk import FakeDingTalk
from tests.fake_feishu import FakeFeishu, action_event, encrypt, message_event, signed

REFUSED = "游艇码头经营许可怎么办理"
ID_NUMBER = "510302199001011239"  # a well-formed 身份证号 (check digit right), made up

# The DingTalk gateway, services and adapter with a staff chat (tests/dingtalk_staff.py).
fake, services, stream = dingtalk_staff.fake, dingtalk_staff.services, dingtalk_staff.stream


def pushed(fake: FakeDingTalk) -> list[tuple[str, str]]:
    """The proactive sends the fake OpenAPI accepted: (user or group, text)."""
    return [((a["body"].get("userIds") or [a["body"].get("openConversationId")])[0], a["param"]["text"])
            for a in fake.api]


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

    # The loop forwards the new ticket to the staff chat, once.
    await delivery_round(services, ["dingtalk"])
    await delivery_round(services, ["dingtalk"])
    ((chat, text),) = pushed(fake)
    assert chat == STAFF_CHAT and f"转人工 {ticket.id}" in text and REFUSED in text and f"回复 {ticket.id}" in text

    # Nobody outside the staff chat may answer; a member of the staff chat may.
    impostor = (await fake.ask(f"回复 {ticket.id} 我来答", user="someone"))["markdown"]["text"]
    assert impostor == messages.HANDOFF_NOT_STAFF
    saved = await fake.ask(f"回复 {ticket.id} 请咨询交通运输部门。", user="clerk", chat=STAFF_CHAT, group=True)
    assert saved["markdown"]["text"] == messages.HANDOFF_REPLY_SAVED.format(id=ticket.id)
    assert saved["_chat"] == STAFF_CHAT
    answered = services.handoffs.get(ticket.id)
    assert answered.status == "replied" and answered.replied_by == "dingtalk:clerk"

    # The reply reaches the user's single chat (DingTalk addresses it by the user), once.
    await delivery_round(services, ["dingtalk"])
    await delivery_round(services, ["dingtalk"])
    reply = messages.HANDOFF_REPLY.format(id=ticket.id, reply="请咨询交通运输部门。")
    assert pushed(fake)[1:] == [("staff-1", reply.replace("\n", "  \n"))]
    assert services.handoffs.get(ticket.id).delivered_at is not None


async def test_a_failed_push_is_tried_again_and_a_group_ticket_answers_in_the_group(stream, fake: FakeDingTalk,
                                                                                     services) -> None:
    await fake.ask(f"转人工 我的身份证{ID_NUMBER}丢了，营业执照怎么补办", chat="cid-group", group=True, user="u-9")
    (ticket,) = services.handoffs.list_open()
    assert ID_NUMBER not in ticket.question and ticket.in_group  # masked; a group ticket
    fake.api_throttle = 4  # every attempt of one send throttled: push gives up, the loop tries next round
    await delivery_round(services, ["dingtalk"])
    assert services.handoffs.get(ticket.id).staff_ref == "" and pushed(fake) == []
    await delivery_round(services, ["dingtalk"])
    ((chat, text),) = pushed(fake)
    assert chat == STAFF_CHAT and ID_NUMBER not in text  # forwarded masked

    services.handoffs.reply(ticket.id, "web:admin", "请带身份证原件到市场监管窗口。")
    fake.api_throttle = 4
    await delivery_round(services, ["dingtalk"])
    assert services.handoffs.get(ticket.id).delivered_at is None  # push failed: still undelivered
    await delivery_round(services, ["dingtalk"])
    assert pushed(fake)[-1][0] == "cid-group" and "请带身份证原件到市场监管窗口。" in pushed(fake)[-1][1]
    assert fake.api[-1]["path"] == "/v1.0/robot/groupMessages/send"


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

            # The loop through the real Feishu push: the staff chat gets the ticket, the user's chat the reply.
            services = channel.conversation.services
            channels.register("feishu", channel)  # as run_feishu does
            try:
                await delivery_round(services, ["feishu"])
                forwarded = (await server.wait_messages(3))[-1]
                assert forwarded["body"]["receive_id"] == "oc_staff" and REFUSED in json.dumps(forwarded, ensure_ascii=False)
                services.handoffs.reply(ticket.id, "web:admin", "请咨询交通运输部门。")
                await delivery_round(services, ["feishu"])
                delivered = (await server.wait_messages(4))[-1]
                assert delivered["body"]["receive_id"] == "oc_single"  # the chat it came from
                assert "请咨询交通运输部门。" in json.dumps(delivered, ensure_ascii=False)
            finally:
                channels.unregister("feishu", channel)
    finally:
        await server.stop()


async def test_wecom_card_button_staff_users_answer(small_store: Path, tmp_path: Path) -> None:
    from wechatpy.enterprise.crypto import WeChatCrypto

    from bot.channels import wecom
    from tests.fake_wecom import AES_KEY, CORP, FakeWeCom, callback
    from tests.fake_wecom import TOKEN as WECOM_TOKEN

    crypto = WeChatCrypto(WECOM_TOKEN, AES_KEY, CORP)
    server = FakeWeCom()
    await server.start()
    settings = Settings(govbot_home=tmp_path, govbot_wecom_corp_id=CORP, govbot_wecom_agent_id=1000002,
                        govbot_wecom_secret="app-secret", govbot_wecom_token=WECOM_TOKEN, govbot_wecom_aes_key=AES_KEY,
                        govbot_wecom_api_base=server.base, govbot_wecom_staff_users="clerk-1, clerk-2")
    try:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
            channel = wecom.WeComChannel(build_services(small_store, settings), http, retry_delay=0.01)
            services = channel.conversation.services
            transport = httpx.ASGITransport(app=wecom.build_app(channel))
            async with httpx.AsyncClient(transport=transport, base_url="http://govbot") as client:
                async def say(fields: dict) -> None:
                    body, query = callback(crypto, fields)
                    assert (await client.post("/wecom/callback", params=query, content=body)).status_code == 200

                await say({"FromUserName": "zhangsan", "MsgType": "text", "Content": REFUSED, "MsgId": "1"})
                card = (await server.wait_sent(2))[-1]
                keys = {b["text"]: b["key"] for b in card["template_card"]["button_list"]}
                assert messages.HANDOFF_BUTTON in keys  # kept among the card's six buttons
                await say({"FromUserName": "zhangsan", "MsgType": "event", "Event": "template_card_event",
                           "EventKey": keys[messages.HANDOFF_BUTTON], "TaskId": "t-1",
                           "CardType": "button_interaction"})
                await server.wait_sent(3)
                (ticket,) = services.handoffs.list_open()
                assert (ticket.channel, ticket.user_id, ticket.question) == ("wecom", "zhangsan", REFUSED)

                channels.register("wecom", channel)  # as run_wecom does
                try:
                    await delivery_round(services, ["wecom"])  # to every staff user
                    forwarded = (await server.wait_sent(5))[3:5]
                    assert [f["touser"] for f in forwarded] == ["clerk-1", "clerk-2"]
                    assert all(REFUSED in f["markdown"]["content"] for f in forwarded)
                    await say({"FromUserName": "clerk-2", "MsgType": "text", "MsgId": "2",
                               "Content": f"回复 {ticket.id} 请咨询交通运输部门。"})
                    sent = await server.wait_sent(6)
                    assert any(s.get("markdown", {}).get("content") == messages.HANDOFF_REPLY_SAVED.format(id=ticket.id)
                               for s in sent)
                    await delivery_round(services, ["wecom"])
                    delivered = [s for s in (await server.wait_sent(7)) if s["touser"] == "zhangsan"][-1]
                    assert "请咨询交通运输部门。" in delivered["markdown"]["content"]
                finally:
                    channels.unregister("wecom", channel)
                await asyncio.gather(*channel.tasks, return_exceptions=True)
    finally:
        await server.stop()

"""WeCom 自建应用 callbacks with wechatpy's crypto: URL verification, encrypted XML in, API sends out."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot import messages
from bot.channels import wecom
from bot.channels.base import Button, Reply, render_markdown, text_reply
from bot.services.container import build_services
from ingest.settings import Settings
from tests.fake_wecom import AES_KEY, CORP, TOKEN, FakeWeCom, callback

ITEM = "demo-forklift-registration"
QUESTION = "叉车使用登记需要哪些材料？"
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, CORP)


@pytest.fixture
async def fake():
    server = FakeWeCom()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def channel(small_store: Path, tmp_path: Path, fake: FakeWeCom):
    settings = Settings(govbot_home=tmp_path, govbot_wecom_corp_id=CORP, govbot_wecom_agent_id=1000002,
                        govbot_wecom_secret="app-secret", govbot_wecom_token=TOKEN, govbot_wecom_aes_key=AES_KEY,
                        govbot_wecom_admin_ids="admin-user", govbot_wecom_api_base=fake.base)
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        channel = wecom.WeComChannel(build_services(small_store, settings), http, retry_delay=0.01)
        yield channel
        await asyncio.gather(*channel.tasks, return_exceptions=True)


@pytest.fixture
async def client(channel):
    transport = httpx.ASGITransport(app=wecom.build_app(channel))
    async with httpx.AsyncClient(transport=transport, base_url="http://govbot") as http:
        yield http


async def say(client: httpx.AsyncClient, fields: dict) -> httpx.Response:
    body, query = callback(CRYPTO, fields)
    return await client.post("/wecom/callback", params=query, content=body)


def text(user: str, content: str) -> dict:
    return {"FromUserName": user, "MsgType": "text", "Content": content, "MsgId": "1"}


def press(user: str, key: str) -> dict:
    return {"FromUserName": user, "MsgType": "event", "Event": "template_card_event", "EventKey": key,
            "TaskId": "t-1", "CardType": "button_interaction"}


async def test_url_verification(client) -> None:
    # WeCom sends an encrypted echostr signed over (token, timestamp, nonce, echostr); we return it decrypted.
    echostr = PrpCrypto(CRYPTO.key).encrypt("echo-12345", CORP).decode()
    query = {"timestamp": "1700000000", "nonce": "n-1", "echostr": echostr}
    ok = await client.get("/wecom/callback",
                          params={**query, "msg_signature": _get_signature(TOKEN, "1700000000", "n-1", echostr)})
    assert ok.status_code == 200 and ok.text == "echo-12345"
    bad = await client.get("/wecom/callback", params={**query, "msg_signature": "0" * 40})
    assert bad.status_code == 403


async def test_a_question_gets_the_exact_materials_then_a_button_card(client, fake: FakeWeCom, channel) -> None:
    response = await say(client, text("zhangsan", QUESTION))
    assert response.status_code == 200 and response.text == ""
    sent = await fake.wait_sent(2)
    answer, card = sent
    assert answer["touser"] == "zhangsan" and answer["agentid"] == 1000002 and answer["msgtype"] == "markdown"
    record = channel.conversation.services.engine.records[ITEM]
    lines = [line.replace("\\", "") for line in answer["markdown"]["content"].split("  \n")
             if re.match(r"\d+\\?\. ", line)]
    assert [line.split("，")[0] for line in lines] == [f"{i}. {m.name}" for i, m in enumerate(record.materials, 1)]
    assert card["msgtype"] == "template_card"
    buttons = card["template_card"]["button_list"]
    assert len(buttons) <= 6 and [b["text"] for b in buttons][-2:] == [messages.HELPFUL, messages.UNHELPFUL]
    # A section button goes straight to that section; a vote is taken once.
    by_label = {b["text"]: b["key"] for b in buttons}
    await say(client, press("zhangsan", by_label["时限"]))
    section = (await fake.wait_sent(4))[2]
    expected = channel.conversation.services.engine.answer_section(ITEM, "time")
    assert section["markdown"]["content"] == render_markdown(expected.blocks)[0]
    n = len(fake.sent)
    await say(client, press("zhangsan", json.dumps({"v": 1})))
    await say(client, press("zhangsan", json.dumps({"v": -1})))
    votes = (await fake.wait_sent(n + 2))[n:]
    assert [v["markdown"]["content"] for v in votes] == [messages.THANKS, messages.ALREADY_VOTED]


async def test_bad_signature_and_bad_encryption_are_refused(client, fake: FakeWeCom) -> None:
    body, query = callback(CRYPTO, text("zhangsan", QUESTION))
    assert (await client.post("/wecom/callback", params={**query, "msg_signature": "0" * 40},
                              content=body)).status_code == 403
    other = WeChatCrypto(TOKEN, "B" * 43, CORP)  # signed right, encrypted with another key
    body, query = callback(other, text("zhangsan", QUESTION))
    assert (await client.post("/wecom/callback", params=query, content=body)).status_code == 403
    assert (await client.post("/wecom/callback", params=query, content=b"<xml><oops")).status_code == 403
    await asyncio.sleep(0.1)
    assert fake.sent == []


async def test_hostile_and_non_text_messages(client, fake: FakeWeCom) -> None:
    assert (await say(client, text("lisi", "<a href='x'>叉车</a>" * 2000))).status_code == 200
    await say(client, {"FromUserName": "lisi", "MsgType": "image", "PicUrl": "http://x", "MediaId": "m"})
    sent = await fake.wait_sent(3)
    assert any(s.get("markdown", {}).get("content") == messages.TEXT_ONLY for s in sent)
    assert all("<a" not in s.get("markdown", {}).get("content", "") for s in sent)


async def test_throttling_and_an_expired_token_are_retried(client, fake: FakeWeCom) -> None:
    fake.throttle = 2
    await say(client, text("wangwu", QUESTION))
    await fake.wait_sent(2)
    assert fake.posts == 4  # two 45009 answers, then the answer and the card
    fake.expire = 1
    await say(client, text("wangwu", QUESTION))
    await fake.wait_sent(4)
    assert fake.tokens == 2  # a new token after 42001


async def test_admin_commands_follow_the_allow_list(client, fake: FakeWeCom) -> None:
    await say(client, text("zhangsan", "/stats"))
    await say(client, text("admin-user", "/stats"))
    sent = await fake.wait_sent(2)
    contents = sorted(s["markdown"]["content"] for s in sent)
    assert messages.NOT_ADMIN in contents and any(c.startswith("使用统计") for c in contents)


def test_serve_starts_every_configured_messenger(channel, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot import cli

    ran: list[object] = []

    async def fake_run(given) -> None:
        ran.append(given)

    services = channel.conversation.services
    monkeypatch.setattr(wecom, "run_wecom", fake_run)
    for thread in cli.start_messengers(services):
        thread.join(5)
    assert ran == [services]
    err = capsys.readouterr().err
    assert "不启动钉钉机器人" in err and "不启动飞书机器人" in err


async def test_push_reaches_a_member_and_retries_a_throttle(channel, fake: FakeWeCom) -> None:
    fake.throttle = 1
    reply = Reply(["您的问题已转给窗口工作人员。"], "您的问题已转给窗口工作人员。",
                  [Button(messages.HELPFUL, vote=1), Button(messages.UNHELPFUL, vote=-1)])
    assert await channel.push("zhangsan", reply)
    assert fake.posts == 3  # a 45009, then the text and the card
    text, card = fake.sent
    assert text["touser"] == "zhangsan" and text["markdown"]["content"] == "您的问题已转给窗口工作人员。"
    assert [b["text"] for b in card["template_card"]["button_list"]] == [messages.HELPFUL, messages.UNHELPFUL]


async def test_push_that_cannot_be_delivered_returns_false(channel, fake: FakeWeCom) -> None:
    assert not await channel.push("some-group", text_reply("x"), group=True)  # members only
    fake.throttle = 10
    assert not await channel.push("zhangsan", text_reply("x"))  # throttled on every attempt: given up
    assert fake.sent == []

"""A ticket opened on the web page reaches the DingTalk staff chat when no Telegram bot takes them
(bot.services.handoff.web_forwarder), and a staff reply there shows on the visitor's ticket page.

The real DingTalk stream SDK against tests/fake_dingtalk.py; the web app over HTTP (httpx's ASGI transport);
the delivery loop of bot/channels/handoff.py with the adapter's real push.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from bot import messages
from bot.channels.handoff import delivery_round
from bot.services.handoff import web_forwarder
from tests import dingtalk_staff
from tests.dingtalk_staff import STAFF_CHAT
from tests.fake_dingtalk import FakeDingTalk

WEB_Q = "游艇码头经营许可怎么办理？"
REPLY = "请咨询交通运输部门。"

# The DingTalk gateway, services and adapter with a staff chat (tests/dingtalk_staff.py).
fake, services, stream = dingtalk_staff.fake, dingtalk_staff.services, dingtalk_staff.stream


async def test_a_web_ticket_reaches_the_dingtalk_staff_chat_and_the_reply_the_ticket_page(
        stream, fake: FakeDingTalk, services, small_store: Path) -> None:
    from bot.web.app import create_app

    assert web_forwarder(services.settings) == "dingtalk"
    web = create_app(services.engine, services.settings, small_store, services.feedback,
                     handoffs=services.handoffs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://127.0.0.1") as visitor:
        opened = await visitor.post("/handoff", data={"q": WEB_Q})
        assert opened.status_code == 303
        ticket_page = opened.headers["location"]
        (ticket,) = services.handoffs.list_open()

        await delivery_round(services, ["dingtalk"])
        await delivery_round(services, ["dingtalk"])  # forwarded once
        (sent,) = fake.api
        assert sent["body"].get("openConversationId") == STAFF_CHAT
        text = sent["param"]["text"]
        assert f"转人工 {ticket.id}" in text and "来自网页" in text and WEB_Q in text

        saved = await fake.ask(f"回复 {ticket.id} {REPLY}", user="clerk", chat=STAFF_CHAT, group=True)
        assert saved["markdown"]["text"] == messages.HANDOFF_REPLY_SAVED.format(id=ticket.id)
        await delivery_round(services, ["dingtalk"])
        assert len(fake.api) == 1  # a web ticket's reply is not pushed into any chat: the page shows it
        page = (await visitor.get(ticket_page)).text
        assert REPLY in page and messages.HANDOFF_PAGE_REPLIED in page

"""转人工 for DingTalk, Feishu and WeCom: forward new tickets to the staff chat, deliver staff replies.

The conversation (bot.channels.base) only writes to the database: a ticket when a user asks for a person,
a reply when staff answer with ``回复 <编号> <内容>``. This loop does the sending, with each adapter's
``push(chat_id, reply, group=...)`` through the registry in bot.channels: every few seconds it forwards the
open tickets nobody forwarded yet to the platform's staff chat (GOVBOT_DINGTALK_STAFF_CHAT,
GOVBOT_FEISHU_STAFF_CHAT, GOVBOT_WECOM_STAFF_USERS) and delivers the undelivered replies (from the staff
chat, the web admin page or Telegram) to the chat they came from. Both are claimed in the database before
they are sent, so a restart loses nothing and two replicas never send one twice.

Addressing, as the adapters' push expects: a group by its chat id (group=True); a single chat by its chat id
too, except on DingTalk, whose OpenAPI addresses a single chat by the user's staffId (on WeCom the chat is
the user).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.channels.base import Reply, text_reply
from bot.services.handoff import staff_of, web_forwarder

if TYPE_CHECKING:
    from bot.services.container import Services
    from bot.services.handoff import HandoffStore, Ticket

log = logging.getLogger(__name__)

# (platform, chat id, reply, group) -> delivered
Push = Callable[[str, str, Reply, bool], Awaitable[bool]]
SINGLE_CHAT_BY_USER = {"dingtalk"}  # platforms whose push reaches a single chat by the user's id


def reply_target(ticket: Ticket) -> str:
    """Where the reply to ``ticket`` goes back: the chat it came from, in the platform push's terms."""
    if not ticket.in_group and ticket.channel in SINGLE_CHAT_BY_USER:
        return ticket.user_id
    return ticket.chat_id


async def registry_push(platform: str, chat_id: str, reply: Reply, group: bool) -> bool:
    """Send through the platform's running adapter (bot.channels.push)."""
    from bot import channels

    return await channels.push(platform, chat_id, reply, group=group)


def staff_targets(settings: Any, platform: str) -> list[tuple[str, bool]]:
    """Where a platform's new tickets go: (chat id, group) pairs; none when no staff chat is configured."""
    chats, users = staff_of(settings, platform)
    return [(c, True) for c in sorted(chats)] + [(u, False) for u in sorted(users)]


def staff_message(ticket: Ticket, records: dict[str, Any]) -> Reply:
    record = records.get(ticket.record_id)
    return text_reply(messages.HANDOFF_STAFF_NEW_TEXT.format(
        id=ticket.id, channel=messages.HANDOFF_CHANNELS.get(ticket.channel, ticket.channel), question=ticket.question,
        record=record.title if record else messages.HANDOFF_NO_RECORD))


async def forward_new(services: Services, platform: str, push: Push) -> int:
    """Send the platform's unforwarded tickets to its staff, and the web page's when this platform is the one
    that takes them (bot.services.handoff.web_forwarder); returns how many went out."""
    targets = staff_targets(services.settings, platform)
    if not targets:
        return 0  # no staff chat: the tickets wait on the web admin page
    store: HandoffStore = services.handoffs
    channels = [platform] + (["web"] if web_forwarder(services.settings) == platform else [])
    sent = 0
    for ticket in [t for channel in channels for t in await asyncio.to_thread(store.unforwarded, channel)]:
        claim = f"{platform}:sending:{uuid.uuid4().hex[:8]}"
        if not await asyncio.to_thread(store.claim_forward, ticket.id, claim):
            continue  # another replica has it
        reply = staff_message(ticket, services.engine.records)
        results = [await push(platform, chat, reply, group) for chat, group in targets]
        if any(results):  # one staff member reached is enough; again would repeat it to the others
            await asyncio.to_thread(store.set_staff_ref, ticket.id, f"{platform}:forwarded")
            sent += 1
        else:
            log.warning("%s: handoff %s not forwarded to staff yet", platform, ticket.id)
            await asyncio.to_thread(store.release_forward, ticket.id, claim)
    return sent


async def deliver_replies(store: HandoffStore, platform: str, push: Push) -> int:
    """Send the platform's undelivered staff replies to the chats they came from; returns how many."""
    sent = 0
    for ticket in await asyncio.to_thread(store.undelivered, platform):
        if not await asyncio.to_thread(store.claim_delivery, ticket):
            continue
        reply = text_reply(messages.HANDOFF_REPLY.format(id=ticket.id, reply=ticket.reply))
        if await push(platform, reply_target(ticket), reply, ticket.in_group):
            sent += 1
            log.info("%s: handoff %s reply delivered", platform, ticket.id)
        else:  # logged by push; the next round tries again
            await asyncio.to_thread(store.release_delivery, ticket)
    return sent


async def delivery_round(services: Services, platforms: list[str], push: Push = registry_push) -> None:
    for platform in platforms:
        try:
            await forward_new(services, platform, push)
            await deliver_replies(services.handoffs, platform, push)
        except Exception:  # a database outage: the next round tries again
            log.exception("%s: handoff round failed", platform)


async def run_delivery(services: Services, platforms: list[str], push: Push = registry_push) -> None:
    """Forever: one round every GOVBOT_HANDOFF_POLL_S seconds (`govbot serve` runs it in a thread)."""
    log.info("handoff delivery for %s every %.0f s", ", ".join(platforms), services.settings.govbot_handoff_poll_s)
    while True:
        await delivery_round(services, platforms, push)
        await asyncio.sleep(services.settings.govbot_handoff_poll_s)

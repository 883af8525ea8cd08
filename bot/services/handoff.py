"""Handoff to a person (转人工): tickets in the database, staff replies, and their delivery.

A ticket is opened from a chat (who asked, where the answer goes back, the question masked, the nearest
item); staff reply from the staff chat or the web admin page; the reply is written here first, and each
channel delivers the undelivered replies of its own channel and marks them delivered. Everything lives in
GOVBOT_DATABASE_URL, so an open ticket survives a restart and any replica may deliver it.

Delivery is claimed before it is sent (`claim_delivery` sets delivered_at only where it is still empty), so
two replicas polling at once never send a reply twice; a send that fails gives the claim back
(`release_delivery`) and the next round tries again.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine as SqlEngine

from bot.answer import AnswerResult, BlockKind
from bot.database import create_tables, open_database
from bot.messages import HANDOFF_WORDS
from bot.privacy import mask_pii
from bot.services.asking import Asker

metadata = MetaData()

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token", String(64), nullable=False, unique=True),  # the web ticket page's address: not guessable
    Column("at", DateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("chat_id", String(128), nullable=False, default=""),
    Column("user_id", String(128), nullable=False, default=""),
    Column("in_group", Boolean, nullable=False, default=False),  # messengers address a group and a user apart
    Column("question", Text, nullable=False),
    Column("record_id", String(128), nullable=False, default=""),
    Column("status", String(16), nullable=False, default="open"),  # open | replied | closed
    Column("reply", Text, nullable=False, default=""),
    Column("replied_by", String(128), nullable=False, default=""),
    Column("replied_at", DateTime, nullable=True),
    Column("delivered_at", DateTime, nullable=True),
    Column("staff_ref", String(128), nullable=False, default=""),  # the staff-chat message it was forwarded as
)

MAX_TEXT = 2000
STATUSES = ("open", "replied", "closed")
_WORDS = "|".join(re.escape(w) for w in HANDOFF_WORDS)
# "转人工" alone (the last question goes to staff) or "转人工 <question>"; "人工智能补贴" is a question.
TYPED = re.compile(rf"^\s*(?:{_WORDS})\s*$|^\s*转人工[\s:：，,]+(?P<question>\S.*)$", re.DOTALL)
# A staff member's answer typed in a chat: "回复 12 内容" or "/reply 12 内容".
STAFF_REPLY = re.compile(r"^\s*(?:回复|/reply(?:@\w+)?)\s*(\d+)\s+(\S.*)$", re.DOTALL)


def offers_handoff(result: AnswerResult) -> bool:
    """Refusals and "not stated" answers offer 转人工, in every channel."""
    return any(b.kind in (BlockKind.REFUSAL, BlockKind.NOT_STATED) for b in result.blocks)


def _ids(raw: str | None) -> frozenset[str]:
    return frozenset(part for part in re.split(r"[,，\s]+", raw or "") if part)


def staff_of(settings: Any, channel: str) -> tuple[frozenset[str], frozenset[str]]:
    """(staff chats, staff users) of a messenger: where its new tickets go and who there may answer them."""
    if channel == "dingtalk":
        return _ids(settings.govbot_dingtalk_staff_chat), frozenset()
    if channel == "feishu":
        return _ids(settings.govbot_feishu_staff_chat), frozenset()
    if channel == "wecom":
        return frozenset(), _ids(settings.govbot_wecom_staff_users)
    return frozenset(), frozenset()


MESSENGERS = ("dingtalk", "feishu", "wecom")  # the order in which one of them takes the web page's tickets


def web_forwarder(settings: Any) -> str:
    """The one channel whose staff chat also gets the web page's tickets, so staff who live in a messenger see them.

    Telegram when the bot runs with a staff chat (GOVBOT_TELEGRAM_STAFF_CHAT_ID); else the first of DingTalk,
    Feishu and WeCom with staff configured; "" when none is (the web admin page only). One channel, so a web
    ticket reaches staff once, not in every messenger at the same time.
    """
    if settings.telegram_bot_token and settings.govbot_telegram_staff_chat_id is not None:
        return "telegram"
    return next((m for m in MESSENGERS if any(staff_of(settings, m))), "")


def typed_handoff(text: str) -> str | None:
    """None when ``text`` is not a request for a person; else the question it carries ("" for 转人工 alone)."""
    match = TYPED.match(text or "")
    if match is None:
        return None
    return (match.group("question") or "").strip()


@dataclass(frozen=True)
class Ticket:
    id: int
    token: str
    at: dt.datetime
    channel: str
    chat_id: str
    user_id: str
    in_group: bool
    question: str
    record_id: str
    status: str
    reply: str
    replied_by: str
    replied_at: dt.datetime | None
    delivered_at: dt.datetime | None
    staff_ref: str


def _ticket(row: object) -> Ticket:
    return Ticket(**{c.name: getattr(row, c.name) for c in handoffs.columns})


class HandoffStore:
    """The tickets of every channel; one per process (bot.services.container), safe to share across threads."""

    def __init__(self, url: str) -> None:
        self.db: SqlEngine = open_database(url)
        create_tables(self.db, metadata)

    def open(self, asker: Asker, question: str, record_id: str = "", *, group: bool = False) -> Ticket:
        """A new open ticket; the question is stored with personal numbers masked."""
        values = {"token": secrets.token_urlsafe(16), "at": dt.datetime.now(), "channel": asker.channel,
                  "chat_id": str(asker.chat_id), "user_id": str(asker.user_id), "in_group": group,
                  "question": mask_pii(question.strip()[:MAX_TEXT]), "record_id": record_id, "status": "open"}
        with self.db.begin() as conn:
            new_id = conn.execute(insert(handoffs).values(**values)).inserted_primary_key[0]
        ticket = self.get(int(new_id))
        assert ticket is not None
        return ticket

    def get(self, ticket_id: int) -> Ticket | None:
        with self.db.connect() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == ticket_id)).first()
        return _ticket(row) if row else None

    def by_token(self, token: str) -> Ticket | None:
        with self.db.connect() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.token == token)).first()
        return _ticket(row) if row else None

    def by_staff_ref(self, staff_ref: str) -> Ticket | None:
        """The ticket forwarded to the staff chat as message ``staff_ref`` (a staff member replied to it)."""
        if not staff_ref:
            return None
        with self.db.connect() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.staff_ref == staff_ref)
                               .order_by(handoffs.c.id.desc())).first()
        return _ticket(row) if row else None

    def set_staff_ref(self, ticket_id: int, staff_ref: str) -> None:
        with self.db.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == ticket_id).values(staff_ref=staff_ref))

    def unforwarded(self, channel: str, limit: int = 50) -> list[Ticket]:
        """Open tickets of ``channel`` not yet sent to its staff chat (the messengers forward them in a loop)."""
        with self.db.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.channel == channel, handoffs.c.status == "open",
                                                       handoffs.c.staff_ref == "")
                                .order_by(handoffs.c.id).limit(limit)).all()
        return [_ticket(r) for r in rows]

    def claim_forward(self, ticket_id: int, claim: str) -> bool:
        """Take the forwarding of a ticket nobody forwarded yet; True when this caller may send it."""
        with self.db.begin() as conn:
            return conn.execute(update(handoffs).where(handoffs.c.id == ticket_id, handoffs.c.staff_ref == "")
                                .values(staff_ref=claim)).rowcount == 1

    def release_forward(self, ticket_id: int, claim: str) -> None:
        with self.db.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == ticket_id, handoffs.c.staff_ref == claim)
                         .values(staff_ref=""))

    def list_open(self, limit: int = 200) -> list[Ticket]:
        """Tickets still waiting for a reply, oldest first (the staff queue)."""
        with self.db.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.status == "open")
                                .order_by(handoffs.c.id).limit(limit)).all()
        return [_ticket(r) for r in rows]

    def recent(self, limit: int = 30) -> list[Ticket]:
        """Replied and closed tickets, newest first (whether a reply reached its asker)."""
        with self.db.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.status != "open")
                                .order_by(handoffs.c.id.desc()).limit(limit)).all()
        return [_ticket(r) for r in rows]

    def reply(self, ticket_id: int, staff: str, text: str) -> Ticket | None:
        """Store a staff reply (masked) to be delivered; a second reply replaces an earlier one and is
        delivered again. None when the ticket does not exist or is closed."""
        text = text.strip()
        if not text:
            raise ValueError("empty reply")
        with self.db.begin() as conn:
            done = conn.execute(update(handoffs).where(handoffs.c.id == ticket_id, handoffs.c.status != "closed")
                                .values(status="replied", reply=mask_pii(text[:MAX_TEXT]), replied_by=str(staff),
                                        replied_at=dt.datetime.now(), delivered_at=None)).rowcount
        return self.get(ticket_id) if done else None

    def undelivered(self, channel: str, limit: int = 50) -> list[Ticket]:
        """Replies of ``channel`` not delivered yet, oldest first."""
        with self.db.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.channel == channel, handoffs.c.status == "replied",
                                                       handoffs.c.delivered_at.is_(None))
                                .order_by(handoffs.c.replied_at).limit(limit)).all()
        return [_ticket(r) for r in rows]

    def claim_delivery(self, ticket: Ticket) -> bool:
        """Mark ``ticket``'s reply delivered, if nobody did yet; True when this caller may send it."""
        with self.db.begin() as conn:
            return conn.execute(update(handoffs).where(handoffs.c.id == ticket.id,
                                                       handoffs.c.replied_at == ticket.replied_at,
                                                       handoffs.c.delivered_at.is_(None))
                                .values(delivered_at=dt.datetime.now())).rowcount == 1

    def release_delivery(self, ticket: Ticket) -> None:
        """The send failed: the reply is undelivered again (unless a newer reply replaced it meanwhile)."""
        with self.db.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == ticket.id, handoffs.c.replied_at == ticket.replied_at)
                         .values(delivered_at=None))

    def mark_delivered(self, ticket_id: int) -> None:
        """The asker has seen the reply (the web ticket page showed it)."""
        with self.db.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == ticket_id, handoffs.c.status == "replied",
                                                handoffs.c.delivered_at.is_(None))
                         .values(delivered_at=dt.datetime.now()))

    def close(self, ticket_id: int) -> bool:
        with self.db.begin() as conn:
            return conn.execute(update(handoffs).where(handoffs.c.id == ticket_id)
                                .values(status="closed")).rowcount == 1

"""Questions asked, answers refused and 👍/👎 feedback, shared by every channel.

Questions and notes are stored with personal numbers masked (bot.privacy), whoever writes them.

SQLite under GOVBOT_HOME by default; any SQLAlchemy database URL (PostgreSQL for several replicas), opened
through bot.database so the conversation state shares the connection pool.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine as SqlEngine

from bot.database import create_tables, open_database
from bot.privacy import mask_pii

metadata = MetaData()

questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user_id", String(64), nullable=False, default=""),
    Column("question", Text, nullable=False),
    Column("intent", String(16), nullable=False, default="other"),
    Column("grounded", Boolean, nullable=False),
    Column("record_id", String(128), nullable=False, default=""),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user_id", String(64), nullable=False, default=""),
    Column("question", Text, nullable=False, default=""),
    Column("record_id", String(128), nullable=False, default=""),
    Column("vote", Integer, nullable=False),  # +1 helpful, -1 not helpful or wrong
    Column("note", Text, nullable=False, default=""),
)

MAX_TEXT = 2000  # what we keep of a question; 20,000-character pastes are not worth storing whole


@dataclass
class Stats:
    questions: int = 0
    refused: int = 0
    helpful: int = 0
    unhelpful: int = 0
    top_unanswered: list[tuple[str, int]] = field(default_factory=list)
    per_day: list[tuple[str, int, int]] = field(default_factory=list)  # (day, questions, refused)
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    recent_feedback: list[dict] = field(default_factory=list)

    @property
    def refused_share(self) -> float:
        return self.refused / self.questions if self.questions else 0.0


class FeedbackStore:
    def __init__(self, url: str) -> None:
        self.db: SqlEngine = open_database(url)
        create_tables(self.db, metadata)

    def log_question(self, channel: str, user_id: str, question: str, intent: str, grounded: bool,
                     record_id: str = "") -> None:
        with self.db.begin() as conn:
            conn.execute(insert(questions).values(
                at=dt.datetime.now(), channel=channel, user_id=str(user_id), question=mask_pii(question[:MAX_TEXT]),
                intent=intent, grounded=grounded, record_id=record_id))

    def add_feedback(self, channel: str, user_id: str, vote: int, question: str = "", record_id: str = "",
                     note: str = "") -> None:
        with self.db.begin() as conn:
            conn.execute(insert(feedback).values(
                at=dt.datetime.now(), channel=channel, user_id=str(user_id), question=mask_pii(question[:MAX_TEXT]),
                record_id=record_id, vote=1 if vote > 0 else -1, note=mask_pii(note[:MAX_TEXT])))

    def stats(self, top: int = 10, days: int = 30) -> Stats:
        with self.db.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(questions)) or 0
            refused = conn.scalar(select(func.count()).select_from(questions)
                                  .where(questions.c.grounded.is_(False))) or 0
            helpful = conn.scalar(select(func.count()).select_from(feedback).where(feedback.c.vote > 0)) or 0
            unhelpful = conn.scalar(select(func.count()).select_from(feedback).where(feedback.c.vote < 0)) or 0
            unanswered = conn.execute(
                select(questions.c.question, func.count().label("n"))
                .where(questions.c.grounded.is_(False))
                .group_by(questions.c.question).order_by(func.count().desc(), questions.c.question).limit(top)
            ).all()
            intents = conn.execute(
                select(questions.c.intent, func.count().label("n"))
                .group_by(questions.c.intent).order_by(func.count().desc()).limit(top)
            ).all()
            since = dt.datetime.now() - dt.timedelta(days=days)
            rows = conn.execute(select(questions.c.at, questions.c.grounded).where(questions.c.at >= since)).all()
            recent = conn.execute(select(feedback).order_by(feedback.c.id.desc()).limit(top)).mappings().all()
        per_day: dict[str, list[int]] = {}
        for at, grounded in rows:
            day = per_day.setdefault(at.date().isoformat(), [0, 0])
            day[0] += 1
            day[1] += 0 if grounded else 1
        return Stats(
            questions=total, refused=refused, helpful=helpful, unhelpful=unhelpful,
            top_unanswered=[(q, n) for q, n in unanswered],
            per_day=[(d, v[0], v[1]) for d, v in sorted(per_day.items())],
            top_intents=[(i, n) for i, n in intents],
            recent_feedback=[dict(r) for r in recent],
        )

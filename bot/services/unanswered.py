"""The unanswered queue: every refusal, every "not stated" answer and every 👎, for an admin to turn into knowledge.

One row per event with the question (personal numbers masked, bot.privacy), the channel, the time, the intent
and the nearest item. Admins see it grouped by nearest item and intent (`govbot report`, /admin/queue), with a
per-day trend and a CSV export; resolving an entry (a FAQ pair was written) also resolves the open entries
with the same normalised question. SQLAlchemy Core on the shared database (SQLite or PostgreSQL).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, func, insert, select, update
from sqlalchemy.engine import Engine as SqlEngine

from bot.database import create_tables
from bot.privacy import mask_pii

metadata = MetaData()

REASONS = ("refused", "not_stated", "downvote")
STATUSES = ("open", "resolved")
MAX_TEXT = 2000

unanswered = Table(
    "unanswered",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("user_id", String(64), nullable=False, default=""),
    Column("chat_id", String(64), nullable=False, default=""),
    Column("question", Text, nullable=False),  # masked
    Column("question_key", String(512), nullable=False, default="", index=True),  # normalised, for "same question"
    Column("intent", String(16), nullable=False, default="other"),
    Column("reason", String(16), nullable=False),  # refused | not_stated | downvote
    Column("tag", String(32), nullable=False, default=""),  # the 👎 reason the user picked
    Column("note", Text, nullable=False, default=""),  # masked
    Column("record_id", String(128), nullable=False, default=""),  # the nearest item
    Column("status", String(16), nullable=False, default="open"),
    Column("resolved_by", String(64), nullable=False, default=""),
    Column("resolved_at", DateTime, nullable=True),
    Column("resolution", Text, nullable=False, default=""),  # e.g. the FAQ file written
)

CSV_COLUMNS = ("id", "at", "channel", "reason", "tag", "intent", "record_id", "question", "note", "status",
               "resolved_by", "resolved_at", "resolution")


def question_key(question: str) -> str:
    """The question without width, case, spaces and punctuation: "营业执照丢了怎么补办？" = "营业执照 丢了怎么补办"."""
    text = unicodedata.normalize("NFKC", question).lower()
    return re.sub(r"[\W_]+", "", text)[:512]


@dataclass(frozen=True)
class QueueFilter:
    """What the admin narrows the queue to; empty fields mean "all"."""

    days: int | None = None
    since: dt.datetime | None = None
    channel: str = ""
    reason: str = ""
    status: str = ""
    record_id: str = ""
    intent: str = ""

    def start(self, now: dt.datetime | None = None) -> dt.datetime | None:
        if self.since is not None:
            return self.since
        if self.days:
            return (now or dt.datetime.now()) - dt.timedelta(days=self.days)
        return None


@dataclass
class Group:
    """Entries about one nearest item and intent."""

    record_id: str
    intent: str
    count: int
    open: int
    last_at: dt.datetime
    questions: list[str]  # the most recent distinct questions
    first_id: int  # the newest open entry (or newest entry), for the page's link


class UnansweredStore:
    def __init__(self, db: SqlEngine) -> None:
        self.db = db
        create_tables(db, metadata)

    # ----- writing -----
    def add(self, channel: str, user_id: str, chat_id: str, question: str, intent: str, reason: str,
            record_id: str = "", tag: str = "", note: str = "") -> int:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        question = mask_pii(question[:MAX_TEXT])
        with self.db.begin() as conn:
            row = conn.execute(insert(unanswered).values(
                at=dt.datetime.now(), channel=channel, user_id=str(user_id), chat_id=str(chat_id),
                question=question, question_key=question_key(question), intent=intent or "other", reason=reason,
                tag=tag, note=mask_pii(note[:MAX_TEXT]), record_id=record_id or "", status="open",
                resolved_by="", resolution=""))
            return int(row.inserted_primary_key[0])

    def set_tag(self, entry_id: int, tag: str, note: str = "") -> None:
        if self.get(entry_id) is None:
            return
        values: dict[str, Any] = {"tag": tag}
        if note:
            values["note"] = mask_pii(note[:MAX_TEXT])
        with self.db.begin() as conn:
            conn.execute(update(unanswered).where(unanswered.c.id == entry_id).values(**values))

    def resolve(self, entry_id: int, by: str, resolution: str = "") -> int:
        """Mark the entry and the open entries with the same normalised question resolved; how many were."""
        entry = self.get(entry_id)
        if entry is None:
            return 0
        same = unanswered.c.id == entry_id
        if entry["question_key"]:
            same = same | ((unanswered.c.question_key == entry["question_key"]) & (unanswered.c.status == "open"))
        with self.db.begin() as conn:
            done = conn.execute(update(unanswered).where(same).values(
                status="resolved", resolved_by=by[:64], resolved_at=dt.datetime.now(), resolution=resolution))
            return done.rowcount or 0

    # ----- reading -----
    def get(self, entry_id: int) -> dict[str, Any] | None:
        if not 0 < entry_id < 2**63:  # an id from a URL or a form: out of range is "no such entry", not a crash
            return None
        with self.db.connect() as conn:
            row = conn.execute(select(unanswered).where(unanswered.c.id == entry_id)).mappings().first()
        return dict(row) if row else None

    def _where(self, query: Any, f: QueueFilter) -> Any:
        start = f.start()
        if start is not None:
            query = query.where(unanswered.c.at >= start)
        for column, value in (("channel", f.channel), ("reason", f.reason), ("status", f.status),
                              ("record_id", f.record_id), ("intent", f.intent)):
            if value:
                query = query.where(unanswered.c[column] == value)
        return query

    def entries(self, f: QueueFilter = QueueFilter(), limit: int | None = None) -> list[dict[str, Any]]:
        """Matching entries, newest first."""
        query = self._where(select(unanswered), f).order_by(unanswered.c.at.desc(), unanswered.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def groups(self, f: QueueFilter = QueueFilter(), examples: int = 3) -> list[Group]:
        """Entries grouped by nearest item + intent, the largest group first."""
        found: dict[tuple[str, str], Group] = {}
        for row in self.entries(f):
            key = (row["record_id"], row["intent"])
            group = found.get(key)
            if group is None:
                group = found[key] = Group(row["record_id"], row["intent"], 0, 0, row["at"], [], row["id"])
            group.count += 1
            if row["status"] == "open":
                if not group.open:
                    group.first_id = row["id"]
                group.open += 1
            if row["question"] not in group.questions and len(group.questions) < examples:
                group.questions.append(row["question"])
        return sorted(found.values(), key=lambda g: (-g.count, -g.open, g.record_id, g.intent))

    def per_day(self, f: QueueFilter = QueueFilter(), days: int = 30) -> list[tuple[str, int]]:
        """(day, entries) for each of the last ``days`` days up to today, days without entries as 0."""
        today = dt.date.today()
        start = today - dt.timedelta(days=days - 1)
        since = dt.datetime.combine(start, dt.time())
        if f.start() is not None and f.start() > since:
            since = f.start()
        query = self._where(select(unanswered.c.at), QueueFilter(
            since=since, channel=f.channel, reason=f.reason, status=f.status, record_id=f.record_id,
            intent=f.intent))
        counts: dict[str, int] = {}
        with self.db.connect() as conn:
            for (at,) in conn.execute(query):
                counts[at.date().isoformat()] = counts.get(at.date().isoformat(), 0) + 1
        return [((start + dt.timedelta(days=i)).isoformat(), counts.get((start + dt.timedelta(days=i)).isoformat(), 0))
                for i in range(days)]

    def count_open(self) -> int:
        with self.db.connect() as conn:
            return conn.scalar(select(func.count()).select_from(unanswered)
                               .where(unanswered.c.status == "open")) or 0

    def csv_text(self, f: QueueFilter = QueueFilter()) -> str:
        """The matching entries as CSV (UTF-8 with BOM so Excel reads the Chinese); questions are stored masked."""
        return "\ufeff" + write_csv(self.entries(f))


def write_csv(rows: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = []
        for column in CSV_COLUMNS:
            value = row.get(column)
            if isinstance(value, dt.datetime):
                value = value.isoformat(sep=" ", timespec="seconds")
            text = "" if value is None else str(value)
            if column in ("question", "note"):
                text = mask_pii(text)  # stored masked already; an older row or a hand edit must not leak
            # A cell starting with = + - @ is a formula to Excel (CSV injection): quote it as text.
            cells.append("'" + text if text[:1] in ("=", "+", "-", "@") else text)
        writer.writerow(cells)
    return buffer.getvalue()

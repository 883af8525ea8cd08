"""Sensitive words: an admin-kept list; questions that contain one get a fixed reply, answers never carry one.

Public AI services in China are filed with such a list. The list lives in the database (table
sensitive_words), so replicas share it; each process caches it and at most every ``check_s`` seconds
reads one version number (table sensitive_version, raised by every change) to see whether to reload.
A change made through this process is seen at once.

Matching is on a compact form of both sides: full-width to half-width, traditional to simplified,
lower case, and everything but letters, digits and ideographs dropped, so "敏 感", "敏-感" and the
traditional spelling all match a listed 敏感. Hits are kept for review (table sensitive_hits) with the
question masked (bot.privacy). Records are screened too (`record_hit`): an item page, a print checklist or
an item list shows the fixed reply instead of a record that holds a listed word.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot import messages
from bot.database import create_tables
from bot.privacy import mask_pii
from ingest.textnorm import normalize

log = logging.getLogger(__name__)

metadata = MetaData()

words_table = Table(
    "sensitive_words",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("word", String(100), nullable=False),  # as the admin typed it
    Column("normalized", String(100), nullable=False, unique=True),  # the compact form that is matched
    Column("at", DateTime, nullable=False),
    Column("added_by", String(32), nullable=False, default=""),  # "web" | "cli"
)

version_table = Table(
    "sensitive_version",
    metadata,
    Column("id", Integer, primary_key=True),  # one row, id 1
    Column("version", Integer, nullable=False),
)

hits_table = Table(
    "sensitive_hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("user_id", String(64), nullable=False, default=""),
    Column("question", Text, nullable=False),  # masked
    Column("word", String(100), nullable=False),
    Column("part", String(8), nullable=False),  # "question": asked; "answer": the answer held it; "record": an item
)

MAX_WORD = 50
MAX_QUESTION = 2000  # what is kept of a question, as in the usage log
CHECK_S = 3.0
MAX_CACHED_RECORDS = 20_000  # compact texts of records kept per process (more than any index has)
_DROP = re.compile(r"[\W_]+")


def _texts(value: object) -> Iterator[str]:
    """Every string in a dumped record (titles, materials, sections, FAQ pairs, sources)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def compact(text: str) -> str:
    """The form words are matched in: normalised (bot.normalize's rules) with spaces and punctuation gone."""
    return _DROP.sub("", normalize(text or ""))


@dataclass
class WordChange:
    """What a change to the list did; ``rejected`` holds (line, reason) for lines that were not words."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def _parse(words: Iterable[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """{key: word} of the usable lines, first spelling wins; the rest with the reason."""
    found: dict[str, str] = {}
    rejected: list[tuple[str, str]] = []
    for raw in words:
        word = raw.strip()
        if not word:
            continue
        if len(word) > MAX_WORD:
            rejected.append((word[:MAX_WORD] + "…", messages.SENSITIVE_TOO_LONG.format(n=MAX_WORD)))
            continue
        key = compact(word)
        if not key:
            rejected.append((word, messages.SENSITIVE_NO_LETTERS))
            continue
        found.setdefault(key, word)
    return found, rejected


class SensitiveWords:
    """The list, cached per process, and the review log of hits."""

    def __init__(self, db: SqlEngine, check_s: float = CHECK_S) -> None:
        self.db = db
        self.check_s = check_s
        create_tables(db, metadata)
        self._lock = threading.Lock()
        self._entries: list[tuple[str, str]] | None = None  # (key, word), longest key first
        self._version: int | None = None
        self._checked = 0.0
        self._record_keys: dict[int, tuple[BaseModel, str]] = {}
        try:  # the one version row; replicas starting at once may race to insert it
            with db.begin() as conn:
                if conn.scalar(select(version_table.c.version).where(version_table.c.id == 1)) is None:
                    conn.execute(insert(version_table).values(id=1, version=0))
        except IntegrityError:
            pass

    # ----- matching -----

    def _current(self) -> list[tuple[str, str]]:
        if self._entries is not None and time.monotonic() - self._checked < self.check_s:
            return self._entries
        with self._lock:
            try:
                with self.db.connect() as conn:
                    version = conn.scalar(select(version_table.c.version).where(version_table.c.id == 1))
                    if self._entries is None or version != self._version:
                        rows = conn.execute(select(words_table.c.normalized, words_table.c.word)).all()
                        self._entries = sorted(((k, w) for k, w in rows), key=lambda e: (-len(e[0]), e[0]))
                        self._version = version
            except SQLAlchemyError:
                if self._entries is None:
                    raise
                log.exception("could not check the sensitive word list; using the one loaded before")
            self._checked = time.monotonic()
            return self._entries

    def words(self) -> list[str]:
        """The listed words as the admins typed them, in alphabetical order of their compact form."""
        return [w for _, w in sorted(self._current())]

    def find(self, *texts: str) -> str | None:
        """The first listed word any of ``texts`` contains, or None."""
        entries = self._current()
        if not entries:
            return None
        for text in texts:
            key = compact(text)
            for word_key, word in entries:
                if word_key in key:
                    return word
        return None

    def record_hit(self, record: BaseModel, channel: str, user_id: str = "") -> str | None:
        """The polite notice to show instead of ``record`` when anything in it holds a listed word, else None.

        Item pages, print checklists and item lists call this before showing a record; a hit is logged for
        review (part "record", the record's id and title as the question) like a withheld answer.
        """
        entries = self._current()
        if not entries:
            return None
        key = self._record_key(record)
        word = next((w for k, w in entries if k in key), None)
        if word is None:
            return None
        self.log_hit(channel, user_id, f"{getattr(record, 'id', '')}《{getattr(record, 'title', '')}》", word,
                     "record")
        return messages.SENSITIVE_REPLY

    def _record_key(self, record: BaseModel) -> str:
        """Every text of the record in compact form, cached per record object (an index's records live on)."""
        cached = self._record_keys.get(id(record))
        if cached is not None and cached[0] is record:
            return cached[1]
        if len(self._record_keys) >= MAX_CACHED_RECORDS:  # a re-ingest made new records: drop the old ones
            self._record_keys.clear()
        key = "\n".join(compact(text) for text in _texts(record.model_dump()))
        self._record_keys[id(record)] = (record, key)
        return key

    # ----- changes (admin page, CLI) -----

    def _forget(self) -> None:
        with self._lock:  # after a reload in progress (which may have read the old list), never before
            self._checked = 0.0
            self._version = None

    def add(self, words: Iterable[str], by: str = "") -> WordChange:
        return self._change(words, by, "add")

    def remove(self, words: Iterable[str]) -> WordChange:
        """Remove the listed ``words`` (by any spelling that compacts the same)."""
        return self._change(words, "", "remove")

    def replace(self, words: Iterable[str], by: str = "") -> WordChange:
        """Make the list exactly ``words`` (the admin page's textarea): add the new, remove the missing."""
        return self._change(words, by, "replace")

    def _change(self, words: Iterable[str], by: str, mode: str) -> WordChange:
        """One transaction, so a replica never sees half an edit; the version moves when anything changed."""
        found, rejected = _parse(words)
        change = WordChange(rejected=rejected)
        with self.db.begin() as conn:
            present = dict(conn.execute(select(words_table.c.normalized, words_table.c.word)).all())
            if mode == "remove":
                gone = [k for k in present if k in found]
            else:  # "replace" drops what the new list lacks; "add" drops nothing
                gone = [k for k in present if k not in found] if mode == "replace" else []
            if gone:
                conn.execute(delete(words_table).where(words_table.c.normalized.in_(gone)))
            new = {k: w for k, w in found.items() if k not in present} if mode != "remove" else {}
            now = dt.datetime.now()
            for key, word in new.items():
                conn.execute(insert(words_table).values(word=word, normalized=key, at=now, added_by=by))
            if gone or new:
                conn.execute(update(version_table).where(version_table.c.id == 1)
                             .values(version=version_table.c.version + 1))
            change.added, change.removed = list(new.values()), [present[k] for k in gone]
        self._forget()
        return change

    # ----- the review log -----

    def log_hit(self, channel: str, user_id: str, question: str, word: str, part: str) -> None:
        with self.db.begin() as conn:
            conn.execute(insert(hits_table).values(
                at=dt.datetime.now(), channel=channel, user_id=str(user_id)[:64],
                question=mask_pii(question[:MAX_QUESTION]), word=word[:100], part=part))

    def hits(self, limit: int = 200) -> list[dict]:
        """The latest hits, newest first."""
        with self.db.connect() as conn:
            rows = conn.execute(select(hits_table).order_by(hits_table.c.id.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

"""Conversation state in the database (GOVBOT_DATABASE_URL), so any replica can take a conversation's next turn.

One row per (scope, key): a channel's chat, user or dialog step, e.g. ("telegram:chat", "4242"). The value is
plain data (dicts, lists, strings, numbers) stored as JSON, readable with SQL and by a replica of another
version during a rolling deploy; dicts with non-string keys or an OrderedDict survive the round trip. Every
write gets a new ``version`` so a replica can tell whether its copy in memory is still the latest.
Last writer wins: one conversation's turns arrive one after another, so two replicas rarely write one row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SqlEngine

from bot.database import create_tables, open_database

metadata = MetaData()

conversation_state = Table(
    "conversation_state",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("version", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

StateKey = tuple[str, str]  # (scope, key)

_PAIRS = "__pairs__"  # a dict JSON cannot hold as an object: [[key, value], ...]
_ORDERED = "__ordered__"


def encode(value: Any) -> Any:
    """Plain data as JSON-ready data; raises TypeError for anything else (objects would not load elsewhere)."""
    if isinstance(value, dict):
        if type(value) is dict and all(isinstance(k, str) for k in value) and _PAIRS not in value:
            return {k: encode(v) for k, v in value.items()}
        return {_PAIRS: [[encode(k), encode(v)] for k, v in value.items()], _ORDERED: isinstance(value, OrderedDict)}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"conversation state must be plain data, not {type(value).__name__}")


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if _PAIRS in value:
            pairs = [(_hashable(decode(k)), decode(v)) for k, v in value[_PAIRS]]
            return OrderedDict(pairs) if value.get(_ORDERED) else dict(pairs)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def dumps(value: Any) -> str:
    """The stored text of a value (equal values give equal text: a writer can tell nothing changed)."""
    return json.dumps(encode(value), ensure_ascii=False)


class ConversationStore:
    """Read and write conversation state rows; blocking calls (channels run them in a worker thread)."""

    def __init__(self, url: str) -> None:
        self.db: SqlEngine = open_database(url)
        create_tables(self.db, metadata)

    def get_many(self, keys: list[StateKey]) -> dict[StateKey, tuple[str, Any]]:
        """{(scope, key): (version, value)} for the keys that have a row."""
        if not keys:
            return {}
        table = conversation_state
        wanted = or_(*(and_(table.c.scope == scope, table.c.key == key) for scope, key in keys))
        with self.db.connect() as conn:
            rows = conn.execute(select(table.c.scope, table.c.key, table.c.version, table.c.data).where(wanted))
            return {(scope, key): (version, decode(json.loads(data))) for scope, key, version, data in rows}

    def get(self, scope: str, key: str) -> Any:
        """The value, or None when there is no row."""
        found = self.get_many([(scope, key)]).get((scope, key))
        return found[1] if found else None

    def put(self, scope: str, key: str, value: Any) -> str:
        """Write the value; returns its new version."""
        return self.put_text(scope, key, dumps(value))

    def put_text(self, scope: str, key: str, text: str) -> str:
        """Write a value already turned into text by dumps(); returns its new version."""
        version = uuid.uuid4().hex
        values = {"data": text, "version": version, "updated_at": dt.datetime.now()}
        with self.db.begin() as conn:
            self._upsert(conn, scope, key, values)
        return version

    def delete(self, scope: str, key: str) -> None:
        table = conversation_state
        with self.db.begin() as conn:
            conn.execute(delete(table).where(table.c.scope == scope, table.c.key == key))

    @staticmethod
    def _upsert(conn: Connection, scope: str, key: str, values: dict[str, Any]) -> None:
        table = conversation_state
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            # One statement, so two replicas writing a new row at once cannot both insert.
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as upsert
            else:
                from sqlalchemy.dialects.postgresql import insert as upsert
            statement = upsert(table).values(scope=scope, key=key, **values)
            conn.execute(statement.on_conflict_do_update(index_elements=[table.c.scope, table.c.key], set_=values))
            return
        changed = conn.execute(update(table).where(table.c.scope == scope, table.c.key == key).values(**values))
        if not changed.rowcount:
            conn.execute(insert(table).values(scope=scope, key=key, **values))

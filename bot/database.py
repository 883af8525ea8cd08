"""One SQLAlchemy engine per database URL and process, shared by the usage log and the conversation state.

SQLite under GOVBOT_HOME by default; PostgreSQL (``postgresql://…``) when several replicas share one database.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import DBAPIError

_engines: dict[str, SqlEngine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Plain ``postgresql://`` (and Heroku-style ``postgres://``) URLs mean the psycopg 3 driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite_wal(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def open_database(url: str) -> SqlEngine:
    """The process's engine for ``url`` (one connection pool however many stores use it)."""
    url = normalize_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # pre_ping: a replica outlives restarts of the database server without failing a request.
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if url.startswith("sqlite"):
            # Several writers (web workers, the bot, an ingest) on one file: WAL lets readers go on.
            event.listen(engine, "connect", _sqlite_wal)
        _engines[url] = engine
        return engine


# Any constant: replicas that start at once take the same lock before creating tables.
_SCHEMA_LOCK = 7_254_190_311


def create_tables(engine: SqlEngine, metadata: MetaData) -> None:
    """Create missing tables. Processes starting at once would each see a table missing and create it,
    and all but one fail ("already exists"): PostgreSQL runs creation under an advisory lock; on SQLite
    the loser checks again, and then finds the table."""
    for attempt in range(3):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                metadata.create_all(connection)
            return
        except DBAPIError:
            if attempt == 2:
                raise

"""Retention (GOVBOT_RETENTION_DAYS): questions older than N days are purged; recent ones and 0 days are kept.

On a SQLite file and on a real PostgreSQL server (the database replicas share), through the stores that
write the rows, the daily purge thread `govbot serve` starts, and `govbot purge`.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select, update
from typer.testing import CliRunner

from bot.cli import app
from bot.database import open_database
from bot.feedback import FeedbackStore, feedback, questions
from bot.services.retention import PURGED, purge, start_daily_purge
from bot.services.sensitive import SensitiveWords, hits_table

NOW = dt.datetime(2026, 12, 1, 12, 0)


def _age(db, table: Table, days: float) -> None:
    """Make every row of ``table`` ``days`` old (the stores stamp rows with the time of writing)."""
    with db.begin() as conn:
        conn.execute(update(table).values(at=NOW - dt.timedelta(days=days)))


def _count(db, table: Table) -> int:
    with db.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table)) or 0


def _fill(url: str, old_days: float, new_days: float, now: dt.datetime = NOW) -> FeedbackStore:
    """Two rows in each question table: one ``old_days`` old, one ``new_days`` old (before ``now``)."""
    store = FeedbackStore(url)
    hits = SensitiveWords(store.db)
    for age in (old_days, new_days):
        store.log_question("web", "u", f"问题 {age}", "materials", True, "r1")
        store.add_feedback("web", "u", -1, f"问题 {age}", "r1", "不对")
        hits.log_hit("web", "u", f"问题 {age}", "词", "question")
        with store.db.begin() as conn:
            for table in (questions, feedback, hits_table):
                newest = conn.scalar(select(func.max(table.c.id)))
                conn.execute(update(table).where(table.c.id == newest).values(at=now - dt.timedelta(days=age)))
    return store


def test_old_rows_are_purged_and_recent_kept(database_url: str) -> None:
    store = _fill(database_url, old_days=200, new_days=10)
    deleted = purge(store.db, 180, now=NOW)
    assert deleted == {"questions": 1, "feedback": 1, "sensitive_hits": 1}  # the absent tables are skipped
    with store.db.connect() as conn:
        assert [q for (q,) in conn.execute(select(questions.c.question))] == ["问题 10"]
        assert [q for (q,) in conn.execute(select(feedback.c.question))] == ["问题 10"]
        assert [q for (q,) in conn.execute(select(hits_table.c.question))] == ["问题 10"]
    assert store.stats().questions == 1
    assert purge(store.db, 180, now=NOW) == {"questions": 0, "feedback": 0, "sensitive_hits": 0}


def test_zero_days_keeps_everything(tmp_path: Path) -> None:
    store = _fill(f"sqlite:///{tmp_path / 'db.sqlite3'}", old_days=5000, new_days=1)
    assert purge(store.db, 0, now=NOW) == {}
    assert _count(store.db, questions) == 2 and _count(store.db, feedback) == 2


def test_tables_of_other_features_are_purged_once_they_exist(tmp_path: Path) -> None:
    """The registry names the unanswered queue and the handoffs already; each is purged when it exists."""
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert ("unanswered", "at") in PURGED and any(name == "handoffs" for name, _ in PURGED)
    assert purge(db, 30, now=NOW) == {}  # an empty database: nothing there, nothing fails
    metadata = MetaData()
    unanswered = Table("unanswered", metadata, Column("id", Integer, primary_key=True), Column("at", DateTime))
    metadata.create_all(db)
    with db.begin() as conn:
        conn.execute(insert(unanswered), [{"at": NOW - dt.timedelta(days=40)}, {"at": NOW - dt.timedelta(days=3)}])
    assert purge(db, 30, now=NOW) == {"unanswered": 1}
    assert _count(db, unanswered) == 1


def test_idle_conversations_are_purged(tmp_path: Path) -> None:
    """A chat's state keeps its recent answers' questions (for 👍/👎): an idle chat's goes too."""
    from bot.services.state import ConversationStore, conversation_state

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = ConversationStore(url)
    store.put("telegram:chat", "1", {"answers": {"5": {"q": "很久以前的问题"}}})
    with store.db.begin() as conn:
        conn.execute(update(conversation_state).values(updated_at=NOW - dt.timedelta(days=200)))
    store.put("telegram:chat", "2", {"answers": {"6": {"q": "昨天的问题"}}})
    assert purge(store.db, 180, now=NOW)["conversation_state"] == 1
    assert store.get("telegram:chat", "1") is None and store.get("telegram:chat", "2") is not None


def test_the_daily_purge_runs_at_start(tmp_path: Path) -> None:
    # The thread purges by the real clock.
    store = _fill(f"sqlite:///{tmp_path / 'db.sqlite3'}", old_days=400, new_days=0, now=dt.datetime.now())
    assert start_daily_purge(store.db, 0) is None  # retention off: no thread
    thread = start_daily_purge(store.db, 180, interval_s=3600)
    assert thread is not None and thread.daemon
    deadline = time.monotonic() + 30
    while _count(store.db, hits_table) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(store.db, questions) == _count(store.db, feedback) == _count(store.db, hits_table) == 1


def test_purge_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("GOVBOT_DATABASE_URL", url)
    monkeypatch.setenv("GOVBOT_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    store = FeedbackStore(url)
    store.log_question("web", "u", "很久以前的问题", "other", False)
    _age(store.db, questions, 100)
    store.log_question("web", "u", "昨天的问题", "other", False)
    runner = CliRunner()
    try:
        kept = runner.invoke(app, ["purge"])  # GOVBOT_RETENTION_DAYS=0: forever
        assert kept.exit_code == 0 and "永久保留" in kept.output
        assert _count(store.db, questions) == 2
        purged = runner.invoke(app, ["purge", "--days", "30"])
        assert purged.exit_code == 0, purged.output
        assert "questions 1 条" in purged.output
        assert _count(store.db, questions) == 1
        again = runner.invoke(app, ["purge", "--days", "30"])
        assert "没有 30 天以前的记录" in again.output
        bad = runner.invoke(app, ["purge", "--days", "-1"])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()

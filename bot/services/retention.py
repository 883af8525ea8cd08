"""Retention: rows that hold what people asked are deleted once they are older than GOVBOT_RETENTION_DAYS.

`PURGED` lists every such table with its time column; a table another feature adds is one more line
(a table that does not exist in this database yet is skipped). `govbot serve` purges at start and
then once a day; `govbot purge` does it by hand. Replicas sharing one database may all purge: deleting
what is already gone deletes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from sqlalchemy import column, delete, inspect, table
from sqlalchemy.engine import Engine as SqlEngine

log = logging.getLogger(__name__)

# (table, the column saying when the row was written). Keep in step with the tables that store questions.
PURGED: list[tuple[str, str]] = [
    ("questions", "at"),  # bot.feedback: the usage log
    ("feedback", "at"),  # bot.feedback: 👍/👎 with the question and the note
    ("sensitive_hits", "at"),  # bot.services.sensitive: questions held back for review
    ("unanswered", "at"),  # the unanswered queue (helper "queue")
    ("handoffs", "at"),  # 转人工 tickets (helper "handoff")
    # bot.services.state: a chat idle that long loses its context (last item, recent answers' questions).
    ("conversation_state", "updated_at"),
]

DAY_S = 24 * 3600


def purge(db: SqlEngine, days: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete rows older than ``days`` from every table of PURGED that exists; rows deleted per table.

    ``days`` 0 keeps everything (nothing is deleted, an empty result).
    """
    if days <= 0:
        return {}
    cutoff = (now or dt.datetime.now()) - dt.timedelta(days=days)
    present = set(inspect(db).get_table_names())
    deleted: dict[str, int] = {}
    with db.begin() as conn:
        for name, at in PURGED:
            if name not in present:
                continue
            rows = table(name, column(at))
            deleted[name] = conn.execute(delete(rows).where(rows.c[at] < cutoff)).rowcount or 0
    return deleted


def start_daily_purge(db: SqlEngine, days: int, interval_s: float = DAY_S) -> threading.Thread | None:
    """Purge now and then every ``interval_s`` in a daemon thread; None when retention is off (0 days)."""
    if days <= 0:
        return None

    def run() -> None:
        while True:
            try:
                deleted = purge(db, days)
                if any(deleted.values()):
                    log.info("retention: deleted rows older than %d days: %s", days, deleted)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the schedule
                log.exception("retention purge failed; trying again at the next run")
            time.sleep(interval_s)

    thread = threading.Thread(target=run, name="govbot-retention", daemon=True)
    thread.start()
    return thread

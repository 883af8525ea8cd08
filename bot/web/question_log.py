"""The web channel's question log: questions are written by one background thread.

The answer never waits for the database, and the process has one writer: with twenty concurrent
requests each writing itself, SQLite answered "database is locked" and p95 went past a second.
"""

from __future__ import annotations

import logging
import queue
import threading

from bot.engine import AnswerResult
from bot.services.asking import Asker, AskService

log = logging.getLogger(__name__)


class QuestionLog:
    """Logs questions from one background thread (started on the first question)."""

    def __init__(self, asking: AskService, capacity: int = 10_000) -> None:
        self.asking = asking
        self.queue: queue.Queue[tuple[Asker, str, AnswerResult]] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def put(self, user_id: str, question: str, result: AnswerResult) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="govbot-question-log", daemon=True)
                    self._thread.start()
        try:
            self.queue.put_nowait((Asker("web", user_id), question, result))
        except queue.Full:
            log.warning("question log queue full: a question was not logged")

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                self.asking.record(*item)
            except Exception:  # noqa: BLE001 - a full disk must not stop the writer
                log.exception("could not log a question")
            finally:
                self.queue.task_done()

    def flush(self) -> None:
        """Wait until every question so far is written (tests, shutdown, the admin page)."""
        self.queue.join()

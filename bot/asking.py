"""One question in, one result out, never an exception: what `govbot ask` does for each line."""

from __future__ import annotations

import logging
from typing import Any

from bot.messages import FAILED

log = logging.getLogger("govbot")


def ask_line(engine: Any, line: str, state: dict | None = None):
    """Answer one line of input; a question that makes the engine fail gets an apology, not a crash."""
    from bot.engine import AnswerResult

    try:
        return engine.ask(line.rstrip("\n"), state)
    except Exception:  # one bad line must not end a stream of answers
        log.exception("question failed: %r", line[:200])
        return AnswerResult(FAILED, grounded=False)

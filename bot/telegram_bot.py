"""The Telegram channel's public names; the adapter itself is the ``bot.telegram`` package.

Kept so that ``from bot.telegram_bot import build_application``, ``run_telegram`` and
``python -m bot.telegram_bot`` keep working for the CLI, services, tests and the benchmark.
"""

from __future__ import annotations

import sys

from bot.telegram.app import RetryingRateLimiter, build_application, main, run_telegram
from bot.telegram.config import ALLOWED_UPDATES, parse_admin_ids, token_problem, webhook_options
from bot.telegram.match import MATCH_IDLE
from bot.telegram.profile import MATCH_FIELDS, check_answer, clean_answer, render_match
from bot.telegram.render import render_answer, render_reload

__all__ = [
    "ALLOWED_UPDATES", "MATCH_FIELDS", "MATCH_IDLE", "RetryingRateLimiter", "build_application", "check_answer",
    "clean_answer", "main", "parse_admin_ids", "render_answer", "render_match", "render_reload", "run_telegram",
    "token_problem", "webhook_options",
]

if __name__ == "__main__":
    sys.exit(main())

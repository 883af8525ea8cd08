"""The Telegram adapter's name for bot.messages, kept so existing imports work: there is one
messages module, and every sentence lives there."""

from __future__ import annotations

from bot.messages import *  # noqa: F403

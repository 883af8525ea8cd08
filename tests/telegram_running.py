"""Run the real Telegram application against tests/fake_bot_api.py the way run_polling does (job queue too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.feedback import FeedbackStore
from bot.telegram_bot import build_application


@asynccontextmanager
async def running(engine: Any, store: Path, settings: Any, feedback: FeedbackStore | None = None,
                  check_errors: bool = True, **options: Any) -> AsyncIterator[SimpleNamespace]:
    """The started application, its govbot services and the errors its handlers raised. With
    ``check_errors`` none are allowed when it stops; ``options`` go to build_application."""
    options = {"timeout": 5.0, "retry_backoff": 0.1, **options}
    app = build_application(engine, settings, store, feedback or FeedbackStore(settings.database_url), **options)
    errors: list[BaseException] = []

    async def collect(update: object, context) -> None:
        errors.append(context.error)

    app.add_error_handler(collect)
    async with app:
        await app.post_init(app)
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            yield SimpleNamespace(app=app, errors=errors, govbot=app.bot_data["govbot"])
        finally:
            await app.updater.stop()
            await app.stop()
            await app.post_shutdown(app)
    if check_errors:
        assert not errors, errors

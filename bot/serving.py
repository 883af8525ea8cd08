"""`govbot serve`'s one event loop: the web app (uvicorn) and the Telegram bot side by side (issue 12).

The bot long-polls for development; with GOVBOT_TELEGRAM_WEBHOOK_URL Telegram posts its updates to a
route of the web app (bot/web/telegram_routes.py), so a replica needs one port and one loop. This module
composes two channels, so it sits above them (pyproject's import-linter layers): the web channel is
handed the bot's ``feed`` and never imports the Telegram channel. The messenger adapters are started by
bot/cli.py's ``start_messengers``; their SDKs each run their own loop, in a thread of their own.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

from rich.console import Console

from bot import messages

if TYPE_CHECKING:
    from bot.services.container import Services
    from bot.telegram.app import EmbeddedBot

err = Console(stderr=True)


def say(*lines: str, style: str | None = None) -> None:
    for line in lines:  # plain and whole: a reason may hold brackets that rich would take for markup
        err.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def embedded_bot_or_none(services: Services) -> EmbeddedBot | None:
    """The Telegram bot for the serve loop, or None (no token, or a setting is wrong: said why)."""
    if not (services.settings.telegram_bot_token or "").strip():
        say(messages.SERVE_NO_TOKEN)
        return None
    from bot.telegram.app import embedded_bot

    try:
        return embedded_bot(services)
    except ValueError as exc:
        say(str(exc), messages.SERVE_TELEGRAM_OFF, style="yellow")
        return None


async def serve_loop(services: Services, host: str, port: int, stop: asyncio.Event | None = None) -> int:
    """Serve the web app with uvicorn while the Telegram bot polls or takes its updates by webhook.

    Runs until ``stop`` is set (without one: Ctrl+C or SIGTERM) or the web server ends; returns the
    exit status. A bot that cannot start (bad token, Telegram unreachable) leaves the web page serving.
    """
    import uvicorn

    from bot.web.app import create_app
    from bot.web.telegram_routes import TelegramWebhook

    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # uvicorn catches these during serve() and raises them again after; this handler turns that
            # into a stop, not a cancelled loop, so the bot still shuts down in order.
            loop.add_signal_handler(sig, stop.set)
    bot = embedded_bot_or_none(services)
    hook = TelegramWebhook(bot.path, bot.secret, bot.feed) if bot and bot.path and bot.secret else None
    web_app = create_app(services.engine, services.settings, services.store_dir, services.feedback,
                         admin=services.admin, asking=services.asking, handoffs=services.handoffs,
                         telegram_webhook=hook)
    server = uvicorn.Server(uvicorn.Config(web_app, host=host, port=port, log_level="info"))
    web = asyncio.create_task(server.serve(), name="web")
    say(messages.SERVE_WEB.format(host=host, port=port))
    try:
        if bot:
            problem = await bot.start()
            if problem:
                say(problem, messages.SERVE_TELEGRAM_OFF, style="yellow")
                bot = None
            else:
                say(messages.SERVE_WEBHOOK.format(url=bot.webhook_url, path=bot.path) if hook
                    else messages.SERVE_POLLING)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({web, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        server.should_exit = True
        if bot:
            await bot.stop()  # finish the updates in hand while the web server drains its requests
        await web
    return 0

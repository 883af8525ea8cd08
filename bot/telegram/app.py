"""Wiring: the whole Telegram application built in one place, its start-up, and the process entry point.

Two ways to run it: ``run_telegram`` owns the event loop (`govbot telegram`, PTB's run_polling or its
own webhook server), and ``EmbeddedBot`` runs inside a loop someone else owns (`govbot serve`: beside
uvicorn, with Telegram's webhook as a route of the web app).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    Defaults,
)

from bot import texts
from bot.telegram import handoff
from bot.telegram.config import (
    ALLOWED_UPDATES,
    parse_admin_ids,
    token_problem,
    webhook_options,
    webhook_route,
)
from bot.telegram.deps import FLOOD_MAX, FLOOD_WINDOW, Deps
from bot.telegram.handlers import add_handlers
from bot.telegram_state import DatabasePersistence, SharedStateProcessor

if TYPE_CHECKING:  # imported late below: they load the index libraries, and token errors come first
    from bot.services.admin import AdminService
    from bot.services.asking import AskService
    from bot.services.container import Services
    from bot.services.handoff import HandoffStore
    from bot.services.state import ConversationStore

log = logging.getLogger(__name__)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's flood limits, retries on 429 with retry_after) plus retries with
    backoff for 5xx answers and timeouts, which AIORateLimiter passes straight through.

    A timed-out sendMessage may have reached Telegram; retrying risks a rare duplicate, which beats a
    question left unanswered.
    """

    __slots__ = ("_backoff", "_network_retries")

    def __init__(self, *, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network_retries = network_retries
        self._backoff = backoff

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        if endpoint == "sendChatAction":
            # Cosmetic, and not a message: it does not spend the 30 messages/s budget (which would halve
            # the answers per second) and is never retried.
            return await callback(*args, **kwargs)
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise  # our request is wrong: sending it again cannot help
            except NetworkError as exc:  # 5xx, TimedOut, connection reset
                if attempt == self._network_retries:
                    raise
                delay = self._backoff * 2**attempt
                log.warning("%s failed (%s); retry %d/%d in %.1f s", endpoint, exc, attempt + 1,
                            self._network_retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


async def post_init(application: Application) -> None:
    """Register the command menu; admins also see /reload and /stats in their own chat."""
    d: Deps = application.bot_data["govbot"]
    bot = application.bot
    commands = [BotCommand(c, t) for c, t in texts.COMMANDS]
    await bot.set_my_commands(commands, scope=BotCommandScopeDefault())
    admin_commands = commands + [BotCommand(c, t) for c, t in texts.ADMIN_COMMANDS]
    for admin in sorted(d.admin_ids):
        try:
            await bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            log.info("admin commands for %s not registered: %s", admin, exc)
    log.info("telegram bot @%s ready; %d items in the knowledge base", bot.username, len(d.engine.records))


async def post_shutdown(application: Application) -> None:
    application.bot_data["govbot"].close()


def build_application(engine: Any, settings: Any, store_dir: Path, feedback: Any, *,
                      admin: AdminService | None = None, asking: AskService | None = None,
                      state: ConversationStore | None = None, handoffs: HandoffStore | None = None,
                      timeout: float = 10.0,
                      network_retries: int = 3, retry_backoff: float = 0.5, max_retries_429: int = 3,
                      flood_max: int = FLOOD_MAX, flood_window: float = FLOOD_WINDOW,
                      overall_rate: float = 30, group_rate: float = 20) -> Application:
    """The whole Telegram application, wired in one place (python-telegram-bot examples style).

    ``settings`` provides telegram_bot_token, telegram_admin_ids, govbot_telegram_base_url,
    govbot_home, govbot_knowledge_dir and database_url (where ``state``, the conversation state shared by
    replicas, lives unless given). Keyword arguments exist for tests and the benchmark.
    """
    token = (settings.telegram_bot_token or "").strip()
    problem = token_problem(token)
    if problem:
        raise ValueError(problem)
    admin, asking, state, handoffs = _services(engine, settings, Path(store_dir), feedback,
                                               admin, asking, state, handoffs)
    # /reload and /stats use the process's one admin service: one lock with the web admin.
    deps = Deps(engine, settings, Path(store_dir), feedback, admin, parse_admin_ids(settings.telegram_admin_ids),
                asking, flood_max=flood_max, flood_window=flood_window)
    deps.handoffs = handoffs
    # chat_data (the engine's state, recent answers), user_data and /match's step live in the database,
    # read before and written after every update: a restart or another replica continues the conversation.
    persistence = DatabasePersistence(state)
    processor = SharedStateProcessor(persistence)  # chats in parallel, each chat (and user) in order
    limiter = RetryingRateLimiter(network_retries=network_retries, backoff=retry_backoff, max_retries=max_retries_429,
                                  overall_max_rate=overall_rate, group_max_rate=group_rate)
    application = _builder(token, settings, persistence, processor, limiter, timeout).build()
    processor.bind(application)
    application.bot_data["govbot"] = deps  # bot_data is not persisted; handlers and tests reach it here
    add_handlers(application, deps.admin_ids, settings.govbot_telegram_staff_chat_id)
    # Staff replies written anywhere (staff chat, web admin, another replica) are delivered by a repeating job.
    handoff.schedule_delivery(application, settings.govbot_handoff_poll_s)
    return application


def _services(engine: Any, settings: Any, store_dir: Path, feedback: Any, admin: AdminService | None,
              asking: AskService | None, state: ConversationStore | None,
              handoffs: HandoffStore | None) -> tuple[AdminService, AskService, ConversationStore, HandoffStore]:
    """The services the bot talks to: the ones given (the process's shared ones), else its own."""
    if admin is None:
        from bot.services.admin import AdminService

        admin = AdminService(settings, store_dir, engine=engine, feedback=feedback)
    if asking is None:
        from bot.services.asking import AskService

        asking = AskService(engine, feedback)
    if state is None:
        from bot.services.state import ConversationStore

        state = ConversationStore(settings.database_url)
    if handoffs is None:
        from bot.services.handoff import HandoffStore

        handoffs = HandoffStore(settings.database_url)
    return admin, asking, state, handoffs


def _builder(token: str, settings: Any, persistence: DatabasePersistence, processor: SharedStateProcessor,
             limiter: RetryingRateLimiter, timeout: float) -> ApplicationBuilder:
    """PTB's builder: HTML replies without link previews, shared state, rate limits, one timeout for every call."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .persistence(persistence)
        .rate_limiter(limiter)
        .concurrent_updates(processor)
        .connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout).pool_timeout(timeout)
        .get_updates_connect_timeout(timeout).get_updates_read_timeout(timeout)
        .get_updates_write_timeout(timeout).get_updates_pool_timeout(timeout)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.govbot_telegram_base_url:
        builder = builder.base_url(settings.govbot_telegram_base_url)
    return builder


async def _check_token(token: str, base_url: str | None) -> None:
    """getMe with a throwaway Bot: raises InvalidToken when Telegram rejects the token."""
    from telegram import Bot

    async with Bot(token, base_url=base_url or "https://api.telegram.org/bot") as bot:
        await bot.get_me()


def run_telegram(store_dir: Path | None = None, webhook_url: str | None = None, listen: str = "0.0.0.0",
                 port: int = 8443, secret: str | None = None, *, services: Services | None = None) -> int:
    """Run the bot until interrupted: long polling, or a webhook when ``webhook_url`` is given.

    ``services`` is the process's shared engine and admin service (`govbot serve`); without it the
    bot builds its own once the token checks out.

    Returns the exit status: 0 after a normal stop, 2 for a missing, malformed or rejected token or
    bad webhook options, 1 when Telegram cannot be reached.
    """
    from ingest.settings import get_settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from bot.privacy import install_log_masking

    install_log_masking()  # questions in log lines keep ID, phone and card numbers masked
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    settings = get_settings()
    problem = token_problem(settings.telegram_bot_token)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        hook = webhook_options(webhook_url, listen, port, secret) if webhook_url else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2

    # Check the token before PTB's start-up loop, which logs a rejected token with a stack trace.
    try:
        asyncio.run(_check_token(settings.telegram_bot_token.strip(), settings.govbot_telegram_base_url))
    except InvalidToken as exc:
        print(texts.TOKEN_REJECTED.format(reason=exc), file=sys.stderr)
        return 2
    except (NetworkError, OSError) as exc:
        print(texts.NETWORK_DOWN.format(reason=exc), file=sys.stderr)
        return 1

    from bot.services.container import build_services

    services = services or build_services(store_dir, settings)
    if not services.engine.records:
        print(texts.KB_EMPTY.format(store=services.store_dir), file=sys.stderr)
    application = build_application(services.engine, services.settings, services.store_dir, services.feedback,
                                    admin=services.admin, state=services.state, asking=services.asking,
                                    handoffs=services.handoffs)
    try:
        if hook:
            print(texts.STARTING_WEBHOOK.format(url=webhook_url, listen=listen, port=port), file=sys.stderr)
            application.run_webhook(**hook)
        else:
            print(texts.STARTING_POLLING, file=sys.stderr)
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken as exc:
        print(texts.TOKEN_REJECTED.format(reason=exc), file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(texts.NETWORK_DOWN.format(reason=exc), file=sys.stderr)
        return 1
    return 0


@dataclass
class EmbeddedBot:
    """The bot inside an event loop that another server owns (`govbot serve`: uvicorn's).

    With ``webhook_url`` Telegram posts updates to the web app's route at ``path`` (the web channel
    calls ``feed``); without it the bot long-polls, for development. Made by ``embedded_bot``.
    """

    application: Application
    webhook_url: str | None = None
    secret: str | None = None
    path: str | None = None
    initialized: bool = field(default=False, init=False)  # post_shutdown runs once, and only after initialize

    async def start(self) -> str | None:
        """Connect (getMe), register the commands, and take updates: by webhook (setWebhook) or polling.

        Returns None once running, else why not (Chinese, for the console); it is then shut down again.
        """
        app = self.application
        try:
            await app.initialize()
            self.initialized = True
            if app.post_init:
                await app.post_init(app)
            if self.webhook_url:
                await app.start()  # first: an update posted right after setWebhook must find the bot running
                await app.bot.set_webhook(self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
            else:
                await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
                await app.start()
            return None
        except InvalidToken as exc:
            problem = texts.TOKEN_REJECTED.format(reason=exc)
        except NetworkError as exc:
            problem = texts.NETWORK_DOWN.format(reason=exc)
        except TelegramError as exc:  # e.g. setWebhook refused the URL
            problem = texts.SERVE_TELEGRAM_START_FAILED.format(reason=exc)
        await self.stop()
        return problem

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in hand, close. The webhook stays set: other replicas serve it."""
        app = self.application
        if app.updater and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if self.initialized:
            self.initialized = False
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)

    async def feed(self, data: dict[str, Any]) -> bool:
        """One update's JSON from the webhook route onto the application's queue.

        False while the bot is not running (the route answers 503, so Telegram delivers it again later);
        ValueError when ``data`` is not an update (the route answers 400).
        """
        if not self.application.running:
            return False
        if not isinstance(data.get("update_id"), int):
            raise ValueError("update_id missing or not an integer")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:  # noqa: BLE001 -- as PTB's own webhook handler: any parse failure is a 400
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc
        await self.application.update_queue.put(update)
        return True


def embedded_bot(services: Services) -> EmbeddedBot:
    """The bot for `govbot serve`, over the process's shared services; nothing is sent yet.

    Webhook when GOVBOT_TELEGRAM_WEBHOOK_URL is set (its path is the web route; the secret is required),
    else polling. Raises ValueError with the reason for a missing or malformed token or webhook setting.
    """
    settings = services.settings
    url = (settings.govbot_telegram_webhook_url or "").strip() or None
    secret = (settings.govbot_telegram_webhook_secret or "").strip() or None
    path = webhook_route(url, secret) if url else None
    application = build_application(services.engine, settings, services.store_dir, services.feedback,
                                    admin=services.admin, asking=services.asking, state=services.state,
                                    handoffs=services.handoffs)
    return EmbeddedBot(application, webhook_url=url, secret=secret, path=path)


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.telegram_bot [--webhook-url URL --listen ADDR --port N --secret S]`."""
    parser = argparse.ArgumentParser(prog="python -m bot.telegram_bot", description=texts.BOT_NAME)
    parser.add_argument("--store", type=Path, default=None, help=texts.ARG_STORE)
    parser.add_argument("--webhook-url", default=None, help=texts.ARG_WEBHOOK_URL)
    parser.add_argument("--listen", default="0.0.0.0", help=texts.ARG_LISTEN)
    parser.add_argument("--port", type=int, default=8443, help=texts.ARG_PORT)
    parser.add_argument("--secret", default=None, help=texts.ARG_SECRET)
    args = parser.parse_args(argv)
    return run_telegram(args.store, args.webhook_url, args.listen, args.port, args.secret)


if __name__ == "__main__":
    sys.exit(main())

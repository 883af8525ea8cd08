"""`govbot web`, `telegram` and `serve`, and what `serve` starts besides the web page: the messengers
(DingTalk, Feishu, WeCom, each in a thread with its own event loop) and the daily retention purge."""

from __future__ import annotations

import asyncio
import importlib
import threading
from typing import Annotated

import typer

from bot import messages
from bot.cli.common import HostOpt, PortOpt, StoreOpt, err, setup_logging, store_path
from bot.cli.index_commands import print_summary, run_ingest
from ingest.settings import get_settings


def web_command(store: StoreOpt = None, host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    setup_logging()
    from bot.web.app import run_web

    run_web(store_path(store), host=host, port=port)  # builds its own services


def telegram_command(
    store: StoreOpt = None,
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help=messages.CLI_OPT_WEBHOOK_URL)] = None,
    listen: Annotated[str, typer.Option("--listen", help=messages.CLI_OPT_WEBHOOK_LISTEN)] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help=messages.CLI_OPT_WEBHOOK_PORT)] = 8443,
    secret: Annotated[str | None, typer.Option("--secret", help=messages.CLI_OPT_WEBHOOK_SECRET)] = None,
) -> None:
    from bot.telegram_bot import run_telegram

    raise typer.Exit(run_telegram(store_path(store), webhook_url=webhook_url, listen=listen, port=port, secret=secret))


def _messengers(services) -> list[tuple[str, object, str, str, str]]:
    """(name, configured, runner, where it listens, settings to set) for each messenger adapter."""
    s = services.settings
    feishu_where = (messages.MESSENGER_FEISHU_WS.format(domain=s.govbot_feishu_domain) if s.feishu_mode == "ws"
                    else messages.MESSENGER_FEISHU_CALLBACK.format(listen=s.govbot_feishu_listen,
                                                                   port=s.govbot_feishu_port))
    return [
        ("dingtalk", s.govbot_dingtalk_client_id and s.govbot_dingtalk_client_secret, "run_dingtalk",
         messages.MESSENGER_DINGTALK_CARDS if s.govbot_dingtalk_cards else messages.MESSENGER_DINGTALK_STREAM,
         "GOVBOT_DINGTALK_CLIENT_ID / GOVBOT_DINGTALK_CLIENT_SECRET"),
        ("feishu", s.govbot_feishu_app_id and s.govbot_feishu_app_secret, "run_feishu", feishu_where,
         "GOVBOT_FEISHU_APP_ID / GOVBOT_FEISHU_APP_SECRET"),
        ("wecom", all((s.govbot_wecom_corp_id, s.govbot_wecom_agent_id, s.govbot_wecom_secret,
                       s.govbot_wecom_token, s.govbot_wecom_aes_key)), "run_wecom",
         messages.MESSENGER_WECOM_CALLBACK.format(listen=s.govbot_wecom_listen, port=s.govbot_wecom_port),
         "GOVBOT_WECOM_CORP_ID / AGENT_ID / SECRET / TOKEN / AES_KEY"),
    ]


def start_messengers(services) -> list[threading.Thread]:
    """Start each configured messenger adapter in a thread of its own; one line for each one left off.

    Each running adapter registers itself in bot.channels (with its thread's event loop), so other code of
    this process reaches it with `await bot.channels.push(platform, chat_id, reply)`.
    """
    started = []
    for name, configured, runner, where, keys in _messengers(services):
        shown = messages.MESSENGER_NAMES[name]
        if not configured:
            err.print(messages.MESSENGER_NOT_SET.format(keys=keys, shown=shown))
            continue
        try:
            run = getattr(importlib.import_module(f"bot.channels.{name}"), runner)
        except ImportError as exc:  # the SDKs are an optional extra
            err.print(f"[yellow]{messages.MESSENGER_NO_SDK.format(shown=shown, exc=exc)}[/yellow]")
            continue
        thread = threading.Thread(target=asyncio.run, args=(run(services),), daemon=True, name=name)
        thread.start()
        started.append(thread)
        err.print(messages.MESSENGER_STARTED.format(shown=shown, where=where))
    if started:  # 转人工: new tickets to the staff chats, staff replies to the users (bot/channels/handoff.py)
        from bot.channels.handoff import run_delivery

        threading.Thread(target=asyncio.run, args=(run_delivery(services, [t.name for t in started]),),
                         daemon=True, name="handoff").start()
    return started


def start_retention(services) -> None:
    """Purge old questions now and once a day (GOVBOT_RETENTION_DAYS; 0 keeps everything)."""
    from bot.services.retention import start_daily_purge

    days = services.settings.govbot_retention_days
    started = start_daily_purge(services.feedback.db, days)
    err.print(messages.RETENTION_ON.format(days=days) if started else messages.RETENTION_OFF)


def serve_command(store: StoreOpt = None, host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    setup_logging()
    from bot.services.container import build_services
    from ingest.embeddings import EmbedderError
    from ingest.index import IngestLocked

    settings = get_settings()
    store_dir = store_path(store)
    try:
        summary = run_ingest([settings.govbot_knowledge_dir], store_dir)
    except (IngestLocked, EmbedderError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    print_summary(summary, err)  # bad files are reported; the rest of the knowledge base still serves
    # One engine and one admin service for the whole process: web and bot share them (and the lock).
    services = build_services(store_dir, settings)
    start_retention(services)  # a daily purge thread (GOVBOT_RETENTION_DAYS)
    start_messengers(services)  # DingTalk, Feishu, WeCom: each SDK runs its own loop, in a thread of its own
    from bot.serving import serve_loop

    raise typer.Exit(asyncio.run(serve_loop(services, host, port)))

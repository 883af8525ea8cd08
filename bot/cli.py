"""`govbot` command line: ingest, check, ask, eval, serve and the channels."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot import messages
from ingest.settings import get_settings

if TYPE_CHECKING:
    from bot.services.admin import AdminService
    from bot.services.container import Services
    from bot.telegram.app import EmbeddedBot
    from ingest.pipeline import IngestSummary

app = typer.Typer(add_completion=False, no_args_is_help=True, help=messages.BOT_NAME)
# Progress and logs go to standard error: standard output belongs to the command's result.
err = Console(stderr=True)
out = Console()

StoreOpt = Annotated[Path | None, typer.Option("--store", help=messages.ARG_STORE)]


def _store(store: Path | None) -> Path:
    return store or get_settings().store_dir


def _setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # bm25s logs every index build at DEBUG and sets that level when imported: import it first.
    import bm25s  # noqa: F401

    logging.getLogger("bm25s").setLevel(logging.WARNING)


def run_ingest(paths: list[Path], store_dir: Path, prune: bool = False, rebuild: bool = False,
               show_progress: bool = True, admin: AdminService | None = None) -> IngestSummary:
    """Ingest through the admin service (a progress bar on standard error); returns the summary.

    Without ``admin`` this is `govbot ingest`: a service of its own, no engine to reload, and the
    store's file lock keeps it apart from a serving process's admin ingest.
    """
    from bot.services.admin import AdminService  # late: it loads the index libraries

    admin = admin or AdminService(get_settings(), store_dir)
    if not show_progress:
        return admin.reingest(paths, prune=prune, rebuild=rebuild)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return admin.reingest(paths, prune=prune, rebuild=rebuild, progress=report)


def print_summary(summary: IngestSummary, console: Console) -> None:
    from ingest.pipeline import STATUS_LABELS

    counts = Table(title=messages.CLI_INGEST_TITLE, show_header=True)
    for status in ("added", "updated", "unchanged", "removed", "failed"):
        counts.add_column(STATUS_LABELS[status], justify="right")
    counts.add_row(*(str(summary.count(s)) for s in ("added", "updated", "unchanged", "removed", "failed")))
    console.print(counts)
    # One plain line per file: full paths, never truncated by the terminal width.
    for f in summary.files:
        if f.status in ("failed", "removed", "missing"):
            console.print(messages.CLI_INGEST_FILE.format(status=STATUS_LABELS[f.status], path=f.path)
                          + (f"：{f.reason}" if f.reason else ""),
                          markup=False, highlight=False, soft_wrap=True)
    console.print(messages.CLI_INGEST_TOTALS.format(
        generation=summary.generation or messages.CLI_NO_GENERATION, records=summary.records, chunks=summary.chunks,
        embedded=summary.embedded, embedder=summary.embedder, seconds=summary.seconds), soft_wrap=True)


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help=messages.CLI_OPT_PATHS)],
    store: StoreOpt = None,
    prune: Annotated[bool, typer.Option("--prune", help=messages.CLI_OPT_PRUNE)] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help=messages.CLI_OPT_REBUILD)] = False,
) -> None:
    """导入办事指南、一件事和政策文件，生成新的索引并立即启用。"""
    _setup_logging()
    from ingest.embeddings import EmbedderError
    from ingest.index import IngestLocked

    try:
        summary = run_ingest(paths, _store(store), prune=prune, rebuild=rebuild)
    except (IngestLocked, EmbedderError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    print_summary(summary, out)
    raise typer.Exit(1 if summary.failed else 0)


@app.command("check")
def check_command(
    paths: Annotated[list[Path], typer.Argument(help=messages.CLI_OPT_PATHS)],
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON)] = False,
) -> None:
    """检查知识文件：必填字段、材料格式、一件事成员与合并材料、政策有效期。"""
    from ingest.check import check_paths

    report = check_paths(paths)
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for line in report.errors:
            typer.echo(line)  # one error per line, never wrapped: editors jump to file:line
        for line in report.warnings:
            typer.echo(messages.CLI_CHECK_WARNING.format(line=line))
        counts = report.as_json()["by_kind"]
        typer.echo(messages.CLI_CHECK_TOTALS.format(n=len(report.records),
                                                    kinds="，".join(f"{k} {v}" for k, v in sorted(counts.items())),
                                                    errors=len(report.errors), warnings=len(report.warnings)))
    raise typer.Exit(1 if report.errors else 0)


def _print_answer(result) -> None:
    out.print(result.answer, markup=False, highlight=False)
    if result.suggestions:
        out.print("\n" + messages.CLI_SUGGESTIONS + " · ".join(result.suggestions), markup=False, highlight=False)


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help=messages.CLI_OPT_QUESTION)],
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON_LINES)] = False,
    session: Annotated[bool, typer.Option("--session", help=messages.CLI_OPT_SESSION)] = False,
) -> None:
    """回答问题（默认抽取式，引用知识库原文并注明来源）。"""
    _setup_logging()
    from bot.asking import ask_line
    from bot.engine import Engine

    engine = Engine(_store(store))
    if not engine.records:
        err.print(f"[yellow]{messages.CLI_NO_INDEX}[/yellow]")
    questions = (line.rstrip("\n") for line in sys.stdin) if question == "-" else iter([question])
    state: dict = {}
    for line in questions:
        result = ask_line(engine, line, state if session else None)
        state = result.state
        if as_json:
            sys.stdout.write(json.dumps(result.public(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            _print_answer(result)


@app.command("eval")
def eval_command(
    file: Annotated[Path | None, typer.Argument(help=messages.CLI_OPT_EVAL_FILE)] = None,
    dev_dir: Annotated[Path, typer.Option("--dev-dir", help=messages.CLI_OPT_DEV_DIR)] = Path("../shared/eval"),
    store: Annotated[Path | None, typer.Option("--store", help=messages.CLI_OPT_EVAL_STORE)] = None,
    knowledge: Annotated[Path | None, typer.Option("--knowledge", help=messages.CLI_OPT_EVAL_KNOWLEDGE)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON_OBJECT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help=messages.CLI_OPT_VERBOSE)] = False,
) -> None:
    """评测：不带参数时跑开发集目录中的全部评测集（检索、答案、真实问题），输出一张汇总表。"""
    _setup_logging()
    from bot.evaluation import evaluate, run_all, summary_table

    def progress(msg: str) -> None:
        err.print(msg, markup=False, highlight=False, soft_wrap=True)

    if file is not None:
        try:
            scores = evaluate(file, progress=progress)
        except (OSError, ValueError, KeyError) as exc:
            _say(messages.CLI_EVAL_UNREADABLE.format(file=file, reason=exc), style="red")
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(json.dumps(scores, ensure_ascii=False))
            return
        out.print(retrieval_table(scores))
        return
    result = run_all(dev_dir, store=store, knowledge=knowledge, progress=progress, details=verbose)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        out.print(summary_table(result))
    nothing_ran = all(result[name] is None for name in ("retrieval", "answers", "realq"))
    if nothing_ran and not result["errors"]:
        _say(messages.CLI_EVAL_NOTHING.format(folder=dev_dir), style="red")
    if result["errors"] or nothing_ran:
        raise typer.Exit(2)


def retrieval_table(scores: dict) -> Table:
    table = Table(title=messages.CLI_EVAL_TITLE.format(n=scores["n"]))
    for column in (messages.CLI_EVAL_TAG, "n", "R@1", "R@5", "MRR@10"):
        table.add_column(column, justify="right")
    table.add_row(messages.CLI_EVAL_OVERALL, str(scores["n"]), f"{scores['r1']:.3f}", f"{scores['r5']:.3f}", f"{scores['mrr10']:.3f}")
    for tag, s in sorted(scores["by_tag"].items()):
        table.add_row(tag, str(s["n"]), f"{s['r1']:.3f}", f"{s['r5']:.3f}", f"{s['mrr10']:.3f}")
    return table


@app.command("fit")
def fit_command(
    dev_dir: Annotated[Path, typer.Option("--dev-dir", help=messages.CLI_OPT_FIT_DEV_DIR)] = Path("../shared/eval"),
    knowledge: Annotated[Path, typer.Option("--knowledge", help=messages.CLI_OPT_KNOWLEDGE)] = Path("knowledge"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help=messages.CLI_OPT_DRY_RUN)] = False,
    rows_cache: Annotated[Path | None, typer.Option("--rows-cache", help=messages.CLI_OPT_ROWS_CACHE)] = None,
) -> None:
    """拟合“能否回答”模型（留一来源交叉验证），写入 bot/data/answerability.json。"""
    import json

    from bot.fitting import run

    _setup_logging()
    report = run(dev_dir, knowledge, write=not dry_run, rows_cache=rows_cache)
    print(json.dumps(report, ensure_ascii=False, indent=1))


HostOpt = Annotated[str, typer.Option("--host", help=messages.CLI_OPT_HOST)]
PortOpt = Annotated[int, typer.Option("--port", help=messages.CLI_OPT_PORT)]


@app.command("web")
def web_command(store: StoreOpt = None, host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """前台网页、JSON API 和管理后台。"""
    _setup_logging()
    from bot.web.app import run_web

    run_web(_store(store), host=host, port=port)  # builds its own services


@app.command("telegram")
def telegram_command(
    store: StoreOpt = None,
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help=messages.CLI_OPT_WEBHOOK_URL)] = None,
    listen: Annotated[str, typer.Option("--listen", help=messages.CLI_OPT_WEBHOOK_LISTEN)] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help=messages.CLI_OPT_WEBHOOK_PORT)] = 8443,
    secret: Annotated[str | None, typer.Option("--secret", help=messages.CLI_OPT_WEBHOOK_SECRET)] = None,
) -> None:
    """Telegram 机器人（TELEGRAM_BOT_TOKEN）。"""
    from bot.telegram_bot import run_telegram

    raise typer.Exit(run_telegram(_store(store), webhook_url=webhook_url, listen=listen, port=port, secret=secret))


def start_messengers(services) -> list[threading.Thread]:
    """Start each configured messenger adapter in a thread of its own; one line for each one left off."""
    s = services.settings
    adapters = [  # (thread name, shown name, configured, module, runner, where it listens, settings to set)
        ("dingtalk", "钉钉机器人", s.govbot_dingtalk_client_id and s.govbot_dingtalk_client_secret,
         "bot.channels.dingtalk", "run_dingtalk", "Stream 模式连接中",
         "GOVBOT_DINGTALK_CLIENT_ID / GOVBOT_DINGTALK_CLIENT_SECRET"),
        ("feishu", "飞书机器人", s.govbot_feishu_app_id and s.govbot_feishu_app_secret,
         "bot.channels.feishu", "run_feishu",
         f"事件回调 http://{s.govbot_feishu_listen}:{s.govbot_feishu_port}/feishu/events",
         "GOVBOT_FEISHU_APP_ID / GOVBOT_FEISHU_APP_SECRET"),
        ("wecom", "企业微信应用", all((s.govbot_wecom_corp_id, s.govbot_wecom_agent_id, s.govbot_wecom_secret,
                                   s.govbot_wecom_token, s.govbot_wecom_aes_key)),
         "bot.channels.wecom", "run_wecom", f"回调 http://{s.govbot_wecom_listen}:{s.govbot_wecom_port}/wecom/callback",
         "GOVBOT_WECOM_CORP_ID / AGENT_ID / SECRET / TOKEN / AES_KEY"),
    ]
    started = []
    for name, shown, configured, module, runner, where, keys in adapters:
        if not configured:
            err.print(f"未设置 {keys}，不启动{shown}")
            continue
        try:
            run = getattr(importlib.import_module(module), runner)
        except ImportError as exc:  # the SDKs are an optional extra
            err.print(f"[yellow]{shown}未启动：缺少 SDK（pip install -e \".[messengers]\"）：{exc}[/yellow]")
            continue
        thread = threading.Thread(target=asyncio.run, args=(run(services),), daemon=True, name=name)
        thread.start()
        started.append(thread)
        err.print(f"{shown}：{where}")
    return started


@app.command("serve")
def serve_command(store: StoreOpt = None, host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """导入自带知识库（$GOVBOT_KNOWLEDGE_DIR），然后提供网页；设置了 TELEGRAM_BOT_TOKEN 时同时运行机器人。"""
    _setup_logging()
    from bot.services.container import build_services
    from ingest.embeddings import EmbedderError
    from ingest.index import IngestLocked

    settings = get_settings()
    store_dir = _store(store)
    try:
        summary = run_ingest([settings.govbot_knowledge_dir], store_dir)
    except (IngestLocked, EmbedderError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    print_summary(summary, err)  # bad files are reported; the rest of the knowledge base still serves
    # One engine and one admin service for the whole process: web and bot share them (and the lock).
    services = build_services(store_dir, settings)
    start_messengers(services)  # DingTalk, Feishu, WeCom: each SDK runs its own loop, in a thread of its own
    raise typer.Exit(asyncio.run(serve_loop(services, host, port)))


def _say(*lines: str, style: str | None = None) -> None:
    for line in lines:  # plain and whole: a reason may hold brackets that rich would take for markup
        err.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def _embedded_bot(services: Services) -> EmbeddedBot | None:
    """The Telegram bot for the serve loop, or None (no token, or a setting is wrong: said why)."""
    if not (services.settings.telegram_bot_token or "").strip():
        _say(messages.SERVE_NO_TOKEN)
        return None
    from bot.telegram.app import embedded_bot

    try:
        return embedded_bot(services)
    except ValueError as exc:
        _say(str(exc), messages.SERVE_TELEGRAM_OFF, style="yellow")
        return None


async def serve_loop(services: Services, host: str, port: int, stop: asyncio.Event | None = None) -> int:
    """`govbot serve` in one event loop: uvicorn serves the web app while the Telegram bot polls, or takes
    its updates through the web app's webhook route (GOVBOT_TELEGRAM_WEBHOOK_URL).

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
    bot = _embedded_bot(services)
    hook = TelegramWebhook(bot.path, bot.secret, bot.feed) if bot and bot.path and bot.secret else None
    web_app = create_app(services.engine, services.settings, services.store_dir, services.feedback,
                         admin=services.admin, telegram_webhook=hook)
    server = uvicorn.Server(uvicorn.Config(web_app, host=host, port=port, log_level="info"))
    web = asyncio.create_task(server.serve(), name="web")
    _say(messages.SERVE_WEB.format(host=host, port=port))
    try:
        if bot:
            problem = await bot.start()
            if problem:
                _say(problem, messages.SERVE_TELEGRAM_OFF, style="yellow")
                bot = None
            else:
                _say(messages.SERVE_WEBHOOK.format(url=bot.webhook_url, path=bot.path) if hook
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


@app.command("match")
def match_command(
    profile: Annotated[Path, typer.Option("--profile", help=messages.CLI_OPT_PROFILE)],
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON)] = False,
) -> None:
    """按企业档案匹配政策：符合条件、差一项条件（指明哪一项）、信息不足和不适用。"""
    _setup_logging()
    from bot.matcher import MatchResult, load_policies, load_profile, match, render_text
    from bot.matcher import as_json as result_json

    policies, source = load_policies(_store(store), get_settings().govbot_knowledge_dir)
    err.print(source, markup=False, highlight=False, soft_wrap=True)
    parsed, errors = load_profile(profile, policies)
    result = match(parsed, policies) if parsed is not None else MatchResult()
    result.profile_errors = errors
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False))
    else:
        typer.echo(render_text(result))
    if not policies:
        _say(messages.CLI_MATCH_NO_POLICIES, style="yellow")
    raise typer.Exit(1 if errors or not policies else 0)


if __name__ == "__main__":
    app()

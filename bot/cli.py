"""`govbot` command line: ingest, check, ask, eval, serve and the channels."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
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
    from ingest.pipeline import IngestSummary

app = typer.Typer(add_completion=False, no_args_is_help=True, help=messages.BOT_NAME)
# Progress and logs go to standard error: standard output belongs to the command's result.
err = Console(stderr=True)
out = Console()

StoreOpt = Annotated[Path | None, typer.Option("--store", help=messages.ARG_STORE)]


def _store(store: Path | None) -> Path:
    return store or get_settings().store_dir


def _setup_logging() -> None:
    from bot.privacy import install_log_masking

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Every log record of the process (uvicorn's access log too) with ID, phone and card numbers masked.
    install_log_masking()
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
    """Start each configured messenger adapter in a thread of its own; one line for each one left off.

    Each running adapter registers itself in bot.channels (with its thread's event loop), so other code of
    this process reaches it with `await bot.channels.push(platform, chat_id, reply)`.
    """
    s = services.settings
    feishu_where = (messages.MESSENGER_FEISHU_WS.format(domain=s.govbot_feishu_domain) if s.feishu_mode == "ws"
                    else messages.MESSENGER_FEISHU_CALLBACK.format(listen=s.govbot_feishu_listen,
                                                                   port=s.govbot_feishu_port))
    adapters = [  # (thread name, shown name, configured, module, runner, where it listens, settings to set)
        ("dingtalk", "钉钉机器人", s.govbot_dingtalk_client_id and s.govbot_dingtalk_client_secret,
         "bot.channels.dingtalk", "run_dingtalk",
         messages.MESSENGER_DINGTALK_CARDS if s.govbot_dingtalk_cards else messages.MESSENGER_DINGTALK_STREAM,
         "GOVBOT_DINGTALK_CLIENT_ID / GOVBOT_DINGTALK_CLIENT_SECRET"),
        ("feishu", "飞书机器人", s.govbot_feishu_app_id and s.govbot_feishu_app_secret,
         "bot.channels.feishu", "run_feishu", feishu_where,
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
    if started:  # 转人工: new tickets to the staff chats, staff replies to the users (bot/channels/handoff.py)
        from bot.channels.handoff import run_delivery

        threading.Thread(target=asyncio.run, args=(run_delivery(services, [t.name for t in started]),),
                         daemon=True, name="handoff").start()
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
    start_retention(services)  # a daily purge thread (GOVBOT_RETENTION_DAYS)
    start_messengers(services)  # DingTalk, Feishu, WeCom: each SDK runs its own loop, in a thread of its own
    from bot.serving import serve_loop

    raise typer.Exit(asyncio.run(serve_loop(services, host, port)))


def _say(*lines: str, style: str | None = None) -> None:
    for line in lines:  # plain and whole: a reason may hold brackets that rich would take for markup
        err.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


# ----- privacy, retention and sensitive words (issue 15) -----


def start_retention(services) -> None:
    """Purge old questions now and once a day (GOVBOT_RETENTION_DAYS; 0 keeps everything)."""
    from bot.services.retention import start_daily_purge

    days = services.settings.govbot_retention_days
    started = start_daily_purge(services.feedback.db, days)
    err.print(messages.RETENTION_ON.format(days=days) if started else messages.RETENTION_OFF)


@app.command("purge")
def purge_command(
    days: Annotated[int | None, typer.Option("--days", min=0, help="保留天数（默认 GOVBOT_RETENTION_DAYS）")] = None,
) -> None:
    """删除超过保留天数的提问、反馈等记录（含个人信息的表）。"""
    _setup_logging()
    from bot.database import open_database
    from bot.services.retention import purge

    settings = get_settings()
    keep = settings.govbot_retention_days if days is None else days
    if keep == 0:
        typer.echo(messages.PURGE_OFF)
        return
    deleted = purge(open_database(settings.database_url), keep)
    if any(deleted.values()):
        counts = "，".join(f"{name} {n} 条" for name, n in deleted.items() if n)
        typer.echo(messages.PURGE_DONE.format(days=keep, counts=counts))
    else:
        typer.echo(messages.PURGE_NOTHING.format(days=keep))


sensitive_app = typer.Typer(help="敏感词列表（与网页管理后台 /admin/sensitive 共用数据库）", no_args_is_help=True)
app.add_typer(sensitive_app, name="sensitive")
WordsArg = Annotated[list[str], typer.Argument(help="一个或多个词")]


def _sensitive():
    from bot.database import open_database
    from bot.services.sensitive import SensitiveWords

    return SensitiveWords(open_database(get_settings().database_url))


def _print_change(change) -> None:
    for word, reason in change.rejected:
        err.print(messages.SENSITIVE_CLI_REJECTED.format(word=word, reason=reason), markup=False, highlight=False)
    if change.added:
        typer.echo(messages.SENSITIVE_CLI_ADDED.format(words="、".join(change.added)))
    if change.removed:
        typer.echo(messages.SENSITIVE_CLI_REMOVED.format(words="、".join(change.removed)))
    if not (change.added or change.removed):
        typer.echo(messages.SENSITIVE_CLI_UNCHANGED)
    if change.rejected:
        raise typer.Exit(1)


@sensitive_app.command("list")
def sensitive_list() -> None:
    """列出敏感词，每行一个。"""
    words = _sensitive().words()
    for word in words:
        typer.echo(word)
    err.print(messages.SENSITIVE_CLI_COUNT.format(n=len(words)) if words else messages.SENSITIVE_CLI_EMPTY)


@sensitive_app.command("add")
def sensitive_add(words: WordsArg) -> None:
    """添加敏感词（繁简、全半角、大小写、字间空格和标点都视为同一个词）。"""
    _print_change(_sensitive().add(words, by="cli"))


@sensitive_app.command("remove")
def sensitive_remove(words: WordsArg) -> None:
    """删除敏感词。"""
    _print_change(_sensitive().remove(words))


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


# ----- govbot report: the unanswered queue (issue 15, helper "queue") -----


def _choice(option: str, value: str, choices: dict[str, str]) -> str:
    if value and value not in choices:
        err.print(messages.REPORT_BAD_OPTION.format(option=option, value=value, choices="、".join(choices)),
                  markup=False)
        raise typer.Exit(2)
    return value


@app.command("report", help=messages.REPORT_HELP)
def report_command(
    days: Annotated[int, typer.Option("--days", min=1, help="最近几天（默认 30）")] = 30,
    channel: Annotated[str, typer.Option("--channel", help="渠道：web、telegram、dingtalk、feishu、wecom")] = "",
    reason: Annotated[str, typer.Option("--reason", help="原因：refused、not_stated、downvote")] = "",
    status: Annotated[str, typer.Option("--status", help="状态：open、resolved")] = "",
    item: Annotated[str, typer.Option("--item", help="相近事项的编号")] = "",
    csv_path: Annotated[Path | None, typer.Option("--csv", help="另把符合条件的记录导出为 CSV 文件")] = None,
) -> None:
    from bot.database import open_database
    from bot.intent import INTENTS
    from bot.services.unanswered import QueueFilter, UnansweredStore

    flt = QueueFilter(days=days, channel=_choice("--channel", channel, messages.QUEUE_CHANNELS),
                      reason=_choice("--reason", reason, messages.QUEUE_REASONS),
                      status=_choice("--status", status, messages.QUEUE_STATUSES), record_id=item)
    store = UnansweredStore(open_database(get_settings().database_url))
    groups = store.groups(flt)
    total = sum(g.count for g in groups)
    if not groups:
        out.print(messages.REPORT_EMPTY)
    else:
        table = Table(title=messages.REPORT_TITLE.format(count=total))
        for i, column in enumerate(messages.REPORT_COLUMNS):
            table.add_column(column, overflow="fold", no_wrap=i == 0)  # an item id stays one searchable word
        for g in groups:
            label = INTENTS[g.intent].label if g.intent in INTENTS else g.intent
            table.add_row(g.record_id or messages.QUEUE_NO_ITEM, label, str(g.count), str(g.open),
                          g.last_at.strftime("%Y-%m-%d %H:%M"), "；".join(g.questions))
        out.print(table)
        trend = Table(title=messages.REPORT_TREND.format(days=min(days, 30)), show_header=False, box=None)
        per_day = store.per_day(flt, days=min(days, 30))
        peak = max(n for _, n in per_day) or 1
        for day, n in per_day:
            trend.add_row(day, "█" * max(1 if n else 0, round(30 * n / peak)), str(n))
        out.print(trend)
    if csv_path is not None:
        rows = store.entries(flt)
        try:
            csv_path.write_text(store.csv_text(flt), encoding="utf-8")
        except OSError as exc:
            err.print(messages.REPORT_CSV_FAILED.format(path=csv_path, reason=exc), markup=False)
            raise typer.Exit(1) from exc
        err.print(messages.REPORT_CSV_WRITTEN.format(count=len(rows), path=csv_path), markup=False)


if __name__ == "__main__":
    app()

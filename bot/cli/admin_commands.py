"""`govbot purge`, `govbot sensitive list|add|remove` and `govbot report`: the records an operator keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot import messages
from bot.cli.common import err, out, setup_logging
from ingest.settings import get_settings

# ----- privacy, retention and sensitive words (issue 15) -----


def purge_command(
    days: Annotated[int | None, typer.Option("--days", min=0, help=messages.PURGE_OPT_DAYS)] = None,
) -> None:
    setup_logging()
    from bot.database import open_database
    from bot.services.retention import purge

    settings = get_settings()
    keep = settings.govbot_retention_days if days is None else days
    if keep == 0:
        typer.echo(messages.PURGE_OFF)
        return
    deleted = purge(open_database(settings.database_url), keep)
    if any(deleted.values()):
        counts = "，".join(messages.PURGE_COUNT.format(name=name, n=n) for name, n in deleted.items() if n)
        typer.echo(messages.PURGE_DONE.format(days=keep, counts=counts))
    else:
        typer.echo(messages.PURGE_NOTHING.format(days=keep))


sensitive_app = typer.Typer(help=messages.SENSITIVE_CLI_HELP, no_args_is_help=True)
WordsArg = Annotated[list[str], typer.Argument(help=messages.SENSITIVE_CLI_WORDS)]


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


@sensitive_app.command("list", help=messages.SENSITIVE_CLI_LIST_HELP)
def sensitive_list() -> None:
    words = _sensitive().words()
    for word in words:
        typer.echo(word)
    err.print(messages.SENSITIVE_CLI_COUNT.format(n=len(words)) if words else messages.SENSITIVE_CLI_EMPTY)


@sensitive_app.command("add", help=messages.SENSITIVE_CLI_ADD_HELP)
def sensitive_add(words: WordsArg) -> None:
    _print_change(_sensitive().add(words, by="cli"))


@sensitive_app.command("remove", help=messages.SENSITIVE_CLI_REMOVE_HELP)
def sensitive_remove(words: WordsArg) -> None:
    _print_change(_sensitive().remove(words))


# ----- govbot report: the unanswered queue (issue 15, helper "queue") -----


def _choice(option: str, value: str, choices: dict[str, str]) -> str:
    if value and value not in choices:
        err.print(messages.REPORT_BAD_OPTION.format(option=option, value=value, choices="、".join(choices)),
                  markup=False)
        raise typer.Exit(2)
    return value


def report_command(
    days: Annotated[int, typer.Option("--days", min=1, help=messages.REPORT_OPT_DAYS)] = 30,
    channel: Annotated[str, typer.Option("--channel", help=messages.REPORT_OPT_CHANNEL)] = "",
    reason: Annotated[str, typer.Option("--reason", help=messages.REPORT_OPT_REASON)] = "",
    status: Annotated[str, typer.Option("--status", help=messages.REPORT_OPT_STATUS)] = "",
    item: Annotated[str, typer.Option("--item", help=messages.REPORT_OPT_ITEM)] = "",
    csv_path: Annotated[Path | None, typer.Option("--csv", help=messages.REPORT_OPT_CSV)] = None,
) -> None:
    from bot.database import open_database
    from bot.services.unanswered import QueueFilter, UnansweredStore

    flt = QueueFilter(days=days, channel=_choice("--channel", channel, messages.QUEUE_CHANNELS),
                      reason=_choice("--reason", reason, messages.QUEUE_REASONS),
                      status=_choice("--status", status, messages.QUEUE_STATUSES), record_id=item)
    store = UnansweredStore(open_database(get_settings().database_url))
    _print_report(store, flt, days)
    if csv_path is not None:
        rows = store.entries(flt)
        try:
            csv_path.write_text(store.csv_text(flt), encoding="utf-8")
        except OSError as exc:
            err.print(messages.REPORT_CSV_FAILED.format(path=csv_path, reason=exc), markup=False)
            raise typer.Exit(1) from exc
        err.print(messages.REPORT_CSV_WRITTEN.format(count=len(rows), path=csv_path), markup=False)


def _print_report(store, flt, days: int) -> None:
    """The groups table and the daily trend (at most 30 days), or one line when nothing matches."""
    from bot.intent import INTENTS

    groups = store.groups(flt)
    if not groups:
        out.print(messages.REPORT_EMPTY)
        return
    table = Table(title=messages.REPORT_TITLE.format(count=sum(g.count for g in groups)))
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

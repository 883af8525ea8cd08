"""`govbot ingest` and `govbot check`, and the ingest with a progress bar that `serve` runs too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot import messages
from bot.cli.common import StoreOpt, err, out, setup_logging, store_path
from ingest.settings import get_settings

if TYPE_CHECKING:
    from bot.services.admin import AdminService
    from ingest.pipeline import IngestSummary


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
                          + (messages.CLI_INGEST_REASON.format(reason=f.reason) if f.reason else ""),
                          markup=False, highlight=False, soft_wrap=True)
    console.print(messages.CLI_INGEST_TOTALS.format(
        generation=summary.generation or messages.CLI_NO_GENERATION, records=summary.records, chunks=summary.chunks,
        embedded=summary.embedded, embedder=summary.embedder, seconds=summary.seconds), soft_wrap=True)


def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help=messages.CLI_OPT_PATHS)],
    store: StoreOpt = None,
    prune: Annotated[bool, typer.Option("--prune", help=messages.CLI_OPT_PRUNE)] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help=messages.CLI_OPT_REBUILD)] = False,
) -> None:
    setup_logging()
    from ingest.embeddings import EmbedderError
    from ingest.index import IngestLocked

    try:
        summary = run_ingest(paths, store_path(store), prune=prune, rebuild=rebuild)
    except (IngestLocked, EmbedderError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    print_summary(summary, out)
    raise typer.Exit(1 if summary.failed else 0)


def check_command(
    paths: Annotated[list[Path], typer.Argument(help=messages.CLI_OPT_PATHS)],
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON)] = False,
) -> None:
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

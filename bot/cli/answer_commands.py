"""`govbot ask`, `eval`, `fit` and `match`: questions and company profiles from the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot import messages
from bot.cli.common import StoreOpt, err, out, say, setup_logging, store_path
from ingest.settings import get_settings


def _print_answer(result) -> None:
    out.print(result.answer, markup=False, highlight=False)
    if result.suggestions:
        out.print("\n" + messages.CLI_SUGGESTIONS + " · ".join(result.suggestions), markup=False, highlight=False)


def ask_command(
    question: Annotated[str, typer.Argument(help=messages.CLI_OPT_QUESTION)],
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON_LINES)] = False,
    session: Annotated[bool, typer.Option("--session", help=messages.CLI_OPT_SESSION)] = False,
) -> None:
    setup_logging()
    from bot.asking import ask_line
    from bot.engine import Engine

    engine = Engine(store_path(store))
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


def _progress(msg: str) -> None:
    err.print(msg, markup=False, highlight=False, soft_wrap=True)


def eval_command(
    file: Annotated[Path | None, typer.Argument(help=messages.CLI_OPT_EVAL_FILE)] = None,
    dev_dir: Annotated[Path, typer.Option("--dev-dir", help=messages.CLI_OPT_DEV_DIR)] = Path("../shared/eval"),
    store: Annotated[Path | None, typer.Option("--store", help=messages.CLI_OPT_EVAL_STORE)] = None,
    knowledge: Annotated[Path | None, typer.Option("--knowledge", help=messages.CLI_OPT_EVAL_KNOWLEDGE)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON_OBJECT)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help=messages.CLI_OPT_VERBOSE)] = False,
) -> None:
    setup_logging()
    from bot.evaluation import run_all, summary_table

    if file is not None:
        _eval_one(file, as_json)
        return
    result = run_all(dev_dir, store=store, knowledge=knowledge, progress=_progress, details=verbose)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        out.print(summary_table(result))
    nothing_ran = all(result[name] is None for name in ("retrieval", "answers", "realq"))
    if nothing_ran and not result["errors"]:
        say(messages.CLI_EVAL_NOTHING.format(folder=dev_dir), style="red")
    if result["errors"] or nothing_ran:
        raise typer.Exit(2)


def _eval_one(file: Path, as_json: bool) -> None:
    """`govbot eval FILE`: one retrieval set; exit 2 when it cannot be read."""
    from bot.evaluation import evaluate

    try:
        scores = evaluate(file, progress=_progress)
    except (OSError, ValueError, KeyError) as exc:
        say(messages.CLI_EVAL_UNREADABLE.format(file=file, reason=exc), style="red")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(scores, ensure_ascii=False))
        return
    out.print(retrieval_table(scores))


def retrieval_table(scores: dict) -> Table:
    table = Table(title=messages.CLI_EVAL_TITLE.format(n=scores["n"]))
    for column in (messages.CLI_EVAL_TAG, "n", "R@1", "R@5", "MRR@10"):
        table.add_column(column, justify="right")
    table.add_row(messages.CLI_EVAL_OVERALL, str(scores["n"]), f"{scores['r1']:.3f}", f"{scores['r5']:.3f}", f"{scores['mrr10']:.3f}")
    for tag, s in sorted(scores["by_tag"].items()):
        table.add_row(tag, str(s["n"]), f"{s['r1']:.3f}", f"{s['r5']:.3f}", f"{s['mrr10']:.3f}")
    return table


def fit_command(
    dev_dir: Annotated[Path, typer.Option("--dev-dir", help=messages.CLI_OPT_FIT_DEV_DIR)] = Path("../shared/eval"),
    knowledge: Annotated[Path, typer.Option("--knowledge", help=messages.CLI_OPT_KNOWLEDGE)] = Path("knowledge"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help=messages.CLI_OPT_DRY_RUN)] = False,
    rows_cache: Annotated[Path | None, typer.Option("--rows-cache", help=messages.CLI_OPT_ROWS_CACHE)] = None,
) -> None:
    from bot.fitting import run

    setup_logging()
    report = run(dev_dir, knowledge, write=not dry_run, rows_cache=rows_cache)
    print(json.dumps(report, ensure_ascii=False, indent=1))


def match_command(
    profile: Annotated[Path, typer.Option("--profile", help=messages.CLI_OPT_PROFILE)],
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help=messages.CLI_OPT_JSON)] = False,
) -> None:
    setup_logging()
    from bot.matcher import MatchResult, load_policies, load_profile, match, render_text
    from bot.matcher import as_json as result_json

    policies, source = load_policies(store_path(store), get_settings().govbot_knowledge_dir)
    err.print(source, markup=False, highlight=False, soft_wrap=True)
    parsed, errors = load_profile(profile, policies)
    result = match(parsed, policies) if parsed is not None else MatchResult()
    result.profile_errors = errors
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False))
    else:
        typer.echo(render_text(result))
    if not policies:
        say(messages.CLI_MATCH_NO_POLICIES, style="yellow")
    raise typer.Exit(1 if errors or not policies else 0)

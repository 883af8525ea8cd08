"""What every `govbot` command shares: the consoles, the common options, the store and the logging set-up."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot import messages
from ingest.settings import get_settings

# Progress and logs go to standard error: standard output belongs to the command's result.
err = Console(stderr=True)
out = Console()

StoreOpt = Annotated[Path | None, typer.Option("--store", help=messages.ARG_STORE)]
HostOpt = Annotated[str, typer.Option("--host", help=messages.CLI_OPT_HOST)]
PortOpt = Annotated[int, typer.Option("--port", help=messages.CLI_OPT_PORT)]


def store_path(store: Path | None) -> Path:
    """The --store given, else the configured index directory."""
    return store or get_settings().store_dir


def setup_logging() -> None:
    from bot.privacy import install_log_masking

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Every log record of the process (uvicorn's access log too) with ID, phone and card numbers masked.
    install_log_masking()
    # bm25s logs every index build at DEBUG and sets that level when imported: import it first.
    import bm25s  # noqa: F401

    logging.getLogger("bm25s").setLevel(logging.WARNING)


def say(*lines: str, style: str | None = None) -> None:
    for line in lines:  # plain and whole: a reason may hold brackets that rich would take for markup
        err.print(line, style=style, markup=False, highlight=False, soft_wrap=True)

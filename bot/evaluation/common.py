"""What the evaluations share: a throw-away index, an engine over it, the kits' own scripts."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from ingest.settings import get_settings

Progress = Callable[[str], None]
EngineFactory = Callable[[Path], Any]


def quiet(_: str) -> None:
    pass


def embedder_spec(embedder: str | None = None) -> str:
    return embedder or get_settings().govbot_embedding


def eval_engine(store: Path) -> Any:
    """An engine over a local evaluation index: never a Chroma server, even when one is configured."""
    from bot.engine import Engine

    settings = get_settings().model_copy(update={"chroma_host": None})
    return Engine(store, settings=settings)


def ingest_into(paths: list[Path], store: Path, embedder: str | None = None):
    """Ingest like `govbot ingest` (configured embedder and size cap), into an embedded Chroma."""
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    settings = get_settings()
    return ingest(paths, store, load_embeddings(embedder_spec(embedder)),
                  max_bytes=settings.govbot_max_file_mb * 1024 * 1024)


@contextmanager
def temporary_store(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp) / "index"


def load_script(path: Path, name: str) -> ModuleType:
    """Import a kit's scorer from its own file (it is a script, not an installed module)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and friends look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def failed_files(summary) -> list[str]:
    return [f"{f.path}: {f.reason}" for f in summary.failed]

"""Shared fixtures: one ingest of the bundled knowledge per test session (it embeds ~1,000 chunks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def kb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of knowledge/ built by the real pipeline with the default embedder. Treat as read-only."""
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    store = tmp_path_factory.mktemp("kb") / "index"
    summary = ingest([KNOWLEDGE], store, load_embeddings("e5"))
    assert not summary.failed, [(f.path, f.reason) for f in summary.failed]
    return store


@pytest.fixture(scope="session")
def engine(kb_store: Path):
    from bot.engine import Engine

    return Engine(kb_store)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh GOVBOT_HOME with settings re-read from the environment."""
    from ingest.settings import get_settings

    monkeypatch.setenv("GOVBOT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()

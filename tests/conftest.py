"""Shared fixtures, each ingested once per test session.

- ``small_store`` / ``small_engine``: the 11 synthetic items of tests/fixtures/kb with the ``hash``
  embedder. Same vectors, same scores, same answers on every machine: engine behaviour tests go here.
- ``kb_store`` / ``engine``: the whole knowledge/ with the default e5 embedder (~1,000 chunks), for
  integration tests about the shipped knowledge base. Dense scores differ in the last digits from one
  CPU to another, so tests over it must not hinge on close calls.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Policy validity is judged on a fixed day, never the wall clock (issue 11).
os.environ.setdefault("GOVBOT_TODAY", "2026-12-01")

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
FIXTURE_KB = ROOT / "tests" / "fixtures" / "kb"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of tests/fixtures/kb made with the deterministic hash embedder. Treat as read-only."""
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    store = tmp_path_factory.mktemp("small-kb") / "index"
    summary = ingest([FIXTURE_KB], store, load_embeddings("hash"))
    assert not summary.failed, [(f.path, f.reason) for f in summary.failed]
    assert summary.embedder == "hash"
    return store


@pytest.fixture(scope="session")
def small_engine(small_store: Path):
    from bot.engine import Engine

    return Engine(small_store)


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


@pytest.fixture
def before_expiry(monkeypatch: pytest.MonkeyPatch):
    """Judge policies on 2025-06-01, while the 2025 employment policies (ended 2025-12-31) were in force.

    For channel tests that use 一次性扩岗补助 as their example of a matchable policy.
    """
    from ingest.settings import get_settings

    monkeypatch.setenv("GOVBOT_TODAY", "2025-06-01")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A throwaway PostgreSQL server on 127.0.0.1 (scripts/postgres-throwaway.sh); its admin database URL.

    Skips only when PostgreSQL's binaries are absent; scripts/test.sh installs them, so CI runs these tests.
    """
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "postgres-throwaway.sh")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url:
        proc.wait(timeout=60)
        reason = proc.stderr.read().strip()
        if proc.returncode == 3:
            pytest.skip(f"PostgreSQL not installed (apt-get install postgresql): {reason}")
        raise RuntimeError(f"PostgreSQL did not start: {reason}")
    yield url
    proc.terminate()
    proc.wait(timeout=60)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the throwaway server."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres_server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test twice: on a SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    return request.getfixturevalue("postgres_url")

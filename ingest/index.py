"""Index generations on disk: write one completely, then make it current with an atomic rename.

Layout under the store directory::

    CURRENT                      name of the serving generation (replaced atomically)
    ingest.lock                  held by the one running ingest
    generations/<name>/          records.jsonl, chunks.jsonl, vectors.npy, bm25/, chroma/, manifest.json

A generation is written at its final path and ``manifest.json`` is written last: a directory
without it is half-written (an ingest that died) and is swept by the next ingest. Readers only
follow ``CURRENT``, which is switched by ``os.replace`` once the generation is complete. (Writing
at the final path rather than renaming a temporary directory keeps Chroma's embedded client,
which caches open databases by path, pointing at the right files.)

The Chroma collection of a generation lives in its ``chroma/`` directory (embedded) or, with
``CHROMA_HOST`` set, on the Chroma server under the name ``govbot-<name>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import bm25s
import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_core.documents import Document

from ingest.schema import Record
from ingest.textnorm import char_tokens

CURRENT = "CURRENT"
GENERATIONS = "generations"
KEEP_GENERATIONS = 2  # the current one and the one before, which a reader may still have open
CHROMA_BATCH = 5000  # below Chroma's maximum batch size of 5461
# Chroma's client creation shares process-wide caches and is not thread-safe: concurrent first
# questions raised AttributeError / "Could not connect to tenant" (reliability F5).
_CHROMA_OPEN = threading.Lock()


class IngestLocked(RuntimeError):
    pass


@dataclass
class ChromaLocation:
    """Where collections live: embedded under the generation directory, or a Chroma server."""

    host: str | None = None
    port: int = 8000

    def client(self, generation_dir: Path) -> Any:
        settings = ChromaSettings(anonymized_telemetry=False)
        if self.host:
            return chromadb.HttpClient(host=self.host, port=self.port, settings=settings)
        return chromadb.PersistentClient(path=str(generation_dir / "chroma"), settings=settings)

    @staticmethod
    def collection_name(generation_name: str) -> str:
        return f"govbot-{generation_name}"


@contextlib.contextmanager
def ingest_lock(store_dir: Path) -> Iterator[None]:
    """One ingest at a time; the OS drops the lock if the process dies, so SIGKILL never wedges it."""
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / "ingest.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestLocked(f"另一个导入正在进行（{store_dir}），请等它结束后再试。") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_name(store_dir: Path) -> str | None:
    try:
        name = (store_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def current_dir(store_dir: Path) -> Path | None:
    name = current_name(store_dir)
    return store_dir / GENERATIONS / name if name else None


@dataclass
class Generation:
    """One complete, immutable index generation as read back from disk."""

    name: str
    path: Path
    manifest: dict[str, Any]
    records: dict[str, Record]
    chunks: list[Document]
    vectors: np.ndarray
    bm25: bm25s.BM25 | None = None
    _collection: Any = field(default=None, repr=False)

    @property
    def embedder(self) -> str:
        return self.manifest["embedder"]

    def collection(self, location: ChromaLocation) -> Any:
        if self._collection is None:
            with _CHROMA_OPEN:
                if self._collection is None:
                    client = location.client(self.path)
                    # embedding_function=None: we always pass vectors; Chroma's default model would download.
                    self._collection = client.get_collection(
                        ChromaLocation.collection_name(self.name), embedding_function=None
                    )
        return self._collection


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_generation(path: Path, with_bm25: bool = True) -> Generation:
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    records = {r["id"]: Record.model_validate(r) for r in read_jsonl(path / "records.jsonl")}
    chunks = [Document(**c) for c in read_jsonl(path / "chunks.jsonl")]
    vectors = np.load(path / "vectors.npy")
    bm25 = bm25s.BM25.load(str(path / "bm25"), load_vocab=True) if with_bm25 and chunks else None
    return Generation(path.name, path, manifest, records, chunks, vectors, bm25)


def open_current(store_dir: Path, with_bm25: bool = True) -> Generation | None:
    path = current_dir(store_dir)
    if path is None or not (path / "manifest.json").exists():
        return None
    return load_generation(path, with_bm25=with_bm25)


def previous_names(store_dir: Path, before: str) -> list[str]:
    """Complete generations older than ``before``, newest first: where to fall back when it is damaged."""
    generations = store_dir / GENERATIONS
    if not generations.is_dir():
        return []
    names = sorted((p.name for p in generations.iterdir() if (p / "manifest.json").is_file()), reverse=True)
    return [n for n in names if n < before]


def write_generation(
    store_dir: Path,
    manifest: dict[str, Any],
    records: list[Record],
    chunks: list[Document],
    vectors: np.ndarray,
    location: ChromaLocation,
) -> str:
    """Write a complete generation, then make it current. Returns its name."""
    generations = store_dir / GENERATIONS
    generations.mkdir(parents=True, exist_ok=True)
    # Names sort in creation order (the sweep relies on it), down to the microsecond, because
    # two ingests can finish within one second.
    name = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = generations / name
    target.mkdir()
    _write_data(target, records, chunks, vectors)
    if chunks:
        _write_search(target, name, chunks, vectors, location)
    # Data on disk before the manifest says the generation is complete, and before CURRENT points at
    # it: after a power loss a manifest with empty data files would break every request (F19).
    _fsync_tree(target)
    _write_manifest(target, {**manifest, "name": name, "chroma": {"host": location.host, "port": location.port}})
    _switch_current(store_dir, name)
    return name


def _write_data(target: Path, records: list[Record], chunks: list[Document], vectors: np.ndarray) -> None:
    with open(target / "records.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json() + "\n")
    with open(target / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.model_dump(include={"id", "page_content", "metadata"}),
                                    ensure_ascii=False) + "\n")
    np.save(target / "vectors.npy", vectors.astype(np.float32))


def _write_search(target: Path, name: str, chunks: list[Document], vectors: np.ndarray,
                  location: ChromaLocation) -> None:
    """The BM25 index in the generation's folder and the vectors in a new Chroma collection."""
    retriever = bm25s.BM25()
    retriever.index([char_tokens(c.page_content) for c in chunks], show_progress=False)
    retriever.save(str(target / "bm25"), show_progress=False)

    # On a server nothing points at the new collection until CURRENT does.
    client = location.client(target)
    collection = client.create_collection(
        ChromaLocation.collection_name(name),
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
    )
    for start in range(0, len(chunks), CHROMA_BATCH):
        batch = chunks[start : start + CHROMA_BATCH]
        collection.add(
            ids=[c.id for c in batch],
            embeddings=vectors[start : start + len(batch)],
            documents=[c.page_content for c in batch],
            metadatas=[{k: v for k, v in c.metadata.items() if k != "hash"} for c in batch],
        )
    del collection, client


def _write_manifest(target: Path, manifest: dict[str, Any]) -> None:
    with open(target / "manifest.json", "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, ensure_ascii=False, indent=1))
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(target)


def _switch_current(store_dir: Path, name: str) -> None:
    pointer = store_dir / f"{CURRENT}.tmp"
    pointer.write_text(name, encoding="utf-8")
    with open(pointer, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer, store_dir / CURRENT)  # the atomic switch
    _fsync_dir(store_dir)


def sweep(store_dir: Path, location: ChromaLocation) -> None:
    """Remove half-written and old generations (call with the ingest lock held)."""
    generations = store_dir / GENERATIONS
    if not generations.exists():
        return
    current = current_name(store_dir)
    complete, half_written = [], []
    for path in sorted(p for p in generations.iterdir() if p.is_dir()):
        (complete if (path / "manifest.json").exists() else half_written).append(path)
    old = [p for p in complete[:-KEEP_GENERATIONS] if p.name != current]
    for path in old + [p for p in half_written if p.name != current]:
        if location.host:
            with contextlib.suppress(Exception):  # already gone is fine
                location.client(path).delete_collection(ChromaLocation.collection_name(path.name))
        shutil.rmtree(path, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (the directories so new names are durable too)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

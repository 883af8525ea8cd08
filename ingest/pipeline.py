"""The ingest run: walk files, load the changed ones, embed new chunks, write and switch a generation.

A file that fails keeps its previous version in the new generation; unchanged files reuse their
records and vectors; chunks are replaced by stable record id, so an edited or deleted file leaves
nothing of its old version behind.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.bundles import derive_all
from ingest.chunking import chunk_record
from ingest.embeddings import embedder_name, passage_recipe
from ingest.index import (
    ChromaLocation,
    Generation,
    ingest_lock,
    open_current,
    sweep,
    write_generation,
)
from ingest.loaders import MAX_FILE_BYTES, SUPPORTED_SUFFIXES, LoadError, load_file
from ingest.schema import Record
from ingest.textnorm import to_simplified

EMBED_BATCH = 32
# Bump when loaders or the guide parser read the same file into different records (2: a guide's
# 事项名称 field became an alias): an unchanged file is then read again once, so an index built by an
# older version gains what the new parser reads without --rebuild. Vectors are reused by chunk hash.
PARSER_VERSION = 2
Progress = Callable[[str, int, int], None]  # (stage, done, total)

STATUS_LABELS = {
    "added": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "removed": "移除",
    "failed": "失败",
    "missing": "源文件已删除（保留，使用 --prune 移除）",
}


@dataclass
class FileResult:
    path: str
    status: str  # added | updated | unchanged | removed | failed | missing
    reason: str = ""
    record_ids: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    files: list[FileResult]
    generation: str | None
    records: int
    chunks: int
    embedded: int
    seconds: float
    embedder: str

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files to ingest under the given paths; missing paths become failures, not exceptions."""
    files: list[Path] = []
    problems: list[FileResult] = []
    for path in paths:
        if path.is_dir():
            root = file_key(path)
            for candidate in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in candidate.relative_to(path).parts)
                # README.md files describe a folder for admins; they are not knowledge.
                if hidden or candidate.name.lower() == "readme.md" or candidate.is_dir():
                    continue
                if candidate.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                if os.path.commonpath([root, file_key(candidate)]) != root:
                    # A link out of the folder would publish whatever it points at (/etc/hostname).
                    problems.append(FileResult(str(candidate), "failed", "是指向导入目录之外的符号链接，"
                                               "出于安全考虑未导入"))
                    continue
                files.append(candidate)
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            problems.append(FileResult(str(path), "failed", "文件或目录不存在"))
    unique: dict[str, Path] = {}
    for f in files:
        unique.setdefault(file_key(f), f)
    return list(unique.values()), problems


def file_key(path: Path) -> str:
    """The file's real path. Never raises: a symlink loop keeps its own path (Path.resolve() would
    raise RuntimeError), so the loader can report it as one failed file."""
    try:
        return os.path.realpath(path)
    except (OSError, RuntimeError, ValueError):
        return os.path.abspath(path)


def document_id(path: Path) -> str:
    """Stable id for an unstructured file: the same path keeps the same id across re-ingests."""
    return "doc-" + hashlib.sha1(file_key(path).encode("utf-8")).hexdigest()[:12]


def file_hash(path: Path, max_bytes: int) -> str | None:
    """SHA-256 of a regular file of at most ``max_bytes``; None otherwise (the loader reports why).

    A FIFO would block forever and /dev/zero never ends, and both report size 0: only regular files
    are read, and never more than max_bytes + 1 bytes."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            return None
        digest.update(data)
        return digest.hexdigest()
    except OSError:
        return None


def ingest(
    paths: list[Path],
    store_dir: Path,
    embeddings: Embeddings,
    *,
    prune: bool = False,
    rebuild: bool = False,
    location: ChromaLocation | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    progress: Progress | None = None,
) -> IngestSummary:
    """Ingest ``paths`` into a new generation under ``store_dir`` and make it current.

    ``rebuild`` re-reads every named file and recomputes every vector (kept items included) and
    always writes a new generation; like a normal ingest it keeps a failing file's previous version
    and the items of files not named in this run.
    """
    location = location or ChromaLocation()
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    with ingest_lock(store_dir):
        sweep(store_dir, location)
        previous = open_current(store_dir, with_bm25=False)
        name = embedder_name(embeddings)
        recipe = passage_recipe(embeddings)
        same_vectors = previous is not None and (previous.embedder, previous.manifest.get("passages")) == (name, recipe)
        # Another model (other vector space) or another passage recipe: every vector is recomputed.
        previous_vectors = _vectors_by_hash(previous) if same_vectors and not rebuild else {}
        prev_files: dict[str, dict] = previous.manifest["files"] if previous else {}
        merge = _Merge(prev_files, _records_by_file(previous))

        files, merge.results = discover(paths)
        read = _read_all(files, prev_files, max_bytes, rebuild, report)
        seen = {file_key(p) for p in files}
        kept_elsewhere = [key for key in prev_files if key not in seen and (Path(key).exists() or not prune)]
        merge.add_read(read, kept_elsewhere)
        merge.add_not_named(seen, prune)
        results = merge.results

        changed = any(r.status in ("added", "updated", "removed") for r in results) or not same_vectors
        if previous is not None and not changed and not rebuild:
            # Nothing new to serve: keep the current generation rather than copy it.
            return IngestSummary(results, previous.name, len(previous.records), len(previous.chunks), 0,
                                 time.perf_counter() - started, name)
        if not merge.records and previous is None:
            return IngestSummary(results, None, 0, 0, 0, time.perf_counter() - started, name)
        # With no records left (--prune removed the last files) an empty generation becomes current:
        # keeping the old one would go on answering the removed items.
        previous_dim = previous.manifest.get("dim") if previous is not None and same_vectors else None
        manifest = {"embedder": name, "passages": recipe, "files": merge.manifest_files}  # dim and date: _write_new
        generation, records, chunks, embedded = _write_new(
            store_dir, location, manifest, merge.records, embeddings, previous_vectors, previous_dim, report)
        sweep(store_dir, location)
        return IngestSummary(results, generation, len(records), len(chunks), embedded,
                             time.perf_counter() - started, name)


def _read_all(files: list[Path], prev_files: dict[str, dict], max_bytes: int, rebuild: bool,
              report: Progress) -> list[_Read]:
    read = []
    for done, path in enumerate(files, 1):
        report("读取文件", done, len(files))
        read.append(_read(path, prev_files.get(file_key(path)), max_bytes, rebuild))
    return read


class _Merge:
    """The new generation's files and records: the files read in this run first, then the previous
    files not named in it; a failing or losing file keeps its previous version."""

    def __init__(self, prev_files: dict[str, dict], prev_records_by_file: dict[str, list[Record]]) -> None:
        self.prev_files = prev_files
        self.prev_records_by_file = prev_records_by_file
        self.results: list[FileResult] = []
        self.manifest_files: dict[str, dict] = {}
        self.records: list[Record] = []
        self.owner: dict[str, str] = {}  # record id -> file key
        self.winner: dict[str, str] = {}

    def keep_previous(self, key: str) -> None:
        if key in self.prev_files:
            self.manifest_files[key] = self.prev_files[key]
            for record in self.prev_records_by_file.get(key, []):
                if record.id not in self.owner and self.winner.get(record.id, key) == key:
                    self.owner[record.id] = key
                    self.records.append(record)

    def add_read(self, read: list[_Read], kept_elsewhere: list[str]) -> None:
        self.winner = _owners(read, kept_elsewhere, self.prev_files)
        shown = {**{key: entry["path"] for key, entry in self.prev_files.items()}, **{r.key: str(r.path) for r in read}}
        for item in read:
            self._add_one(item, shown)

    def _add_one(self, item: _Read, shown: dict[str, str]) -> None:
        path, key, old = item.path, item.key, item.old
        if item.record is None:
            self.keep_previous(key)
            if item.error is None:
                self.results.append(FileResult(str(path), "unchanged", record_ids=old["record_ids"]))
            else:
                self.results.append(FileResult(str(path), "failed", item.error))
            return
        record = item.record
        if self.winner[record.id] != key:
            # The item keeps the file it came from; the newcomer is the admin's error to fix.
            self.keep_previous(key)
            self.results.append(FileResult(str(path), "failed", f"编号 {record.id} 与 {shown[self.winner[record.id]]} "
                                           "重复，继续使用原有条目；请修改其中一个文件的 id"))
            return
        self.owner[record.id] = key
        self.records.append(record)
        self.manifest_files[key] = {"path": str(path), "sha256": item.digest, "record_ids": [record.id],
                                    "parser": PARSER_VERSION}
        # Read again by a newer parser: "updated", so the new records are written once.
        unchanged = item.same_file and old is not None and old.get("parser") == PARSER_VERSION
        status = "unchanged" if unchanged else "updated" if old else "added"
        self.results.append(FileResult(str(path), status, record_ids=[record.id]))

    def add_not_named(self, seen: set[str], prune: bool) -> None:
        for key, entry in self.prev_files.items():
            if key in seen:
                continue
            if Path(key).exists() or not prune:
                # Not named in this run (or deleted without --prune): it keeps serving as before.
                self.keep_previous(key)
                if not Path(key).exists():
                    self.results.append(FileResult(entry["path"], "missing", record_ids=entry["record_ids"]))
            else:
                self.results.append(FileResult(entry["path"], "removed", record_ids=entry["record_ids"]))


def _write_new(store_dir: Path, location: ChromaLocation, manifest: dict, records: list[Record],
               embeddings: Embeddings, previous_vectors: dict[str, np.ndarray], previous_dim: int | None,
               report: Progress) -> tuple[str, list[Record], list, int]:
    """Derive bundles, chunk, embed and write the generation: (its name, records, chunks, vectors computed)."""
    # Bundles are derived from the members being served in this generation, kept files' too, so an
    # edited member guide changes every bundle it belongs to.
    records, _ = derive_all(records)
    chunks = [chunk for record in records for chunk in chunk_record(record)]
    if chunks:
        vectors, embedded = _embed(chunks, embeddings, previous_vectors, report)
    else:
        vectors, embedded = np.zeros((0, int(previous_dim or len(embeddings.embed_query("维度")))), np.float32), 0
    # The same keys in the same order as before the split: embedder, passages, dim, files, created.
    manifest = {"embedder": manifest["embedder"], "passages": manifest["passages"], "dim": int(vectors.shape[1]),
                "files": manifest["files"], "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    report("写入索引", 0, 1)
    generation = write_generation(store_dir, manifest, records, chunks, vectors, location)
    report("写入索引", 1, 1)
    return generation, records, chunks, embedded


@dataclass
class _Read:
    """One file of this run: its previous manifest entry, and either its new record, its load error,
    or neither (unchanged, so the previous records serve)."""

    path: Path
    key: str
    digest: str | None
    old: dict | None
    same_file: bool
    record: Record | None = None
    error: str | None = None

    def claims(self) -> list[str]:
        if self.record is not None:
            return [self.record.id]
        return list(self.old["record_ids"]) if self.old else []  # unchanged or failed: the old items stay


def _read(path: Path, old: dict | None, max_bytes: int, rebuild: bool) -> _Read:
    key = file_key(path)
    digest = file_hash(path, max_bytes)
    same_file = bool(old and digest and old["sha256"] == digest)
    item = _Read(path, key, digest, old, same_file)
    if same_file and not rebuild and old.get("parser") == PARSER_VERSION:
        return item
    try:
        item.record = load_file(path, document_id(path), max_bytes=max_bytes)
    except LoadError as exc:
        item.error = exc.reason if exc.line is None else f"第{exc.line}行：{exc.reason}"
    return item


def _owners(read: list[_Read], kept_elsewhere: list[str], prev_files: dict[str, dict]) -> dict[str, str]:
    """Which file each record id belongs to: the file that held it before, while it still claims it,
    else the first file (in path order) that claims it. A new file can never take over an item."""
    previous = {rid: key for key, entry in prev_files.items() for rid in entry["record_ids"]}
    claimants: dict[str, list[str]] = {}
    for item in read:
        for rid in item.claims():
            claimants.setdefault(rid, []).append(item.key)
    for key in kept_elsewhere:
        for rid in prev_files[key]["record_ids"]:
            claimants.setdefault(rid, []).append(key)
    return {rid: previous[rid] if previous.get(rid) in keys else keys[0] for rid, keys in claimants.items()}


def _vectors_by_hash(previous: Generation | None) -> dict[str, np.ndarray]:
    if previous is None:
        return {}
    return {c.metadata["hash"]: previous.vectors[i] for i, c in enumerate(previous.chunks)}


def _records_by_file(previous: Generation | None) -> dict[str, list[Record]]:
    if previous is None:
        return {}
    by_file: dict[str, list[Record]] = {}
    for key, entry in previous.manifest["files"].items():
        by_file[key] = [previous.records[i] for i in entry["record_ids"] if i in previous.records]
    return by_file


def _embed(chunks, embeddings: Embeddings, cache: dict[str, np.ndarray], report: Progress):
    todo = [i for i, c in enumerate(chunks) if c.metadata["hash"] not in cache]
    fresh: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), EMBED_BATCH):
        batch = [chunks[i] for i in todo[start : start + EMBED_BATCH]]
        report("计算向量", start, len(todo))
        for chunk, vector in zip(batch, embeddings.embed_documents([to_simplified(c.page_content) for c in batch]),
                                 strict=True):
            fresh[chunk.metadata["hash"]] = np.asarray(vector, dtype=np.float32)
    report("计算向量", len(todo), len(todo))
    rows = [fresh.get(c.metadata["hash"], cache.get(c.metadata["hash"])) for c in chunks]
    return np.vstack(rows).astype(np.float32), len(todo)

"""The one admin service: re-ingest, reload, stats and uploads for the CLI, the web admin and /reload.

Every admin ingest in a process goes through one :class:`AdminService` and its one lock, so a
web re-ingest and a Telegram /reload cannot run at once: the second is refused with
:class:`IngestBusy`. Another process (a ``govbot ingest`` on the same store) is kept out by the
store's file lock in ``ingest.index`` and shows up as :class:`IngestLocked`. The pipeline writes a
complete generation before switching ``CURRENT``, so a failed or refused ingest leaves the
previous index serving.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from bot import messages
from ingest.index import ChromaLocation, IngestLocked
from ingest.pipeline import IngestSummary, Progress

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.feedback import FeedbackStore, Stats
    from ingest.settings import Settings

log = logging.getLogger(__name__)

BUSY = messages.ADMIN_BUSY
CHUNK = 1024 * 1024


class IngestBusy(IngestLocked):
    """This process already runs an admin ingest (the admin lock is held)."""


class UploadRejected(ValueError):
    """One uploaded file that is not accepted; the message is shown to the admin."""


@dataclass
class UploadOutcome:
    saved: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # saved over an earlier upload of the same (cleaned) name
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file name as sent, reason)


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def safe_filename(name: str, allowed: set[str]) -> str:
    """A file name that cannot leave the upload directory and that ingest will not skip.

    Browsers may send a full path (old IE) or '../' tricks; only the last component survives,
    then anything but letters, digits, CJK and '._-' becomes '_'.
    """
    base = unicodedata.normalize("NFKC", name or "").replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = f".{suffix.strip().lower()}" if suffix.strip() else ""
    # Leading dots would hide the file from ingest; anything unusual becomes '_'.
    stem = re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", stem)
    if suffix not in allowed:
        shown = suffix or messages.UPLOAD_NO_SUFFIX
        raise UploadRejected(messages.UPLOAD_BAD_TYPE.format(suffix=shown, allowed="、".join(sorted(allowed))))
    stem = stem.strip("._ ")[:80] or "upload"
    if f"{stem}{suffix}".lower() in ("readme.md", "readme.markdown"):
        stem += "-1"  # ingest treats README.md as a note for admins and skips it
    return f"{stem}{suffix}"


class IngestRun:
    """One admin ingest holding the admin lock from :meth:`AdminService.begin` until :meth:`close`.

    A channel that reports "started" before the work (Telegram's /reload) takes the lock first, so a
    second admin is told "busy" rather than "started"; the work itself may run in another thread.
    """

    def __init__(self, admin: AdminService) -> None:
        self._admin = admin
        self._open = True

    def ingest(self, paths: list[Path] | None = None, *, prune: bool = False, rebuild: bool = False,
               progress: Progress | None = None) -> IngestSummary:
        if not self._open:
            raise RuntimeError("this ingest run is closed")
        return self._admin._ingest_and_serve(paths, prune=prune, rebuild=rebuild, progress=progress)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._admin._lock.release()

    def __enter__(self) -> IngestRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AdminService:
    """Admin actions over one index store; ``engine`` is the serving engine (None for the CLI)."""

    def __init__(self, settings: Settings, store_dir: Path, *, engine: Engine | None = None,
                 feedback: FeedbackStore | None = None, upload_dir: Path | None = None) -> None:
        self.settings = settings
        self.store_dir = Path(store_dir)
        self.engine = engine
        self.feedback = feedback
        self.upload_dir = Path(upload_dir or settings.govbot_home / "uploads")
        self.max_bytes = settings.govbot_max_file_mb * 1024 * 1024
        self._lock = threading.Lock()  # the one admin lock of this process

    # ----- ingest -----
    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def begin(self) -> IngestRun:
        """Take the admin lock without waiting; raises IngestBusy when an admin ingest is running."""
        if not self._lock.acquire(blocking=False):
            raise IngestBusy(BUSY)
        return IngestRun(self)

    def reingest(self, paths: list[Path] | None = None, *, prune: bool = False, rebuild: bool = False,
                 progress: Progress | None = None) -> IngestSummary:
        """Ingest ``paths`` (default: the knowledge directory and the uploads), then serve the result.

        Raises IngestBusy (this process), IngestLocked (another process) or EmbedderError; in every
        case the previous generation keeps serving.
        """
        with self.begin() as run:
            return run.ingest(paths, prune=prune, rebuild=rebuild, progress=progress)

    def knowledge_paths(self) -> list[Path]:
        """What the admin page re-ingests: the shipped knowledge and the uploaded files."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        return [Path(self.settings.govbot_knowledge_dir), self.upload_dir]

    def _ingest_and_serve(self, paths: list[Path] | None, *, prune: bool, rebuild: bool,
                          progress: Progress | None) -> IngestSummary:
        from ingest.embeddings import load_embeddings
        from ingest.pipeline import ingest

        settings = self.settings
        summary = ingest(paths if paths is not None else self.knowledge_paths(), self.store_dir,
                         load_embeddings(settings.govbot_embedding), prune=prune, rebuild=rebuild,
                         location=ChromaLocation(settings.chroma_host, settings.chroma_port),
                         max_bytes=self.max_bytes, progress=progress)
        self.reload()  # serve the new generation now, not at the next question
        return summary

    def reload(self) -> bool:
        """Follow CURRENT (a generation made here or by another process); True when it changed."""
        return self.engine.reload_if_changed() if self.engine is not None else False

    # ----- usage -----
    def stats(self) -> Stats:
        if self.feedback is None:
            raise RuntimeError("AdminService has no feedback store")
        return self.feedback.stats(top=10, days=30)

    # ----- uploads -----
    def uploaded_files(self) -> list[dict[str, Any]]:
        if not self.upload_dir.is_dir():
            return []
        rows = []
        for path in sorted(self.upload_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                info = path.stat()
                rows.append({"name": path.name, "size": info.st_size, "mtime": info.st_mtime})
        return rows

    def save_uploads(self, files: Iterable[tuple[str, BinaryIO]]) -> UploadOutcome:
        """Check every file first, then move them all into place: a batch with one bad file saves nothing.

        ``files`` are (name as sent, readable binary file). Blocking: async callers use a thread.
        """
        outcome = UploadOutcome()
        staging = self.upload_dir / ".incoming"  # hidden: ingest never reads half-written uploads
        staging.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[Path, Path]] = []
        names: list[Path] = []  # every name tried in this batch, accepted or not
        try:
            for sent, handle in files:
                try:
                    staged.append(self._stage(sent, handle, staging, names))
                except UploadRejected as exc:
                    outcome.errors.append((sent or messages.UPLOAD_NO_NAME, str(exc)))
            if not outcome.errors:
                for temp, final in staged:
                    # x.md, X.MD and "x.md " all clean to x.md: replacing is allowed (it is how a
                    # guide is updated) but never silent (F18).
                    if final.exists():
                        outcome.replaced.append(final.name)
                    os.replace(temp, final)
                    outcome.saved.append(final.name)
        finally:
            for temp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
        return outcome

    def _stage(self, sent: str, handle: BinaryIO, staging: Path, taken: list[Path]) -> tuple[Path, Path]:
        """Copy one upload into staging and check it with the real loader; UploadRejected if it fails."""
        from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_file
        from ingest.pipeline import document_id

        name = safe_filename(sent, SUPPORTED_SUFFIXES)
        final = self.upload_dir / name
        if final.resolve().parent != self.upload_dir.resolve():
            raise UploadRejected(messages.UPLOAD_UNSAFE_NAME)
        if final in taken:
            raise UploadRejected(messages.UPLOAD_SAME_NAME.format(name=name))
        taken.append(final)
        temp = staging / f"{uuid.uuid4().hex}{final.suffix}"
        try:
            self._copy(handle, temp)
            # The real loader decides: a binary renamed .pdf or a broken front matter fails here,
            # with the same reason ingest would give, before anything reaches the upload folder.
            try:
                record = load_file(temp, document_id(final), self.max_bytes)
            except LoadError as exc:
                reason = exc.reason if exc.line is None else messages.UPLOAD_AT_LINE.format(line=exc.line,
                                                                                            reason=exc.reason)
                raise UploadRejected(reason) from None
            self._check_id(record.id, final)
        except UploadRejected:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return temp, final

    def _copy(self, handle: BinaryIO, temp: Path) -> None:
        size = 0
        with temp.open("wb") as out:
            while chunk := handle.read(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise UploadRejected(messages.UPLOAD_TOO_BIG.format(limit=megabytes(self.max_bytes)))
                out.write(chunk)
        if size == 0:
            raise UploadRejected(messages.UPLOAD_EMPTY)

    def _check_id(self, record_id: str, final: Path) -> None:
        from bot.compose import source_label

        records = self.engine.records if self.engine is not None else {}
        other = records.get(record_id)
        if other is not None and other.source_path and Path(other.source_path).resolve() != final.resolve():
            raise UploadRejected(messages.UPLOAD_ID_TAKEN.format(id=record_id, source=source_label(other.source_path)))

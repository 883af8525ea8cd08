"""What every loader shares: the supported types and limits, ``LoadError``, reading a file's bytes
safely (stat first, never past the size limit) and the binary-content test.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".docx", ".pdf", ".xlsx"}
OFFICE_SUFFIXES = (".docx", ".pdf", ".xlsx")  # parsed in a child process (ingest/office_worker.py)
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TITLE_CHARS = 60
MARKDOWN_SUFFIXES = {".md", ".markdown"}


class LoadError(Exception):
    """A file that cannot become a Record; ``reason`` is one line of Chinese for the admin."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())  # always one line
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.path}:{self.line}: {self.reason}"
        return f"{self.path}: {self.reason}"


# --------------------------------------------------------------------------- reading bytes


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise LoadError(path, "文件不存在") from None
    except PermissionError:
        raise LoadError(path, "没有权限访问该文件（请检查文件及所在目录的权限）") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError(path, "无法读取：符号链接形成了循环，指向不到真正的文件") from None
        if exc.errno == errno.ENOTDIR:
            raise LoadError(path, "文件不存在（路径中的某一级不是目录）") from None
        raise LoadError(path, f"无法读取文件信息（系统错误：{_errno_name(exc)}）") from None


def stat_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened at all (missing, symlink loop, no permission), or None. Reads nothing."""
    try:
        _stat(Path(path))
    except LoadError as exc:
        return exc.reason
    return None


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def _read_bytes(path: Path, limit: int) -> bytes:
    # Read at most limit + 1 bytes: a file that grew after stat() must not be read in full.
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def _read_checked(path: Path, max_bytes: int) -> bytes:
    info = _stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise LoadError(path, "这是一个目录，不是普通文件")
    if not stat.S_ISREG(info.st_mode):
        raise LoadError(path, "不是普通文件（可能是管道、设备或套接字），无法读取")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "（无扩展名）"
        supported = "、".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadError(path, f"不支持的文件类型 {shown}，支持的类型：{supported}")
    if info.st_size > max_bytes:
        raise LoadError(path, f"文件过大（{_mb(info.st_size)}），超过上限 {_mb(max_bytes)}")
    if info.st_size == 0:
        raise LoadError(path, "文件为空（0 字节）")
    try:
        data = _read_bytes(path, max_bytes)
    except PermissionError:
        raise LoadError(path, "没有读取权限（请检查文件权限）") from None
    except IsADirectoryError:
        raise LoadError(path, "这是一个目录，不是普通文件") from None
    except OSError as exc:
        raise LoadError(path, f"读取文件失败（系统错误：{_errno_name(exc)}）") from None
    if len(data) > max_bytes:
        raise LoadError(path, f"文件过大（读取时超过上限 {_mb(max_bytes)}）")
    if not data:
        raise LoadError(path, "文件为空（0 字节）")
    return data


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def _looks_binary(text: str) -> bool:
    # Real documents contain almost no control characters; decoded binary is full of them.
    bad = sum(
        1 for ch in text if (ch < " " and ch not in "\t\n\r\f\v") or "\x7f" <= ch <= "\x9f" or ch == "\ufffd"
    )
    return bad > max(2, len(text) // 200)

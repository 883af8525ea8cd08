"""DOCX, PDF and XLSX are parsed in a child process with a time and memory limit (ingest/office_worker.py);
this is the parent's side: the budget, the zip-bomb pre-check and reading the child's answer.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from ingest.guide_parser import Block
from ingest.loaders.common import LoadError


def _office_budget() -> tuple[float, int, int, int]:
    """(seconds, memory MB, inflated bytes, pages) from the settings."""
    from ingest.settings import get_settings

    settings = get_settings()
    return (settings.govbot_parse_timeout_s, settings.govbot_parse_memory_mb,
            settings.govbot_max_inflated_mb * 1024 * 1024, settings.govbot_max_pdf_pages)


def _check_inflated(data: bytes, path: Path, limit: int) -> None:
    """Refuse a DOCX whose parts inflate past ``limit``, from the zip directory, before inflating any."""
    if not data.startswith(b"PK"):
        return  # _docx_blocks gives the reason
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return
    if total > limit:
        label = path.suffix.lower().lstrip(".").upper()
        raise LoadError(path, f"{label} 解压后过大（{total // (1024 * 1024)} MB，上限 {limit // (1024 * 1024)} MB），"
                              "可能是压缩炸弹，无法导入")


def _parse_office(data: bytes, path: Path, suffix: str) -> tuple[str, list[Block]]:
    """DOCX/PDF blocks from a child process with a time and memory limit (ingest.office_worker).

    The caller (an ingest, or the web server checking an upload) only waits on a pipe: a bomb
    costs one bounded child, then fails with its reason like any other bad file.
    """
    seconds, memory_mb, inflated, pages = _office_budget()
    if suffix in (".docx", ".xlsx"):
        _check_inflated(data, path, inflated)
    root = str(Path(__file__).resolve().parents[2])  # the repo root, so the child imports this ingest
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "ingest.office_worker", suffix, str(path), str(memory_mb), str(pages)]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=seconds, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise LoadError(path, f"解析超时：超过 {seconds:g} 秒仍未完成（可能是压缩炸弹或异常复杂的文件）") from None
    try:
        out = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        out = None
    if out is None:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"退出码 {done.returncode}"]
        if "MemoryError" in last[0]:
            raise LoadError(path, f"解析所需内存超过上限 {memory_mb} MB（可能是压缩炸弹或异常复杂的文件）")
        raise LoadError(path, f"无法解析文件（{last[0][:120]}）")
    if "error" in out:
        raise LoadError(path, out["error"], out.get("line"))
    return out["title"], [Block(**b) for b in out["blocks"]]

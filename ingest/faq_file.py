"""The FAQ file the window staff grow from the unanswered queue: knowledge/faq/window-answers.md.

One structured Markdown record (kind: faq) whose front matter holds the pairs; the body is empty.
Pairs are appended, never rewritten, and the file is replaced atomically (temp file + os.replace), so
an ingest running at the same moment reads the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml

FAQ_FILE = Path("faq") / "window-answers.md"
FAQ_ID = "faq-window-answers"
FAQ_TITLE = "窗口整理的常见问题"
FAQ_SOURCES = ["窗口工作人员整理"]
MAX_FIELD = 4000  # a pair is a paragraph, not a document


class FaqFileError(ValueError):
    """A pair that cannot be saved; the message (Chinese, naming the file where one is involved) is for the admin."""


def faq_path(knowledge_dir: Path) -> Path:
    return Path(knowledge_dir) / FAQ_FILE


def _read_front(path: Path) -> dict[str, Any]:
    """The existing file's front matter, or a new record when there is no file yet."""
    if not path.exists():
        return {"id": FAQ_ID, "kind": "faq", "title": FAQ_TITLE, "sources": list(FAQ_SOURCES), "faq": []}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaqFileError(f"无法读取 {path}：{exc}") from None
    parts = text.lstrip("\ufeff").split("---", 2)
    if len(parts) < 3 or parts[0].strip():
        raise FaqFileError(f"{path} 不是以 --- 开头的知识文件，未写入；请先修复该文件")
    try:
        front = yaml.safe_load(parts[1]) or {}
    except yaml.YAMLError as exc:
        raise FaqFileError(f"{path} 的文件头不是有效的 YAML（{exc}），未写入；请先修复该文件") from None
    if not isinstance(front, dict) or not isinstance(front.get("faq", []), list):
        raise FaqFileError(f"{path} 的文件头格式不对（faq 应为列表），未写入；请先修复该文件")
    return front


def append_faq_pair(knowledge_dir: Path, question: str, answer: str, source: str, about: str = "",
                    today: date | None = None) -> Path:
    """Append one question–answer pair to the window FAQ file and return its path.

    Raises FaqFileError for an empty question or answer, or an existing file that cannot be read.
    """
    question, answer, source, about = (" ".join(question.split()), answer.strip(), source.strip(), about.strip())
    if not question:
        raise FaqFileError("问题不能为空")
    if not answer:
        raise FaqFileError("答案不能为空")
    if len(question) > MAX_FIELD or len(answer) > MAX_FIELD:
        raise FaqFileError(f"问题和答案各不能超过 {MAX_FIELD} 个字")
    path = faq_path(knowledge_dir)
    front = _read_front(path)
    pair: dict[str, str] = {"question": question, "answer": answer, "source": source or FAQ_SOURCES[0]}
    if about:
        pair["about"] = about
    front["updated"] = (today or date.today()).isoformat()
    front["faq"] = [*(front.get("faq") or []), pair]
    ordered = {key: front[key] for key in ("id", "kind", "title", "sources", "updated", "faq") if key in front}
    ordered.update({k: v for k, v in front.items() if k not in ordered})  # keep what someone added by hand
    text = "---\n" + yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False) + "---\n"
    _write_atomic(path, text)
    return path


def _write_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A hidden temporary name in the same folder: ingest skips dot files, os.replace stays on one disk.
        fd, temp = tempfile.mkstemp(prefix=".window-answers-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise FaqFileError(f"无法写入 {path}：{exc}") from None

"""Rendering for Telegram: answer blocks or plain-text reports → HTML messages within Telegram's limits."""

from __future__ import annotations

import html
from typing import Any

from telegram.constants import MessageLimit

from bot import texts
from bot.answer import Block, BlockKind


def utf16_len(text: str) -> int:
    # Telegram measures message length in UTF-16 code units (an emoji counts twice).
    return len(text.encode("utf-16-le")) // 2


def _looks_like_heading(line: str) -> bool:
    """A whole-line heading in a plain-text report (/match): 【您提供的企业信息】, 《标题》."""
    stripped = line.strip()
    return (stripped.startswith("【") and stripped.endswith("】")) or (
        stripped.startswith("《") and stripped.endswith("》") and "》" not in stripped[:-1])


def _block_lines(blocks: list[Block]) -> list[tuple[str, bool]]:
    """An answer's lines, each with whether it is bold: the item's title and the section headings."""
    out: list[tuple[str, bool]] = []
    for b in blocks:
        for i, text in enumerate(b.text_lines()):
            bold = b.kind == BlockKind.TITLE or (i == 0 and bool(b.heading) and not b.inline)
            out += [(line, bold) for line in text.split("\n")]
    return out


def _cut_line(line: str, limit: int) -> list[str]:
    """Pieces of one overlong raw line, each at most ``limit`` UTF-16 units (cut between characters)."""
    pieces, current, size = [], [], 0
    for char in line:
        width = utf16_len(char)
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def render_answer(answer: str | list[Block], limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """An answer's blocks, or a plain-text report (/match), as HTML messages split on line boundaries.

    Telegram counts the limit after entity parsing, so chunks are measured on the visible text; each
    line is escaped on its own, so no tag or entity can straddle two messages.
    """
    raw = ([(line, _looks_like_heading(line)) for line in answer.split("\n")] if isinstance(answer, str)
           else _block_lines(answer))
    lines: list[tuple[str, bool]] = []
    for line, bold in raw:
        lines.extend((piece, bold) for piece in (_cut_line(line, limit) if utf16_len(line) > limit else [line]))
    chunks: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    size = 0
    for line, bold in lines:
        width = utf16_len(line) + (1 if current else 0)
        if current and size + width > limit:
            chunks.append(current)
            current, size = [], 0
            width = utf16_len(line)
        current.append((line, bold))
        size += width
    if current:
        chunks.append(current)
    # Telegram rejects empty messages; a chunk of blank lines can appear at a split.
    rendered = ["\n".join(_html_line(line, bold) for line, bold in chunk) for chunk in chunks
                if "".join(line for line, _ in chunk).strip()]
    return rendered or [html.escape(texts.ERROR)]


def _html_line(line: str, bold: bool) -> str:
    escaped = html.escape(line, quote=False)
    return f"<b>{escaped}</b>" if bold else escaped


def short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def render_reload(summary: Any, max_failed: int = 30) -> list[str]:
    """The /reload report as HTML messages: counts, then each failed file with its reason."""
    statuses = ("added", "updated", "unchanged", "removed", "failed")
    counts = {s: summary.count(s) for s in statuses}
    lines = [texts.RELOAD_DONE.format(**counts, generation=html.escape(summary.generation or texts.NO_GENERATION),
                                      records=summary.records)]
    failed = summary.failed
    if failed:
        lines.append(texts.RELOAD_FAILED_FILES)
        lines += [texts.RELOAD_FAILED_FILE.format(path=html.escape(f.path), reason=html.escape(f.reason))
                  for f in failed[:max_failed]]
        if len(failed) > max_failed:
            lines.append(texts.RELOAD_MORE.format(n=len(failed) - max_failed))
    # The lines are HTML already; split them like an answer but without escaping again.
    chunks, current = [], ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if current and utf16_len(candidate) > MessageLimit.MAX_TEXT_LENGTH:
            chunks.append(current)
            candidate = line
        current = candidate
    return [*chunks, current]

"""Text files: decoding bytes (UTF-8, UTF-16, GB18030, BIG5) and plain Markdown / TXT → blocks.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import charset_normalizer

from ingest.guide_parser import Block
from ingest.loaders.common import LoadError, _looks_binary

# --------------------------------------------------------------------------- text decoding


# Chinese text that is not UTF-8 is GBK/GB18030 (mainland) or BIG5 (traditional, Hong Kong / Taiwan).
_CHINESE_ENCODINGS = ("gb18030", "big5")


def _decode_legacy(data: bytes, path: Path) -> str:
    """UTF-8 first; else the Chinese legacy encodings that decode the bytes without error, and when both
    do (GB18030 decodes almost anything, BIG5 text included, as nonsense), the one whose characters read
    as language (charset-normalizer's coherence); else charset-normalizer's guess over every encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    fitting = []
    for encoding in _CHINESE_ENCODINGS:
        try:
            fitting.append((encoding, data.decode(encoding)))
        except UnicodeDecodeError:
            continue
    if len(fitting) == 1:
        return fitting[0][1]
    best = charset_normalizer.from_bytes(data, cp_isolation=[e for e, _ in fitting] or None).best()
    if best is None:
        if fitting:
            return fitting[0][1]
        raise LoadError(path, "无法识别文件编码（可能是二进制文件），请另存为 UTF-8 文本")
    return str(best)


def _private_use_share(text: str) -> float:
    return sum(1 for ch in text if "\ue000" <= ch <= "\uf8ff") / max(len(text), 1)


def _decode_text(data: bytes, path: Path) -> str:
    """UTF-16 by its BOM, else UTF-8, GB18030 (a superset of GBK) or BIG5 (see _decode_legacy)."""
    text: str | None = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(path, "文件以 UTF-16 标记开头但内容无法解码，可能已损坏") from None
    elif b"\x00" in data:
        raise LoadError(path, "文件包含 NUL 字节，是二进制内容而不是文本（可能是改了扩展名的其他文件）")
    else:
        text = _decode_legacy(data, path)
    if _private_use_share(text) > 0.01:
        # Characters of the private-use area are what wrongly decoded bytes turn into.
        raise LoadError(path, "文件编码无法可靠识别（解码后出现大量乱码字符），请另存为 UTF-8 文本")
    if _looks_binary(text):
        raise LoadError(path, "文件包含大量控制字符，是二进制内容而不是文本（可能是改了扩展名的其他文件）")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError(path, "文件内容为空（只有空白字符）")
    return text


_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")


# --------------------------------------------------------------------------- plain formats → blocks


def _markdown_blocks(text: str) -> tuple[str, list[Block]]:
    """Headings, paragraph lines and '|' tables of plain Markdown; title = first '#' heading."""
    blocks: list[Block] = []
    table: list[list[str]] = []
    in_fence = False

    def flush_table() -> None:
        if table:
            blocks.append(Block("table", rows=list(table)))
            table.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if _FENCE_RE.match(raw):
            flush_table()
            in_fence = not in_fence
            continue
        if in_fence:
            if line:
                blocks.append(Block("paragraph", text=line))
            continue
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells if cell):
                table.append(cells)
            continue
        flush_table()
        match = _MD_HEADING_RE.match(raw)
        if match and match.group(2).strip():
            blocks.append(Block("heading", level=len(match.group(1)), text=match.group(2).strip()))
        elif line and not re.fullmatch(r"(-{3,}|\*{3,}|_{3,}|={3,})", line):
            blocks.append(Block("paragraph", text=line.lstrip("> ").strip() or line))
    flush_table()
    headings = [block for block in blocks if block.kind == "heading"]
    top = [block for block in headings if block.level == 1] or headings
    return (top[0].text if top else ""), blocks


def _text_blocks(text: str) -> list[Block]:
    """One paragraph per line; runs of tab-separated lines (pasted from a spreadsheet) become a table."""
    blocks: list[Block] = []
    table: list[list[str]] = []
    for raw in text.split("\n"):
        line = raw.strip()
        cells = [cell.strip() for cell in line.split("\t")]
        if len([cell for cell in cells if cell]) >= 2:
            table.append(cells)
            continue
        if table:
            blocks.append(Block("table", rows=table))
            table = []
        if line:
            blocks.append(Block("paragraph", text=re.sub(r"[ \u3000\xa0]{2,}", " ", line)))
    if table:
        blocks.append(Block("table", rows=table))
    return blocks

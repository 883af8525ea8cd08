"""PDF → blocks: text per page (two-column pages cut at their gap), lines wrapped at the margin joined.

Runs in the office worker's child process (ingest/office_worker.py).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from ingest.guide_parser import Block
from ingest.loaders.common import LoadError, _looks_binary

# A budget for PDF (reliability F7: a 115 KB PDF ran > 300 s); the page limit is a setting.
MAX_PDF_PAGE_CONTENT = 8 * 1024 * 1024  # decompressed content stream of one page


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_LINE_END_RE = re.compile(r"[。！？!?；;：:…」』”）)]$")
_LINE_START_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}\s*[.、．)）](?!\d)|第[一二三四五六七八九十\d]+[步章节条]|[-•·●■◆])"
)
_MIN_WRAP_WIDTH = 50  # display columns; a wrapped A4 text line holds 30-45 Chinese characters
_LINE_CONTINUES_RE = re.compile(r"^[，,。；;、：:）)》”]")


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """Join the lines a PDF wrapped at the page margin, so "…减环节、压时" + "间、降费用…" is one line.

    A line is a wrapped one when it runs (nearly) to the widest line of the document and does not end
    a sentence; the next line then continues it unless it opens a numbered item. A next line that
    starts with punctuation always continues the previous one.
    """
    if len(lines) < 2:
        return lines
    widths = sorted(_display_width(line) for line in lines)
    full = widths[int(len(widths) * 0.9)]  # the usual full-line width, robust to one long outlier
    if full < _MIN_WRAP_WIDTH:
        return lines  # short lines (columns, tables, lists) are not wrapped prose
    joined: list[str] = [lines[0]]
    for line in lines[1:]:
        previous = joined[-1]
        wrapped = _display_width(previous) >= 0.85 * full and not _LINE_END_RE.search(previous)
        if _LINE_CONTINUES_RE.match(line) or (wrapped and not _LINE_START_RE.match(line)):
            joined[-1] = previous + line
        else:
            joined.append(line)
    return joined


_COLUMN_GAP_RE = re.compile(r"\S( {6,})(?=\S)")


def _two_columns(page: Any) -> str | None:
    """The text of a two-column page, left column first; None when the page is not in two columns.

    pypdf reads a two-column page row by row ("申请材料 办理地点"), mixing the columns. Its layout
    mode keeps the horizontal positions: when most lines have one wide gap at the same place, the
    page is cut there.
    """
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except Exception:  # noqa: BLE001 - layout mode is a refinement; the plain text is still there
        return None
    lines = [line for line in layout.split("\n") if line.strip()]
    cuts: list[int] = []
    for line in lines:
        gaps = list(_COLUMN_GAP_RE.finditer(line.strip("\n")))
        if len(gaps) == 1 and line[: gaps[0].start(1)].strip():
            cuts.append(gaps[0].end(1))
    if len(lines) < 3 or len(cuts) < 0.6 * len(lines):
        return None
    cuts.sort()
    cut = cuts[len(cuts) // 2]
    if sum(abs(value - cut) <= 4 for value in cuts) < 0.6 * len(lines):
        return None
    left, right = [], []
    for line in lines:
        gap = _COLUMN_GAP_RE.search(line)
        split = gap.end(1) if gap and abs(gap.end(1) - cut) <= 4 else (cut if len(line) > cut else len(line))
        left.append(line[:split].strip())
        right.append(line[split:].strip())
    return "\n".join([*left, *right])


def _pdf_blocks(data: bytes, path: Path | str, max_pages: int = 500) -> list[Block]:
    from pypdf import PasswordType, PdfReader

    if b"%PDF-" not in data[:1024]:
        raise LoadError(path, "不是有效的 PDF 文件：缺少 %PDF 文件头（可能是改了扩展名的其他文件）")
    # pypdf logs English warnings for every damaged object; the admin gets our one-line reason instead.
    pypdf_logger = logging.getLogger("pypdf")
    previous_level = pypdf_logger.level
    pypdf_logger.setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise LoadError(path, "PDF 已加密，无法提取文字，请提供未加密的版本")
        if len(reader.pages) > max_pages:
            raise LoadError(path, f"PDF 页数过多（{len(reader.pages)} 页，上限 {max_pages} 页），请拆分后再导入")
        texts = []
        for number, page in enumerate(reader.pages, 1):
            contents = page.get_contents()
            size = len(contents.get_data()) if contents is not None else 0
            if size > MAX_PDF_PAGE_CONTENT:
                raise LoadError(path, f"PDF 第 {number} 页的内容解压后过大（{size // (1024 * 1024)} MB），"
                                      "可能是压缩炸弹，无法导入")
            texts.append(_two_columns(page) or page.extract_text() or "")
    except LoadError:
        raise
    except Exception:  # noqa: BLE001 - pypdf raises many kinds of errors for damaged files
        raise LoadError(path, "PDF 文件已损坏或加密，无法解析") from None
    finally:
        pypdf_logger.setLevel(previous_level)
    lines = [line.strip() for text in texts for line in text.split("\n")]
    blocks = [Block("paragraph", text=line) for line in join_wrapped_lines([line for line in lines if line])]
    if not blocks:
        raise LoadError(path, "PDF 中没有可提取的文字（可能是扫描件，需要先做文字识别）")
    if _looks_binary("\n".join(block.text for block in blocks)):
        raise LoadError(path, "PDF 中提取出的文字是乱码（字体缺少编码信息），无法使用")
    return blocks

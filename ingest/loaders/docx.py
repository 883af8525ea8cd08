"""DOCX → title and blocks (headings by paragraph style, tables with merged cells kept once).

Runs in the office worker's child process (ingest/office_worker.py).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from ingest.guide_parser import Block
from ingest.loaders.common import LoadError

# A budget for DOCX (reliability F7: a 71 KB docx ran > 300 s). The time, memory, inflated-size and
# page limits are settings (ingest/loaders/office.py); this one is fixed.
MAX_DOCX_BLOCKS = 20_000  # body paragraphs and tables; a long real guide has a few hundred


_DOCX_HEADING_RE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def _docx_blocks(data: bytes, path: Path | str) -> tuple[str, list[Block]]:
    # Imported here: python-docx is only needed for .docx files.
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from lxml.etree import XMLSyntaxError

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LoadError(path, "这是旧版 Word（.doc）文件改了扩展名，请用 Word 另存为 .docx 后再导入")
    if not data.startswith(b"PK"):
        raise LoadError(path, "不是有效的 DOCX 文件：内容不是 Word 文档格式（可能是改了扩展名的其他文件）")
    try:
        document = Document(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise LoadError(path, "DOCX 文件已损坏：压缩包无法解开") from None
    except (PackageNotFoundError, KeyError, ValueError):
        raise LoadError(path, "DOCX 文件已损坏，或不是 Word 文档（缺少正文部分）") from None
    except XMLSyntaxError:
        raise LoadError(path, "DOCX 文件已损坏：文档内容无法解析") from None

    body = document.element.body
    if len(body) > MAX_DOCX_BLOCKS:
        raise LoadError(path, f"Word 文档的段落过多（{len(body)} 个，上限 {MAX_DOCX_BLOCKS}），"
                              "不像办事指南，可能是压缩炸弹；请拆分后再导入")
    blocks: list[Block] = []
    title = ""
    first_heading1 = ""
    styles: dict[str | None, str] = {}  # style id -> name: python-docx looks each one up slowly
    for element in body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            style_id = element.style
            if style_id not in styles:
                styles[style_id] = (paragraph.style.name or "") if paragraph.style is not None else ""
            style = styles[style_id]
            lines = [line.strip() for line in paragraph.text.split("\n") if line.strip()]
            if not lines:
                continue
            match = _DOCX_HEADING_RE.match(style.strip())
            if style.strip().lower() in {"title", "标题"}:
                title = title or " ".join(lines)
                blocks.append(Block("heading", level=1, text=" ".join(lines)))
            elif match:
                level = int(match.group(1))
                if level == 1 and not first_heading1:
                    first_heading1 = " ".join(lines)
                blocks.append(Block("heading", level=level, text=" ".join(lines)))
            else:
                blocks.extend(Block("paragraph", text=line) for line in lines)
        elif tag == "tbl":
            rows = _docx_rows(Table(element, document))
            if rows:
                blocks.append(Block("table", rows=rows))
    return title or first_heading1, blocks


def _docx_rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[Any] = []  # merged cells repeat the same <w:tc>; keep each once
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):
                continue
            seen.append(cell._tc)
            text = "\n".join(line.strip() for line in cell.text.split("\n") if line.strip())
            for inner in cell.tables:
                text += "".join("\n" + " | ".join(inner_row) for inner_row in _docx_rows(inner))
            cells.append(text)
        if any(cells):
            rows.append(cells)
    return rows

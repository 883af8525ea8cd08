"""Excel workbooks (.xlsx) as blocks: each sheet one table, so the guide parser's table path reads them.

A sheet with a 材料名称 column becomes the record's materials (ingest/guide_parser/materials.py
``materials_from_table``, any column order); a sheet with 问题/答案 columns becomes FAQ pairs
(ingest/faq_parse.py). Runs in the office worker's child process like DOCX and PDF (ingest/office_worker.py).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.guide_parser import Block

MAX_CELLS = 200_000  # a long real table has a few thousand; more is a bomb or not a guide
MAX_COLUMNS = 50


class XlsxError(Exception):
    """Why a workbook cannot be read, in one line of Chinese for the admin."""


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 份数 1.0 reads as 1
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return "\n".join(line.strip() for line in str(value).split("\n") if line.strip())


def xlsx_blocks(data: bytes) -> tuple[str, list[Block]]:
    """(title, blocks) of a workbook: per sheet a heading (when there are several) and one table."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise XlsxError("这是旧版 Excel（.xls）文件改了扩展名，请用 Excel 另存为 .xlsx 后再导入")
    if not data.startswith(b"PK"):
        raise XlsxError("不是有效的 Excel（.xlsx）文件：内容不是 Excel 工作簿格式（可能是改了扩展名的其他文件）")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise XlsxError("Excel 文件已损坏：压缩包无法解开") from None
    except (InvalidFileException, KeyError, ValueError, TypeError, OSError):
        raise XlsxError("Excel 文件已损坏，或不是 Excel 工作簿（缺少工作表）") from None
    blocks: list[Block] = []
    title = ""
    cells = 0
    sheets = book.worksheets
    for sheet in sheets:
        rows: list[list[str]] = []
        for raw in sheet.iter_rows(values_only=True):
            row = [_cell(v) for v in raw[:MAX_COLUMNS]]
            cells += len(row)
            if cells > MAX_CELLS:
                raise XlsxError(f"Excel 表格过大（超过 {MAX_CELLS} 个单元格），不像办事指南，请拆分后再导入")
            while row and not row[-1]:
                row.pop()
            if any(row):
                rows.append(row)
        if not rows:
            continue
        if len([c for c in rows[0] if c]) == 1 and len(rows) > 1:
            # A merged title row above the header: the sheet's (and the workbook's) title.
            heading = next(c for c in rows[0] if c)
            title = title or heading
            blocks.append(Block("heading", level=1, text=heading))
            rows = rows[1:]
        elif len(sheets) > 1:
            blocks.append(Block("heading", level=2, text=sheet.title))
        blocks.append(Block("table", rows=rows))
    book.close()
    if not blocks:
        raise XlsxError("Excel 工作簿中没有内容（所有工作表都是空的）")
    return title, blocks


def load_xlsx(data: bytes, path: Path | str) -> tuple[str, list[Block]]:
    """For the office worker: ``xlsx_blocks`` with its errors named by file (see ingest/loaders/)."""
    from ingest.loaders import LoadError

    try:
        return xlsx_blocks(data)
    except XlsxError as exc:
        raise LoadError(path, str(exc)) from None

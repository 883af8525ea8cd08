"""Tables that are not materials lists: key/value rows ("承诺时限 | 3个工作日") and step tables."""

from __future__ import annotations

import re

from ingest.guide_parser.labels import _classify_label
from ingest.guide_parser.text import not_stated


def _row_text(row: list[str]) -> str:
    return " | ".join(re.sub(r"\s*\n\s*", " ", cell).strip() for cell in row)


def _is_header_row(row: list[str]) -> bool:
    """A row of short column titles ("指标 | 改革前 | 改革后", "环节名称 | 办理时限 | 审核标准")."""
    cells = [cell.strip() for cell in row]
    return len(cells) >= 2 and all(cells) and all(len(cell) <= 12 and not re.search(r"\d", cell) for cell in cells)


def _label_pairs(row: list[str], header: list[str] | None) -> list[tuple[str, str]] | None:
    """(label, value) pairs of a key/value table row ("承诺时限 | 3个工作日 | 法定时限 | 20个工作日").

    Under a header row, a labelled row with several values keeps the column titles
    ("办理时限 | 48个工作日 | 13个工作日" under "指标 | 改革前 | 改革后").
    """
    cells = [cell.strip() for cell in row]
    if len(cells) >= 4 and len(cells) % 2 == 0 and any(_classify_label(c) for c in cells[0::2]):
        return [(cells[i], cells[i + 1]) for i in range(0, len(cells), 2)]
    if len(cells) >= 2 and _classify_label(cells[0]):
        values = [(col, cell) for col, cell in enumerate(cells[1:], 1) if not not_stated(cell)]
        if header and len(cells) > 2 and len(header) == len(cells):
            return [(cells[0], "；".join(f"{header[col].strip()}：{cell}" for col, cell in values))]
        return [(cells[0], "\n".join(cell for _, cell in values))]
    return None


def _step_rows(rows: list[list[str]]) -> list[str] | None:
    """A process table with a header ("环节 | 时限 | 标准"): one line per step, column titles kept."""
    if len(rows) < 2 or not _is_header_row(rows[0]):
        return None
    header = [cell.strip() for cell in rows[0]]
    lines = []
    for row in rows[1:]:
        cells = [re.sub(r"\s*\n\s*", " ", cell).strip() for cell in row]
        rest = [f"{header[col]}：{cell}" for col, cell in enumerate(cells[1:], 1) if col < len(header) and cell]
        lines.append(f"{cells[0]}（{'；'.join(rest)}）" if rest and cells[0] else cells[0] or "；".join(rest))
    return lines

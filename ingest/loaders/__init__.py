"""Load one knowledge file (structured Markdown, plain Markdown, TXT, HTML, DOCX, PDF, XLSX) into a Record.

``load_file`` raises only ``LoadError`` with a one-line Chinese reason, so ``govbot ingest`` can
list every bad file and keep going. ``check_structured_file`` collects all problems of a
structured Markdown file for ``govbot check``.

One module per format family: common (types, limits, LoadError, reading bytes), text (decoding,
plain Markdown, TXT), structured (front matter), html, docx, pdf, office (the child-process hook
for DOCX/PDF/XLSX; the XLSX parser itself is ingest/xlsx.py). This module picks one by suffix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ingest.faq_parse import faq_pairs
from ingest.guide_parser import Block, classify_heading, parse_guide
from ingest.loaders.common import (
    MARKDOWN_SUFFIXES,
    MAX_FILE_BYTES,
    MAX_TITLE_CHARS,
    OFFICE_SUFFIXES,
    SUPPORTED_SUFFIXES,
    LoadError,
    _read_checked,
    stat_problem,
)
from ingest.loaders.html import _html_blocks
from ingest.loaders.office import _parse_office
from ingest.loaders.structured import (
    _parse_structured,
    _pydantic_message,
    _structured_record,
    check_structured_file,
)
from ingest.loaders.text import _decode_text, _markdown_blocks, _text_blocks
from ingest.schema import Record

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "LoadError",
    "check_structured_file",
    "load_file",
    "stat_problem",
]


def _fallback_title(blocks: list[Block], path: Path) -> str:
    for block in blocks:
        if block.kind == "table":
            text = " ".join(block.rows[0]).strip() if block.rows else ""
        else:
            text = block.text.strip()
        if text:
            # A page that opens with a section label ("申请材料") has no title line: use the file name,
            # so the label stays a section instead of becoming the title.
            if len(text) > MAX_TITLE_CHARS or (block.kind != "table" and len(text) <= 12 and classify_heading(text)):
                return path.stem
            return text
    return path.stem


# --------------------------------------------------------------------------- public entry point


def load_file(path: Path, record_id: str, max_bytes: int = MAX_FILE_BYTES) -> Record:
    """Load one file into a Record. Raises only LoadError (one-line Chinese reason, line when known)."""
    try:
        return _load(Path(path), record_id, max_bytes)
    except LoadError:
        raise
    except ValidationError as exc:
        error = exc.errors()[0]
        raise LoadError(path, _pydantic_message(error)) from None
    except RecursionError:
        raise LoadError(path, "文档结构嵌套层级过深（例如 HTML 标签嵌套上千层），无法解析") from None
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop an ingest run
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise LoadError(path, f"无法解析文件（{type(exc).__name__}{'：' + detail if detail else ''}）") from None


def _load(path: Path, record_id: str, max_bytes: int) -> Record:
    data = _read_checked(path, max_bytes)
    suffix = path.suffix.lower()
    if suffix in OFFICE_SUFFIXES:
        title, blocks = _parse_office(data, path, suffix)
        if suffix == ".docx" and not blocks:
            raise LoadError(path, "Word 文档中没有文字内容")
    else:
        text = _decode_text(data, path)
        if suffix in MARKDOWN_SUFFIXES:
            parsed = _parse_structured(text, path)
            if parsed is not None:
                return _structured_record(parsed, path)
            title, blocks = _markdown_blocks(text)
        elif suffix in {".html", ".htm"}:
            title, blocks = _html_blocks(text)
            if not blocks:
                raise LoadError(path, "网页中没有正文文字")
        else:
            title, blocks = "", _text_blocks(text)
    title = title.strip() or _fallback_title(blocks, path)
    record = parse_guide(title, blocks, record_id, str(path))
    pairs, mostly = faq_pairs(blocks)
    if not pairs:
        return record
    # A page of 问：/答： pairs is a FAQ document; a guide with a few pairs stays a guide that has them.
    return record.model_copy(update={"faq": pairs, "kind": "faq" if mostly else record.kind})

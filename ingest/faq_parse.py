"""Question-answer pairs in an ingested document: 问：/答： lines, or a table with 问题/答案 columns.

A FAQ page reads "1. 问：营业执照丢了怎么补办？" then "答：……" (also 问题：/答案：, Q：/A：), the answer
running on over the following lines until the next question or heading. A table (DOCX, HTML, Excel)
holds the pairs in a column headed 问题 (常见问题, 提问 …) and one headed 答案 (解答, 答复 …), with an
optional 来源 column. Answers are kept as written; they are quoted, never summarised.
"""

from __future__ import annotations

import re

from ingest.guide_parser import Block
from ingest.schema import FaqEntry

_NUMBER = r"(?:(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*[.、．)）]\s*|[（(]\d{1,3}[)）]\s*)?"
_QUESTION_RE = re.compile(rf"^{_NUMBER}(?:问题|提问|问|Q)\s*\d{{0,3}}\s*[：:．.]\s*(?P<text>.+)$", re.IGNORECASE)
_ANSWER_RE = re.compile(rf"^{_NUMBER}(?:答案|答复|解答|回答|答|A)\s*\d{{0,3}}\s*[：:．.]\s*(?P<text>.*)$", re.IGNORECASE)
_INLINE_ANSWER_RE = re.compile(r"(?<=[？?。\s])\s*(?:答案|答复|解答|回答|答|A)\s*[：:]\s*(?P<text>.+)$")
_QUESTION_HEADERS = ("常见问题", "问题", "提问", "咨询问题", "问题描述", "问", "question", "q")
_ANSWER_HEADERS = ("答案", "解答", "回答", "答复", "答复内容", "答", "answer", "a")
_SOURCE_HEADERS = ("来源", "出处", "依据", "答复来源", "source")
_HEADER_ROWS = 3  # a title row or two may sit above the header
MOSTLY_FAQ = 0.6  # share of a document's lines in pairs above which it is a FAQ document (kind faq)


def _header(cell: str) -> str:
    return re.sub(r"[\s：:*（(][^）)]*[)）]?|[\s：:*]", "", cell).lower()


def table_columns(rows: list[list[str]]) -> tuple[int, int, int, int | None] | None:
    """(header row, question column, answer column, source column or None) of a FAQ table, or None."""
    for r, row in enumerate(rows[:_HEADER_ROWS]):
        names = [_header(cell) for cell in row]
        question = next((i for i, n in enumerate(names) if n in _QUESTION_HEADERS), None)
        answer = next((i for i, n in enumerate(names) if n in _ANSWER_HEADERS), None)
        if question is not None and answer is not None and question != answer:
            source = next((i for i, n in enumerate(names) if n in _SOURCE_HEADERS), None)
            return r, question, answer, source
    return None


def pairs_from_table(rows: list[list[str]]) -> list[FaqEntry]:
    """The pairs of a table whose header names a question and an answer column; [] for any other table."""
    columns = table_columns(rows)
    if columns is None:
        return []
    header, q, a, s = columns
    out = []
    for row in rows[header + 1:]:
        question, answer, source = (_cell(row, i) for i in (q, a, s))
        if question and answer:
            out.append(FaqEntry(question=question, answer=answer, source=source))
    return out


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _pairs_from_lines(blocks: list[Block]) -> tuple[list[FaqEntry], int]:
    """Pairs of 问：/答： lines, and how many lines they took."""
    out: list[FaqEntry] = []
    question: str | None = None
    answer: list[str] | None = None
    used = 0

    def flush() -> None:
        if question and answer and "\n".join(answer).strip():
            out.append(FaqEntry(question=question, answer="\n".join(answer).strip()))

    for b in blocks:
        if b.kind == "table":
            continue
        text = b.text.strip()
        asked = _QUESTION_RE.match(text)
        said = _ANSWER_RE.match(text) if question is not None and answer is None else None
        if asked:
            flush()
            question, answer = asked.group("text").strip(), None
            inline = _INLINE_ANSWER_RE.search(question)  # 问：……？答：…… on one line (web pages)
            if inline:
                question, answer = question[:inline.start()].strip(), [inline.group("text").strip()]
            used += 1
        elif said:
            answer = [said.group("text").strip()] if said.group("text").strip() else []
            used += 1
        elif answer is not None and b.kind == "paragraph":
            answer.append(text)  # the answer runs on to the next question
            used += 1
        else:
            flush()  # a heading or a stray line ends the pair
            question, answer = None, None
    flush()
    return out, used


def faq_pairs(blocks: list[Block]) -> tuple[list[FaqEntry], bool]:
    """Every pair of a document's blocks, and whether the document is mostly pairs (a FAQ document)."""
    pairs, used = _pairs_from_lines(blocks)
    lines = sum(1 for b in blocks if b.kind != "table" and b.text.strip())
    table_rows = 0
    for b in blocks:
        if b.kind == "table":
            found = pairs_from_table(b.rows)
            pairs.extend(found)
            table_rows += len(b.rows) if found else 0
    total = lines + sum(len(b.rows) for b in blocks if b.kind == "table")
    mostly = bool(pairs) and (used + table_rows) >= MOSTLY_FAQ * max(total - 1, 1)  # the title line aside
    seen: set[str] = set()
    unique = []
    for pair in pairs:
        if pair.question not in seen:
            seen.add(pair.question)
            unique.append(pair)
    return unique, mostly

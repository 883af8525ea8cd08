"""Cut a document's blocks, in reading order, into parts: one per recognised section, the rest "body"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.guide_parser.labels import (
    _KEEP_LABEL_KEYS,
    _classify_label,
    _paragraph_label,
    _split_pairs,
    _unknown_label,
    classify_heading,
)
from ingest.guide_parser.materials import materials_from_table
from ingest.guide_parser.members import is_count, is_members_heading, members_from_table
from ingest.guide_parser.tables import _is_header_row, _label_pairs, _row_text, _step_rows
from ingest.guide_parser.text import _CN_DIGITS, _NUMBERING_RE, Block, _normalise_label, not_stated
from ingest.schema import SECTION_LABELS, Material

_LABEL_LEVEL = 99  # a part opened by a "label：value" line or table cell; any new label closes it
_BARE_LABEL_LEVEL = 50  # a part opened by a bare label line ("申请材料"): it reads like a heading
# "一、基本信息", "第二部分 办理流程": a short numbered line with no sentence punctuation reads as a heading.
_NUMBERED_HEADING_RE = re.compile(rf"^\s*(?:[{_CN_DIGITS}]+\s*、|第[{_CN_DIGITS}\d]+[章节部分])\s*(?P<rest>.+)$")
_HEADING_PUNCT_RE = re.compile(r"[，,。；;：:！!？?]")


@dataclass
class _Part:
    key: str
    heading: str
    level: int = 0
    lines: list[str] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # a bundle's items, read from a table


def _numbered_heading(text: str) -> bool:
    match = _NUMBERED_HEADING_RE.match(text)
    return bool(match) and len(match.group("rest")) <= 24 and not _HEADING_PUNCT_RE.search(match.group("rest"))


class _Collector:
    """Walks the blocks in reading order and cuts them into parts (one per recognised section)."""

    def __init__(self, title: str, bundle: bool = False) -> None:
        self.title = title.strip()
        self.bundle = bundle  # a 一件事 document: its member list is read too (ingest/guide_parser/members.py)
        self.parts: list[_Part] = [_Part("body", "")]

    @property
    def current(self) -> _Part:
        return self.parts[-1]

    def start(self, key: str, heading: str, level: int) -> _Part:
        self.parts.append(_Part(key, heading, level))
        return self.parts[-1]

    def heading(self, text: str, level: int) -> None:
        text = text.strip()
        if text == self.title:
            key = None
        elif self.bundle and is_members_heading(text):
            key = "members"
        elif level <= 1:
            key = _classify_label(text)  # a top heading is usually the title: "…办理流程（某市）"
        else:
            key = classify_heading(text)
        if key:
            self.start(key, text, level)
        elif self.current.key != "body" and self.current.level < level:
            self.current.lines.append(text)  # a sub-heading inside a section ("1. 哪些企業符合資格？")
        else:
            self.start("body", text, level)

    def paragraph(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        for piece in _split_pairs(text):
            self._line(piece)

    def _line(self, text: str) -> None:
        if _numbered_heading(text):
            self.heading(text, 2)
            return
        if self.bundle and self._members_label(text):
            return
        hit = _paragraph_label(text)
        if hit:
            key, heading, rest = hit
            if rest and not_stated(rest):
                self.start("body", heading, _LABEL_LEVEL).lines.append(rest)  # the page does not say
            elif key == self.current.key:
                self.current.lines.append(text)  # "法定办结时限：20个工作日" under "三、办结时限"
            else:
                part = self.start(key, heading, _LABEL_LEVEL if rest else _BARE_LABEL_LEVEL)
                if rest:
                    part.lines.append(f"{heading}：{rest}" if key in _KEEP_LABEL_KEYS else rest)
            return
        current = self.current
        unknown = _unknown_label(text)
        if unknown and current.level == _LABEL_LEVEL:
            # "5．办理形式：…" after "4．承诺办结时限：…": a new field, not more of the time limit.
            self.start("body", unknown[0], _LABEL_LEVEL).lines.append(unknown[1])
            return
        if current.level == _LABEL_LEVEL and current.key != "body" and not self._continues(current, text):
            self.start("body", "", _LABEL_LEVEL).lines.append(text)  # a one-line field ends at its line
            return
        current.lines.append(text)

    @staticmethod
    def _continues(part: _Part, text: str) -> bool:
        """Whether a plain line carries on a "label：value" field: numbered items under
        "受理条件：申请人应具备以下条件：", or anything after a value that ends with a colon."""
        last = part.lines[-1].rstrip() if part.lines else ""
        return bool(_NUMBERING_RE.match(text)) or last.endswith(("：", ":"))

    def _members_label(self, text: str) -> bool:
        """A "涉及事项" line opens the member list; "整合事项：A；B" holds it."""
        label, colon, rest = re.split(r"([：:])", text, maxsplit=1) if re.search(r"[：:]", text) else (text, "", "")
        if len(label) > 30 or not is_members_heading(label):
            return False
        part = self.start("members", label.strip(), _LABEL_LEVEL if colon else _BARE_LABEL_LEVEL)
        if rest.strip():
            part.lines.append(rest.strip())
        return True

    def _members_table(self, rows: list[list[str]]) -> bool:
        """Read a bundle's member table; True when it stays whole in the members section. A table
        that lists members beside other facts ("涉及事项 | 受理条件") gives the names and is read as usual."""
        names = members_from_table(rows, in_members=self.current.key == "members")
        if not names:
            return False
        part = self.current
        if part.key not in ("members", "body"):
            part.members.extend(names)
            return False
        if part.key != "members":
            part = self.start("members", SECTION_LABELS["members"], _BARE_LABEL_LEVEL)
        part.members.extend(names)
        part.lines.extend(_row_text(row) for row in rows)
        return True

    def table(self, rows: list[list[str]]) -> None:
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        if not rows or (self.bundle and self._members_table(rows)):
            return
        materials = materials_from_table(rows, in_materials=self.current.key == "materials")
        if materials:
            part = self.current
            if part.key != "materials":
                part = self.start("materials", SECTION_LABELS["materials"], _BARE_LABEL_LEVEL)
            part.materials.extend(materials)
            part.lines.extend(_row_text(row) for row in rows)
            return
        if materials is not None:  # a materials table with a header and no rows: nothing to list
            self.start("body", "", 0).lines.extend(_row_text(row) for row in rows)
            return
        header = [cell.strip() for cell in rows[0]] if len(rows) > 1 and _is_header_row(rows[0]) else None
        pairs_by_row = [_label_pairs(row, header) for row in rows]
        # Column titles that happen to be field names ("办理环节 | 办理时限") over rows that are not
        # labelled make an ordinary table, not a key/value one.
        if not any(pairs_by_row) or (header and not any(pairs_by_row[1:])):
            steps = _step_rows(rows) if self.current.key == "process" else None
            self.current.lines.extend(steps or [_row_text(row) for row in rows])
            return
        # Key/value table: recognised rows become sections; the rest share one body section.
        body: _Part | None = None
        for row, pairs in zip(rows, pairs_by_row, strict=True):
            if pairs is None:
                body = body or self.start("body", "", _LABEL_LEVEL)
                body.lines.append(_row_text(row))
                continue
            for label, value in pairs:
                key = _classify_label(label)
                if key and not not_stated(value):
                    part = self.start(key, label, _LABEL_LEVEL)
                    part.lines.append(f"{_normalise_label(label)}：{value}" if key in _KEEP_LABEL_KEYS else value)
                elif label or value:
                    body = body or self.start("body", "", _LABEL_LEVEL)
                    body.lines.append(f"{label}：{value}" if label and value else label or value)
        self.start("body", "", 0)  # text after the table belongs to none of its rows

    def finish(self) -> list[_Part]:
        kept: list[_Part] = []
        for part in self.parts:
            if part.key != "body" and not part.lines and not part.materials:
                part.key = "body"  # a heading with nothing under it states nothing
            if part.key == "materials" and not part.materials and all(is_count(line) for line in part.lines):
                # "一件事申请材料 | 35份 | 17份" counts the materials; it lists none of them.
                part.key = "body"
                label = _normalise_label(part.heading)
                # One figure across columns ("改革前：35份；改革后：17份") stays one sentence when quoted.
                part.lines = [(line if _normalise_label(line).startswith(label) else f"{part.heading}：{line}")
                              .replace("；", "，") for line in part.lines]
            if part.lines or part.materials or (part.heading and part.heading != self.title):
                kept.append(part)
        return kept


def _collect_parts(title: str, blocks: list[Block], bundle: bool = False) -> list[_Part]:
    collector = _Collector(title, bundle)
    for block in blocks:
        if block.kind == "heading":
            collector.heading(block.text, block.level)
        elif block.kind == "paragraph":
            collector.paragraph(block.text)
        elif block.kind == "table":
            collector.table(block.rows)
    return collector.finish()

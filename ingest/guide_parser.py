"""Turn the blocks of an unstructured 办事指南 (HTML, DOCX, PDF, TXT, plain Markdown) into a Record.

Government guides share a handful of sections (申请材料, 办理时限, 办理地点 ...). They appear as
headings, as short numbered lines ("一、申请材料"), as "label：value" lines or as the first column
of a key/value table. We recognise them, pull the structured fields we can read reliably
(materials, time limits, fee, where, phone ...) and keep every block's text in ``sections`` so
nothing is lost. Text is kept as written; traditional characters are converted only for matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import opencc

from ingest.schema import SECTION_LABELS, Material, Record, Section, TimeLimit, Where

BlockKind = Literal["heading", "paragraph", "table"]


@dataclass
class Block:
    """One unit of a source document, in reading order."""

    kind: BlockKind
    level: int = 0  # heading level (1 = top); 0 for paragraphs and tables
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)  # table cells, row by row


# (keyword, section key). Matching is by "contains" for real headings and stricter for plain lines.
_SECTION_KEYWORDS: list[tuple[str, str]] = [
    ("申请材料", "materials"),
    ("材料清单", "materials"),
    ("所需材料", "materials"),
    ("提交材料", "materials"),
    ("受理条件", "conditions"),
    ("申请条件", "conditions"),
    ("办理条件", "conditions"),
    ("申请人条件", "conditions"),
    ("办理流程", "process"),
    ("办事流程", "process"),
    ("办理程序", "process"),
    ("法定办结时限", "time"),
    ("承诺办结时限", "time"),
    ("办理时限", "time"),
    ("办结时限", "time"),
    ("时限", "time"),
    ("收费标准", "fee"),
    ("收费情况", "fee"),
    ("是否收费", "fee"),
    ("收费依据", "fee"),
    ("办理地点", "where"),
    ("受理地点", "where"),
    ("办理窗口", "where"),
    ("窗口地址", "where"),
    ("咨询电话", "phone"),
    ("咨询方式", "phone"),
    ("联系电话", "phone"),
    ("监督电话", "phone"),
    ("设定依据", "basis"),
    ("法律依据", "basis"),
    ("实施依据", "basis"),
    ("办理时间", "hours"),
    ("受理时间", "hours"),
    ("工作时间", "hours"),
    ("网上办理", "online"),
    ("在线办理", "online"),
    ("网办地址", "online"),
    ("办理网址", "online"),
]

_CN_DIGITS = "零〇一二两三四五六七八九十百"
# Leading numbering of a heading or list item: 一、 1. 1、 （三） (3) 第一条 ① - * ...
_NUMBERING_RE = re.compile(
    rf"^\s*(?:第[{_CN_DIGITS}\d]+[章节条部分项]\s*"
    rf"|[（(][{_CN_DIGITS}\d]+[)）]\s*[、.．]?"
    rf"|[{_CN_DIGITS}]+\s*[、.．]"
    r"|\d{1,2}\s*(?:[、．)）]|\.(?!\d))"
    r"|[①-⑳]"
    r"|[-*+•·●▪■□◆]\s)\s*"
)
_NUMBERED_ITEM_RE = _NUMBERING_RE  # a numbered / bulleted line in a materials section
_SENTENCE_PUNCT_RE = re.compile(r"[，,。；;？?！!《》]")
_LABEL_SPLIT_RE = re.compile(r"[：:]")
_MAX_LABEL_EXTRA = 3  # "申请材料清单" is a heading; "申请材料真实性承诺书" is not

_FORM_RE = re.compile(
    r"原件及复印件|原件和复印件|原件、复印件|原件或复印件|复印件|影印件|原件|电子件|电子版|扫描件"
)
_COPIES_RE = re.compile(rf"(\d+|[{_CN_DIGITS}]+)\s*份")
_DAYS_RE = re.compile(rf"(\d+(?:\.\d+)?|[{_CN_DIGITS}]+)\s*个?\s*工作日")
_NEGATIVE_MARKS = {"", "0", "否", "无", "不", "/", "-", "—", "－", "×", "x", "X", "不需要", "不需"}


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified, for matching only; callers keep the original text for display."""
    return _t2s().convert(text)


def _normalise_label(text: str) -> str:
    """Simplified, without numbering, brackets, markup, spaces and trailing colons."""
    value = to_simplified(text)
    value = value.replace("*", "").replace("#", "")
    value = re.sub(r"[\s\u3000\xa0]+", "", value)
    value = value.strip("【】[]〔〕")
    value = _NUMBERING_RE.sub("", value)
    return value.strip("【】[]〔〕：:").strip()


def classify_heading(text: str) -> str | None:
    """Section key for a heading such as "一、申请材料" or "（三）辦理流程"; None if not a guide section."""
    label = _normalise_label(text)
    if not label:
        return None
    for keyword, key in _SECTION_KEYWORDS:
        if keyword in label:
            return key
    return None


def _classify_label(text: str) -> str | None:
    """Stricter match for plain lines and table cells, which are often ordinary sentences."""
    if len(text) > 30:  # labels are short; skip the costly normalisation for ordinary sentences
        return None
    label = _normalise_label(text)
    if not label or len(label) > 14 or _SENTENCE_PUNCT_RE.search(label):
        return None
    for keyword, key in _SECTION_KEYWORDS:
        if label == keyword:
            return key
        extra = len(label) - len(keyword)
        if 0 < extra <= _MAX_LABEL_EXTRA and (label.startswith(keyword) or label.endswith(keyword)):
            return key
    return None


def _paragraph_label(text: str) -> tuple[str, str, str] | None:
    """(key, heading, rest) when a plain line opens a section: "申请材料" or "办理时限：3个工作日"."""
    stripped = text.strip()
    key = _classify_label(stripped)
    if key:
        return key, stripped, ""
    parts = _LABEL_SPLIT_RE.split(stripped, maxsplit=1)
    if len(parts) == 2:
        key = _classify_label(parts[0])
        if key:
            return key, parts[0].strip(), parts[1].strip()
    return None


def _cn_number(text: str) -> float | None:
    """'12' → 12, '三' → 3, '十五' → 15, '二十' → 20; None when unreadable."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    digits = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
    if text in digits:
        return float(digits[text])
    match = re.fullmatch(r"([一二两三四五六七八九])?十([一二三四五六七八九])?", text)
    if match:
        tens = digits[match.group(1)] if match.group(1) else 1
        ones = digits[match.group(2)] if match.group(2) else 0
        return float(tens * 10 + ones)
    return None


def _copies(text: str) -> int | None:
    match = _COPIES_RE.search(text)
    if match:
        number = _cn_number(match.group(1))
        return int(number) if number is not None else None
    bare = text.strip()
    if re.fullmatch(r"\d+", bare):
        return int(bare)
    number = _cn_number(bare)
    return int(number) if number is not None else None


def normalise_form(text: str) -> str:
    """Map the many ways a form is written onto the schema's values; '' when unclear."""
    value = to_simplified(text).replace("影印件", "复印件")
    if "原件或复印件" in value or "原件或复印" in value:
        return "原件或复印件"
    has_original = "原件" in value or "原本" in value
    has_copy = "复印" in value
    if has_original and has_copy:
        return "原件及复印件"
    if "电子" in value or "扫描件" in value:
        return "" if "纸质" in value else "电子件"
    if has_copy:
        return "复印件"
    if has_original:
        return "原件"
    return ""


def _strip_numbering(text: str) -> str:
    return _NUMBERING_RE.sub("", text.strip(), count=1).strip()


def _clean_name(text: str) -> str:
    name = re.sub(r"\s+", " ", text).strip(" ，,：:；;。、")
    # "《申请书》" → "申请书"; keep the brackets when the name has more around them.
    match = re.fullmatch(r"《([^《》]+)》", name)
    return match.group(1).strip() if match else name


def _is_tolerance(text: str) -> bool:
    value = to_simplified(text)
    if "容缺" in value:
        return "不" not in value and "否" not in value
    return value.strip() in {"是", "√", "✓", "✔", "可以", "可"}


def material_from_line(line: str) -> Material | None:
    """'1.《申请书》原件1份' → Material(name='申请书', form='原件', copies=1); None for an empty line."""
    body = _strip_numbering(line).rstrip("；;。.")
    if not body:
        return None
    simple = to_simplified(body)
    if len(simple) != len(body):
        body = simple  # rare phrase conversions change length; keep match offsets valid
    form_match = _FORM_RE.search(simple)
    copies_match = _COPIES_RE.search(simple)
    starts = [m.start() for m in (form_match, copies_match) if m]
    if not starts or min(starts) == 0:
        # Nothing readable (or no name before it): keep the whole line as the name.
        return Material(name=_clean_name(body) or body)
    cut = min(starts)
    name = _clean_name(body[:cut])
    if not name:
        return Material(name=_clean_name(body) or body)
    tail = body[cut:]
    for match in (form_match, copies_match):
        if match:
            tail = tail.replace(body[match.start() : match.end()], "", 1)
    notes = tail.strip(" 各，,：:；;。、")
    bracketed = re.fullmatch(r"[（(]([^（()）]*)[)）]", notes)
    notes = bracketed.group(1).strip() if bracketed else notes  # "（加盖公章）" → "加盖公章"
    return Material(
        name=name,
        form=normalise_form(form_match.group(0)) if form_match else "",
        copies=_copies(copies_match.group(0)) if copies_match else None,
        notes=notes,
        tolerance=_is_tolerance(body) if "容缺" in simple else False,
    )


def _header_role(cell: str) -> str | None:
    label = _normalise_label(cell)
    if not label:
        return None
    if label in {"序号", "编号"}:
        return "seq"
    if "容缺" in label:
        return "tolerance"
    if label.startswith("原件"):
        return "original"
    if label.startswith("复印件") or label.startswith("影印件"):
        return "copy"
    if "份数" in label or label == "数量":
        return "copies"
    if "形式" in label or label == "材料类型":
        return "form"
    if "名称" in label or label in {"材料", "申请材料"}:
        return "name"
    if any(word in label for word in ("备注", "说明", "要求", "须知", "来源", "依据")):
        return "notes"
    return None


def _materials_header(rows: list[list[str]]) -> tuple[int, dict[int, str]] | None:
    """(index of the last header row, column → role) when the table is a materials list."""
    for index, row in enumerate(rows[:3]):
        roles = {col: role for col, cell in enumerate(row) if (role := _header_role(cell))}
        if "name" in roles.values() and len(roles) >= 2:
            last = index
            # A second header row under merged cells ("纸质材料" over "原件 | 复印件").
            if index + 1 < len(rows):
                sub = rows[index + 1]
                sub_roles = {col: role for col, cell in enumerate(sub) if (role := _header_role(cell))}
                filled = [cell for cell in sub if cell.strip()]
                if sub_roles and len(sub_roles) == len(filled):
                    for col, role in sub_roles.items():
                        roles.setdefault(col, role)
                        if role in {"original", "copy"}:
                            roles[col] = role
                    last = index + 1
            return last, roles
    return None


def materials_from_table(rows: list[list[str]]) -> list[Material] | None:
    """Materials from a table whose header names the columns (材料名称, 材料形式, 份数 ...); else None."""
    header = _materials_header(rows)
    if header is None:
        return None
    last_header, roles = header
    header_cells = {_normalise_label(cell) for cell in rows[last_header]}
    materials: list[Material] = []
    for row in rows[last_header + 1 :]:
        cells = {role: [] for role in set(roles.values())}
        for col, role in roles.items():
            if col < len(row):
                cells[role].append(row[col].strip())
        names = [value for value in cells.get("name", []) if value]
        if not names or len({cell.strip() for cell in row}) == 1:
            continue  # empty row or a merged group title such as "其他材料"
        name = _clean_name(_strip_numbering(names[0]).replace("\n", " "))
        if not name or _normalise_label(name) in header_cells:
            continue
        notes = [value.replace("\n", " ") for value in cells.get("notes", []) if value]
        form_text = " ".join(cells.get("form", []))
        form = normalise_form(form_text)
        if form_text.strip() and not form:
            notes.insert(0, f"材料形式：{form_text.strip()}")
        copies = None
        copies_text = " ".join(cells.get("copies", [])).strip()
        if copies_text:
            copies = _copies(copies_text)
        original = " ".join(cells.get("original", [])).strip()
        copy = " ".join(cells.get("copy", [])).strip()
        has_original = original not in _NEGATIVE_MARKS
        has_copy = copy not in _NEGATIVE_MARKS
        if not form and (has_original or has_copy):
            form = "原件及复印件" if has_original and has_copy else ("原件" if has_original else "复印件")
        if copies is None:
            if has_original and has_copy:
                original_count, copy_count = _copies(original), _copies(copy)
                if original_count is not None and original_count == copy_count:
                    copies = original_count  # 原件及复印件各N份
                elif original_count is not None or copy_count is not None:
                    notes.append(f"原件：{original}；复印件：{copy}")
            elif has_original or has_copy:
                copies = _copies(original if has_original else copy)
            elif len(_COPIES_RE.findall(form_text)) == 1:
                copies = _copies(form_text)
        tolerance_text = " ".join(cells.get("tolerance", []))
        tolerance = _is_tolerance(tolerance_text) if tolerance_text.strip() else False
        tolerance = tolerance or any("可容缺" in to_simplified(note) for note in notes)
        materials.append(
            Material(name=name, form=form, copies=copies, notes="；".join(notes), tolerance=tolerance)
        )
    return materials


def _row_text(row: list[str]) -> str:
    return " | ".join(re.sub(r"\s*\n\s*", " ", cell).strip() for cell in row)


def _label_pairs(row: list[str]) -> list[tuple[str, str]] | None:
    """(label, value) pairs of a key/value table row ("承诺时限 | 3个工作日 | 法定时限 | 20个工作日")."""
    cells = [cell.strip() for cell in row]
    if len(cells) >= 4 and len(cells) % 2 == 0 and any(_classify_label(c) for c in cells[0::2]):
        return [(cells[i], cells[i + 1]) for i in range(0, len(cells), 2)]
    if len(cells) >= 2 and _classify_label(cells[0]):
        return [(cells[0], "\n".join(cell for cell in cells[1:] if cell))]
    return None


@dataclass
class _Part:
    key: str
    heading: str
    lines: list[str] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)


def _split_inline_items(text: str) -> list[str]:
    """'1.营业执照；2.身份证' → two items; plain text stays one line."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(part for part in re.split(r"[；;]\s*(?=[（(]?\d{1,2}[)）.．、])", line) if part.strip())
    return lines


def _collect_parts(title: str, blocks: list[Block]) -> list[_Part]:
    parts: list[_Part] = [_Part("body", "")]

    def start(key: str, heading: str) -> _Part:
        parts.append(_Part(key, heading))
        return parts[-1]

    for block in blocks:
        if block.kind == "heading":
            start(classify_heading(block.text) or "body", block.text.strip())
        elif block.kind == "paragraph":
            text = block.text.strip()
            if not text:
                continue
            hit = _paragraph_label(text)
            if hit and hit[0] == parts[-1].key:
                parts[-1].lines.append(text)  # "法定办结时限：20个工作日" under "三、办结时限"
            elif hit:
                key, heading, rest = hit
                part = start(key, heading)
                if rest:
                    part.lines.append(rest)
            else:
                parts[-1].lines.append(text)
        elif block.kind == "table":
            rows = [row for row in block.rows if any(cell.strip() for cell in row)]
            materials = materials_from_table(rows)
            if materials is not None:
                part = parts[-1]
                if part.key != "materials":
                    part = start("materials", SECTION_LABELS["materials"])
                part.materials.extend(materials)
                part.lines.extend(_row_text(row) for row in rows)
                continue
            is_key_value = any(_label_pairs(row) for row in rows)
            if not is_key_value:
                parts[-1].lines.extend(_row_text(row) for row in rows)
                continue
            # Key/value table: recognised rows become sections; the rest share one body section.
            body: _Part | None = None
            for row in rows:
                pairs = _label_pairs(row)
                if pairs is None:
                    body = body or start("body", "")
                    body.lines.append(_row_text(row))
                    continue
                for label, value in pairs:
                    key = _classify_label(label)
                    if key:
                        part = start(key, label)
                        if value:
                            part.lines.append(value)
                    elif label or value:
                        body = body or start("body", "")
                        body.lines.append(f"{label}：{value}" if label and value else label or value)
            start("body", "")  # text after the table belongs to none of its rows
    # Drop empty placeholders and the document title repeated as a heading.
    return [
        part
        for part in parts
        if part.lines or part.materials or (part.heading and part.heading != title.strip())
    ]


def _qualifier(text: str) -> str | None:
    simple = to_simplified(text)
    if "法定" in simple:
        return "legal"
    if "承诺" in simple:
        return "promised"
    return None


def _time_limit(parts: list[_Part]) -> TimeLimit:
    """Working days for 法定 / 承诺 from the time sections; raw text in notes when none is readable."""
    legal: float | None = None
    promised: float | None = None
    raw: list[str] = []
    for part in parts:
        heading_qualifier = _qualifier(part.heading)
        text = "\n".join(part.lines)
        raw.append(f"{part.heading}：{text}" if part.heading and text else part.heading or text)
        for clause in re.split(r"[，,。；;\n/、]", text):
            match = _DAYS_RE.search(to_simplified(clause))
            if not match:
                continue
            days = _cn_number(match.group(1))
            which = _qualifier(clause) or heading_qualifier
            if days is None or which is None:
                continue
            if which == "legal" and legal is None:
                legal = days
            elif which == "promised" and promised is None:
                promised = days
    notes = "" if legal is not None or promised is not None else "；".join(item for item in raw if item)
    return TimeLimit(legal_days=legal, promised_days=promised, notes=notes)


def _lines(parts: list[_Part]) -> list[str]:
    return [item for part in parts for line in part.lines if (item := _strip_numbering(line) or line.strip())]


def _joined(parts: list[_Part]) -> str:
    return "；".join(line.strip() for part in parts for line in part.lines if line.strip())


def _where(where: list[_Part], hours: list[_Part], online: list[_Part]) -> Where:
    windows: list[str] = []
    addresses: list[str] = []
    for part in where:
        heading = to_simplified(part.heading)
        for line in part.lines:
            label, _, value = line.partition("：") if "：" in line else line.partition(":")
            if value and "窗口" in label and "地址" not in label:
                windows.append(value.strip())
            elif value and ("地址" in label or "地点" in label):
                addresses.append(value.strip())
            elif "窗口" in heading and "地址" not in heading:
                windows.append(line.strip())
            else:
                addresses.append(line.strip())
    return Where(
        window="；".join(windows),
        address="；".join(addresses),
        online=_joined(online),
        hours=_joined(hours),
    )


def _fee(parts: list[_Part]) -> str:
    texts: list[str] = []
    for part in parts:
        text = "；".join(line.strip() for line in part.lines if line.strip())
        if text and "是否收费" in to_simplified(part.heading):
            text = f"是否收费：{text}"  # a bare "否" means nothing without its question
        if text:
            texts.append(text)
    return "；".join(texts)


def _dedupe_materials(materials: list[Material]) -> list[Material]:
    seen: set[str] = set()
    unique: list[Material] = []
    for material in materials:
        if material.name not in seen:
            seen.add(material.name)
            unique.append(material)
    return unique


def parse_guide(title: str, blocks: list[Block], record_id: str, source_path: str) -> Record:
    """Build a Record from document blocks: kind "guide" with structured fields when at least two
    guide sections are recognised, else kind "document". Every block's text ends up in a Section."""
    parts = _collect_parts(title, blocks)
    by_key: dict[str, list[_Part]] = {}
    for part in parts:
        by_key.setdefault(part.key, []).append(part)
    recognised = {key for key in by_key if key != "body"}
    sections = [Section(key=part.key, heading=part.heading, text="\n".join(part.lines)) for part in parts]
    if len(recognised) < 2:
        return Record(id=record_id, kind="document", title=title, sections=sections, source_path=source_path)

    materials: list[Material] = []
    for part in by_key.get("materials", []):
        materials.extend(part.materials)
        if part.materials:
            continue  # the table already gave us the list; its rows are in part.lines too
        for line in part.lines:
            for item in _split_inline_items(line):
                if _NUMBERED_ITEM_RE.match(item) and (material := material_from_line(item)):
                    materials.append(material)

    where_parts = by_key.get("where", [])
    hours_parts = by_key.get("hours", [])
    online_parts = by_key.get("online", [])
    has_where = bool(where_parts or hours_parts or online_parts)
    return Record(
        id=record_id,
        kind="guide",
        title=title,
        conditions=_lines(by_key.get("conditions", [])),
        materials=_dedupe_materials(materials),
        time_limit=_time_limit(by_key["time"]) if "time" in by_key else None,
        fee=_fee(by_key.get("fee", [])),
        where=_where(where_parts, hours_parts, online_parts) if has_where else None,
        phone=_joined(by_key.get("phone", [])),
        process=_lines(by_key.get("process", [])),
        legal_basis=_lines(by_key.get("basis", [])),
        sections=sections,
        source_path=source_path,
    )

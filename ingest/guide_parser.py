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


# (keyword, section key), in priority order: a heading takes the first keyword it contains, so the
# specific ones come first ("网上办理流程" is a process, not the online address). Portals name the
# same field in many ways; these are the names seen across provincial portals and their reposts.
_SECTION_KEYWORDS: list[tuple[str, str]] = [
    ("申请材料", "materials"),
    ("申报材料", "materials"),
    ("材料清单", "materials"),
    ("所需材料", "materials"),
    ("提交材料", "materials"),
    ("办理材料", "materials"),
    ("申报要件", "materials"),
    ("受理条件", "conditions"),
    ("申请条件", "conditions"),
    ("办理条件", "conditions"),
    ("申请人条件", "conditions"),
    ("许可条件", "conditions"),
    ("准入条件", "conditions"),
    ("申请资格", "conditions"),
    ("办理流程", "process"),
    ("办事流程", "process"),
    ("办理程序", "process"),
    ("办理步骤", "process"),
    ("办理环节", "process"),
    ("申请流程", "process"),
    ("审批流程", "process"),
    ("流程", "process"),
    ("步骤", "process"),
    ("法定办结时限", "time"),
    ("承诺办结时限", "time"),
    ("办理时限", "time"),
    ("办结时限", "time"),
    ("审批时限", "time"),
    ("时限", "time"),
    ("收费标准", "fee"),
    ("收费情况", "fee"),
    ("是否收费", "fee"),
    ("收费依据", "fee"),
    ("收费项目", "fee"),
    ("办理费用", "fee"),
    ("办理地点", "where"),
    ("受理地点", "where"),
    ("办理窗口", "where"),
    ("受理窗口", "where"),
    ("窗口地址", "where"),
    ("办理地址", "where"),
    ("办公地址", "where"),
    ("线下办理", "where"),
    ("现场办理", "where"),
    ("办理渠道", "where"),
    ("咨询电话", "phone"),
    ("咨询方式", "phone"),
    ("联系电话", "phone"),
    ("联系方式", "phone"),
    ("监督电话", "phone"),
    ("投诉电话", "phone"),
    ("监督投诉", "phone"),
    ("投诉方式", "phone"),
    ("设定依据", "basis"),
    ("法律依据", "basis"),
    ("实施依据", "basis"),
    ("办理时间", "hours"),
    ("受理时间", "hours"),
    ("工作时间", "hours"),
    ("网上办理", "online"),
    ("线上办理", "online"),
    ("在线办理", "online"),
    ("网办地址", "online"),
    ("办理网址", "online"),
    ("网上申报", "online"),
    ("申报平台", "online"),
    ("办理方式", "process"),
]

# Labels of a single value, matched only as labels (never by "contains" in a heading).
_LABEL_KEYWORDS: list[tuple[str, str]] = [
    ("实施机关", "department"),
    ("实施机构", "department"),
    ("实施主体", "department"),
    ("实施部门", "department"),
    ("办理部门", "department"),
    ("受理部门", "department"),
    ("受理机关", "department"),
    ("承办机构", "department"),
    ("决定机关", "department"),
    ("所属部门", "department"),
    ("责任部门", "department"),
    # How the item is handled: answers "要跑几次 / 能快递吗 / 拿到什么", so they join the process.
    ("办件类型", "process"),
    ("到办事现场次数", "process"),
    ("到现场次数", "process"),
    ("到现场办理次数", "process"),
    ("到现场大厅次数", "process"),
    ("跑动次数", "process"),
    ("办理形式", "process"),
    ("办理深度", "process"),
    ("网办深度", "process"),
    ("网上办理深度", "process"),
    ("物流快递", "process"),
    ("是否支持物流快递", "process"),
    ("预约办理", "process"),
    ("是否支持预约", "process"),
    ("结果名称", "process"),
    ("审批结果", "process"),
    ("办理结果", "process"),
    ("办结后取得", "process"),
    ("结果领取方式", "process"),
    ("材料收取形式", "process"),
    ("送达方式", "process"),
]
# A label ending like this describes the field, it is not the field ("实施主体性质", "实施主体编码").
_LABEL_REJECT_SUFFIXES = ("性质", "编码", "代码", "类型")
# Keys whose value means nothing without its label ("承诺件", "0次", "否").
_KEEP_LABEL_KEYS = {"process"}

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
    keywords = _SECTION_KEYWORDS + _LABEL_KEYWORDS
    for keyword, key in keywords:
        if label == keyword:
            return key
    if label.endswith(_LABEL_REJECT_SUFFIXES):
        return None
    for keyword, key in keywords:
        extra = len(label) - len(keyword)
        if 0 < extra <= _MAX_LABEL_EXTRA and (label.startswith(keyword) or label.endswith(keyword)):
            return key
    return None


# "label：value" where the label is a short run of CJK (a field name, not a sentence or a clock time).
_PAIR_LABEL_RE = re.compile(r"(?:^|(?<=[；;。\s\u3000]))([\u4e00-\u9fff（）()/、]{2,12})\s*[：:]")


def _split_pairs(text: str) -> list[str]:
    """'实施主体：某局；行使层级：县级' → two lines; split only when one of the labels is a known field
    ("发文机构：…　发布日期：…" stays one line of text)."""
    body = _strip_numbering(text)
    starts = [m.start(1) for m in _PAIR_LABEL_RE.finditer(body)]
    if len(starts) < 2 or starts[0] != 0:
        return [text]
    pieces = [body[a:b].strip(" ；;\u3000") for a, b in zip(starts, [*starts[1:], len(body)], strict=True)]
    if not any(_classify_label(piece.split("：", 1)[0].split(":", 1)[0]) for piece in pieces):
        return [text]
    return [piece for piece in pieces if piece]


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


def _unknown_label(text: str) -> tuple[str, str] | None:
    """(label, value) of a "label：value" line whose label is a field name we do not type."""
    match = _PAIR_LABEL_RE.match(_strip_numbering(text))
    if not match or match.start(1) != 0:
        return None
    label = match.group(1)
    return label, _strip_numbering(text)[match.end() :].strip()


# A cell or value that states nothing: the page left it empty or put a dash. Never a number, never a fact.
_NOT_STATED = {"", "—", "——", "–", "－", "-", "--", "/", "／", "\\", "空", "无", "暂无", "未说明", "未列明"}


def not_stated(value: str) -> bool:
    """True for an empty, dash-only or "无" value, which means the page does not say."""
    return re.sub(r"[\s\u3000。.]+", "", value) in _NOT_STATED


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
    """What a materials-table column holds, from its header cell; None for other tables' headers."""
    label = _normalise_label(cell)
    if not label:
        return None
    if label in {"序号", "编号", "序"}:
        return "seq"
    if "容缺" in label:
        return "tolerance"
    if label.startswith("原件"):
        return "original"
    if label.startswith(("复印件", "影印件")):
        return "copy"
    if "份数" in label or label in {"数量", "份"}:
        return "copies"  # 份数, 纸质材料份数, 规格份数
    if "形式" in label or label in {"材料类型", "载体", "材料载体", "提交方式"}:
        return "form"
    # "环节名称" or "事项名称" head other tables; a materials column names the material.
    if ("名称" in label and ("材料" in label or label in {"名称", "文件名称", "证件名称", "要件名称"})) or label in {
        "材料",
        "申请材料",
        "所需材料",
        "材料清单",
        "提交材料",
    }:
        return "name"
    if any(word in label for word in ("备注", "说明", "要求", "须知", "来源", "依据", "必要", "必需", "审查", "标准")):
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


_PLAIN_NOTE_HEADERS = {"备注", "说明", "备注说明", "其他说明"}
# How a material's name usually ends: a certificate, a form, a report ... (for tables without a header).
_DOCUMENT_NAME_RE = re.compile(r"(证|书|表|报告|证明|照|件|材料|合同|协议|章程|凭证|文件|清单|单|函|图|册|卡)[）)]*$")


def _headerless_roles(rows: list[list[str]], in_materials: bool) -> dict[int, str] | None:
    """Roles for a table that starts with data: column 0 numbers the rows, column 1 names materials.

    Without a header we only trust it when the table sits in a materials section or most names
    look like documents; otherwise it stays text.
    """
    if not rows or any(len(row) < 2 for row in rows):
        return None
    if not all(re.fullmatch(r"\d{1,3}[.、．]?", row[0].strip()) for row in rows):
        return None
    names = [to_simplified(row[1].strip()) for row in rows]
    if any(not name or re.fullmatch(r"[\d.]+", name) for name in names):
        return None
    looks_like_documents = sum(bool(_DOCUMENT_NAME_RE.search(name)) for name in names) * 2 >= len(names)
    if not (in_materials or looks_like_documents):
        return None
    roles = {0: "seq", 1: "name"}
    width = max(len(row) for row in rows)
    for col in range(2, width):
        cells = [row[col].strip() for row in rows if col < len(row) and not not_stated(row[col])]
        if cells and all(normalise_form(cell) for cell in cells):
            roles[col] = "form"
        elif cells and all(re.fullmatch(rf"(\d+|[{_CN_DIGITS}]+)\s*份?", cell) for cell in cells):
            roles[col] = "copies"
        else:
            roles[col] = "notes"
    return roles


def materials_from_table(rows: list[list[str]], in_materials: bool = False) -> list[Material] | None:
    """Materials from a table whose header names the columns (材料名称, 材料形式, 份数 ...), or from a
    headerless numbered list of documents; None when the table is not a materials list."""
    header = _materials_header(rows)
    if header is not None:
        last_header, roles = header
        header_row = rows[last_header]
    else:
        headerless = _headerless_roles(rows, in_materials)
        if headerless is None:
            return None
        last_header, roles, header_row = -1, headerless, []
    header_cells = {_normalise_label(cell) for cell in header_row}
    titles = {col: _normalise_label(header_row[col]) if col < len(header_row) else "" for col in roles}
    materials: list[Material] = []
    for row in rows[last_header + 1 :]:
        cells: dict[str, list[str]] = {role: [] for role in set(roles.values())}
        notes: list[str] = []
        for col, role in roles.items():
            if col >= len(row):
                continue
            value = row[col].strip()
            cells[role].append(value)
            if role == "notes" and not not_stated(value):
                value = value.replace("\n", " ")
                title = titles[col]
                notes.append(value if not title or title in _PLAIN_NOTE_HEADERS else f"{title}：{value}")
        names = [value for value in cells.get("name", []) if value]
        if not names or len({cell.strip() for cell in row}) == 1:
            continue  # empty row or a merged group title such as "其他材料"
        name = _clean_name(_strip_numbering(names[0]).replace("\n", " "))
        if not name or _normalise_label(name) in header_cells or not_stated(name):
            continue
        form_text = " ".join(value for value in cells.get("form", []) if not not_stated(value))
        form = normalise_form(form_text)
        if form_text.strip() and not form:
            notes.insert(0, f"材料形式：{form_text.strip()}")
        copies = None
        copies_text = " ".join(value for value in cells.get("copies", []) if not not_stated(value)).strip()
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


def _split_inline_items(text: str) -> list[str]:
    """'1.营业执照；2.身份证' → two items; plain text stays one line."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(part for part in re.split(r"[；;]\s*(?=[（(]?\d{1,2}[)）.．、])", line) if part.strip())
    return lines


def _numbered_heading(text: str) -> bool:
    match = _NUMBERED_HEADING_RE.match(text)
    return bool(match) and len(match.group("rest")) <= 24 and not _HEADING_PUNCT_RE.search(match.group("rest"))


class _Collector:
    """Walks the blocks in reading order and cuts them into parts (one per recognised section)."""

    def __init__(self, title: str) -> None:
        self.title = title.strip()
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

    def table(self, rows: list[list[str]]) -> None:
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        if not rows:
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
            if part.lines or part.materials or (part.heading and part.heading != self.title):
                kept.append(part)
        return kept


def _collect_parts(title: str, blocks: list[Block]) -> list[_Part]:
    collector = _Collector(title)
    for block in blocks:
        if block.kind == "heading":
            collector.heading(block.text, block.level)
        elif block.kind == "paragraph":
            collector.paragraph(block.text)
        elif block.kind == "table":
            collector.table(block.rows)
    return collector.finish()


def _qualifier(text: str) -> str | None:
    simple = to_simplified(text)
    if "法定" in simple:
        return "legal"
    if "承诺" in simple:
        return "promised"
    return None


def _time_limit(parts: list[_Part]) -> TimeLimit:
    """Working days for 法定 / 承诺; every line not fully read as one of them is kept in notes."""
    legal: float | None = None
    promised: float | None = None
    notes: list[str] = []
    for part in parts:
        heading_qualifier = _qualifier(part.heading)
        heading = _strip_numbering(part.heading)
        for line in part.lines:
            found = read = 0
            for clause in re.split(r"[，,。；;\n/、]", line):
                match = _DAYS_RE.search(to_simplified(clause))
                if not match:
                    continue
                found += 1
                days = _cn_number(match.group(1))
                which = _qualifier(clause) or heading_qualifier
                if days is not None and which == "legal" and legal is None:
                    legal, read = days, read + 1
                elif days is not None and which == "promised" and promised is None:
                    promised, read = days, read + 1
            if not found or read < found:
                labelled = not heading or _normalise_label(line).startswith(_normalise_label(heading))
                notes.append(line if labelled else f"{heading}：{line}")
    return TimeLimit(legal_days=legal, promised_days=promised, notes="；".join(notes))


def _lines(parts: list[_Part]) -> list[str]:
    return [item for part in parts for line in part.lines if (item := _strip_numbering(line) or line.strip())]


def _joined(parts: list[_Part]) -> str:
    return "；".join(line.strip() for part in parts for line in part.lines if line.strip())


_HOURS_RE = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}")


def _looks_like_hours(text: str) -> bool:
    simple = to_simplified(text)
    return bool(_HOURS_RE.search(simple)) and any(
        word in simple for word in ("上午", "下午", "工作日", "夏季", "冬季", "周一", "星期")
    )


def _where(where: list[_Part], hours: list[_Part], online: list[_Part]) -> tuple[Where, list[str]]:
    """Where, plus phone numbers found among the where lines. Sub-labels route each line:
    "地点：…" to the address, "时间：…" to the hours, "线上：…" to online, "电话：…" to the phone."""
    fields: dict[str, list[str]] = {"window": [], "address": [], "online": [], "hours": [], "phone": []}
    for part in where:
        heading = to_simplified(part.heading)
        default = "window" if "窗口" in heading and "地址" not in heading else "address"
        for line in part.lines:
            match = _PAIR_LABEL_RE.match(_strip_numbering(line))
            label = to_simplified(match.group(1)) if match else ""
            value = (_strip_numbering(line)[match.end() :] if match else line).strip().rstrip("；;")
            if not value or not_stated(value):
                continue
            if "电话" in label:
                fields["phone"].append(value)
            elif "时间" in label or (not label and _looks_like_hours(value)):
                fields["hours"].append(value)
            elif any(word in label for word in ("网上", "线上", "在线", "网址", "平台", "网办")):
                fields["online"].append(value)
            elif "窗口" in label and "地址" not in label:
                fields["window"].append(value)
            elif any(word in label for word in ("地址", "地点", "线下", "现场")):
                fields["address"].append(value)
            else:
                fields[default].append(line.strip() if label else value)
    where_value = Where(
        window="；".join(fields["window"]),
        address="；".join(fields["address"]),
        online="；".join([*fields["online"], *(line for p in online for line in p.lines if line.strip())]),
        hours="；".join([*fields["hours"], *(line for p in hours for line in p.lines if line.strip())]),
    )
    return where_value, fields["phone"]


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


def _materials(parts: list[_Part]) -> list[Material]:
    materials: list[Material] = []
    for part in parts:
        materials.extend(part.materials)
        if part.materials:
            continue  # the table already gave us the list; its rows are in part.lines too
        for line in part.lines:
            for item in _split_inline_items(line):
                if _NUMBERED_ITEM_RE.match(item) and (material := material_from_line(item)):
                    materials.append(material)
    return _dedupe_materials(materials)


def parse_guide(title: str, blocks: list[Block], record_id: str, source_path: str) -> Record:
    """Build a Record from document blocks. Every block's text ends up in a Section; the fields
    are filled from the sections we recognise. Kind "guide" needs at least two of them, else the
    record is a "document" (a notice that mentions 申请材料 once is not a service guide)."""
    parts = _collect_parts(title, blocks)
    by_key: dict[str, list[_Part]] = {}
    for part in parts:
        by_key.setdefault(part.key, []).append(part)
    recognised = {key for key in by_key if key != "body"}
    sections = [Section(key=part.key, heading=part.heading, text="\n".join(part.lines)) for part in parts]
    kind = "guide" if len(recognised) >= 2 else "document"
    if not recognised:
        return Record(id=record_id, kind=kind, title=title, sections=sections, source_path=source_path,
                      parsed=True)

    where_parts = by_key.get("where", [])
    hours_parts = by_key.get("hours", [])
    online_parts = by_key.get("online", [])
    where, where_phones = _where(where_parts, hours_parts, online_parts)
    has_where = any((where.window, where.address, where.online, where.hours))
    # Steps first, then the labelled facts of the basic-information table (办件类型, 到现场次数 ...).
    process_parts = sorted(by_key.get("process", []), key=lambda part: part.level == _LABEL_LEVEL)
    department = _lines(by_key.get("department", []))
    return Record(
        id=record_id,
        kind=kind,
        parsed=True,
        title=title,
        department=department[0] if department else "",
        conditions=_lines(by_key.get("conditions", [])),
        materials=_materials(by_key.get("materials", [])),
        time_limit=_time_limit(by_key["time"]) if "time" in by_key else None,
        fee=_fee(by_key.get("fee", [])),
        where=where if has_where else None,
        phone="；".join([*where_phones, *filter(None, [_joined(by_key.get("phone", []))])]),
        process=_lines(process_parts),
        legal_basis=_lines(by_key.get("basis", [])),
        sections=sections,
        source_path=source_path,
    )

"""The member items of a 一件事 (bundle) document, and counts that only look like materials.

A bundle page lists the 事项 its joint application merges: a table with a 事项 column ("序号 | 事项",
"一件事名称 | 牵头部门 | 事项 | 联办部门", "序号 | 涉及事项 | 受理条件"), a numbered list under a heading
such as "涉及事项" or "一、集成的5个事项", or one "整合事项：A；B；C" line. We read the names into the
record's ``members``, the field our own bundle records have. Only a document whose title or headings
call it a bundle (一件事, 一链办, 联办, 套餐) is read this way: "涉及事项" means nothing special elsewhere.

A bundle page also reports figures ("一件事申请材料 | 35份 | 17份"): a count of materials, not a list.
"""

from __future__ import annotations

import re

from ingest.guide_parser.text import (
    _CN_DIGITS,
    _NUMBERED_ITEM_RE,
    Block,
    _normalise_label,
    _strip_numbering,
    not_stated,
    to_simplified,
)

_BUNDLE_CUE_RE = re.compile(r"一件事|一链办|联办|套餐")
# "涉及事项", "包含以下事项", "集成的5个事项", "整合的政务服务事项清单", "事项清单", "子事项".
_MEMBERS_HEADING_RE = re.compile(
    rf"(?:本|该)?(?:一件事)?(?:所|需要?)?(?:涉及|包含|包括|整合|集成|联办|纳入|关联|打包|合并|并联)"
    rf"(?:了|的|以下)*(?:[\d{_CN_DIGITS}]+)?(?:个|项)?(?:政务服务|审批|办理|服务)?事项(?:清单|列表|名称|范围)?"
    r"|(?:一件事)?(?:事项清单|事项列表|子事项|子事项清单|联办事项清单)"
)
# Header cells of the column that names the members, best first ("国发清单事项" is the national
# catalogue's name, often "—" where the local item is in "事项").
_MEMBER_COLUMNS = ("事项名称", "事项", "涉及事项", "包含事项", "联办事项", "整合事项", "集成事项", "子事项名称",
                   "子事项", "关联事项", "单项事项", "政务服务事项", "国发清单事项")
# The other header cells of a members table are column titles ("实施部门", "办理时限"), never values.
_COLUMN_TITLE_RE = re.compile(
    r"(序号|编号|部门|单位|机关|机构|主体|层级|时限|名称|类型|对象|备注|说明|条件|材料|编码|代码|方式|依据|结果|地点|窗口|电话|费用|收费)$"
)
_SEQ_RE = re.compile(r"\d{1,3}[.、．]?")
_NAME_PUNCT_RE = re.compile(r"[。，,；;：:！!？?]")
_MAX_NAME = 40  # a member is named, not described: a longer cell is a sentence
_COUNT_RE = re.compile(rf"(?:约|共|合计|总计|累计)?[\d{_CN_DIGITS}]+(?:\.\d+)?(?:份|件|项|个|张|页|类)(?:材料)?")


def is_bundle_document(title: str, blocks: list[Block]) -> bool:
    """Whether the title or a heading calls the document a bundle (开办餐饮店“一件事”)."""
    texts = [title, *(block.text for block in blocks if block.kind == "heading")]
    return any(mentions_bundle(text) for text in texts)


def mentions_bundle(text: str) -> bool:
    return bool(_BUNDLE_CUE_RE.search(to_simplified(text)))


def is_members_heading(text: str) -> bool:
    """"一、集成的5个事项", "（二）涉及事项", "事项清单": a heading (or label) over the member list."""
    label = _normalise_label(text)
    return bool(label) and bool(_MEMBERS_HEADING_RE.fullmatch(label))


def member_name(text: str) -> str:
    """The item's name from a cell or list item; '' when it is empty or a sentence, not a name."""
    name = _strip_numbering(re.sub(r"\s+", " ", text).strip()).strip(" ；;。，,、")
    if not name or not_stated(name) or len(name) > _MAX_NAME or _NAME_PUNCT_RE.search(name):
        return ""
    return name


def members_from_table(rows: list[list[str]], in_members: bool = False) -> list[str] | None:
    """Member names from a table with a 事项 column, or from a numbered table under a members
    heading; None when the table is not a member list."""
    column, body = _member_column(rows, in_members)
    if column is None:
        return None
    names = [member_name(row[column]) for row in body if column < len(row)]
    return list(dict.fromkeys(name for name in names if name))


def _member_column(rows: list[list[str]], in_members: bool) -> tuple[int | None, list[list[str]]]:
    """(column of the names, the rows below the header); (None, []) for another table."""
    if len(rows) >= 2:
        labels = [_normalise_label(cell) for cell in rows[0]]
        columns = [labels.index(title) for title in _MEMBER_COLUMNS if title in labels]
        titles_only = all(not label or label in _MEMBER_COLUMNS or _COLUMN_TITLE_RE.search(label) for label in labels)
        if columns and titles_only:
            return columns[0], rows[1:]
    if in_members and rows:
        if all(len(row) >= 2 and _SEQ_RE.fullmatch(row[0].strip()) for row in rows):
            return 1, rows  # "1 | 食品经营许可核发" without a header
        if all(len(row) == 1 for row in rows):
            return 0, rows
    return None, []


def members_from_lines(lines: list[str], labelled: bool) -> list[str]:
    """Names from the lines of a members section: its numbered items ("1. 企业设立登记"), or, for a
    "涉及事项：A；B、C" line (``labelled``), the parts of its value."""
    items = [item.strip() for line in lines for item in _split_items(line)]
    numbered = [member_name(item) for item in items if _NUMBERED_ITEM_RE.match(item)]
    if numbered or not labelled:
        return list(dict.fromkeys(name for name in numbered if name))
    pieces = [piece for line in lines for piece in re.split(r"[；;]", line)]
    if len(pieces) == 1 and "、" in pieces[0]:
        pieces = pieces[0].split("、")  # "企业设立登记、印章刻制、发票申领": names rarely hold a 、 themselves
    return list(dict.fromkeys(name for piece in pieces if (name := member_name(piece))))


def _split_items(line: str) -> list[str]:
    """'1.A；2.B' and '（一）A（二）B' → one item each; a plain line stays whole."""
    return [part for part in re.split(rf"[；;]\s*(?=[（(]?[\d{_CN_DIGITS}]{{1,2}}[)）.．、])", line) if part.strip()]


def is_count(text: str) -> bool:
    """"改革前：35份；改革后：17份", "共5份": how many materials there are, which is not a list of them."""
    pieces = [piece for piece in re.split(r"[；;，,、/\s]+", to_simplified(text)) if piece]
    return bool(pieces) and all(_COUNT_RE.fullmatch(re.sub(r"^[^：:]{1,8}[：:]", "", piece)) for piece in pieces)

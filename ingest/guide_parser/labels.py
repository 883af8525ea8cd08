"""Which guide section or field a heading, a short line or a table cell names (申请材料, 办理时限, 实施主体 ...)."""

from __future__ import annotations

import re

from ingest.guide_parser.text import _normalise_label, _strip_numbering

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
    # Question-style headings of plain-language pages ("二、在哪里申请", "去哪里办").
    ("在哪里", "where"),
    ("去哪里", "where"),
    ("在哪办", "where"),
    ("哪里办", "where"),
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


_SENTENCE_PUNCT_RE = re.compile(r"[，,。；;？?！!《》]")
_LABEL_SPLIT_RE = re.compile(r"[：:]")
_MAX_LABEL_EXTRA = 3  # "申请材料清单" is a heading; "申请材料真实性承诺书" is not


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

"""Document blocks and the text helpers every step of the guide parser shares: numbering, script, empty values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import opencc

BlockKind = Literal["heading", "paragraph", "table"]


@dataclass
class Block:
    """One unit of a source document, in reading order."""

    kind: BlockKind
    level: int = 0  # heading level (1 = top); 0 for paragraphs and tables
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)  # table cells, row by row


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


def _strip_numbering(text: str) -> str:
    return _NUMBERING_RE.sub("", text.strip(), count=1).strip()

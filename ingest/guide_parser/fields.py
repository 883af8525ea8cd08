"""The Record's typed fields from the collected parts: time limit, where, fee, materials, plain lists."""

from __future__ import annotations

import re

from ingest.guide_parser.collector import _LABEL_LEVEL, _Part
from ingest.guide_parser.labels import _PAIR_LABEL_RE
from ingest.guide_parser.materials import material_from_line
from ingest.guide_parser.members import is_count, members_from_lines, mentions_bundle
from ingest.guide_parser.text import (
    _CN_DIGITS,
    _NUMBERED_ITEM_RE,
    _cn_number,
    _normalise_label,
    _strip_numbering,
    not_stated,
    to_simplified,
)
from ingest.schema import Material, TimeLimit, Where

_DAYS_RE = re.compile(rf"(\d+(?:\.\d+)?|[{_CN_DIGITS}]+)\s*个?\s*工作日")


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
        labelled = any(_PAIR_LABEL_RE.match(_strip_numbering(line)) for line in part.lines)
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
            elif label or not labelled or not re.search(r"[，,]", value):
                # A sentence among "线上：…/线下：…" lines tells what happens, not where: the section keeps it.
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


def _split_inline_items(text: str) -> list[str]:
    """'1.营业执照；2.身份证' → two items; plain text stays one line."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(part for part in re.split(r"[；;]\s*(?=[（(]?\d{1,2}[)）.．、])", line) if part.strip())
    return lines


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
                if _NUMBERED_ITEM_RE.match(item) and not is_count(_strip_numbering(item)) and (
                    material := material_from_line(item)
                ):
                    materials.append(material)
    return _dedupe_materials(materials)


def _members(parts: list[_Part]) -> list[str]:
    """A bundle's member items: the names its tables gave, else the items listed in its members sections."""
    names = [name for part in parts for name in part.members]
    if not names:
        names = [name for part in parts if part.key == "members"
                 for name in members_from_lines(part.lines, labelled=part.level == _LABEL_LEVEL)]
    return list(dict.fromkeys(names))


# The field that names the item in the national catalogue's schema and the portals built on it
# (事项名称, 通用事项名称, 实施清单名称, 目录清单名称, 政策名称); 材料名称 and 结果名称 name other things.
_NAME_LABEL_RE = re.compile(r"^(?:通用|实施|基本)?(?:事项|政策|项目|实施清单|目录清单)名称$")
_CELL_SPLIT_RE = re.compile(r"\s*\|\s*|[：:]")


def _names(parts: list[_Part], title: str) -> list[str]:
    """The item's names the page gives in its own name field ("通用事项名称 | 公司变更登记"), which
    people use when they ask; the page title often adds a place or the portal's name."""
    names = []
    for part in parts:
        for line in part.lines:
            cells = [cell.strip() for cell in _CELL_SPLIT_RE.split(line)]
            for label, value in zip(cells, cells[1:], strict=False):
                if (_NAME_LABEL_RE.match(_normalise_label(label)) and 2 <= len(value) <= 40
                        and not not_stated(value) and value != title):
                    names.append(value)
    return list(dict.fromkeys(names))


def _bundle_summary(parts: list[_Part]) -> str:
    """What a bundle page says it is: the first line before its sections that speaks of the bundle or its
    items ("把开办餐饮店需要办的5个事项放在一起……"), as our bundle records' summary does."""
    for part in parts:
        if part.key != "body":
            break
        for line in part.lines:
            if (mentions_bundle(line) or "事项" in line) and len(line) > 15:
                return line.strip()
    return ""

"""Materials (申请材料) from a numbered line or a materials table: name, form, copies, notes, 容缺."""

from __future__ import annotations

import re

from ingest.guide_parser.text import (
    _CN_DIGITS,
    _cn_number,
    _normalise_label,
    _strip_numbering,
    not_stated,
    to_simplified,
)
from ingest.schema import Material

_FORM_RE = re.compile(
    r"原件及复印件|原件和复印件|原件、复印件|原件或复印件|复印件|影印件|原件|电子件|电子版|扫描件"
)
_COPIES_RE = re.compile(rf"(\d+|[{_CN_DIGITS}]+)\s*份")


_NEGATIVE_MARKS = {"", "0", "否", "无", "不", "/", "-", "—", "－", "×", "x", "X", "不需要", "不需"}


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
    layout = _table_layout(rows, in_materials)
    if layout is None:
        return None
    last_header, roles, header_row = layout
    header_cells = {_normalise_label(cell) for cell in header_row}
    titles = {col: _normalise_label(header_row[col]) if col < len(header_row) else "" for col in roles}
    materials: list[Material] = []
    for row in rows[last_header + 1 :]:
        material = _row_material(row, roles, titles, header_cells)
        if material is not None:
            materials.append(material)
    return materials


def _table_layout(rows: list[list[str]], in_materials: bool) -> tuple[int, dict[int, str], list[str]] | None:
    """(index of the last header row, column → role, header row); -1 and [] for a headerless list."""
    header = _materials_header(rows)
    if header is not None:
        last_header, roles = header
        return last_header, roles, rows[last_header]
    headerless = _headerless_roles(rows, in_materials)
    if headerless is None:
        return None
    return -1, headerless, []


def _row_cells(row: list[str], roles: dict[int, str], titles: dict[int, str]) -> tuple[dict[str, list[str]], list[str]]:
    """The row's cells by role, and its stated notes (titled by their column unless it is a plain 备注)."""
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
    return cells, notes


def _row_material(row: list[str], roles: dict[int, str], titles: dict[int, str],
                  header_cells: set[str]) -> Material | None:
    """One row's material; None for an empty row, a merged group title or a repeated header."""
    cells, notes = _row_cells(row, roles, titles)
    names = [value for value in cells.get("name", []) if value]
    if not names or len({cell.strip() for cell in row}) == 1:
        return None  # empty row or a merged group title such as "其他材料"
    name = _clean_name(_strip_numbering(names[0]).replace("\n", " "))
    if not name or _normalise_label(name) in header_cells or not_stated(name):
        return None
    form, copies = _form_and_copies(cells, notes)
    tolerance_text = " ".join(cells.get("tolerance", []))
    tolerance = _is_tolerance(tolerance_text) if tolerance_text.strip() else False
    tolerance = tolerance or any("可容缺" in to_simplified(note) for note in notes)
    return Material(name=name, form=form, copies=copies, notes="；".join(notes), tolerance=tolerance)


def _form_and_copies(cells: dict[str, list[str]], notes: list[str]) -> tuple[str, int | None]:
    """Form and copies from the form / copies / 原件 / 复印件 columns; what cannot be read goes to ``notes``."""
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
    return form, copies

"""Load one knowledge file (structured Markdown, plain Markdown, TXT, HTML, DOCX, PDF, XLSX) into a Record.

``load_file`` raises only ``LoadError`` with a one-line Chinese reason, so ``govbot ingest`` can
list every bad file and keep going. ``check_structured_file`` collects all problems of a
structured Markdown file for ``govbot check``.
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import charset_normalizer
import yaml
from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
from pydantic import ValidationError

from ingest.faq_parse import faq_pairs
from ingest.guide_parser import Block, classify_heading, parse_guide
from ingest.schema import MaterialForm, Record, Section

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".docx", ".pdf", ".xlsx"}
OFFICE_SUFFIXES = (".docx", ".pdf", ".xlsx")  # parsed in a child process (ingest/office_worker.py)
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TITLE_CHARS = 60
MARKDOWN_SUFFIXES = {".md", ".markdown"}
# Budgets for DOCX and PDF (reliability F7: a 71 KB docx and a 115 KB PDF each ran > 300 s). The
# time, memory, inflated-size and page limits are settings; these two are fixed.
MAX_DOCX_BLOCKS = 20_000  # body paragraphs and tables; a long real guide has a few hundred
MAX_PDF_PAGE_CONTENT = 8 * 1024 * 1024  # decompressed content stream of one page


class LoadError(Exception):
    """A file that cannot become a Record; ``reason`` is one line of Chinese for the admin."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())  # always one line
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.path}:{self.line}: {self.reason}"
        return f"{self.path}: {self.reason}"


# --------------------------------------------------------------------------- reading bytes


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise LoadError(path, "文件不存在") from None
    except PermissionError:
        raise LoadError(path, "没有权限访问该文件（请检查文件及所在目录的权限）") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError(path, "无法读取：符号链接形成了循环，指向不到真正的文件") from None
        if exc.errno == errno.ENOTDIR:
            raise LoadError(path, "文件不存在（路径中的某一级不是目录）") from None
        raise LoadError(path, f"无法读取文件信息（系统错误：{_errno_name(exc)}）") from None


def stat_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened at all (missing, symlink loop, no permission), or None. Reads nothing."""
    try:
        _stat(Path(path))
    except LoadError as exc:
        return exc.reason
    return None


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def _read_bytes(path: Path, limit: int) -> bytes:
    # Read at most limit + 1 bytes: a file that grew after stat() must not be read in full.
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def _read_checked(path: Path, max_bytes: int) -> bytes:
    info = _stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise LoadError(path, "这是一个目录，不是普通文件")
    if not stat.S_ISREG(info.st_mode):
        raise LoadError(path, "不是普通文件（可能是管道、设备或套接字），无法读取")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "（无扩展名）"
        supported = "、".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadError(path, f"不支持的文件类型 {shown}，支持的类型：{supported}")
    if info.st_size > max_bytes:
        raise LoadError(path, f"文件过大（{_mb(info.st_size)}），超过上限 {_mb(max_bytes)}")
    if info.st_size == 0:
        raise LoadError(path, "文件为空（0 字节）")
    try:
        data = _read_bytes(path, max_bytes)
    except PermissionError:
        raise LoadError(path, "没有读取权限（请检查文件权限）") from None
    except IsADirectoryError:
        raise LoadError(path, "这是一个目录，不是普通文件") from None
    except OSError as exc:
        raise LoadError(path, f"读取文件失败（系统错误：{_errno_name(exc)}）") from None
    if len(data) > max_bytes:
        raise LoadError(path, f"文件过大（读取时超过上限 {_mb(max_bytes)}）")
    if not data:
        raise LoadError(path, "文件为空（0 字节）")
    return data


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


# --------------------------------------------------------------------------- text decoding


def _looks_binary(text: str) -> bool:
    # Real documents contain almost no control characters; decoded binary is full of them.
    bad = sum(
        1 for ch in text if (ch < " " and ch not in "\t\n\r\f\v") or "\x7f" <= ch <= "\x9f" or ch == "\ufffd"
    )
    return bad > max(2, len(text) // 200)


# Chinese text that is not UTF-8 is GBK/GB18030 (mainland) or BIG5 (traditional, Hong Kong / Taiwan).
_CHINESE_ENCODINGS = ("gb18030", "big5")


def _decode_legacy(data: bytes, path: Path) -> str:
    """UTF-8 first; else the Chinese legacy encodings that decode the bytes without error, and when both
    do (GB18030 decodes almost anything, BIG5 text included, as nonsense), the one whose characters read
    as language (charset-normalizer's coherence); else charset-normalizer's guess over every encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    fitting = []
    for encoding in _CHINESE_ENCODINGS:
        try:
            fitting.append((encoding, data.decode(encoding)))
        except UnicodeDecodeError:
            continue
    if len(fitting) == 1:
        return fitting[0][1]
    best = charset_normalizer.from_bytes(data, cp_isolation=[e for e, _ in fitting] or None).best()
    if best is None:
        if fitting:
            return fitting[0][1]
        raise LoadError(path, "无法识别文件编码（可能是二进制文件），请另存为 UTF-8 文本")
    return str(best)


def _private_use_share(text: str) -> float:
    return sum(1 for ch in text if "\ue000" <= ch <= "\uf8ff") / max(len(text), 1)


def _decode_text(data: bytes, path: Path) -> str:
    """UTF-16 by its BOM, else UTF-8, GB18030 (a superset of GBK) or BIG5 (see _decode_legacy)."""
    text: str | None = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(path, "文件以 UTF-16 标记开头但内容无法解码，可能已损坏") from None
    elif b"\x00" in data:
        raise LoadError(path, "文件包含 NUL 字节，是二进制内容而不是文本（可能是改了扩展名的其他文件）")
    else:
        text = _decode_legacy(data, path)
    if _private_use_share(text) > 0.01:
        # Characters of the private-use area are what wrongly decoded bytes turn into.
        raise LoadError(path, "文件编码无法可靠识别（解码后出现大量乱码字符），请另存为 UTF-8 文本")
    if _looks_binary(text):
        raise LoadError(path, "文件包含大量控制字符，是二进制内容而不是文本（可能是改了扩展名的其他文件）")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError(path, "文件内容为空（只有空白字符）")
    return text


# --------------------------------------------------------------------------- structured Markdown

_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_FORMS = "、".join(form for form in get_args(MaterialForm) if form)

# Field names admins see in messages, with what they mean.
_FIELD_HINTS = {
    "id": "编号",
    "kind": "类型",
    "title": "事项名称",
    "department": "办理部门",
    "sources": "来源",
    "updated": "更新日期",
    "materials": "申请材料",
    "name": "材料名称",
    "form": "材料形式",
    "copies": "份数",
    "members": "包含事项",
    "faq": "常见问题",
    "question": "问题",
    "answer": "答案",
}

# PyYAML's English problems → what the admin should fix.
_YAML_PROBLEMS = [
    ("mapping values are not allowed here", "此处不能出现“键: 值”（冒号后的内容可能需要加引号，或缩进不对）"),
    ("found character '\\t' that cannot start any token", "不能用 Tab 缩进，请改用空格"),
    ("could not find expected ':'", "缺少冒号“:”（或上一行的引号没有闭合）"),
    ("found unexpected end of stream", "文件意外结束（引号或括号没有闭合）"),
    ("did not find expected key", "缩进不对，或列表项缺少“- ”"),
    ("did not find expected ',' or ']'", "方括号列表没有正确闭合（缺少“,”或“]”）"),
    ("did not find expected ',' or '}'", "花括号没有正确闭合（缺少“,”或“}”）"),
    ("expected <block end>", "缩进不一致"),
    ("found undefined alias", "引用了未定义的锚点（*别名）"),
    ("found unknown escape character", "双引号字符串中有无效的转义字符“\\”"),
    ("did not find expected '-' indicator", "列表缩进不一致"),
]


@dataclass
class _Problem:
    line: int | None
    message: str
    loc: tuple[int | str, ...] = ()


@dataclass
class _Structured:
    record: Record | None
    problems: list[_Problem]
    data: dict[str, Any] | None = None
    root: yaml.Node | None = None


def _split_front_matter(text: str) -> tuple[str, str] | None:
    """(front matter, body) when the text starts with '---', else None; LoadError when it is unclosed."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in {"---", "..."}:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    raise LoadError("", "front matter 没有结束行 ---（第 1 行的 --- 之后需要再有一行 ---）", 1)


def _yaml_problem(exc: yaml.YAMLError) -> _Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 2 if mark is not None else None  # front matter starts at line 2
    problem = str(getattr(exc, "problem", "") or exc)
    for english, chinese in _YAML_PROBLEMS:
        if english in problem:
            return _Problem(line, f"YAML 语法错误：{chinese}")
    return _Problem(line, f"YAML 语法错误（{problem}）")


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """File line of the key (or list item) at ``loc``; the nearest existing parent when it is missing."""
    node = root
    line: int | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                    line, node = key_node.start_mark.line, value_node
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 2 if line is not None else None


def _duplicate_keys(node: yaml.Node | None) -> list[_Problem]:
    """PyYAML silently keeps the last of two equal keys; an admin almost never means that."""
    problems: list[_Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    problems.append(_Problem(key_node.start_mark.line + 2, f"字段 {key_node.value} 重复出现"))
                seen.add(key_node.value)
            problems.extend(_duplicate_keys(value_node))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems.extend(_duplicate_keys(item))
    return problems


def _loc_label(loc: tuple[int | str, ...]) -> str:
    """('materials', 0, 'form') → 'materials 第1项的 form'."""
    label = ""
    previous_was_index = False
    for part in loc:
        if isinstance(part, int):
            label += f" 第{part + 1}项"
            previous_was_index = True
        else:
            label += ("的 " if previous_was_index else "." if label else "") + part
            previous_was_index = False
    return label or "front matter"


def _field_name(loc: tuple[int | str, ...]) -> str:
    label = _loc_label(loc)
    last = next((part for part in reversed(loc) if isinstance(part, str)), "")
    hint = _FIELD_HINTS.get(last)
    return f"{label}（{hint}）" if hint and label.endswith(last) else label


def _pydantic_message(error: Any) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    field = _field_name(loc)
    value = error.get("input")
    if kind == "missing":
        return f"缺少必填字段 {field}"
    if kind == "extra_forbidden":
        return f"未知字段 {_loc_label(loc)}（可能是拼写错误，字段名见 knowledge/README.md）"
    if kind == "literal_error":
        if loc and loc[-1] == "form":
            return f"{field} 的值“{value}”不是允许的值：{_FORMS}（或留空）"
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", "、").replace(", ", "、")
        return f"{field} 的值“{value}”不是允许的值：{expected}"
    if kind == "string_pattern_mismatch" and loc == ("id",):
        return f"id“{value}”不合法：只能用小写字母、数字、连字符和下划线，并以字母或数字开头"
    if kind == "string_too_short":
        return f"{field} 不能为空"
    if kind == "string_type":
        return f"{field} 应为文本"
    if kind in {"int_parsing", "int_type", "int_from_float", "float_parsing", "float_type"}:
        return f"{field} 应为数字，现在是“{value}”"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{field} 应为 true 或 false，现在是“{value}”"
    if kind == "list_type":
        return f"{field} 应为列表（每项一行“- ”，或写成 [甲, 乙]）"
    if kind == "model_type" and len(loc) == 2 and loc[0] == "materials":
        return f"{field} 应写成“name: 材料名称”加 form/copies 等字段的形式，而不是一段文字"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return f"{field} 应为“字段: 值”的映射"
    if kind == "greater_than_equal":
        return f"{field} 不能小于 {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"{field} 不能大于 {ctx.get('le')}"
    return f"{field} 的值不合法（{error.get('msg', kind)}）"


def _body_sections(body: str) -> list[Section]:
    """Split the Markdown body at its '#' headings; text is kept exactly as written."""
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(lines).strip("\n")
        if text.strip() or heading:
            key = classify_heading(heading) or "body"
            sections.append(Section(key=key, heading=heading, text=text.strip()))

    for line in body.split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING_RE.match(line)
        if match:
            flush()
            heading = match.group(2).strip()
            lines = []
        else:
            lines.append(line)
    flush()
    return sections


def _first_alias(front: str) -> int | None:
    """The 0-based line of the first YAML anchor or alias in ``front``, None when there is none."""
    for token in yaml.scan(front, Loader=yaml.SafeLoader):
        if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
            return token.start_mark.line
    return None


def _parse_structured(text: str, path: Path) -> _Structured | None:
    """Parse front matter + body; None when the file has no front matter."""
    try:
        split = _split_front_matter(text)
    except LoadError as exc:
        return _Structured(None, [_Problem(exc.line, exc.reason)])
    if split is None:
        return None
    front, body = split
    try:
        alias = _first_alias(front)
        if alias is not None:
            # Aliases let a few hundred bytes stand for billions of nodes (an "alias bomb"); a guide
            # never needs them.
            return _Structured(None, [_Problem(alias + 2, "front matter 不支持 YAML 锚点/别名（& 和 *），请直接写出内容")])
        root = yaml.compose(front, Loader=yaml.SafeLoader)
        data = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        return _Structured(None, [_yaml_problem(exc)])
    except ValueError:
        # Python refuses to convert integers of more than 4,300 digits.
        return _Structured(None, [_Problem(None, "front matter 中有位数过多的数字，无法读取；请把它写成带引号的文字")])
    if not isinstance(data, dict):
        return _Structured(None, [_Problem(2, "front matter 应为“字段: 值”的形式（每行一个字段）")])
    problems = _duplicate_keys(root)
    data = {str(key): value for key, value in data.items()}
    for key, message in (
        ("source_path", "source_path 由导入程序自动填写，请从 front matter 中删除"),
        ("sections", "sections 由正文的 # 标题自动生成，请把内容写在正文里"),
    ):
        if key in data:
            problems.append(_Problem(_node_line(root, (key,)), message, (key,)))
    derived = {"waived"} | ({"materials"} if data.get("kind") == "bundle" else set())
    for key in sorted(derived & data.keys()):
        # A hand-written bundle list drifts from its members (issue 11): it is always computed.
        problems.append(_Problem(_node_line(root, (key,)), f"一件事套餐的 {key} 由成员事项的材料清单自动合并生成，"
                                 "请删除；套餐新增的材料写在 adds，共用或免交的材料写在 changes（并写明 reason）",
                                 (key,)))
    fields = {key: value for key, value in data.items() if key not in {"source_path", "sections"}}
    record: Record | None = None
    try:
        record = Record.model_validate({**fields, "sections": _body_sections(body), "source_path": str(path)})
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(_Problem(_node_line(root, loc), _pydantic_message(error), loc))
    if problems:
        record = None  # e.g. duplicate keys: the parsed values may not be what the author meant
    return _Structured(record, problems, data, root)


def _sorted(problems: list[_Problem]) -> list[_Problem]:
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False


def _knowledge_problems(parsed: _Structured) -> list[_Problem]:
    """Fields the knowledge base needs even though the schema lets them default to empty."""
    data = parsed.data or {}
    reported = {problem.loc for problem in parsed.problems}
    problems: list[_Problem] = []

    def need(key: str, hint: str, why: str = "") -> None:
        if (key,) in reported:
            return
        if key not in data:
            problems.append(_Problem(None, f"缺少 {key}（{hint}）{why}", (key,)))
        elif _blank(data[key]):
            line = _node_line(parsed.root, (key,))
            problems.append(_Problem(line, f"{key}（{hint}）不能为空{why}", (key,)))

    is_guide = data.get("kind") == "guide"
    need("title", "事项名称")
    if is_guide:
        need("department", "办理部门")
    need("sources", "官方网址或种子文件名", "，至少写一项")
    need("updated", "最近核对日期", "，如 2026-11-01")
    if is_guide:
        need("materials", "申请材料", "：办事指南至少要列出一项")
    if data.get("kind") == "faq":
        need("faq", "常见问题", "：至少写一对 question / answer")
    problems.extend(_faq_duplicates(parsed, reported))
    sources = data.get("sources")
    if isinstance(sources, list):
        for index, source in enumerate(sources):
            if _blank(source) and ("sources", index) not in reported:
                line = _node_line(parsed.root, ("sources", index))
                problems.append(_Problem(line, f"sources 第{index + 1}项为空", ("sources", index)))
    materials = data.get("materials")
    if isinstance(materials, list):
        for index, material in enumerate(materials):
            loc: tuple[int | str, ...] = ("materials", index, "name")
            blank_name = isinstance(material, dict) and "name" in material and _blank(material["name"])
            if blank_name and loc not in reported:
                line = _node_line(parsed.root, loc)
                problems.append(_Problem(line, f"{_field_name(loc)} 不能为空", loc))
    return problems


def _faq_duplicates(parsed: _Structured, reported: set[tuple[int | str, ...]]) -> list[_Problem]:
    """The same question twice in one file: only one of the two answers could ever be given."""
    entries = (parsed.data or {}).get("faq")
    if not isinstance(entries, list):
        return []
    first: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        question = entry.get("question") if isinstance(entry, dict) else None
        if not isinstance(question, str) or not question.strip() or ("faq", index, "question") in reported:
            continue
        key = re.sub(r"[\s？?。！!，,]", "", unicodedata.normalize("NFKC", question))
        if key in first:
            problems.append(_Problem(_node_line(parsed.root, ("faq", index)),
                                     f"faq 第{index + 1}项的问题与第{first[key] + 1}项重复：请合并为一项", ("faq", index)))
        else:
            first[key] = index
    return problems


def check_structured_file(path: Path) -> tuple[Record | None, list[tuple[int | None, str]]]:
    """For ``govbot check``: the record (None when invalid) and every problem as (line, Chinese message)."""
    try:
        path = Path(path)
        if path.suffix.lower() not in MARKDOWN_SUFFIXES and path.is_file():
            return None, [(None, "知识库文件应为 Markdown（.md），开头用 --- 包住 YAML 字段")]
        text = _decode_text(_read_checked(path, MAX_FILE_BYTES), path)
        parsed = _parse_structured(text, path)
        if parsed is None:
            return None, [(1, "缺少 front matter：第一行应为 ---，接着写 YAML 字段，再用一行 --- 结束")]
        problems = parsed.problems
        if parsed.data is not None:
            problems = problems + _knowledge_problems(parsed)
        return parsed.record, [(problem.line, problem.message) for problem in _sorted(problems)]
    except LoadError as exc:
        return None, [(exc.line, exc.reason)]
    except Exception as exc:  # noqa: BLE001 - a check must report, never crash
        return None, [(None, f"检查时出错：{type(exc).__name__}")]


# --------------------------------------------------------------------------- plain formats → blocks


def _markdown_blocks(text: str) -> tuple[str, list[Block]]:
    """Headings, paragraph lines and '|' tables of plain Markdown; title = first '#' heading."""
    blocks: list[Block] = []
    table: list[list[str]] = []
    in_fence = False

    def flush_table() -> None:
        if table:
            blocks.append(Block("table", rows=list(table)))
            table.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if _FENCE_RE.match(raw):
            flush_table()
            in_fence = not in_fence
            continue
        if in_fence:
            if line:
                blocks.append(Block("paragraph", text=line))
            continue
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells if cell):
                table.append(cells)
            continue
        flush_table()
        match = _MD_HEADING_RE.match(raw)
        if match and match.group(2).strip():
            blocks.append(Block("heading", level=len(match.group(1)), text=match.group(2).strip()))
        elif line and not re.fullmatch(r"(-{3,}|\*{3,}|_{3,}|={3,})", line):
            blocks.append(Block("paragraph", text=line.lstrip("> ").strip() or line))
    flush_table()
    headings = [block for block in blocks if block.kind == "heading"]
    top = [block for block in headings if block.level == 1] or headings
    return (top[0].text if top else ""), blocks


def _text_blocks(text: str) -> list[Block]:
    """One paragraph per line; runs of tab-separated lines (pasted from a spreadsheet) become a table."""
    blocks: list[Block] = []
    table: list[list[str]] = []
    for raw in text.split("\n"):
        line = raw.strip()
        cells = [cell.strip() for cell in line.split("\t")]
        if len([cell for cell in cells if cell]) >= 2:
            table.append(cells)
            continue
        if table:
            blocks.append(Block("table", rows=table))
            table = []
        if line:
            blocks.append(Block("paragraph", text=re.sub(r"[ \u3000\xa0]{2,}", " ", line)))
    if table:
        blocks.append(Block("table", rows=table))
    return blocks


_HTML_DROP = ["script", "style", "nav", "noscript", "template", "iframe", "svg", "object", "head"]
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_HTML_BLOCKS = {
    "p", "div", "li", "ul", "ol", "section", "article", "main", "header", "footer", "aside", "blockquote",
    "pre", "dl", "dt", "dd", "form", "hr", "tr", "td", "th", "table", "tbody", "thead", "caption",
    "center", "address", "figure", "figcaption", "fieldset", "body",
}  # fmt: skip


def _clean_inline(text: str) -> str:
    return re.sub(r"[\s\u3000\xa0]+", " ", text).strip()


def _html_cell(cell: Tag) -> str:
    lines = (_clean_inline(line) for line in cell.get_text("\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _html_rows(table: Tag) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # belongs to a nested table
        cells = [_html_cell(cell) for cell in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append(cells)
    return rows


def _dl_rows(dl: Tag) -> list[list[str]]:
    """<dl><dt>label</dt><dd>value</dd>…</dl> → [[label, value], …]; several <dd> join with newlines."""
    rows: list[list[str]] = []
    for child in dl.find_all(["dt", "dd"]):
        if child.find_parent("dl") is not dl:
            continue
        text = _html_cell(child)
        if child.name == "dt":
            rows.append([text, ""])
        elif rows:
            rows[-1][1] = f"{rows[-1][1]}\n{text}".strip("\n")
        elif text:
            rows.append(["", text])
    return [row for row in rows if any(row)]


_PAIR_LABEL_MAX = 16


def _label_value_pair(node: Tag) -> list[str] | None:
    """[label, value] for an element made of exactly a label element and a value element, as CSS
    grids of portals are built (<div><span class="k">实施机构</span><span class="v">…</span></div>)."""
    if any(isinstance(c, NavigableString) and c.strip() for c in node.children):
        return None
    children = [c for c in node.children if isinstance(c, Tag) and c.name not in {"br"}]
    if len(children) != 2 or any(c.name in {"table", "ul", "ol", "dl", *_HTML_HEADINGS} for c in children):
        return None
    if children[0].find(True) and children[0].find(["div", "p", "table", "ul", "ol"]):
        return None  # the label is itself a container: a layout block, not a field
    label = _clean_inline(children[0].get_text(" "))
    if not label or len(label) > _PAIR_LABEL_MAX or not re.search(r"[\u4e00-\u9fff]", label):
        return None
    if re.search(r"[，,。；;！？]", label):
        return None
    return [label.rstrip("：:").strip(), _html_cell(children[1])]


_TITLE_CLASS_RE = re.compile(r"(?:^|[-_])(?:title|tit|hd|head|header|caption)(?:$|[-_])", re.IGNORECASE)


def _styled_heading(node: Tag) -> str | None:
    """Text of a <div class="panel-title">申报材料</div>: portals built of divs mark headings by class."""
    classes = node.get("class") or []
    if not any(_TITLE_CLASS_RE.search(name) for name in classes):
        return None
    if node.find(["div", "p", "table", "ul", "ol", "dl", "li", *_HTML_HEADINGS]):
        return None
    text = _clean_inline(node.get_text(" "))
    return text if text and len(text) <= 20 else None


def _is_navigation(node: Tag) -> bool:
    """A list of section names (the tab bar of a portal page): short items that name guide sections."""
    items = [_clean_inline(li.get_text(" ")) for li in node.find_all("li")]
    if len(items) < 3 or any(len(item) > 12 for item in items):
        return False
    return sum(1 for item in items if classify_heading(item)) * 2 >= len(items)


def _html_blocks(text: str) -> tuple[str, list[Block]]:
    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    title = _clean_inline(title_tag.get_text()) if title_tag else ""
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for comment in soup.find_all(string=lambda value: isinstance(value, (Comment, Doctype))):
        comment.extract()
    if not title:
        h1 = soup.find("h1")
        title = _clean_inline(h1.get_text(" ")) if h1 else ""

    blocks: list[Block] = []
    buffer: list[str] = []
    pair_table: list[Block] = []  # the table that consecutive label/value elements extend

    def flush() -> None:
        for line in "".join(buffer).split("\n"):
            line = _clean_inline(line)
            if line:
                blocks.append(Block("paragraph", text=line))
                pair_table.clear()
        buffer.clear()

    def add(block: Block) -> None:
        blocks.append(block)
        pair_table.clear()

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                buffer.append(re.sub(r"\s+", " ", str(child)))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _HTML_HEADINGS:
                flush()
                heading = _clean_inline(child.get_text(" "))
                if heading:
                    add(Block("heading", level=int(name[1]), text=heading))
                continue
            # Layout tables (a table holding headings or other tables) are walked, not flattened.
            if name == "table" and not child.find(["table", *_HTML_HEADINGS]):
                flush()
                rows = _html_rows(child)
                if rows:
                    add(Block("table", rows=rows))
                continue
            if name == "dl":
                flush()
                rows = _dl_rows(child)
                if rows:
                    add(Block("table", rows=rows))
                continue
            if name in {"ul", "ol"} and _is_navigation(child):
                flush()
                items = [_clean_inline(li.get_text(" ")) for li in child.find_all("li")]
                add(Block("paragraph", text=" | ".join(item for item in items if item)))
                continue
            if name == "br":
                buffer.append("\n")
                continue
            is_block = name in _HTML_BLOCKS
            styled = _styled_heading(child) if is_block else None
            if styled:
                flush()
                add(Block("heading", level=3, text=styled))
                continue
            pair = _label_value_pair(child) if is_block else None
            if pair is not None:
                flush()
                if pair_table:
                    pair_table[0].rows.append(pair)
                else:
                    add(Block("table", rows=[pair]))
                    pair_table.append(blocks[-1])
                continue
            if is_block:
                flush()
            walk(child)
            if is_block:
                flush()

    walk(soup.body or soup)
    flush()
    return title, blocks


_DOCX_HEADING_RE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def _docx_blocks(data: bytes, path: Path | str) -> tuple[str, list[Block]]:
    # Imported here: python-docx is only needed for .docx files.
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from lxml.etree import XMLSyntaxError

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LoadError(path, "这是旧版 Word（.doc）文件改了扩展名，请用 Word 另存为 .docx 后再导入")
    if not data.startswith(b"PK"):
        raise LoadError(path, "不是有效的 DOCX 文件：内容不是 Word 文档格式（可能是改了扩展名的其他文件）")
    try:
        document = Document(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise LoadError(path, "DOCX 文件已损坏：压缩包无法解开") from None
    except (PackageNotFoundError, KeyError, ValueError):
        raise LoadError(path, "DOCX 文件已损坏，或不是 Word 文档（缺少正文部分）") from None
    except XMLSyntaxError:
        raise LoadError(path, "DOCX 文件已损坏：文档内容无法解析") from None

    body = document.element.body
    if len(body) > MAX_DOCX_BLOCKS:
        raise LoadError(path, f"Word 文档的段落过多（{len(body)} 个，上限 {MAX_DOCX_BLOCKS}），"
                              "不像办事指南，可能是压缩炸弹；请拆分后再导入")
    blocks: list[Block] = []
    title = ""
    first_heading1 = ""
    styles: dict[str | None, str] = {}  # style id -> name: python-docx looks each one up slowly
    for element in body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            style_id = element.style
            if style_id not in styles:
                styles[style_id] = (paragraph.style.name or "") if paragraph.style is not None else ""
            style = styles[style_id]
            lines = [line.strip() for line in paragraph.text.split("\n") if line.strip()]
            if not lines:
                continue
            match = _DOCX_HEADING_RE.match(style.strip())
            if style.strip().lower() in {"title", "标题"}:
                title = title or " ".join(lines)
                blocks.append(Block("heading", level=1, text=" ".join(lines)))
            elif match:
                level = int(match.group(1))
                if level == 1 and not first_heading1:
                    first_heading1 = " ".join(lines)
                blocks.append(Block("heading", level=level, text=" ".join(lines)))
            else:
                blocks.extend(Block("paragraph", text=line) for line in lines)
        elif tag == "tbl":
            rows = _docx_rows(Table(element, document))
            if rows:
                blocks.append(Block("table", rows=rows))
    return title or first_heading1, blocks


def _docx_rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[Any] = []  # merged cells repeat the same <w:tc>; keep each once
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):
                continue
            seen.append(cell._tc)
            text = "\n".join(line.strip() for line in cell.text.split("\n") if line.strip())
            for inner in cell.tables:
                text += "".join("\n" + " | ".join(inner_row) for inner_row in _docx_rows(inner))
            cells.append(text)
        if any(cells):
            rows.append(cells)
    return rows


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_LINE_END_RE = re.compile(r"[。！？!?；;：:…」』”）)]$")
_LINE_START_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}\s*[.、．)）](?!\d)|第[一二三四五六七八九十\d]+[步章节条]|[-•·●■◆])"
)
_MIN_WRAP_WIDTH = 50  # display columns; a wrapped A4 text line holds 30-45 Chinese characters
_LINE_CONTINUES_RE = re.compile(r"^[，,。；;、：:）)》”]")


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """Join the lines a PDF wrapped at the page margin, so "…减环节、压时" + "间、降费用…" is one line.

    A line is a wrapped one when it runs (nearly) to the widest line of the document and does not end
    a sentence; the next line then continues it unless it opens a numbered item. A next line that
    starts with punctuation always continues the previous one.
    """
    if len(lines) < 2:
        return lines
    widths = sorted(_display_width(line) for line in lines)
    full = widths[int(len(widths) * 0.9)]  # the usual full-line width, robust to one long outlier
    if full < _MIN_WRAP_WIDTH:
        return lines  # short lines (columns, tables, lists) are not wrapped prose
    joined: list[str] = [lines[0]]
    for line in lines[1:]:
        previous = joined[-1]
        wrapped = _display_width(previous) >= 0.85 * full and not _LINE_END_RE.search(previous)
        if _LINE_CONTINUES_RE.match(line) or (wrapped and not _LINE_START_RE.match(line)):
            joined[-1] = previous + line
        else:
            joined.append(line)
    return joined


_COLUMN_GAP_RE = re.compile(r"\S( {6,})(?=\S)")


def _two_columns(page: Any) -> str | None:
    """The text of a two-column page, left column first; None when the page is not in two columns.

    pypdf reads a two-column page row by row ("申请材料 办理地点"), mixing the columns. Its layout
    mode keeps the horizontal positions: when most lines have one wide gap at the same place, the
    page is cut there.
    """
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except Exception:  # noqa: BLE001 - layout mode is a refinement; the plain text is still there
        return None
    lines = [line for line in layout.split("\n") if line.strip()]
    cuts: list[int] = []
    for line in lines:
        gaps = list(_COLUMN_GAP_RE.finditer(line.strip("\n")))
        if len(gaps) == 1 and line[: gaps[0].start(1)].strip():
            cuts.append(gaps[0].end(1))
    if len(lines) < 3 or len(cuts) < 0.6 * len(lines):
        return None
    cuts.sort()
    cut = cuts[len(cuts) // 2]
    if sum(abs(value - cut) <= 4 for value in cuts) < 0.6 * len(lines):
        return None
    left, right = [], []
    for line in lines:
        gap = _COLUMN_GAP_RE.search(line)
        split = gap.end(1) if gap and abs(gap.end(1) - cut) <= 4 else (cut if len(line) > cut else len(line))
        left.append(line[:split].strip())
        right.append(line[split:].strip())
    return "\n".join([*left, *right])


def _pdf_blocks(data: bytes, path: Path | str, max_pages: int = 500) -> list[Block]:
    from pypdf import PasswordType, PdfReader

    if b"%PDF-" not in data[:1024]:
        raise LoadError(path, "不是有效的 PDF 文件：缺少 %PDF 文件头（可能是改了扩展名的其他文件）")
    # pypdf logs English warnings for every damaged object; the admin gets our one-line reason instead.
    pypdf_logger = logging.getLogger("pypdf")
    previous_level = pypdf_logger.level
    pypdf_logger.setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise LoadError(path, "PDF 已加密，无法提取文字，请提供未加密的版本")
        if len(reader.pages) > max_pages:
            raise LoadError(path, f"PDF 页数过多（{len(reader.pages)} 页，上限 {max_pages} 页），请拆分后再导入")
        texts = []
        for number, page in enumerate(reader.pages, 1):
            contents = page.get_contents()
            size = len(contents.get_data()) if contents is not None else 0
            if size > MAX_PDF_PAGE_CONTENT:
                raise LoadError(path, f"PDF 第 {number} 页的内容解压后过大（{size // (1024 * 1024)} MB），"
                                      "可能是压缩炸弹，无法导入")
            texts.append(_two_columns(page) or page.extract_text() or "")
    except LoadError:
        raise
    except Exception:  # noqa: BLE001 - pypdf raises many kinds of errors for damaged files
        raise LoadError(path, "PDF 文件已损坏或加密，无法解析") from None
    finally:
        pypdf_logger.setLevel(previous_level)
    lines = [line.strip() for text in texts for line in text.split("\n")]
    blocks = [Block("paragraph", text=line) for line in join_wrapped_lines([line for line in lines if line])]
    if not blocks:
        raise LoadError(path, "PDF 中没有可提取的文字（可能是扫描件，需要先做文字识别）")
    if _looks_binary("\n".join(block.text for block in blocks)):
        raise LoadError(path, "PDF 中提取出的文字是乱码（字体缺少编码信息），无法使用")
    return blocks


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


def _office_budget() -> tuple[float, int, int, int]:
    """(seconds, memory MB, inflated bytes, pages) from the settings."""
    from ingest.settings import get_settings

    settings = get_settings()
    return (settings.govbot_parse_timeout_s, settings.govbot_parse_memory_mb,
            settings.govbot_max_inflated_mb * 1024 * 1024, settings.govbot_max_pdf_pages)


def _check_inflated(data: bytes, path: Path, limit: int) -> None:
    """Refuse a DOCX whose parts inflate past ``limit``, from the zip directory, before inflating any."""
    if not data.startswith(b"PK"):
        return  # _docx_blocks gives the reason
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return
    if total > limit:
        label = path.suffix.lower().lstrip(".").upper()
        raise LoadError(path, f"{label} 解压后过大（{total // (1024 * 1024)} MB，上限 {limit // (1024 * 1024)} MB），"
                              "可能是压缩炸弹，无法导入")


def _parse_office(data: bytes, path: Path, suffix: str) -> tuple[str, list[Block]]:
    """DOCX/PDF blocks from a child process with a time and memory limit (ingest.office_worker).

    The caller (an ingest, or the web server checking an upload) only waits on a pipe: a bomb
    costs one bounded child, then fails with its reason like any other bad file.
    """
    seconds, memory_mb, inflated, pages = _office_budget()
    if suffix in (".docx", ".xlsx"):
        _check_inflated(data, path, inflated)
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "ingest.office_worker", suffix, str(path), str(memory_mb), str(pages)]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=seconds, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise LoadError(path, f"解析超时：超过 {seconds:g} 秒仍未完成（可能是压缩炸弹或异常复杂的文件）") from None
    try:
        out = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        out = None
    if out is None:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"退出码 {done.returncode}"]
        if "MemoryError" in last[0]:
            raise LoadError(path, f"解析所需内存超过上限 {memory_mb} MB（可能是压缩炸弹或异常复杂的文件）")
        raise LoadError(path, f"无法解析文件（{last[0][:120]}）")
    if "error" in out:
        raise LoadError(path, out["error"], out.get("line"))
    return out["title"], [Block(**b) for b in out["blocks"]]


def _structured_record(parsed: _Structured, path: Path) -> Record:
    problems = _sorted(parsed.problems)
    if problems:
        first = problems[0]
        more = f"（另有 {len(problems) - 1} 处问题，可运行 govbot check 查看）" if len(problems) > 1 else ""
        raise LoadError(path, f"front matter 有误：{first.message}{more}", first.line)
    if parsed.record is None:  # cannot happen without problems; keep the promise of LoadError only
        raise LoadError(path, "front matter 有误")
    return parsed.record

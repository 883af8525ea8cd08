"""Structured Markdown (YAML front matter + '#' body): the record, and every problem with its line
for ``govbot check`` (``check_structured_file``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from ingest.guide_parser import classify_heading
from ingest.loaders.common import MARKDOWN_SUFFIXES, MAX_FILE_BYTES, LoadError, _read_checked
from ingest.loaders.text import _FENCE_RE, _MD_HEADING_RE, _decode_text
from ingest.schema import MaterialForm, Record, Section

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


def _structured_record(parsed: _Structured, path: Path) -> Record:
    problems = _sorted(parsed.problems)
    if problems:
        first = problems[0]
        more = f"（另有 {len(problems) - 1} 处问题，可运行 govbot check 查看）" if len(problems) > 1 else ""
        raise LoadError(path, f"front matter 有误：{first.message}{more}", first.line)
    if parsed.record is None:  # cannot happen without problems; keep the promise of LoadError only
        raise LoadError(path, "front matter 有误")
    return parsed.record

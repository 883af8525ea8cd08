"""Every sentence a user reads lives in bot/messages.py (issue 12): the modules cleaned of them stay clean.

A Chinese string literal in one of these modules is a sentence or label someone reads, unless it is a
docstring or a pattern handed to ``re`` (vocabulary data stays where it is used).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
CLEAN = [
    "bot/compose.py", "bot/engine.py", "bot/services/admin.py",
    "bot/web/app.py", "bot/web/public_routes.py", "bot/web/api_routes.py", "bot/web/deps.py", "bot/web/errors.py",
    "bot/web/middleware.py", "bot/web/question_log.py", "bot/web/templating.py", "bot/web/charts.py",
    "bot/web/admin_routes.py", "bot/web/admin_access.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bot" / "cli").glob("*.py")),
]


def chinese_literals(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            allowed.add(id(body[0].value))  # the docstring
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re":
            allowed.update(id(a) for a in node.args[:1])  # a pattern: vocabulary, not a sentence
    return [f"{path.relative_to(root)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value)
            and id(node) not in allowed]


def test_the_cleaned_modules_hold_no_user_sentence() -> None:
    assert len(CLEAN) > 15  # the CLI package was found
    found = [line for name in CLEAN for line in chinese_literals(ROOT / name)]
    assert found == [], "\n".join(found)


def test_the_check_finds_a_sentence(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""文档。"""\nimport re\nWORDS = re.compile(r"补贴|奖励")\n'
                      'def f(n):\n    return f"共 {n} 条"\n', encoding="utf-8")
    assert chinese_literals(module, tmp_path) == ["m.py:5: '共 '", "m.py:5: ' 条'"]

"""Dependencies run one way: the import-linter contracts in pyproject.toml hold, and they bite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bot

ROOT = Path(__file__).resolve().parent.parent
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the packages in ``tree`` (first on the path, so an installed copy is not read)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", LINT], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_layer_contracts_hold() -> None:
    assert Path(bot.__file__).resolve().parent == ROOT / "bot"  # the checkout under test
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_catch_a_channel_importing_the_cli_and_the_engine_importing_a_channel(
        tmp_path: Path) -> None:
    for package in ("bot", "ingest"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # The circle this layout replaced: the web admin reached into the CLI for its ingest.
    with open(tmp_path / "bot" / "web" / "app.py", "a", encoding="utf-8") as handle:
        handle.write("\nfrom bot.cli import run_ingest  # noqa\n")
    with open(tmp_path / "bot" / "engine.py", "a", encoding="utf-8") as handle:
        handle.write("\nimport telegram  # noqa\nfrom bot.telegram_bot import render_answer  # noqa\n")
    with open(tmp_path / "ingest" / "pipeline.py", "a", encoding="utf-8") as handle:
        handle.write("\nfrom bot.services.admin import AdminService  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bot.web is not allowed to import bot.cli" in result.stdout
    assert "bot.engine is not allowed to import bot.telegram_bot" in result.stdout
    assert "bot.engine -> telegram" in result.stdout
    assert "ingest.pipeline -> bot.services.admin" in result.stdout

"""`govbot eval`: every development set found in one directory, one table, one JSON object."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.table import Table

from bot.evaluation.answers import evaluate_answers, missing_parts
from bot.evaluation.common import Progress, embedder_spec, quiet
from bot.evaluation.realq import evaluate_realq
from bot.evaluation.retrieval import evaluate

DEFAULT_DEV_DIR = Path("../shared/eval")
RETRIEVAL_FILE = "retrieval_eval.json"
ANSWERS_DIR = "answers"
REALQ_FILE = "realq-dev.jsonl"
SETS = ("retrieval", "answers", "realq")


def run_all(dev_dir: Path = DEFAULT_DEV_DIR, store: Path | None = None, knowledge: Path | None = None,
            progress: Progress = quiet, embedder: str | None = None, details: bool = False) -> dict[str, Any]:
    """Run each set present in ``dev_dir``.

    A set that is absent is listed under ``skipped`` with the reason, one that cannot be read under
    ``errors``; the others still run. Figures are None for a set that did not run.
    """
    dev_dir = Path(dev_dir)
    started = time.perf_counter()
    result: dict[str, Any] = {"dev_dir": str(dev_dir), "embedder": embedder_spec(embedder), "skipped": {}, "errors": {}}
    for name in SETS:
        result[name] = None

    def skip(name: str, reason: str) -> None:
        result["skipped"][name] = reason
        progress(f"跳过 {name}：{reason}")

    def attempt(name: str, run) -> None:
        try:
            result[name] = run()
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a broken set must not hide the others
            result["errors"][name] = f"{type(exc).__name__}: {exc}"
            progress(f"{name} 评测失败：{exc}")

    retrieval = dev_dir / RETRIEVAL_FILE
    if retrieval.is_file():
        attempt("retrieval", lambda: evaluate(retrieval, progress=progress, embedder=embedder))
    else:
        skip("retrieval", f"没有 {retrieval}")
    kit = dev_dir / ANSWERS_DIR
    missing = missing_parts(kit)
    if not missing:
        attempt("answers", lambda: evaluate_answers(kit, progress=progress, embedder=embedder, details=details))
    else:
        skip("answers", f"{kit} 缺少 " + "、".join(missing) if kit.is_dir() else f"没有 {kit}")
    realq = dev_dir / REALQ_FILE
    if realq.is_file():
        attempt("realq", lambda: evaluate_realq(realq, store=store, knowledge=knowledge, progress=progress,
                                                embedder=embedder, details=details))
    else:
        skip("realq", f"没有 {realq}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def summary_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"开发集评测（{result['dev_dir']}，向量模型 {result['embedder']}）")
    table.add_column("评测集")
    table.add_column("n", justify="right")
    table.add_column("指标")
    table.add_column("值", justify="right")
    table.add_column("说明")

    def rows(label: str, n: Any, figures: list[tuple[str, str, str]]) -> None:
        for i, (metric, value, note) in enumerate(figures):
            table.add_row(label if i == 0 else "", str(n) if i == 0 else "", metric, value, note)
        table.add_section()

    r = result.get("retrieval")
    if r:
        rows("检索", r["n"], [("R@1", f"{r['r1']:.3f}", "首条相关"),
                             ("R@5", f"{r['r5']:.3f}", "前五有相关"),
                             ("MRR@10", f"{r['mrr10']:.3f}", "")])
    a = result.get("answers")
    if a:
        rows("答案", a["n"], [
            ("事实", _pct(a["facts"]), f"可答 {a['n_answerable']} 题答全要点"),
            ("来源", _pct(a["source"]), "引用正确文件"),
            ("拒答", _pct(a["refusal"]), f"无答案 {a['n_unanswerable']} 题拒答"),
            ("误拒", _pct(a["false_refusal"]), "可答题 grounded=false"),
            ("短答字数中位", f"{a['short_chars_p50']:.0f}", "时限/收费/地点/有效期"),
        ])
    q = result.get("realq")
    if q:
        rows("真实问题", q["n"], [
            ("路由", _pct(q["route"]), f"范围内 {q['n_in']} 题首条事项对"),
            ("拒答", _pct(q["refusal"]), f"范围外 {q['n_out']} 题拒答"),
            ("误拒", _pct(q["false_refusal"]), "范围内题被拒答"),
            ("缺细节如实", _pct(q["missing_fact_honest"]), f"缺细节 {q['n_missing']} 题不编造"),
        ])
    labels = {"retrieval": "检索", "answers": "答案", "realq": "真实问题"}
    for name, reason in result["skipped"].items():
        table.add_row(labels[name], "", "已跳过", "", reason)
    for name, reason in result["errors"].items():
        table.add_row(labels[name], "", "[red]出错[/red]", "", reason)
    return table

"""The answer-quality kit (shared/eval/answers/): ingest its documents, ask its questions, score with its scorer.

The kit's ``score.py`` drives ``govbot ingest`` and ``govbot ask --json -`` as subprocesses; here the
same happens in-process (each question on its own line, no conversation state, the same per-line
guard as ``govbot ask``), and the answers are scored by the kit's own ``load_questions``,
``score_one`` and ``summarize``: its normalisation, fact test, refusal phrases and percentiles.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from bot.asking import ask_line
from bot.evaluation.common import (
    EngineFactory,
    Progress,
    eval_engine,
    failed_files,
    ingest_into,
    load_script,
    quiet,
    temporary_store,
)

REQUIRED = ("questions.jsonl", "docs", "score.py")


def missing_parts(kit: Path) -> list[str]:
    return [name for name in REQUIRED if not (kit / name).exists()]


def _clean(value: Any) -> Any:
    """JSON-safe figures: the scorer reports NaN for an empty group."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 1)
    return value


def evaluate_answers(kit: Path, progress: Progress = quiet, engine_factory: EngineFactory | None = None,
                     embedder: str | None = None, details: bool = False) -> dict[str, Any]:
    """Figures as score.py prints them (percentages, NaN as None); ``details`` adds the failed questions."""
    kit = Path(kit)
    scorer = load_script(kit / "score.py", "govbot_eval_answers_score")
    questions = scorer.load_questions(kit / "questions.jsonl")
    with temporary_store("govbot-eval-answers-") as store:
        progress(f"答案评测：导入 {kit / 'docs'} ……")
        started = time.perf_counter()
        summary = ingest_into([(kit / "docs").resolve()], store, embedder)
        ingest_s = time.perf_counter() - started
        engine = (engine_factory or eval_engine)(store)
        progress(f"答案评测：{len(questions)} 个问题……")
        started = time.perf_counter()
        # A JSON round trip, as score.py reads `govbot ask --json` output.
        records = [_as_json(ask_line(engine, q["q"]).public()) for q in questions]
        ask_s = time.perf_counter() - started
    results = [scorer.score_one(q, rec) for q, rec in zip(questions, records, strict=True)]
    figures = {key: _clean(value) for key, value in scorer.summarize(results).items()}
    by_type = {}
    for kind in getattr(scorer, "TYPES", sorted({r["type"] for r in results})):
        group = [r for r in results if r["type"] == kind]
        if group:
            by_type[kind] = {key: _clean(value) for key, value in scorer.summarize(group).items()
                             if key in ("n", "facts", "recall", "source", "refusal")}
    out = {
        **figures,
        "n_answerable": sum(1 for q in questions if q["doc"] is not None),
        "n_unanswerable": sum(1 for q in questions if q["doc"] is None),
        "by_type": by_type,
        "embedder": summary.embedder,
        "ingest_failed": failed_files(summary),
        "ingest_seconds": round(ingest_s, 1),
        "ms_per_question": round(1000 * ask_s / max(1, len(questions))),
    }
    if details:
        out["failures"] = [
            {"id": r["id"], "type": r["type"], "q": r["q"], "missing": r.get("missing", []),
             "grounded": r["grounded"], "answer": r["answer"][:160]}
            for r in results
            if not (r["refusal_ok"] if r["doc"] is None else r["facts_ok"] and r["source_ok"])
        ]
    return out


def _as_json(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record, ensure_ascii=False))

"""Real users' questions (shared/eval/realq-dev.jsonl) over an index of knowledge/.

``realq_score.py`` exposes no scoring function (only ``main``), so its definitions are followed here
line for line, with its own marker lists when the script sits next to the questions:

- in scope, fact held: route = the first record id is ``expect_id`` or in ``also_ok``, and grounded;
  a not-grounded answer is a false refusal;
- in scope, fact missing (the note says 缺此细节 / KB没有 …): honest = not grounded, or grounded on the
  right item with a 没有写明 / 未写明 style statement;
- out of scope: refusal = grounded is false.
Percentages are 0 for an empty group, as in the script.
"""

from __future__ import annotations

import json
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

# realq_score.py's lists, used only when the script is not next to the questions file.
MISSING_MARKS = ("缺此细节", "KB没有", "KB无", "KB未")
NOT_STATED = ("没有写明", "未写明", "没有找到", "未找到", "没有提到", "未提及", "以窗口")


def markers(questions_file: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    script = Path(questions_file).parent / "realq_score.py"
    if not script.exists():
        return MISSING_MARKS, NOT_STATED
    module = load_script(script, "govbot_eval_realq_score")
    return tuple(module.MISSING_MARKS), tuple(module.NOT_STATED)


def score(rows: list[dict[str, Any]], outs: list[dict[str, Any] | None],
          missing_marks: tuple[str, ...] = MISSING_MARKS,
          not_stated: tuple[str, ...] = NOT_STATED) -> dict[str, Any]:
    """realq_score.py's loop: counts and percentages for one list of answers (None = no answer line)."""
    outs = list(outs) + [None] * (len(rows) - len(outs))
    n_in = n_in_ok = n_fr = n_out = n_out_ok = n_miss = n_miss_ok = 0
    fails = []
    for q, o in zip(rows, outs, strict=False):
        grounded = bool(o and o.get("grounded"))
        ids = (o or {}).get("record_ids") or []
        want = {q["expect_id"], *q.get("also_ok", [])} - {None}
        missing = q["in_scope"] and any(m in q.get("note", "") for m in missing_marks)
        if not q["in_scope"]:
            n_out += 1
            ok = not grounded
            n_out_ok += ok
        elif missing:
            n_miss += 1
            ans = (o or {}).get("answer", "")
            ok = (not grounded) or (bool(ids) and ids[0] in want and any(m in ans for m in not_stated))
            n_miss_ok += ok
        else:
            n_in += 1
            ok = grounded and bool(ids) and ids[0] in want
            n_in_ok += ok
            n_fr += not grounded
        if not ok:
            fails.append({"q": q["q"], "in_scope": q["in_scope"], "want": q["expect_id"], "got": ids,
                          "grounded": (o or {}).get("grounded"), "answer": ((o or {}).get("answer") or "")[:120]})

    def pct(x: int, n: int) -> float:
        return round(100.0 * x / n, 1) if n else 0.0

    return {
        "n": len(rows), "n_in": n_in, "n_missing": n_miss, "n_out": n_out,
        "route": pct(n_in_ok, n_in), "refusal": pct(n_out_ok, n_out),
        "false_refusal": pct(n_fr, n_in), "missing_fact_honest": pct(n_miss_ok, n_miss),
        "failures": fails,
    }


def load_rows(file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(file).read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate_realq(file: Path, store: Path | None = None, knowledge: Path | None = None,
                   progress: Progress = quiet, engine_factory: EngineFactory | None = None,
                   embedder: str | None = None, details: bool = False) -> dict[str, Any]:
    """Over ``store`` when given, else over a temporary index of ``knowledge`` (default: the configured dir)."""
    from ingest.settings import get_settings

    rows = load_rows(file)
    missing_marks, not_stated = markers(file)
    factory = engine_factory or eval_engine
    extra: dict[str, Any] = {}

    def run(engine) -> list[dict[str, Any]]:
        progress(f"真实问题：{len(rows)} 个问题……")
        started = time.perf_counter()
        # One line each, as realq_score.py pipes them to `govbot ask --json -`.
        outs = [json.loads(json.dumps(ask_line(engine, q["q"].replace("\n", " ")).public(), ensure_ascii=False))
                for q in rows]
        extra["ms_per_question"] = round(1000 * (time.perf_counter() - started) / max(1, len(rows)))
        return outs

    if store is not None:
        from ingest.index import open_current

        generation = open_current(Path(store), with_bm25=False)
        if generation is None:
            progress(f"真实问题：{store} 下没有索引，所有问题都会被拒答")
        extra.update(store=str(store), embedder=generation.embedder if generation else None)
        outs = run(factory(Path(store)))
    else:
        knowledge = Path(knowledge or get_settings().govbot_knowledge_dir)
        with temporary_store("govbot-eval-realq-") as tmp:
            progress(f"真实问题：导入 {knowledge} ……")
            started = time.perf_counter()
            summary = ingest_into([knowledge], tmp, embedder)
            extra.update(knowledge=str(knowledge), embedder=summary.embedder, ingest_failed=failed_files(summary),
                         ingest_seconds=round(time.perf_counter() - started, 1))
            outs = run(factory(tmp))
    result = score(rows, outs, missing_marks, not_stated)
    if not details:
        result.pop("failures")
    return {**result, **extra}

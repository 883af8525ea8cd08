"""Retrieval evaluation on a set shaped like shared/eval/retrieval_eval.json: R@1, R@5, MRR@10."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from bot.evaluation.common import EngineFactory, Progress, eval_engine, ingest_into, quiet, temporary_store


def write_corpus(corpus: list[dict[str, str]], folder: Path) -> None:
    """Each passage becomes a structured Markdown file, so the eval goes through the real ingest."""
    for passage in corpus:
        front = {"id": passage["id"].replace("_", "-").lower(), "kind": "document", "title": passage["title"]}
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + passage["text"] + "\n"
        (folder / f"{front['id']}.md").write_text(text, encoding="utf-8")


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    if not n:
        return {"n": 0, "r1": 0.0, "r5": 0.0, "mrr10": 0.0}
    return {
        "n": n,
        "r1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "r5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
        "mrr10": round(sum(1 / r for r in ranks if r is not None and r <= 10) / n, 4),
    }


def evaluate(file: Path, progress: Progress = quiet, engine_factory: EngineFactory | None = None,
             embedder: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    data = json.loads(Path(file).read_text(encoding="utf-8"))
    corpus, queries = data["corpus"], data["queries"]
    with temporary_store("govbot-eval-") as store:
        docs = store.parent / "corpus"
        docs.mkdir()
        write_corpus(corpus, docs)
        progress(f"检索评测：导入 {len(corpus)} 段语料……")
        summary = ingest_into([docs], store, embedder)
        if summary.failed:
            raise ValueError("语料导入失败：" + "；".join(f"{f.path}: {f.reason}" for f in summary.failed))
        engine = (engine_factory or eval_engine)(store)
        progress(f"检索评测：{len(queries)} 个问题……")
        ranks: list[int | None] = []
        for query in queries:
            relevant = {r.replace("_", "-").lower() for r in query["relevant"]}
            ranked = [hit.record_id for hit in engine.rank(query["q"], limit=10)]
            ranks.append(next((i for i, rid in enumerate(ranked, 1) if rid in relevant), None))
        result: dict[str, Any] = _metrics(ranks)
        by_tag: dict[str, list[int | None]] = {}
        for query, rank in zip(queries, ranks, strict=True):
            for tag in query.get("tags", []):
                by_tag.setdefault(tag, []).append(rank)
        result["by_tag"] = {tag: _metrics(r) for tag, r in sorted(by_tag.items())}
        result["embedder"] = summary.embedder
        result["seconds"] = round(time.perf_counter() - started, 1)
        return result

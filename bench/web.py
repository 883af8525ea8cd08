"""Throughput and latency of GET /api/ask with concurrent clients on 127.0.0.1.

    .venv/bin/python bench/web.py [--store DIR] [--requests 400] [--concurrency 20]

The server runs in a subprocess (uvicorn, as `govbot web` runs it), so the clients do not share a
GIL with it. Without --store it uses $GOVBOT_HOME/index, or builds a temporary index of knowledge/.
Questions are logged to a throwaway SQLite file, never to the real feedback database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUESTIONS = [
    "开公司需要哪些材料？", "营业执照要多久能办好？", "刻章在哪里办？", "食品经营许可需要什么材料",
    "高新技术企业认定有什么奖励？", "注销公司怎么办？", "新办纳税人要做什么", "施工许可要多久",
    "消防验收收费吗", "开饭店要办哪些证", "研发费用加计扣除怎么申请", "招用员工社保怎么登记",
    "排污许可证需要哪些材料", "稳岗返还能拿多少", "不动产首次登记需要什么", "道路货运经营许可在哪办",
    "怎么办理出国护照？", "公司变更法人需要什么材料", "专精特新有什么补贴", "户外广告设置要审批吗",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(store: Path, port: int, database: str) -> None:
    """The server process: the same app `govbot web` runs, without the access log."""
    import uvicorn

    from bot.engine import Engine
    from bot.feedback import FeedbackStore
    from bot.web.app import create_app
    from ingest.settings import get_settings

    settings = get_settings()
    engine = Engine(store, settings)
    app = create_app(engine, settings, store, FeedbackStore(database))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def ensure_index(store: Path | None, workdir: Path) -> Path:
    from ingest.index import current_name
    from ingest.settings import get_settings

    candidate = store or get_settings().store_dir
    if current_name(candidate):
        return candidate
    if store is not None:
        sys.exit(f"no index at {store}")
    from bot.cli import run_ingest

    built = workdir / "index"
    print(f"no index at {candidate}: building a temporary one of knowledge/ ...", flush=True)
    summary = run_ingest([ROOT / "knowledge"], built, show_progress=False)
    print(f"  {summary.records} items, {summary.chunks} chunks in {summary.seconds:.0f} s", flush=True)
    return built


async def wait_ready(client, url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if (await client.get(url + "/healthz")).status_code == 200:
                return
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


async def run_clients(url: str, total: int, concurrency: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await wait_ready(client, url)
        for q in QUESTIONS:  # warm-up: first-use costs are not what we measure
            (await client.get(url + "/api/ask", params={"q": q})).raise_for_status()

        latencies: list[float] = []
        errors = 0
        grounded = 0
        counter = iter(range(total))

        async def worker() -> None:
            nonlocal errors, grounded
            for i in counter:  # the shared iterator bounds the total across workers
                started = time.perf_counter()
                try:
                    response = await client.get(url + "/api/ask", params={"q": QUESTIONS[i % len(QUESTIONS)]})
                    ok = response.status_code == 200
                    grounded += bool(ok and response.json().get("grounded"))
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        wall = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - wall
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1)] * 1000

    return {"requests": len(latencies), "concurrency": concurrency, "seconds": wall, "rps": len(latencies) / wall,
            "p50_ms": statistics.median(ordered) * 1000, "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": ordered[-1] * 1000, "errors": errors, "grounded": grounded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="index directory (default $GOVBOT_HOME/index)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--database", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.store, args.port, args.database)
        return

    with tempfile.TemporaryDirectory(prefix="govbot-bench-") as tmp:
        workdir = Path(tmp)
        store = ensure_index(args.store, workdir)
        port = free_port()
        database = f"sqlite:///{workdir / 'bench-feedback.sqlite3'}"
        server = subprocess.Popen([sys.executable, __file__, "--serve", "--store", str(store), "--port", str(port),
                                   "--database", database], cwd=ROOT)
        try:
            result = asyncio.run(run_clients(f"http://127.0.0.1:{port}", args.requests, args.concurrency))
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"GET /api/ask: {result['requests']} requests, {result['concurrency']} concurrent clients, "
          f"{os.cpu_count()} CPUs, index {store}")
    print(f"  throughput  {result['rps']:.1f} requests/s  ({result['seconds']:.1f} s)")
    print(f"  latency     p50 {result['p50_ms']:.0f} ms · p95 {result['p95_ms']:.0f} ms · "
          f"p99 {result['p99_ms']:.0f} ms · max {result['max_ms']:.0f} ms")
    print(f"  errors      {result['errors']}   answered (grounded) {result['grounded']}/{result['requests']}")


if __name__ == "__main__":
    main()

"""Telegram channel throughput: the real python-telegram-bot Application against the fake Bot API.

    .venv/bin/python bench/telegram.py [--messages 200] [--chats 20] [--store DIR]

Sends a burst of questions from several private chats over real HTTP (getUpdates long polling) and
measures messages answered per second and the latency from an update being queued at the fake server
to the bot's sendMessage reaching it (p50/p95). Runs twice: with Telegram's flood limits
(AIORateLimiter, 30 requests/s, which also throttles the typing actions) and without them, which shows
what the engine and the adapter can do. The per-user flood limit is off: one chat asks many times.

The index is $GOVBOT_HOME/index when it exists (or --store); otherwise knowledge/ is ingested into
a temporary directory first (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is called telegram.py: drop its own folder from the path, or `import telegram` finds it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fake_bot_api import TOKEN, FakeBotAPI  # noqa: E402

QUESTIONS = [
    "企业设立登记需要哪些材料？",
    "那要多久？",
    "食品经营许可在哪里办？",
    "收费吗？",
    "高新技术企业认定需要哪些材料？",
    "高企认定有什么奖励？",
    "怎么刻公章？",
    "企业开办一件事包含哪些事项？",
    "排污许可证要多久？",
    "办理流程是什么？",
]


def ensure_index(store: Path | None) -> Path:
    from ingest.index import current_name
    from ingest.settings import get_settings

    store = store or get_settings().store_dir
    if current_name(store):
        return store
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    store = Path(tempfile.mkdtemp(prefix="govbot-bench-")) / "index"
    print(f"no index found; ingesting knowledge/ into {store} …", file=sys.stderr)
    ingest([ROOT / "knowledge"], store, load_embeddings(get_settings().govbot_embedding))
    return store


def embedder_of(store: Path) -> str:
    from ingest.index import current_dir

    path = current_dir(store)
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))["embedder"] if path else "?"


async def run_once(engine, store: Path, messages: int, chats: int, limited: bool, burst: bool = True) -> dict:
    from bot.feedback import FeedbackStore
    from bot.telegram_bot import build_application
    from ingest.settings import get_settings

    api = await FakeBotAPI().start()
    home = Path(tempfile.mkdtemp(prefix="govbot-bench-home-"))
    os.environ.update(TELEGRAM_BOT_TOKEN=TOKEN, GOVBOT_TELEGRAM_BASE_URL=api.base_url, GOVBOT_HOME=str(home))
    get_settings.cache_clear()
    settings = get_settings()
    app = build_application(engine, settings, store, FeedbackStore(settings.database_url),
                            flood_max=10**9, overall_rate=30 if limited else 0, group_rate=20 if limited else 0)
    errors: list[BaseException] = []

    async def collect(update: object, context) -> None:
        errors.append(context.error)

    app.add_error_handler(collect)
    chat_ids = [50_000 + i for i in range(chats)]
    try:
        async with app:
            await app.post_init(app)
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            queued: dict[int, list[float]] = {c: [] for c in chat_ids}
            started = time.monotonic()
            for i in range(messages):
                chat = chat_ids[i % chats]
                if not burst:  # one question at a time: latency of an idle bot
                    await api.wait_until(lambda n=i: len(api.sent) >= n, timeout=60)
                api.message(chat, QUESTIONS[(i // chats) % len(QUESTIONS)])
                queued[chat].append(time.monotonic())
            per_chat = {c: len(q) for c, q in queued.items()}
            # Answers within a chat come in order; one message per answer for these questions.
            await api.wait_until(lambda: all(len(api.messages(c)) >= n for c, n in per_chat.items()),
                                 timeout=600)
            finished = max(s.at for s in api.sent)
            latencies = [sent.at - asked for c in chat_ids
                         for asked, sent in zip(queued[c], api.messages(c), strict=False)]
            await app.updater.stop()
            await app.stop()
            await app.post_shutdown(app)
    finally:
        await api.stop()
    latencies.sort()
    return {
        "answered": len(latencies),
        "per_second": len(latencies) / (finished - started),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[max(0, int(0.95 * len(latencies)) - 1)],
        "errors": len(errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    from bot.engine import Engine

    store = ensure_index(args.store)
    engine = Engine(store)
    engine.ask(QUESTIONS[0])  # warm up: first query loads the model's pages
    # Time the engine alone too, to tell its share from the channel's.
    ask, engine_ms = engine.ask, []

    def timed_ask(question: str, state: dict | None = None):
        t0 = time.perf_counter()
        try:
            return ask(question, state)
        finally:
            engine_ms.append(1000 * (time.perf_counter() - t0))

    engine.ask = timed_ask
    print(f"index {store} ({engine.generation_name}); embedder {embedder_of(store)}; "
          f"{len(engine.records)} items; {os.cpu_count()} CPUs")
    print(f"burst: {args.messages} messages from {args.chats} chats queued at once; real HTTP via the fake Bot API")
    runs = [
        ("burst, Telegram flood limits (30 req/s)", args.messages, args.chats, True, True),
        ("burst, no rate limits", args.messages, args.chats, False, True),
        ("one at a time, Telegram flood limits", 50, 5, True, False),
    ]
    for label, messages, chats, limited, burst in runs:
        engine_ms.clear()
        result = asyncio.run(run_once(engine, store, messages, chats, limited, burst))
        rate = f"{result['per_second']:6.1f} messages/s" if burst else " " * 17
        print(f"{label:<40} {rate}; update→sendMessage "
              f"p50 {result['p50_ms']:6.0f} ms, p95 {result['p95_ms']:6.0f} ms; engine.ask p50 "
              f"{statistics.median(engine_ms):4.0f} ms ({result['answered']} answered, {result['errors']} errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

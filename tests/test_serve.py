"""The README's main command: `govbot serve` ingests the knowledge directory, then serves the web page."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def serve(tmp_path: Path, **extra_env: str) -> tuple[subprocess.Popen, int]:
    """`govbot serve` on a free port over two real guides, with the portable embedder."""
    knowledge = tmp_path / "knowledge"
    (knowledge / "guides").mkdir(parents=True)
    for name in ("food-business-license.md", "company-setup.md"):
        shutil.copy(ROOT / "knowledge" / "guides" / name, knowledge / "guides" / name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GOVBOT_HOME": str(tmp_path / "home"), "GOVBOT_KNOWLEDGE_DIR": str(knowledge),
           "GOVBOT_EMBEDDING": "use"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.update(extra_env)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port


def wait_for_web(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.stdout.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "govbot serve did not come up"
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_bad_telegram_token_does_not_take_the_web_page_down(tmp_path: Path):
    # Regression: serve exited (web included) when the bot could not start.
    proc, port = serve(tmp_path, TELEGRAM_BOT_TOKEN="not-a-token")
    try:
        wait_for_web(proc, port)
        time.sleep(3)  # the bot has given up by now (the token is malformed: no network involved)
        assert proc.poll() is None
        answer = httpx.get(f"http://127.0.0.1:{port}/api/ask", params={"q": "食品经营许可要什么材料"}, timeout=30).json()
        assert answer["grounded"]
    finally:
        stop(proc)
    assert "网页继续服务" in proc.stdout.read()


def test_serve_ingests_then_answers_over_http(tmp_path: Path):
    proc, port = serve(tmp_path)
    try:
        wait_for_web(proc, port)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/ask", params={"q": "食品经营许可要什么材料"}, timeout=30).json()
        assert answer["grounded"] and answer["record_ids"] == ["food-business-license"]
    finally:
        stop(proc)

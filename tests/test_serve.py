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


def test_serve_ingests_then_answers_over_http(tmp_path: Path):
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
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "govbot serve did not come up"
            time.sleep(0.5)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/ask", params={"q": "食品经营许可要什么材料"}, timeout=30).json()
        assert answer["grounded"] and answer["record_ids"] == ["food-business-license"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

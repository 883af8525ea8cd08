"""Replay the attack classes of the reliability review against a local `govbot web` (127.0.0.1 only).

    .venv/bin/python bench/attacks.py              # ~1-2 min on 2 cores, hash embedder
    .venv/bin/python bench/attacks.py --embedder e5 --flood-seconds 20

It builds a temp GOVBOT_HOME from tests/fixtures/kb, starts the server in a child process, sends a
bounded number of requests per class and prints sent / survived / failed / lost:

- survived: the deliberate answer (the expected 2xx/4xx, and the server stayed up);
- failed:   a 5xx, or a wrong answer (for example 200 where a refusal was expected);
- lost:     no answer at all (timeout, connection reset before any response).

Extra clients come from 127.0.0.2-127.0.0.9 (all loopback) so the per-client limits can be seen.
"""

# ruff: noqa: B023 - every lambda here is called at once by Tally.judge, inside its loop iteration

from __future__ import annotations

import argparse
import copy
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-attacks-admin-token-9f2c"
QUESTION = "烘焙作坊登记证需要哪些材料？"
HOST = "127.0.0.1"


@dataclass
class Tally:
    name: str
    sent: int = 0
    survived: int = 0
    failed: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)

    def judge(self, call: Callable[[], httpx.Response], ok: Callable[[httpx.Response], bool]) -> httpx.Response | None:
        self.sent += 1
        try:
            response = call()
        except httpx.HTTPError:
            self.lost += 1
            return None
        if response.status_code < 500 and ok(response):
            self.survived += 1
        else:
            self.failed += 1
        return response


def client(source: str = HOST, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=BASE, timeout=timeout, transport=httpx.HTTPTransport(local_address=source))


def chinese(response: httpx.Response) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", response.text))


# ---------------------------------------------------------------- attack classes


def hostile_json(t: Tally) -> None:
    bodies = [b"[" * 100_000 + b"]" * 100_000, b'{"q": "\\ud800"}', b'{"\\ud800": 1}',
              b'{"industry": "\\udfff"}', b'{"certifications": ["\\ud800"]}', b'{"industry": "\xed\xa0\x80"}',
              b'{"employees": 1' + b"0" * 309 + b"}", b'{"employees": 1' + b"0" * 4000 + b"}",
              b'{"q": 1}', b"not json", b'{"q": "' + b"x" * 300_000 + b'"}']
    with client() as c:
        for path in ("/api/ask", "/api/match"):
            for body in bodies:
                t.judge(lambda: c.post(path, content=body, headers={"content-type": "application/json"}),
                        lambda r: 400 <= r.status_code < 500 and chinese(r))


def raw_upload(headers: str, first: bytes, total: int, chunked: bool) -> tuple[int | None, int]:
    """Send an upload over a raw socket; returns (status or None, bytes sent before the answer)."""
    sock = socket.create_connection((HOST, PORT), timeout=10)
    sent = 0
    status = None
    try:
        head = f"POST /admin/upload HTTP/1.1\r\nHost: {HOST}:{PORT}\r\n{headers}" \
               "Content-Type: multipart/form-data; boundary=xyz\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
        sock.sendall(head.encode())
        block = first + b"x" * (1 << 20)
        sock.setblocking(False)
        while sent < total:
            try:
                answer = sock.recv(4096)
                if answer:
                    status = int(answer.split(b" ", 2)[1])
                    break
            except BlockingIOError:
                pass
            piece = block[: min(len(block), total - sent)]
            data = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
            try:
                sock.setblocking(True)
                sock.settimeout(5)
                sock.sendall(data)
                sock.setblocking(False)
            except OSError:
                break  # the server closed the connection after answering
            sent += len(piece)
        if status is None:
            sock.setblocking(True)
            sock.settimeout(10)
            with_answer = sock.recv(4096)
            status = int(with_answer.split(b" ", 2)[1]) if with_answer else None
    except (OSError, ValueError, IndexError):
        pass
    finally:
        sock.close()
    return status, sent


def unauthenticated_uploads(t: Tally) -> None:
    part = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n\r\n'
    for total, chunked in ((100 << 20, False), (400 << 20, False), (1 << 30, True), (1 << 30, True)):
        t.sent += 1
        status, sent = raw_upload("", part, total, chunked)
        if status is None:
            t.lost += 1
        elif status == 401 and sent <= 64 << 20:
            t.survived += 1
        else:
            t.failed += 1
        t.notes.append(f"{total >> 20} MB{' chunked' if chunked else ''}: {status}, {sent >> 20} MB sent")


def oversized_admin_upload(t: Tally) -> None:
    part = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n\r\n'
    cap = int(os.environ["GOVBOT_MAX_UPLOAD_MB"]) << 20
    for chunked in (True, False):
        t.sent += 1
        status, sent = raw_upload(f"X-Admin-Token: {TOKEN}\r\n", part, 200 << 20, chunked)
        if status is None:
            t.lost += 1
        elif status == 413 and sent <= cap + (8 << 20):
            t.survived += 1
        else:
            t.failed += 1
        t.notes.append(f"200 MB{' chunked' if chunked else ''} with the token: {status} after {sent >> 20} MB")


def token_in_query(t: Tally) -> None:
    with client() as c:
        for path in ("/admin", "/admin/upload", "/admin/ingest", "/admin/logout"):
            method = c.get if path == "/admin" else c.post
            t.judge(lambda: method(f"{path}?token={TOKEN}"),
                    lambda r: r.status_code in (401, 303) and not re.search(r"govbot_admin=[^;\"]", r.headers.get(
                        "set-cookie", "")))  # no session cookie set (deleting one is fine)


def token_guessing(t: Tally) -> None:
    evaluated = 0
    started = time.monotonic()
    with client("127.0.0.7") as c:
        for i in range(300):
            r = t.judge(lambda: c.post("/admin/login", data={"token": f"guess-{i}"}),
                        lambda r: r.status_code in (401, 429))
            evaluated += r is not None and r.status_code == 401
        locked = c.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).status_code
    with client("127.0.0.8") as other:
        fine = other.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).status_code
    t.notes.append(f"{evaluated} of 300 guesses evaluated in {time.monotonic() - started:.1f} s, the rest 429; "
                   f"right token from the guesser: {locked}; from another client: {fine}")


def session_attacks(t: Tally) -> None:
    with client("127.0.0.6") as c:
        c.post("/admin/login", data={"token": TOKEN})
        page = c.get("/admin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        cookie = c.cookies.get("govbot_admin")
        origin = {"Origin": "http://evil.example"}
        t.judge(lambda: c.post("/admin/ingest", data={"csrf": csrf}, headers=origin), lambda r: r.status_code == 403)
        t.judge(lambda: c.post("/admin/ingest"), lambda r: r.status_code == 403)
        t.judge(lambda: c.post("/admin/upload", data={"csrf": "forged"}, files={"files": ("a.md", b"# x")}),
                lambda r: r.status_code == 403)
        c.post("/admin/logout", data={"csrf": csrf})
    with client("127.0.0.6") as replay:
        replay.cookies.set("govbot_admin", cookie, path="/admin")
        t.judge(lambda: replay.get("/admin"), lambda r: r.status_code == 401)


def docx_bomb() -> bytes:
    from docx import Document

    document = Document()
    proto = document.add_paragraph("申请材料")._p
    for _ in range(60_000):
        document.element.body.append(copy.deepcopy(proto))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bomb() -> bytes:
    content = zlib.compress(b"BT /F1 12 Tf 10 10 Td (x) Tj ET\n" * (40 * 1024 * 1024 // 32), 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def bombs(t: Tally) -> None:
    files = [("bomb.docx", docx_bomb()), ("flate.pdf", pdf_bomb())]
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with client("127.0.0.5") as c:
            while not done.is_set():
                started = time.monotonic()
                c.get("/healthz")
                health.append(time.monotonic() - started)
                time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    with client(timeout=120) as c:
        for name, data in files * 2:
            started = time.monotonic()
            t.judge(lambda: c.post("/admin/upload", headers={"X-Admin-Token": TOKEN},
                                   files={"files": (name, data)}),
                    lambda r: r.status_code == 400 and name in r.text)
            t.notes.append(f"{name} ({len(data) >> 10} KB) refused in {time.monotonic() - started:.1f} s")
    done.set()
    prober.join()
    t.notes.append(f"/healthz meanwhile: max {max(health) * 1000:.0f} ms over {len(health)} probes")


def flood(t: Tally, seconds: float) -> None:
    """4 anonymous clients with 500-character questions; a fifth asks normal ones (F8)."""
    long_q = QUESTION + "请详细说明办理流程和注意事项" * 40
    stop = time.monotonic() + seconds
    victim: list[float] = []
    attacker_codes: list[int] = []
    lock = threading.Lock()

    def attacker(source: str) -> None:
        with client(source) as c:
            while time.monotonic() < stop:
                try:
                    code = c.post("/api/ask", json={"q": long_q}).status_code
                except httpx.HTTPError:
                    code = 0
                with lock:
                    attacker_codes.append(code)

    def asker() -> None:
        with client("127.0.0.9") as c:
            while time.monotonic() < stop:
                started = time.monotonic()
                r = t.judge(lambda: c.get("/api/ask", params={"q": QUESTION}),
                            lambda r: r.status_code == 200 and r.json()["grounded"])
                if r is not None:
                    victim.append(time.monotonic() - started)
                time.sleep(0.6)  # 100 a minute: under the per-client limit

    threads = [threading.Thread(target=attacker, args=(f"127.0.0.{i}",)) for i in (2, 3, 4, 5)]
    threads.append(threading.Thread(target=asker))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = sum(c == 429 for c in attacker_codes)
    errors = sum(c >= 500 or c == 0 for c in attacker_codes)
    t.notes.append(f"victim p50 {statistics.median(victim) * 1000:.0f} ms, max {max(victim) * 1000:.0f} ms; "
                   f"attackers sent {len(attacker_codes)}: {refused} got 429, {errors} errors")


def index_swaps(t: Tally, knowledge: Path) -> None:
    """Concurrent questions while admin ingests rename an item's id (F4) or repoint CURRENT."""
    guide = knowledge / "guides" / "demo-bakery-permit.md"
    original = guide.read_text(encoding="utf-8")
    stop = threading.Event()

    def asker(source: str) -> None:
        with client(source) as c:
            while not stop.is_set():
                t.judge(lambda: c.get("/api/ask", params={"q": QUESTION}),
                        lambda r: r.status_code == 200 and r.json()["grounded"])
                time.sleep(0.5)

    threads = [threading.Thread(target=asker, args=(f"127.0.2.{i}",)) for i in range(1, 11)]
    for thread in threads:
        thread.start()
    with client(timeout=120) as admin:
        for round_ in range(6):
            new_id = f"demo-bakery-permit-{round_}"
            guide.write_text(re.sub(r"^id: .*$", f"id: {new_id}", original, count=1, flags=re.M), encoding="utf-8")
            admin.post("/admin/ingest", headers={"X-Admin-Token": TOKEN}, data={"prune": "1"})
    guide.write_text(original, encoding="utf-8")
    stop.set()
    for thread in threads:
        thread.join()


def damaged_generation(t: Tally, store: Path) -> None:
    """CURRENT pointed at a copy with truncated data files, as a power loss could leave it (F19)."""
    current = (store / "CURRENT").read_text().strip()
    broken = store / "generations" / "99999999-999999-999999"
    shutil.copytree(store / "generations" / current, broken)
    records = broken / "records.jsonl"
    records.write_text(records.read_text(encoding="utf-8")[:200], encoding="utf-8")
    (store / "CURRENT").write_text(broken.name)
    with client("127.0.3.1") as c:
        for _ in range(20):
            t.judge(lambda: c.get("/api/ask", params={"q": QUESTION}), lambda r: r.status_code == 200)
            t.judge(lambda: c.get("/healthz"), lambda r: r.status_code == 200)
    (store / "CURRENT").write_text(current)
    shutil.rmtree(broken)


def cold_start(t: Tally) -> None:
    """20 concurrent questions the moment the port answers (F5)."""
    results: list[None] = []

    def one(i: int) -> None:
        with client(f"127.0.1.{i}") as c:
            t.judge(lambda: c.get("/api/ask", params={"q": QUESTION}), lambda r: r.status_code == 200)
        results.append(None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(home: Path, knowledge: Path, embedder: str) -> subprocess.Popen:
    env = {**os.environ, "GOVBOT_HOME": str(home), "GOVBOT_KNOWLEDGE_DIR": str(knowledge),
           "GOVBOT_EMBEDDING": embedder, "GOVBOT_ADMIN_TOKEN": TOKEN, "GOVBOT_MAX_UPLOAD_MB": "30",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    os.environ["GOVBOT_MAX_UPLOAD_MB"] = env["GOVBOT_MAX_UPLOAD_MB"]
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "web", "--host", HOST, "--port", str(PORT)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=open(home / "web.log", "w"))


def wait_port(proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited; see web.log")
        with socket.socket() as s:
            if s.connect_ex((HOST, PORT)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("the server did not come up")


def main() -> None:
    global BASE, PORT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="hash")
    parser.add_argument("--flood-seconds", type=float, default=10.0)
    parser.add_argument("--log", help="copy the server's log here")
    parser.add_argument("--rate-per-minute", default="120", help="GOVBOT_RATE_PER_MINUTE of the server (0: off)")
    args = parser.parse_args()
    PORT = free_port()
    BASE = f"http://{HOST}:{PORT}"
    with tempfile.TemporaryDirectory(prefix="govbot-attacks-") as tmp:
        home, knowledge = Path(tmp) / "home", Path(tmp) / "knowledge"
        home.mkdir()
        shutil.copytree(ROOT / "tests" / "fixtures" / "kb", knowledge)
        subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(knowledge)], cwd=ROOT, check=True,
                       env={**os.environ, "GOVBOT_HOME": str(home), "GOVBOT_EMBEDDING": args.embedder,
                            "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL)
        os.environ["GOVBOT_RATE_PER_MINUTE"] = args.rate_per_minute
        proc = start(home, knowledge, args.embedder)
        tallies: list[Tally] = []
        started = time.monotonic()
        try:
            wait_port(proc)
            for name, run in [
                ("cold start: 20 concurrent questions (F5)", cold_start),
                ("hostile JSON on /api/ask, /api/match (F16 F17 F20)", hostile_json),
                ("unauthenticated large uploads (F3)", unauthenticated_uploads),
                ("admin upload over the body cap (F3)", oversized_admin_upload),
                ("token in the query string (F9)", token_in_query),
                ("300 wrong token guesses (F10)", token_guessing),
                ("CSRF, cross-origin, session replay (F11 F12)", session_attacks),
                ("DOCX and PDF bombs uploaded (F7)", bombs),
                ("4 long-question flooders vs 1 asker (F8)", lambda t: flood(t, args.flood_seconds)),
                ("questions during 6 id-renaming ingests (F4)", lambda t: index_swaps(t, knowledge)),
                ("damaged current generation (F19)", lambda t: damaged_generation(t, home / "index")),
            ]:
                tally = Tally(name)
                run(tally)
                tallies.append(tally)
                if proc.poll() is not None:
                    tally.notes.append("THE SERVER DIED")
                    break
        finally:
            alive = proc.poll() is None
            proc.terminate()
            proc.wait(timeout=20)
        log_lines = (home / "web.log").read_text(errors="replace").splitlines()
        errors = sum("Traceback" in line for line in log_lines)
        fallbacks = sum("cannot be opened" in line for line in log_lines)
        if args.log:
            shutil.copy(home / "web.log", args.log)
    print(f"{'class':<52} {'sent':>5} {'survived':>8} {'failed':>6} {'lost':>4}")
    for t in tallies:
        print(f"{t.name:<52} {t.sent:>5} {t.survived:>8} {t.failed:>6} {t.lost:>4}")
        for note in t.notes:
            print(f"    {note}")
    total = Tally("total", *(sum(getattr(t, k) for t in tallies) for k in ("sent", "survived", "failed", "lost")))
    print(f"{total.name:<52} {total.sent:>5} {total.survived:>8} {total.failed:>6} {total.lost:>4}")
    print(f"server alive at the end: {alive}; tracebacks in its log: {errors}; "
          f"'cannot be opened' log lines: {fallbacks}; "
          f"{time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


BASE = ""
PORT = 0

if __name__ == "__main__":
    main()

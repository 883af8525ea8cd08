"""Reliability review findings (shared/reviews/reliability.md) F3-F5, F7-F12, F16-F20, as users and admins see them.

Everything runs on the synthetic fixture KB with the hash embedder, over ASGI (no network).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import shutil
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from bot.feedback import FeedbackStore
from bot.web.app import create_app
from ingest.settings import Settings

FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"
TOKEN = "hardening-admin-token-0123"
BAKERY_Q = "烘焙作坊登记证需要哪些材料？"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("hardening")
    knowledge = base / "knowledge"
    shutil.copytree(FIXTURE_KB, knowledge)
    store = base / "index"
    assert not ingest([knowledge], store, load_embeddings("hash")).failed
    return knowledge, store


def _settings(tmp_path: Path, knowledge: Path, **values) -> Settings:
    values.setdefault("govbot_admin_token", TOKEN)
    values.setdefault("govbot_max_file_mb", 1)
    return Settings(govbot_home=tmp_path / "home", govbot_knowledge_dir=knowledge, govbot_embedding="hash",
                    **values)


@pytest.fixture
def make_app(kb, tmp_path):
    from bot.engine import Engine

    knowledge, store = kb

    def make(**values):
        settings = _settings(tmp_path, knowledge, **values)
        engine = Engine(store, settings)
        feedback = FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}")
        return create_app(engine, settings, store, feedback, upload_dir=tmp_path / "uploads")

    return make


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _login(client: TestClient) -> str:
    assert client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    return _csrf(client.get("/admin").text)


def _uploads(tmp_path: Path) -> list[str]:
    folder = tmp_path / "uploads"
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


# ---------------------------------------------------------------- F3: upload body before the token


def _asgi(app, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: int, chunk: bytes):
    """Send a streamed body to the app; returns (status, body text, how many chunks it read)."""
    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        if read >= chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80), "root_path": ""}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode("utf-8", "replace"), read


MULTIPART = [(b"content-type", b"multipart/form-data; boundary=xyz")]
PART = b"--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.md\"\r\n\r\n"


def test_an_upload_without_the_token_is_refused_before_its_body_is_read(make_app):
    app = make_app()
    # 1 GB declared, then sent in 1 MB chunks (chunked: no Content-Length at all).
    status, text, read = _asgi(app, "POST", "/admin/upload", MULTIPART, 1024, PART + b"x" * (1 << 20))
    assert status == 401 and "请输入管理口令" in text
    assert read == 0  # nothing spooled to disk: the 1 GB body was never read
    status, _, read = _asgi(app, "POST", "/admin/upload", [*MULTIPART, (b"x-admin-token", b"wrong")], 1024,
                            b"x" * (1 << 20))
    assert status == 401 and read == 0


def test_an_admin_upload_is_cut_at_the_body_cap_with_a_chinese_413(make_app):
    app = make_app(govbot_max_upload_mb=2)
    headers = [*MULTIPART, (b"x-admin-token", TOKEN.encode())]
    # Chunked, so only counting while it streams can stop it.
    status, text, read = _asgi(app, "POST", "/admin/upload", headers, 1024, PART + b"x" * (1 << 20))
    assert status == 413 and "上传内容过大" in text and "2 MB" in text
    assert read <= 3  # cut at the cap, not after a gigabyte
    # A declared Content-Length over the cap is refused before the first byte.
    status, text, read = _asgi(app, "POST", "/admin/upload", [*headers, (b"content-length", b"999999999")],
                               1024, b"x" * (1 << 20))
    assert status == 413 and read == 0


def test_other_bodies_are_capped_too(make_app):
    client = TestClient(make_app(govbot_max_body_kb=64))
    response = client.post("/match", content=b"industry=" + b"x" * 100_000,
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413 and "请求内容过大" in response.text and "64 KB" in response.text


# ---------------------------------------------------------------- F4, F5: one index view, opened once


def test_a_question_answered_across_an_index_swap_uses_one_generation(kb, tmp_path, monkeypatch):
    """The swap lands in the middle of retrieval, the worst moment (F4: KeyError and 500 before)."""
    from bot.engine import Engine
    from bot.retrieval import Retriever
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    knowledge = tmp_path / "knowledge"
    shutil.copytree(kb[0], knowledge)
    store = tmp_path / "index"
    ingest([knowledge], store, load_embeddings("hash"))
    engine = Engine(store)
    before = engine.generation_name
    # The next generation renames the bakery item: the old id no longer exists in it.
    guide = knowledge / "guides" / "demo-bakery-permit.md"
    guide.write_text(guide.read_text(encoding="utf-8").replace("id: demo-bakery-permit", "id: demo-bakery-2"),
                     encoding="utf-8")
    search = Retriever.search
    swapped = []

    def search_then_swap(self, query, limit=10):
        hits = search(self, query, limit)
        if not swapped:
            swapped.append(ingest([knowledge], store, load_embeddings("hash"), prune=True).generation)
            assert engine.reload_if_changed()  # what a concurrent request would do
        return hits

    monkeypatch.setattr(Retriever, "search", search_then_swap)
    result = engine.ask(BAKERY_Q)
    assert result.grounded and result.record_ids == ["demo-bakery-permit"]  # the old generation, whole
    assert engine.generation_name == swapped[0] != before
    monkeypatch.setattr(Retriever, "search", search)
    assert engine.ask(BAKERY_Q).record_ids == ["demo-bakery-2"]  # the next question: the new one


def test_the_first_concurrent_questions_after_a_start_all_get_answers(kb):
    from bot.engine import Engine

    engine = Engine(kb[1])
    # Opened before the generation was published (F5: concurrent lazy opening raised in Chroma).
    assert engine.pinned()._generation._collection is not None
    results, errors = [], []

    def one() -> None:
        try:
            results.append(engine.ask(BAKERY_Q))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 16 and all(r.grounded for r in results)


# ---------------------------------------------------------------- F19: durable generations, fallback


def test_generation_files_are_synced_before_the_manifest_and_the_switch(tmp_path, monkeypatch):
    from ingest import index
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    synced: list[str] = []
    real = os.fsync

    def record(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(index.os, "fsync", record)
    ingest([FIXTURE_KB], tmp_path / "index", load_embeddings("hash"))
    names = [Path(p).name for p in synced]
    for data in ("records.jsonl", "chunks.jsonl", "vectors.npy"):
        assert data in names and names.index(data) < names.index("manifest.json")
    assert names.index("manifest.json") < names.index("CURRENT.tmp")


def test_a_damaged_current_generation_falls_back_to_the_previous_one(kb, tmp_path, caplog):
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    knowledge = tmp_path / "knowledge"
    shutil.copytree(kb[0], knowledge)
    store = tmp_path / "index"
    first = ingest([knowledge], store, load_embeddings("hash")).generation
    serving = Engine(store)
    (knowledge / "guides" / "demo-shop-sign.md").unlink()
    second = ingest([knowledge], store, load_embeddings("hash"), prune=True).generation
    # What a power loss can leave behind: a manifest with truncated data files.
    records = store / "generations" / second / "records.jsonl"
    records.write_text(records.read_text(encoding="utf-8")[:100], encoding="utf-8")

    with caplog.at_level(logging.ERROR, logger="bot.engine"):
        started = Engine(store)  # a restart: the previous generation, with a log line
        assert started.generation_name == first and started.ask(BAKERY_Q).grounded
        assert serving.ask(BAKERY_Q).grounded and serving.generation_name == first  # a running one keeps its own
    assert any(second in r.getMessage() and "cannot be opened" in r.getMessage() for r in caplog.records)
    settings = Settings(govbot_home=tmp_path / "home", govbot_admin_token=None)
    client = TestClient(create_app(started, settings, store, FeedbackStore(f"sqlite:///{tmp_path / 'f.db'}")))
    assert client.get("/healthz").json()["generation"] == first
    assert client.get("/api/ask", params={"q": BAKERY_Q}).json()["grounded"] is True


# ---------------------------------------------------------------- F7: DOCX and PDF bombs


def _docx(paragraphs: int, text: str = "申请材料") -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("烘焙作坊登记", 1)
    body = document.element.body
    proto = document.add_paragraph(text)._p
    for _ in range(paragraphs):
        body.append(__import__("copy").deepcopy(proto))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _inflating_docx(inflated_mb: int) -> bytes:
    """A small zip whose one extra part inflates to ``inflated_mb`` (zeros compress ~1000:1)."""
    source = zipfile.ZipFile(io.BytesIO(_docx(1)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("word/media/padding.bin", b"\0" * (inflated_mb << 20))
    return out.getvalue()


def _pdf_flate_bomb(megabytes: int) -> bytes:
    """One page whose Flate content stream inflates to ``megabytes`` of text operators."""
    import zlib

    content = zlib.compress(b"BT /F1 12 Tf 10 10 Td (x) Tj ET\n" * (megabytes * 1024 * 1024 // 32), 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("bomb.docx", lambda: _docx(60_000), "段落过多"),
    ("inflate.docx", lambda: _inflating_docx(150), "解压后过大"),
    ("flate.pdf", lambda: _pdf_flate_bomb(40), "解压后过大"),
])
def test_decompression_bombs_fail_fast_with_the_reason(tmp_path, name, make, reason):
    from ingest.loaders import LoadError, load_file

    path = tmp_path / name
    path.write_bytes(make())
    assert path.stat().st_size < 1024 * 1024  # small files: the size cap alone cannot stop them
    started = time.monotonic()
    with pytest.raises(LoadError) as caught:
        load_file(path, "bomb")
    assert reason in caught.value.reason and time.monotonic() - started < 15


def test_a_parse_that_runs_past_its_time_budget_is_stopped(tmp_path, monkeypatch):
    from ingest.loaders import LoadError, load_file
    from ingest.settings import get_settings

    monkeypatch.setenv("GOVBOT_PARSE_TIMEOUT_S", "0.05")
    get_settings.cache_clear()
    path = tmp_path / "slow.docx"
    path.write_bytes(_docx(10))
    try:
        with pytest.raises(LoadError) as caught:
            load_file(path, "slow")
    finally:
        get_settings.cache_clear()
    assert "解析超时" in caught.value.reason


def test_a_good_docx_still_loads_through_the_worker(tmp_path):
    from ingest.loaders import load_file

    path = tmp_path / "good.docx"
    path.write_bytes(_docx(3, "营业执照复印件"))
    record = load_file(path, "good")
    assert record.title == "烘焙作坊登记"


def test_a_docx_bomb_upload_is_refused_while_the_site_keeps_answering(make_app, tmp_path):
    client = TestClient(make_app(govbot_max_file_mb=5))
    bomb = _docx(60_000)
    result: dict = {}

    def upload() -> None:
        result["response"] = client.post("/admin/upload", headers={"X-Admin-Token": TOKEN},
                                         files={"files": ("bomb.docx", bomb, "application/octet-stream")})

    thread = threading.Thread(target=upload)
    thread.start()
    latencies = []
    while thread.is_alive():
        started = time.monotonic()
        assert client.get("/healthz").status_code == 200
        latencies.append(time.monotonic() - started)
        time.sleep(0.05)
    thread.join()
    response = result["response"]
    assert response.status_code == 400 and "段落过多" in response.text and "bomb.docx" in response.text
    assert _uploads(tmp_path) == []
    assert max(latencies) < 2.0


# ---------------------------------------------------------------- F8: work per question and per client


def test_one_client_is_rate_limited_and_the_others_are_not(make_app):
    app = make_app(govbot_rate_per_minute=60, govbot_rate_burst=5)
    flooder = TestClient(app, client=("10.0.0.1", 1000))
    other = TestClient(app, client=("10.0.0.2", 1000))
    codes = [flooder.get("/api/ask", params={"q": BAKERY_Q}).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
    refused = flooder.get("/api/ask", params={"q": BAKERY_Q})
    assert "请求过于频繁" in refused.json()["detail"] and int(refused.headers["retry-after"]) >= 1
    page = flooder.get("/", params={"q": BAKERY_Q})
    assert page.status_code == 429 and "请求过于频繁" in page.text  # pages too, in Chinese
    assert other.get("/api/ask", params={"q": BAKERY_Q}).json()["grounded"] is True
    assert flooder.get("/healthz").status_code == 200  # health checks are not limited


def test_long_questions_are_bounded(make_app, monkeypatch):
    from bot import retrieval
    from ingest.embeddings import HashEmbeddings

    seen: list[str] = []
    embed = HashEmbeddings.embed_query

    def recording(self, text):
        seen.append(text)
        return embed(self, text)

    monkeypatch.setattr(HashEmbeddings, "embed_query", recording)
    client = TestClient(make_app(govbot_max_question_chars=300))
    long = BAKERY_Q + "请详细说明" * 200
    page = client.get("/", params={"q": long})
    assert page.status_code == 200 and "300" in page.text  # the page says it kept the first 300 characters
    response = client.post("/api/ask", json={"q": long})
    assert response.status_code == 200 and response.json()["record_ids"] == ["demo-bakery-permit"]
    # BM25 reads the 300 characters; the embedder (one lock for every question) at most 128.
    assert seen and max(len(t) for t in seen) <= retrieval.DENSE_QUERY_CHARS


# ---------------------------------------------------------------- F9-F12: admin access


def test_the_token_is_not_accepted_in_the_address(make_app, tmp_path):
    client = TestClient(make_app())
    response = client.get("/admin", params={"token": TOKEN}, follow_redirects=False)
    assert response.status_code == 401 and "口令不能写在网址里" in response.text
    assert "set-cookie" not in response.headers
    upload = client.post(f"/admin/upload?token={TOKEN}", files={"files": ("a.md", b"# x\n")})
    assert upload.status_code == 401 and _uploads(tmp_path) == []
    assert client.post(f"/admin/ingest?token={TOKEN}").status_code == 401


def test_wrong_token_guesses_are_throttled_per_client(make_app):
    app = make_app(govbot_admin_max_failures=3, govbot_admin_lockout_s=30)
    guesser = TestClient(app, client=("10.0.0.9", 1))
    codes = [guesser.post("/admin/login", data={"token": f"guess{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    locked = guesser.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    assert locked.status_code == 429 and "口令错误次数过多" in locked.text and "30 秒" in locked.text
    assert guesser.get("/admin", headers={"X-Admin-Token": TOKEN}).status_code == 429  # the header too
    admin = TestClient(app, client=("10.0.0.10", 1))
    assert admin.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303


def test_logout_revokes_the_session_everywhere(make_app):
    client = TestClient(make_app())
    csrf = _login(client)
    stolen = client.cookies.get("govbot_admin")
    assert client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(client.app)
    replay.cookies.set("govbot_admin", stolen, path="/admin")
    response = replay.get("/admin")
    assert response.status_code == 401 and "登录已过期或已退出" in response.text


def test_sessions_expire_on_the_server(make_app, monkeypatch):
    from bot.web import guard

    client = TestClient(make_app(govbot_admin_session_hours=1))
    _login(client)
    assert client.get("/admin").status_code == 200
    later = time.time() + 3601
    monkeypatch.setattr(guard, "time", SimpleNamespace(time=lambda: later, monotonic=time.monotonic))
    response = client.get("/admin")  # the browser still sends the cookie; the server says no
    assert response.status_code == 401 and "登录已过期" in response.text


def test_state_changing_admin_forms_need_the_csrf_token_and_this_origin(make_app, kb):
    client = TestClient(make_app())
    csrf = _login(client)
    store = kb[1]
    before = (store / "CURRENT").read_text()
    evil = client.post("/admin/ingest", data={"csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "请求来源不符" in evil.text
    missing = client.post("/admin/ingest")
    assert missing.status_code == 403 and "表单已过期" in missing.text
    upload = client.post("/admin/upload", data={"csrf": "forged"}, files={"files": ("a.md", b"# x\n")})
    assert upload.status_code == 403
    assert (store / "CURRENT").read_text() == before
    assert client.post("/admin/logout").status_code == 403 and client.get("/admin").status_code == 200
    login = TestClient(client.app).post("/admin/login", data={"token": TOKEN},
                                        headers={"Origin": "http://evil.example"})
    assert login.status_code == 403


# ---------------------------------------------------------------- F16, F17, F20: hostile JSON


@pytest.mark.parametrize(("body", "words"), [
    (b"[" * 100_000 + b"]" * 100_000, "嵌套层级过深"),
    (b'{"q": "\\ud800"}', "Unicode"),
    (b'{"\\ud800": 1}', "Unicode"),
    (b'{"industry": "\xed\xa0\x80"}', ""),  # raw CESU-8 bytes: not UTF-8, so not JSON
    (b'{"employees": 1' + b"0" * 309 + b"}", "数字过大"),
    (b'{"employees": 1' + b"0" * 5000 + b"}", "数字过大"),
])
@pytest.mark.parametrize("path", ["/api/ask", "/api/match"])
def test_hostile_json_gets_a_4xx_in_chinese(make_app, path, body, words):
    client = TestClient(make_app(), raise_server_exceptions=False)
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    text = json.dumps(response.json(), ensure_ascii=False)
    assert words in text and re.search(r"[\u4e00-\u9fff]", text)


# ---------------------------------------------------------------- F18: names that clean to the same name


def test_an_upload_that_replaces_an_earlier_one_says_so(make_app, tmp_path):
    client = TestClient(make_app())
    guide = "烘焙作坊登记指南\n申请材料：营业执照复印件。\n".encode()
    first = client.post("/admin/upload", headers={"X-Admin-Token": TOKEN}, files={"files": ("x.txt", guide)})
    assert first.status_code == 200 and "覆盖" not in first.text
    second = client.post("/admin/upload", headers={"X-Admin-Token": TOKEN}, files={"files": ("....//x.txt ", guide)})
    assert second.status_code == 200 and "已覆盖同名的已上传文件：x.txt" in second.text
    assert _uploads(tmp_path) == ["x.txt"]


def test_behind_a_proxy_the_limits_key_on_the_forwarded_address_only_when_trusted():
    from bot.web.guard import client_key, same_origin

    scope = {"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.7")]}
    assert client_key(scope) == "10.0.0.1"  # a client could have written any X-Forwarded-For
    assert client_key(scope, trust_forwarded_for=True) == "203.0.113.7"  # the entry the proxy added
    proxied = {"host": "127.0.0.1:8000", "x-forwarded-host": "govbot.example", "origin": "https://govbot.example"}
    assert same_origin(proxied)
    assert not same_origin({**proxied, "origin": "https://evil.example"})
    assert not same_origin({"host": "govbot.example", "origin": "null"})
    assert same_origin({"host": "govbot.example"})  # curl and scripts send no Origin


def test_a_failing_vector_store_answers_from_bm25_instead_of_a_500(kb, monkeypatch, caplog):
    """During rapid re-ingests Chroma once raised InternalError on a query (bench/attacks.py)."""
    from bot.engine import Engine
    from ingest.index import Generation

    engine = Engine(kb[1])

    class Broken:
        def query(self, **_):
            raise RuntimeError("Error executing plan: Error purging logs")

    monkeypatch.setattr(Generation, "collection", lambda self, location: Broken())
    with caplog.at_level(logging.WARNING, logger="bot.retrieval"):
        result = engine.ask(BAKERY_Q)
    assert result.grounded and result.record_ids == ["demo-bakery-permit"]
    assert any("lexical only" in r.getMessage() for r in caplog.records)


def test_two_replicas_share_admin_sessions_and_a_logout_on_one_revokes_both(kb, tmp_path):
    """Behind a round-robin balancer (compose.yaml) the next request may reach the other replica."""
    from bot.engine import Engine

    knowledge, store = kb
    settings = _settings(tmp_path, knowledge)
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    one, two = (TestClient(create_app(Engine(store, settings), settings, store, FeedbackStore(url),
                                      upload_dir=tmp_path / "uploads")) for _ in range(2))
    csrf = _login(one)
    sid = one.cookies.get("govbot_admin")
    two.cookies.set("govbot_admin", sid, path="/admin")
    assert two.get("/admin").status_code == 200  # signed in on the other replica too
    assert two.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert one.get("/admin").status_code == 401  # revoked on the first replica as well

"""The web channel over HTTP (ASGI, no network): pages, JSON API, feedback and the admin page."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.datastructures import QueryParams
from starlette.testclient import TestClient

from bot.feedback import FeedbackStore, questions
from bot.web.app import MAX_QUESTION, UploadRejected, create_app, safe_filename
from bot.web.match_form import read_form
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
TOKEN = "test-admin-token"
PUBLIC_KEYS = {"answer", "sources", "grounded", "intent", "record_ids", "suggestions"}
MATERIALS_Q = "开公司需要哪些材料？"

# An unstructured guide as a government site publishes it; the item is not in knowledge/.
UPLOAD_GUIDE = """<html><head><meta charset="utf-8"><title>城市建筑垃圾处置核准办事指南</title></head><body>
<h1>城市建筑垃圾处置核准办事指南</h1>
<h2>一、受理条件</h2><p>在自贡高新区内处置建筑垃圾的施工单位和运输单位。</p>
<h2>二、申请材料</h2>
<table>
<tr><th>序号</th><th>材料名称</th><th>材料形式</th><th>份数</th></tr>
<tr><td>1</td><td>城市建筑垃圾处置核准申请表</td><td>原件</td><td>1</td></tr>
<tr><td>2</td><td>建筑垃圾运输车辆行驶证</td><td>复印件</td><td>1</td></tr>
<tr><td>3</td><td>建筑垃圾消纳场所证明</td><td>原件</td><td>1</td></tr>
</table>
<h2>三、办理时限</h2><p>法定办结时限：20个工作日；承诺办结时限：5个工作日。</p>
<h2>四、收费标准</h2><p>不收费。</p>
<h2>五、办理地点</h2><p>自贡高新区政务服务中心城市管理窗口。</p>
</body></html>
"""
UPLOAD_Q = "建筑垃圾处置核准需要哪些材料？"


def _settings(home: Path, **values) -> Settings:
    values.setdefault("govbot_admin_token", TOKEN)
    values.setdefault("govbot_max_file_mb", 1)
    return Settings(govbot_home=home, govbot_knowledge_dir=home / "knowledge", **values)


@pytest.fixture
def feedback(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite3'}")


APPS: list = []  # apps of the running test, whose question logs _logged() flushes


@pytest.fixture
def client(engine, kb_store: Path, feedback: FeedbackStore, tmp_path: Path) -> Iterator[TestClient]:
    """The app over the shared session index. Admin is on but these tests never ingest into it."""
    settings = _settings(tmp_path / "home")
    app = create_app(engine, settings, kb_store, feedback, upload_dir=tmp_path / "uploads")
    APPS.append(app)
    yield TestClient(app)
    APPS.remove(app)


def _logged(feedback: FeedbackStore) -> list[tuple[str, str, bool]]:
    for app in APPS:
        app.state.question_log.flush()  # questions are written by a background thread
    with feedback.db.connect() as conn:
        rows = conn.execute(select(questions.c.channel, questions.c.question, questions.c.grounded)).all()
    return [tuple(r) for r in rows]


# ---------------------------------------------------------------- JSON API


def test_api_ask_is_the_cli_json_object_and_is_logged(client, engine, feedback):
    response = client.get("/api/ask", params={"q": MATERIALS_Q})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert body == engine.ask(MATERIALS_Q).public()  # exactly what `govbot ask --json` prints
    assert body["grounded"] is True and body["intent"] == "materials"
    assert body["record_ids"] and body["record_ids"][0] in engine.records
    assert all(set(s) == {"title", "source", "section"} for s in body["sources"])
    assert isinstance(body["suggestions"], list) and body["suggestions"]
    assert _logged(feedback) == [("web", MATERIALS_Q, True)]


def test_api_ask_follow_up_keeps_the_item(client):
    first = client.get("/api/ask", params={"q": MATERIALS_Q}).json()
    follow = client.get("/api/ask", params={"q": "要多久？", "rid": first["record_ids"][0],
                                            "intent": first["intent"]}).json()
    assert follow["intent"] == "time"
    assert follow["record_ids"] == first["record_ids"]
    # A forged state pointing at no item is ignored rather than trusted.
    forged = client.get("/api/ask", params={"q": "要多久？", "rid": "../../etc/passwd"}).json()
    assert set(forged) == PUBLIC_KEYS


def test_api_items_list_and_detail(client, engine):
    items = client.get("/api/items").json()
    assert len(items) == len(engine.records)
    assert all(set(i) == {"id", "kind", "title", "department", "stage"} for i in items)
    assert {"guide", "bundle", "policy"} <= {i["kind"] for i in items}
    only_policies = client.get("/api/items", params={"kind": "policy"}).json()
    assert only_policies and all(i["kind"] == "policy" for i in only_policies)

    detail = client.get("/api/items/company-setup")
    assert detail.status_code == 200
    record = detail.json()
    assert record == engine.records["company-setup"].model_dump(mode="json")
    assert record["materials"] and {"name", "form", "copies", "notes", "tolerance"} <= set(record["materials"][0])

    missing = client.get("/api/items/no-such-item")
    assert missing.status_code == 404
    assert "未找到" in missing.json()["detail"]


def test_healthz(client, engine):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "generation": engine.generation_name,
                               "records": len(engine.records)}


def test_healthz_without_index_is_503(tmp_path, feedback):
    from bot.engine import Engine

    store = tmp_path / "empty-index"
    settings = _settings(tmp_path / "home")
    app = create_app(Engine(store, settings), settings, store, feedback)
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "no_index", "generation": None, "records": 0}


# ---------------------------------------------------------------- pages


def test_home_answers_with_sources_suggestions_and_state(client, engine, feedback):
    response = client.get("/", params={"q": MATERIALS_Q})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    result = engine.ask(MATERIALS_Q)
    record = engine.records[result.record_ids[0]]
    assert record.materials[0].name in html  # the whole list is quoted, not summarised
    assert f'href="/items/{record.id}"' in html  # the full item one click away
    assert f'href="/items/{record.id}/print"' in html
    # Conversation state for a follow-up typed into the box, and on the suggestion links.
    assert f'name="rid" value="{record.id}"' in html
    assert f"rid={record.id}&amp;intent=materials" in html
    assert "要多久？" in html
    assert 'action="/feedback"' in html
    assert ("web", MATERIALS_Q, True) in _logged(feedback)
    # Browsing: every item listed, by kind and department, with the filter box.
    assert 'id="browse-filter"' in html
    for kind_label in ("办事指南", "一件事", "惠企政策"):
        assert kind_label in html
    assert html.count('class="item"') == sum(r.kind != "faq" for r in engine.records.values())  # FAQ files are not items


def test_home_follow_up_through_hidden_fields(client, engine):
    rid = engine.ask(MATERIALS_Q).record_ids[0]
    html = client.get("/", params={"q": "那要多久？", "rid": rid, "intent": "materials"}).text
    assert "办结时限" in html or "时限" in html
    assert f'name="rid" value="{rid}"' in html


def test_home_without_question_does_not_log(client, feedback):
    response = client.get("/")
    assert response.status_code == 200
    assert "想办什么事" in response.text
    assert _logged(feedback) == []
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_ten_thousand_character_question(client, feedback):
    long_q = MATERIALS_Q + "x" * (10_000 - len(MATERIALS_Q))  # ASCII so the URL stays under 64 kB
    page = client.get("/", params={"q": long_q})
    assert page.status_code == 200
    assert f"只按前 {MAX_QUESTION} 个字检索" in page.text
    api = client.get("/api/ask", params={"q": long_q})
    assert api.status_code == 200 and set(api.json()) == PUBLIC_KEYS
    # 10,000 Chinese characters do not fit in a URL (90 kB encoded): POST them as JSON.
    chinese = ("开公司需要哪些材料" * 1200)[:10_000]
    posted = client.post("/api/ask", json={"q": chinese})
    assert posted.status_code == 200 and set(posted.json()) == PUBLIC_KEYS
    assert all(len(q) <= MAX_QUESTION for _, q, _ in _logged(feedback))
    assert client.post("/api/ask", content=b"not json").status_code == 400
    assert client.post("/api/ask", json={"q": ["list"]}).status_code == 400


@pytest.mark.parametrize("attack", [
    '<script>alert("x")</script>开公司需要哪些材料',
    '"><img src=x onerror=alert(1)>注册公司',
    "</textarea><script>alert(1)</script>",
])
def test_markup_in_question_is_escaped(client, attack):
    html = client.get("/", params={"q": attack}).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html or "&lt;img" in html
    api = client.get("/api/ask", params={"q": attack})
    assert api.headers["content-type"].startswith("application/json")


def test_item_pages(client, engine):
    guide = engine.records["company-setup"]
    html = client.get("/items/company-setup").text
    assert guide.title in html
    for material in guide.materials:
        assert material.name in html
    assert "申请材料" in html and "受理条件" in html and "办理流程" in html
    assert 'href="/items/company-setup/print"' in html

    bundle = next(r for r in engine.records.values() if r.kind == "bundle" and r.members)
    html = client.get(f"/items/{bundle.id}").text
    assert "包含事项" in html
    for member in bundle.members:
        if member in engine.records:
            assert f'href="/items/{member}"' in html  # member items are linked
        else:
            assert member in html  # named even when its guide is not in the knowledge base

    policy = next(r for r in engine.records.values() if r.kind == "policy" and r.amount)
    html = client.get(f"/items/{policy.id}").text
    assert "支持标准" in html and policy.amount in html


def test_print_view_is_a_complete_checklist(client, engine):
    guide = engine.records["company-setup"]
    response = client.get("/items/company-setup/print")
    assert response.status_code == 200
    html = response.text
    assert "一次性告知单" in html and guide.title in html
    assert html.count("☐") == len(guide.materials)
    for material in guide.materials:
        assert material.name in html
    assert "原件" in html and "复印件" in html and "份数" in html
    assert "以窗口最新告知为准" in html
    assert guide.updated in html and guide.where.window in html and guide.fee in html
    assert "/static/print.css" in html
    # The visitor's sheet cites web addresses, never our local file names (seed reports, .md files).
    source_line = html[html.index('class="source"'):].split("</p>")[0]
    assert all(s in source_line for s in guide.sources if s.startswith("http"))
    assert ".txt" not in source_line and ".md" not in source_line


def test_unknown_item_and_page_are_chinese_404(client):
    response = client.get("/items/no-such-item")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "未找到事项" in response.text and "返回首页" in response.text
    assert client.get("/items/no-such-item/print").status_code == 404
    other = client.get("/no/such/page")
    assert other.status_code == 404 and "页面不存在" in other.text


def test_static_assets_are_served_locally(client):
    html = client.get("/").text
    assert "http://" not in html.split("<main")[0] and "https://" not in html.split("<main")[0]
    for asset in ("/static/style.css", "/static/app.js", "/static/print.css", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200


# ---------------------------------------------------------------- feedback


def test_mark_answer_wrong(client, feedback, engine):
    rid = engine.ask(MATERIALS_Q).record_ids[0]
    response = client.post("/feedback", data={"q": MATERIALS_Q, "record_id": rid, "vote": "-1",
                                              "note": "材料清单已更新"})
    assert response.status_code == 200 and "感谢反馈" in response.text
    stats = feedback.stats()
    assert stats.unhelpful == 1 and stats.helpful == 0
    entry = stats.recent_feedback[0]
    assert (entry["channel"], entry["vote"], entry["record_id"], entry["question"], entry["note"]) == (
        "web", -1, rid, MATERIALS_Q, "材料清单已更新")
    # An unknown record id is not stored as if it were one.
    client.post("/feedback", data={"q": "x", "record_id": "<b>nope</b>", "vote": "-1"})
    assert feedback.stats().recent_feedback[0]["record_id"] == ""


# ---------------------------------------------------------------- admin


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A two-item knowledge dir and its index: the admin tests may change it, the session index never."""
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("small-kb")
    knowledge = base / "knowledge"
    knowledge.mkdir()
    for name in ("guides/seal-engraving.md", "policies/policy-hnte-award.md"):
        shutil.copy(KNOWLEDGE / name, knowledge / Path(name).name)
    store = base / "index"
    summary = ingest([knowledge], store, load_embeddings("e5"))
    assert not summary.failed
    return knowledge, store


@pytest.fixture
def small_app(small_kb, tmp_path, feedback):
    from bot.engine import Engine

    knowledge, store = small_kb
    settings = Settings(govbot_home=tmp_path / "home", govbot_knowledge_dir=knowledge,
                        govbot_admin_token=TOKEN, govbot_max_file_mb=1)
    engine = Engine(store, settings)
    upload_dir = tmp_path / "uploads"
    client = TestClient(create_app(engine, settings, store, feedback, upload_dir=upload_dir))
    return client, engine, store, upload_dir


def _uploaded(upload_dir: Path) -> list[str]:
    return sorted(p.name for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.exists() else []


def _current(store: Path) -> str:
    return (store / "CURRENT").read_text().strip()


def test_admin_off_without_token(engine, kb_store, feedback, tmp_path):
    settings = _settings(tmp_path / "home", govbot_admin_token=None)
    client = TestClient(create_app(engine, settings, kb_store, feedback, upload_dir=tmp_path / "uploads"))
    response = client.get("/admin")
    assert response.status_code == 404 and "管理后台未开启" in response.text
    assert client.get("/admin", headers={"X-Admin-Token": ""}).status_code == 404
    upload = client.post("/admin/upload", files={"files": ("a.md", b"# x\n")})
    assert upload.status_code == 404
    assert client.post("/admin/ingest").status_code == 404
    assert _uploaded(tmp_path / "uploads") == []


def test_admin_requires_the_token_and_nothing_changes(small_app):
    client, engine, store, upload_dir = small_app
    before = _current(store)
    assert client.get("/admin").status_code == 401
    assert "请输入管理口令" in client.get("/admin").text
    assert client.get("/admin", headers={"X-Admin-Token": "wrong"}).status_code == 401
    assert client.get("/admin", params={"token": "wrong"}).status_code == 401
    client.cookies.set("govbot_admin", "forged", path="/admin")
    assert client.get("/admin").status_code == 401
    client.cookies.clear()

    good = ("guide.html", UPLOAD_GUIDE.encode(), "text/html")
    for auth in ({}, {"headers": {"X-Admin-Token": "wrong"}}, {"data": {"token": "wrong"}}):
        kwargs = dict(auth)
        headers = kwargs.pop("headers", None)
        response = client.post("/admin/upload", files={"files": good}, headers=headers, **kwargs)
        assert response.status_code == 401
        response = client.post("/admin/ingest", headers=headers, **kwargs)
        assert response.status_code == 401
    assert _uploaded(upload_dir) == []
    assert _current(store) == before and engine.generation_name == before
    assert client.post("/admin/login", data={"token": "wrong"}).status_code == 401

    # The right token, in each of the accepted places (a header, the login form), then a session cookie.
    assert client.get("/admin", headers={"X-Admin-Token": TOKEN}).status_code == 200
    client.cookies.clear()
    login = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/admin"
    assert TOKEN not in login.headers["set-cookie"]  # the cookie holds a random session id
    assert "HttpOnly" in login.headers["set-cookie"] and "samesite=strict" in login.headers["set-cookie"].lower()
    page = client.get("/admin")
    assert page.status_code == 200 and "上传办事指南" in page.text
    client.post("/admin/logout", data={"csrf": _csrf(page.text)})
    assert client.get("/admin").status_code == 401


def _csrf(html: str) -> str:
    """The CSRF token the admin page puts in its forms."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the admin page"
    return match.group(1)


def _login(client: TestClient) -> str:
    """Sign in through the login form, as a browser does; returns the session's CSRF token."""
    assert client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    page = client.get("/admin")
    assert page.status_code == 200
    return _csrf(page.text)


def test_admin_page_shows_svg_charts_and_feedback(small_app, feedback):
    client, *_ = small_app
    for q in ("开公司需要哪些材料？", "刻章需要哪些材料？", "怎么办理出国护照？", "怎么办理出国护照？",
              "<script>alert(1)</script>护照"):
        feedback.log_question("web", "u", q, "materials", grounded=q.startswith("刻章"))
    feedback.add_feedback("web", "u", -1, "刻章需要哪些材料？", "seal-engraving", "电话变了")
    html = client.get("/admin", headers={"X-Admin-Token": TOKEN}).text
    assert html.count("<svg") == 4
    assert "每日提问量" in html and "拒答占比" in html and "问题类型" in html and "高频未答问题" in html
    assert "怎么办理出国护照？" in html  # the most frequent unanswered question, drawn as a bar label
    assert "80%" in html  # 4 of 5 refused
    assert "电话变了" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "<table" not in html.split("最近反馈")[0]  # the statistics are charts, not tables


@pytest.mark.parametrize(("name", "expected"), [
    ("guide.md", "guide.md"),
    ("../../etc/passwd.md", "passwd.md"),
    ("..\\..\\windows\\evil.txt", "evil.txt"),
    ("/abs/path/营业执照 办理指南.PDF", "营业执照_办理指南.pdf"),
    (".hidden.md", "hidden.md"),
    ("README.md", "README-1.md"),
    ("a\x00b\n.html", "ab.html"),
    ("..md", "upload.md"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name, {".md", ".txt", ".pdf", ".html"}) == expected


@pytest.mark.parametrize("name", ["evil.exe", "noext", "report.pdf.exe", "", "../"])
def test_safe_filename_rejects_other_types(name):
    with pytest.raises(UploadRejected):
        safe_filename(name, {".md", ".txt", ".pdf", ".html"})


def test_bad_uploads_are_refused_and_the_index_is_untouched(small_app):
    client, engine, store, upload_dir = small_app
    headers = {"X-Admin-Token": TOKEN}
    question = "刻章需要哪些材料？"
    before_generation, before_answer = _current(store), client.get("/api/ask", params={"q": question}).json()

    binary = bytes(range(256)) * 64  # an executable or image renamed .pdf
    response = client.post("/admin/upload", files={"files": ("指南.pdf", binary, "application/pdf")},
                           headers=headers)
    assert response.status_code == 400
    assert "上传失败" in response.text and "PDF" in response.text and "指南.pdf" in response.text

    oversized = ("刻章办事指南。申请材料：营业执照复印件。\n" * 60_000).encode()  # > 1 MB
    assert len(oversized) > 1024 * 1024
    response = client.post("/admin/upload", files={"files": ("big.txt", oversized, "text/plain")},
                           headers=headers)
    assert response.status_code == 400 and "文件过大" in response.text and "1 MB" in response.text

    response = client.post("/admin/upload", files={"files": ("tool.exe", b"MZ\x90\x00", "application/x-msdos")},
                           headers=headers)
    assert response.status_code == 400 and "不支持的文件类型" in response.text

    # One good file and one bad file in a batch: nothing is saved.
    response = client.post("/admin/upload", headers=headers, files=[
        ("files", ("good.html", UPLOAD_GUIDE.encode(), "text/html")),
        ("files", ("bad.pdf", binary, "application/pdf")),
    ])
    assert response.status_code == 400

    # A structured file reusing an id that belongs to another file is refused too.
    clash = (KNOWLEDGE / "guides" / "seal-engraving.md").read_bytes()
    response = client.post("/admin/upload", files={"files": ("copy.md", clash, "text/markdown")},
                           headers=headers)
    assert response.status_code == 400 and "seal-engraving" in response.text

    assert _uploaded(upload_dir) == []
    assert _current(store) == before_generation and engine.generation_name == before_generation
    assert client.get("/api/ask", params={"q": question}).json() == before_answer


def test_good_upload_is_ingested_and_answerable(home, monkeypatch, tmp_path, feedback):
    """The whole admin path on a fresh store: upload, ingest, answer, browse."""
    from bot.cli import run_ingest
    from bot.engine import Engine
    from ingest.pipeline import document_id
    from ingest.settings import get_settings

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(KNOWLEDGE / "guides" / "seal-engraving.md", knowledge)
    monkeypatch.setenv("GOVBOT_KNOWLEDGE_DIR", str(knowledge))
    monkeypatch.setenv("GOVBOT_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("GOVBOT_MAX_FILE_MB", "1")
    get_settings.cache_clear()
    settings = get_settings()
    store = home / "index"
    assert not run_ingest([knowledge], store, show_progress=False).failed
    engine = Engine(store, settings)
    client = TestClient(create_app(engine, settings, store, feedback))  # default upload dir
    upload_dir = home / "uploads"
    first_generation = engine.generation_name
    record_id = document_id(upload_dir / "建筑垃圾处置核准.html")
    assert record_id not in client.get("/api/ask", params={"q": UPLOAD_Q}).json()["record_ids"]

    csrf = _login(client)
    response = client.post("/admin/upload", data={"csrf": csrf},
                           files={"files": ("../建筑垃圾处置核准.html", UPLOAD_GUIDE.encode(), "text/html")})
    assert response.status_code == 200 and "已保存" in response.text
    assert _uploaded(upload_dir) == ["建筑垃圾处置核准.html"]
    assert not (home / "建筑垃圾处置核准.html").exists()
    assert engine.generation_name == first_generation  # saved, not yet ingested

    response = client.post("/admin/ingest", data={"csrf": csrf})  # the session from the login form
    assert response.status_code == 200, response.text
    assert "导入结果" in response.text and "新增 1" in response.text and "失败 0" in response.text
    assert engine.generation_name != first_generation

    answer = client.get("/api/ask", params={"q": UPLOAD_Q}).json()
    assert answer["grounded"] is True and answer["record_ids"] == [record_id]
    assert "建筑垃圾运输车辆行驶证" in answer["answer"]
    assert record_id in {i["id"] for i in client.get("/api/items").json()}
    assert client.get(f"/items/{record_id}").status_code == 200
    assert "城市建筑垃圾处置核准申请表" in client.get(f"/items/{record_id}/print").text
    # The original knowledge still answers.
    assert client.get("/api/ask", params={"q": "刻章需要哪些材料？"}).json()["grounded"] is True
    assert os.listdir(upload_dir / ".incoming") == []  # no staging leftovers


# ---------------------------------------------------------------- policy matcher (/match, /api/match)
# Expectations checked by hand against the eligibility blocks in knowledge/policies/*.md:
#   policy-new-energy-cluster  in_zone: true, industries [新能源, 钠离子电池, 锂电池, …]
#   policy-hnte-award          certifications_all [高新技术企业]
#   policy-rd-investment-reward certifications_all [规模以上企业]
#   policy-vat-refund          certifications_all [增值税一般纳税人]
#   policy-six-taxes-two-fees  certifications_any [增值税小规模纳税人, 小型微利企业, 个体工商户]
#   policy-small-profit-tax    max_employees 300;  policy-job-expansion  min_new_hires 1 (ended 2025-12-31: these
#   tests judge on 2025-06-01 through the before_expiry fixture)
#   policy-stable-growth, policy-incubator, policy-financing-reward  in_zone: true only

SODIUM_HNTE = {"industry": "钠电", "in_zone": True, "employees": 120, "revenue_wan": 8000, "founded_year": 2019,
               "certifications": ["高新技术企业"], "taxpayer": "一般纳税人", "rd_ratio": "5%", "new_hires": 15}
# The same company as the web form sends it: strings, 是/否, ticked boxes.
SODIUM_HNTE_FORM = {"go": "1", "industry": "钠电", "in_zone": "是", "employees": "120", "revenue_wan": "8000",
                    "founded_year": "2019", "certifications": ["高新技术企业"], "taxpayer": "一般纳税人",
                    "rd_ratio": "5%", "new_hires": "15"}


def _ids(bucket: list[dict]) -> set[str]:
    return {v["id"] for v in bucket}


def _section(html: str, anchor: str) -> str:
    """One result bucket of the /match page (sections and the <details> do not nest)."""
    import re

    found = re.search(rf'id="{anchor}">(.*?)</(?:section|details)>', html, re.S)
    assert found, f"no #{anchor} on the page"
    return found.group(1)


def test_api_match_full_profile(before_expiry, client, engine):
    from bot.matcher import as_json, match_data

    response = client.post("/api/match", json=SODIUM_HNTE)
    assert response.status_code == 200
    body = response.json()
    assert body == as_json(match_data(SODIUM_HNTE, engine.records))  # exactly `govbot match --json`
    assert set(body) == {"eligible", "near", "profile_errors", "undecided"}
    assert body["profile_errors"] == []
    assert all(v["needs"] == [] for v in body["undecided"])  # only policies no profile can decide
    eligible = {v["id"]: v for v in body["eligible"]}
    assert {"policy-new-energy-cluster", "policy-hnte-award", "policy-vat-refund", "policy-small-profit-tax",
            "policy-job-expansion", "policy-stable-growth"} <= set(eligible)
    assert eligible["policy-new-energy-cluster"]["title"] == "支持新能源产业集群发展专项政策"
    assert eligible["policy-hnte-award"]["title"] == "首次认定高新技术企业奖励"
    assert "奖励20万元" in eligible["policy-hnte-award"]["amount"]
    assert eligible["policy-hnte-award"]["how"]
    near = {v["id"]: v["missing"] for v in body["near"]}
    assert set(near) == {"policy-rd-investment-reward", "policy-six-taxes-two-fees"}
    assert near["policy-rd-investment-reward"].startswith("须为规模以上企业")
    assert near["policy-six-taxes-two-fees"].startswith("须为以下之一：增值税小规模纳税人、小型微利企业、个体工商户")
    # Persons-only awards never reach an enterprise's lists.
    assert not {"policy-science-award", "policy-talent-subsidy"} & (set(eligible) | set(near))


def test_api_match_near_names_the_missing_condition(before_expiry, client):
    profile = {"industry": "锂电", "in_zone": False, "employees": 400, "certifications": [],
               "taxpayer": "小规模纳税人", "new_hires": 0}
    response = client.post("/api/match", json=profile)
    assert response.status_code == 200
    body = response.json()
    near = {v["id"]: v["missing"] for v in body["near"]}
    assert near["policy-new-energy-cluster"] == "须在自贡高新区注册，当前未在高新区注册"  # the industry fits
    assert near["policy-small-profit-tax"] == "员工人数需不超过300人，当前为400人"
    assert near["policy-job-expansion"] == "本年新招用人数需不少于1人，当前为0人"
    assert near["policy-hnte-award"].startswith("须为高新技术企业")
    assert near["policy-vat-refund"].startswith("须为增值税一般纳税人")
    assert "policy-six-taxes-two-fees" in _ids(body["eligible"])  # 小规模纳税人 is one of the three


def test_api_match_partial_profile_says_what_is_missing(client):
    response = client.post("/api/match", json={"in_zone": True})
    assert response.status_code == 200
    body = response.json()
    assert body["profile_errors"] == []
    assert {"policy-stable-growth", "policy-incubator", "policy-financing-reward"} <= _ids(body["eligible"])
    needs = {v["id"]: v["needs"] for v in body["undecided"]}
    assert needs["policy-new-energy-cluster"] == ["industry"]
    assert needs["policy-vat-refund"] == ["taxpayer"]
    assert needs["policy-small-profit-tax"] == ["employees"]
    assert needs["policy-hnte-award"] == ["certifications"]


def test_api_match_bad_input_is_422_with_partial_results(before_expiry, client):
    response = client.post("/api/match", json={"employees": -5, "industry": "钢铁冶炼", "in_zone": True,
                                               "new_hires": 3})
    assert response.status_code == 422
    body = response.json()
    errors = "\n".join(body["profile_errors"])
    assert "employees（员工人数）不能为负数" in errors
    assert "“钢铁冶炼”无法识别" in errors and "钠离子电池" in errors  # the accepted names are listed
    # The fields that were fine still decide policies.
    assert {"policy-stable-growth", "policy-job-expansion"} <= _ids(body["eligible"])
    needs = {v["id"]: v["needs"] for v in body["undecided"]}
    assert needs["policy-new-energy-cluster"] == ["industry"]
    assert needs["policy-small-profit-tax"] == ["employees"]


def test_api_match_contradictions(before_expiry, client):
    profile = {"in_zone": True, "employees": 10, "new_hires": 20, "taxpayer": "小规模纳税人",
               "certifications": ["增值税一般纳税人"]}
    response = client.post("/api/match", json=profile)
    assert response.status_code == 422
    body = response.json()
    errors = "\n".join(body["profile_errors"])
    assert "多于 employees（员工人数）10" in errors
    assert "一般纳税人与小规模纳税人只能是其中一种" in errors
    # Both sides of each contradiction are set aside, nothing else.
    needs = {v["id"]: v["needs"] for v in body["undecided"]}
    assert needs["policy-job-expansion"] == ["new_hires"]
    assert needs["policy-small-profit-tax"] == ["employees"]
    assert needs["policy-vat-refund"] == ["taxpayer"]
    assert "policy-stable-growth" in _ids(body["eligible"])


@pytest.mark.parametrize(("content", "fragment"), [
    (b"{not json", "不是有效的 JSON（第1行第2列）"),
    (b"", "须为 JSON 对象"),
    ('["钠电"]'.encode(), "须为 JSON 对象"),
    (b'{"employes": 5}', "未知字段 employes，是否想填 employees"),
])
def test_api_match_unreadable_body_keeps_the_contract(client, content, fragment):
    response = client.post("/api/match", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"eligible", "near", "profile_errors", "undecided"}
    assert any(fragment in e for e in body["profile_errors"]), body["profile_errors"]


def test_match_page_form(client, engine):
    from bot.matcher import CERT_CHOICES, cert_choices

    assert 'href="/match"' in client.get("/").text  # in the main navigation
    response = client.get("/match")
    assert response.status_code == 200
    html = response.text
    assert 'method="get" action="/match"' in html and 'name="go" value="1"' in html
    for name, label in (("industry", "所属行业"), ("employees", "员工人数"), ("revenue_wan", "年营业收入"),
                        ("founded_year", "成立年份"), ("rd_ratio", "研发投入占比"), ("new_hires", "本年新招用人数"),
                        ("fixed_asset_investment_wan", "固定资产投资"), ("taxpayer", "增值税纳税人类型")):
        assert f'<label for="f-{name}">{label}' in html and f'id="f-{name}" name="{name}"' in html
    assert 'list="industry-list"' in html and '<option value="钠离子电池">' in html and '<option value="餐饮业">' in html
    for value in ("是", "否", ""):
        assert f'name="in_zone" value="{value}"' in html
    assert 'name="in_zone" value="" checked' in html  # 未填 until the person says
    choices = cert_choices(engine.records)
    assert choices[:len(CERT_CHOICES)] == list(CERT_CHOICES)  # the usual ones first, then the policies' own
    for cert in choices:
        assert f'name="certifications" value="{cert}"' in html
    assert 'name="certs_none"' in html and 'name="cert_other"' in html
    assert '<option value="一般纳税人">' in html and '<option value="小规模纳税人">' in html
    assert 'id="results"' in html and 'id="eligible"' not in html  # no verdicts before the form is sent
    assert 'id="profile-errors"' not in html


def test_match_page_results(client, engine):
    html = client.get("/match", params=SODIUM_HNTE_FORM).text
    assert 'id="profile-errors"' not in html
    eligible = _section(html, "eligible")
    for policy_id in ("policy-new-energy-cluster", "policy-hnte-award", "policy-vat-refund"):
        assert f'<a href="/items/{policy_id}">{engine.records[policy_id].title}</a>' in eligible
        assert f'href="/items/{policy_id}/print"' in eligible  # the checklist one click away
    assert "支持新能源产业集群发展专项政策" in eligible and "首次认定高新技术企业奖励" in eligible
    assert "首次通过国家认定的高新技术企业，奖励20万元" in eligible  # 支持标准
    assert "须为高新技术企业（已具备）" in eligible  # the condition met, cited
    assert "所属行业须为以下之一：新能源、钠离子电池" in eligible and "当前为钠电（钠离子电池）" in eligible
    assert "还需核对" in eligible and "仅限首次获得国家高新技术企业认定的企业" in eligible  # prose-only condition
    assert "申报方式" in eligible and engine.records["policy-hnte-award"].how_to_apply[0] in eligible
    near = _section(html, "near")
    assert "规上企业研发投入奖励" in near and "“六税两费”减半征收" in near
    assert "须为规模以上企业，当前资质与身份：高新技术企业、增值税一般纳税人" in near
    assert "补充以下信息" not in html  # every field a policy asks for was given
    not_applicable = _section(html, "not-applicable")
    assert html.count("<details") == 1 and "国家最高科学技术奖" in not_applicable
    assert "奖励对象为个人" in not_applicable
    # What was typed stays in the form.
    assert 'value="钠电"' in html and 'name="in_zone" value="是" checked' in html
    assert 'value="高新技术企业" checked' in html and '<option value="一般纳税人" selected>' in html
    assert 'value="5%"' in html
    # A form posted instead of sent in the URL gives the same page.
    assert client.post("/match", data=SODIUM_HNTE_FORM).text == html


def test_match_page_partial_profile_lists_what_to_add(client):
    html = client.get("/match", params={"go": "1", "in_zone": "是"}).text
    assert 'id="profile-errors"' not in html
    assert "policy-stable-growth" in _section(html, "eligible")
    undecided = _section(html, "undecided")
    assert "支持新能源产业集群发展专项政策" in undecided and "需要补充：“所属行业”" in undecided
    assert "补充以下信息可判断更多政策" in undecided and '<a href="#f-taxpayer">增值税纳税人类型</a>' in undecided
    assert "industry（" not in html and "taxpayer（" not in html  # labels, never field keys


def test_match_page_bad_input_is_explained_next_to_the_form(before_expiry, client):
    form = {"go": "1", "industry": "钢铁冶炼", "in_zone": "是", "employees": "-5", "new_hires": "3",
            "rd_ratio": "5"}
    response = client.get("/match", params=form)
    assert response.status_code == 200
    html = response.text
    box = html.split('id="profile-errors">', 1)[1].split("</div>", 1)[0]
    assert "“员工人数”不能为负数（收到：-5）" in box
    assert "所属行业“钢铁冶炼”无法识别" in box and "钠离子电池" in box
    assert "其他行业可在输入框的下拉列表中选择" in box and "居民服务修理和其他服务业" not in box
    assert "“研发投入占比”应为0到1之间的小数，5 看起来是百分数" in box  # named as the form's label names it
    assert "employees（" not in html and "rd_ratio（" not in html
    # The form keeps what was typed and marks the fields at fault.
    assert 'name="employees" value="-5"' in html and 'name="industry" value="钢铁冶炼"' in html
    assert html.count('aria-invalid="true"') == 3  # industry, employees, rd_ratio
    # Still the partial result.
    assert "policy-stable-growth" in _section(html, "eligible")
    assert "policy-job-expansion" in _section(html, "eligible")
    assert "policy-new-energy-cluster" in _section(html, "undecided")


def test_match_page_contradictions(client):
    html = client.get("/match", params={"go": "1", "employees": "10", "new_hires": "20", "certs_none": "1",
                                        "certifications": "高新技术企业", "in_zone": "是"}).text
    box = html.split('id="profile-errors">', 1)[1].split("</div>", 1)[0]
    assert "“资质与身份”勾选了“以上都没有”，又填写了高新技术企业" in box
    assert "“本年新招用人数”为20，多于“员工人数”10" in box
    undecided = _section(html, "undecided")
    assert "首次认定高新技术企业奖励" in undecided  # certifications set aside, so not decided either way


def test_match_page_no_certificates_decides(client):
    html = client.get("/match", params={"go": "1", "in_zone": "是", "certs_none": "1"}).text
    assert 'id="profile-errors"' not in html
    near = _section(html, "near")
    assert "首次认定高新技术企业奖励" in near and "须为高新技术企业，当前无任何资质" in near


def test_match_page_accepts_everyday_notation(client):
    form = {"go": "1", "employees": "１２０人", "revenue_wan": "8,000万元", "founded_year": "2019年",
            "rd_ratio": "0.05", "cert_other": "高企、瞪羚企业"}
    html = client.get("/match", params=form).text
    assert 'id="profile-errors"' not in html, html
    assert "当前为120人" in _section(html, "eligible")  # policy-small-profit-tax, max 300
    assert "首次认定高新技术企业奖励" in _section(html, "eligible")  # 高企 is understood
    # Read by the matcher's typed_value, as the Telegram answers are: 亿 too, yuan never.
    html = client.get("/match", params={"go": "1", "revenue_wan": "1.2亿", "fixed_asset_investment_wan": "0.3亿元",
                                        "new_hires": "15名"}).text
    assert 'id="profile-errors"' not in html, html
    assert 'value="1.2亿"' in html  # the form keeps what was typed
    form = read_form(QueryParams({"go": "1", "revenue_wan": "1.2亿", "fixed_asset_investment_wan": "0.3亿元"}))
    assert form.profile == {"revenue_wan": 12000, "fixed_asset_investment_wan": 3000}
    html = client.get("/match", params={"go": "1", "revenue_wan": "8000元"}).text
    box = html.split('id="profile-errors">', 1)[1].split("</div>", 1)[0]
    assert "“年营业收入（万元）”须为数字（收到：&#34;8000元&#34;）" in box
    assert html.count('aria-invalid="true"') == 1 and 'aria-invalid="true"' in html.split('name="revenue_wan"')[1][:200]


@pytest.mark.parametrize("attack", ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>'])
def test_match_page_escapes_the_industry(client, attack):
    html = client.get("/match", params={"go": "1", "industry": attack, "in_zone": "是"}).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html or "&lt;img" in html or "&#34;&gt;&lt;img" in html
    assert "无法识别" in html  # reported, escaped, in the error box
    body = client.post("/api/match", json={"industry": attack}).json()
    assert any(attack in e for e in body["profile_errors"])  # JSON carries it verbatim, as data


def test_department_filter_works_without_javascript(client):
    # The select sits in a GET form; the server hides the other departments' groups.
    page = client.get("/").text
    form = page[page.index('id="browse-form"'):].split("</form>")[0]
    assert 'name="dept"' in form and "<noscript><button" in form
    filtered = client.get("/", params={"dept": "税务部门"}).text
    groups = re.findall(r'<div class="dept-group" data-dept="([^"]+)"( hidden)?>', filtered)
    assert ("税务部门", "") in groups
    assert all(hidden for name, hidden in groups if name != "税务部门")

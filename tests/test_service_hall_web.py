"""The service-hall loop's second pass on the web page, in a real headless Chromium served by uvicorn.

A "not stated" answer names its own item's department and window and offers 转人工; a FAQ file's item page
lists its pairs and a guide carrying pairs shows them under 常见问题; an item page and its print checklist
that hold a listed sensitive word show the polite notice instead (and the hit is logged for review).
The knowledge base is tests/fixtures/kb plus a FAQ file and one guide with pairs, indexed with the hash embedder.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml

from bot import messages
from bot.engine import Engine
from bot.feedback import FeedbackStore
from bot.services.asking import AskService
from ingest.embeddings import load_embeddings
from ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FAQ_FILE = {"id": "faq-window", "kind": "faq", "title": "窗口常见问题（测试）", "sources": ["窗口整理（测试）"],
            "updated": "2026-12-02",
            "faq": [{"question": "烘焙作坊登记证可以委托别人代办吗", "answer": "可以，受托人带授权委托书到窗口办理。",
                     "source": "窗口整理（测试）", "about": "demo-bakery-permit"},
                    {"question": "叉车使用登记要本人去吗", "answer": "可以委托他人办理。", "about": "demo-forklift-registration"},
                    {"question": "烘焙作坊登记证当场能办好吗", "answer": "材料齐全、符合法定形式的，当场办结（测试）。",
                     "about": "demo-bakery-permit"}]}
GUIDE_PAIR = ("门店招牌换了颜色要重新备案吗", "只改颜色、不改内容和位置的，不需要重新备案。")
NOT_STATED_Q = "门店招牌设置备案的有效期是多久？"  # the record states no validity

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def hall_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    kb = tmp_path_factory.mktemp("hall-kb") / "kb"
    shutil.copytree(ROOT / "tests" / "fixtures" / "kb", kb)
    (kb / "faq").mkdir()
    (kb / "faq" / "window.md").write_text("---\n" + yaml.safe_dump(FAQ_FILE, allow_unicode=True) + "---\n",
                                          encoding="utf-8")
    sign = kb / "guides" / "demo-shop-sign.md"
    pair = yaml.safe_dump({"faq": [{"question": GUIDE_PAIR[0], "answer": GUIDE_PAIR[1]}]}, allow_unicode=True)
    sign.write_text(sign.read_text(encoding="utf-8").replace("\n---", "\n" + pair.rstrip() + "\n---", 1),
                    encoding="utf-8")
    store = kb.parent / "index"
    summary = ingest([kb], store, load_embeddings("hash"))
    assert not summary.failed, [(f.path, f.reason) for f in summary.failed]
    return Engine(store)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(hall_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    import uvicorn

    from bot.web.app import create_app
    from ingest.settings import Settings

    base = tmp_path_factory.mktemp("hall-web")
    settings = Settings(govbot_home=base, govbot_knowledge_dir=base / "knowledge")
    feedback = FeedbackStore(settings.database_url)
    asking = AskService(hall_engine, feedback)
    app = create_app(hall_engine, settings, hall_engine.store_dir, feedback, asking=asking)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "sensitive": asking.sensitive}
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def tab(server: dict) -> Iterator:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed: run `bash scripts/install-browser.sh`")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium.new_context(locale="zh-CN").new_page()
        chromium.close()


def test_a_not_stated_answer_names_the_items_own_department_and_window_and_offers_handoff(server, tab) -> None:
    tab.goto(f"{server['url']}/?q={quote(NOT_STATED_Q)}")
    answer = tab.locator("#answer").inner_text()
    assert "没有写明证照有效期" in answer
    assert messages.NOT_STATED_ASK.format(title="门店招牌设置备案") in answer
    assert "实施部门：示例城市管理部门（示例）" in answer and "办理窗口：示例政务服务中心二楼城管窗口（示例）" in answer
    assert "咨询电话" not in answer  # the record states no phone: none is invented
    with tab.expect_navigation():
        tab.click("#handoff-button")
    assert "/handoff/" in tab.url and NOT_STATED_Q in tab.locator(".question").inner_text()


def test_a_faq_files_item_page_lists_its_pairs(server, tab) -> None:
    assert tab.goto(f"{server['url']}/items/faq-window").status == 200
    faq = tab.locator("#faq").inner_text()
    for pair in FAQ_FILE["faq"]:
        assert pair["question"] in faq and pair["answer"] in faq
    assert "来源：窗口整理（测试）" in faq
    assert "常见问题" in tab.locator(".badge").first.inner_text()  # its kind in words, not "faq"
    assert tab.locator("a", has_text="打印一次性告知单").count() == 0  # nothing to print for a FAQ file


def test_a_guide_carrying_pairs_shows_them_under_common_questions(server, tab) -> None:
    tab.goto(f"{server['url']}/items/demo-shop-sign")
    faq = tab.locator("#faq")
    assert "常见问题" in faq.locator("h2").inner_text()
    assert GUIDE_PAIR[0] in faq.inner_text() and GUIDE_PAIR[1] in faq.inner_text()
    tab.goto(f"{server['url']}/items/demo-bakery-permit")
    assert tab.locator("#faq").count() == 0  # a guide without pairs has no such section


def test_an_item_with_a_listed_word_shows_the_notice_on_its_page_and_print_sheet(server, tab) -> None:
    url, sensitive = server["url"], server["sensitive"]
    word = "安全责任承诺"  # in the shop sign's materials only
    sensitive.add([word])
    try:
        for path in ("/items/demo-shop-sign", "/items/demo-shop-sign/print"):
            assert tab.goto(url + path).status == 200
            page = tab.locator("body").inner_text()
            assert messages.SENSITIVE_REPLY in tab.locator("#withheld").inner_text(), path
            assert word not in page and "门店招牌" not in page and "门店招牌" not in tab.title(), path
        tab.goto(url + "/items/demo-bakery-permit")  # other items are shown as before
        assert tab.locator("#withheld").count() == 0 and "烘焙作坊登记证" in tab.locator("h1").inner_text()
        hits = sensitive.hits()
        assert [(h["channel"], h["word"], h["part"]) for h in hits] == [("web", word, "record")] * 2
        assert "demo-shop-sign" in hits[0]["question"]
    finally:
        sensitive.remove([word])
    tab.goto(url + "/items/demo-shop-sign")
    assert word in tab.locator("body").inner_text()


@pytest.mark.parametrize("question", ["烘焙作坊登记证当天能拿证吗", "请问烘焙作坊登记证能不能当场办结"])
def test_an_everyday_rewording_gets_the_pairs_answer(server, question: str) -> None:
    """当天 / 拿证 / 办结 are said for 当场 / 办好 (bot.faq.same_words): the pair answers, as written."""
    answer = httpx.get(f"{server['url']}/api/ask", params={"q": question}).json()
    assert answer["answer"].startswith("【烘焙作坊登记证当场能办好吗】\n材料齐全、符合法定形式的，当场办结（测试）。")
    assert answer["sources"][0]["section"] == "faq"


@pytest.mark.parametrize("question", ["烘焙作坊登记证收费吗", "烘焙作坊登记证要准备哪些材料"])
def test_another_property_of_the_same_item_is_not_captured_by_the_pair(server, question: str) -> None:
    answer = httpx.get(f"{server['url']}/api/ask", params={"q": question}).json()
    assert "当场办结（测试）" not in answer["answer"] and answer["sources"][0]["section"] != "faq"

"""转人工 on the web, in a real headless Chromium (Debian's, driven by Playwright), served by uvicorn.

A visitor asks, is refused, presses 转人工 and lands on the ticket page; an admin signs in, answers on
/admin/handoffs; the visitor's ticket page shows the reply. The stored ticket has the ID number masked.
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

from bot import messages
from bot.services.asking import Asker
from bot.services.handoff import HandoffStore

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # screenshots for a person to look at
TOKEN = "handoff-admin-token-0123"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ID_NUMBER = "510302199001011239"  # a well-formed 身份证号 (check digit right), made up
REFUSED = f"游艇码头经营许可怎么办理？我是张三，{ID_NUMBER}"
REPLY = "游艇码头经营许可不在本中心办理，请咨询交通运输部门。"

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(small_engine, small_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """uvicorn on 127.0.0.1 in a background thread, over the fixture knowledge base."""
    import uvicorn

    from bot.feedback import FeedbackStore
    from bot.web.app import create_app
    from ingest.settings import Settings

    base = tmp_path_factory.mktemp("web-handoff")
    settings = Settings(govbot_home=base, govbot_knowledge_dir=base / "knowledge", govbot_admin_token=TOKEN)
    store = HandoffStore(settings.database_url)
    app = create_app(small_engine, settings, small_store, FeedbackStore(settings.database_url), handoffs=store)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "store": store}
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed: run `bash scripts/install-browser.sh` "
                    "(never `playwright install`)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_visitor_hands_off_admin_replies_visitor_sees_the_reply(browser, server) -> None:
    url, store = server["url"], server["store"]
    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.goto(f"{url}/?q={quote(REFUSED)}")
    answer = visitor.locator("#answer").inner_text()
    _shot(visitor, "handoff-refusal.png")
    assert "知识库里没有找到" in answer and "办理窗口：" in answer  # the nearest item's window, from its record
    with visitor.expect_navigation():
        visitor.click("#handoff-button")
    assert "/handoff/" in visitor.url
    assert messages.HANDOFF_PAGE_WAITING in visitor.locator("#waiting").inner_text()
    shown = visitor.locator(".question").inner_text()
    assert ID_NUMBER not in shown and "510***********1239" in shown
    (ticket,) = store.list_open()
    assert ticket.channel == "web" and ID_NUMBER not in ticket.question  # stored masked
    assert len(ticket.token) >= 20 and visitor.url.endswith("/handoff/" + ticket.token)

    admin = browser.new_context(locale="zh-CN").new_page()
    assert admin.goto(f"{url}/admin/handoffs").status == 401  # signed out: the login form
    admin.fill("input[name=token]", TOKEN)
    admin.click("button[type=submit]")
    admin.wait_for_url("**/admin")
    with admin.expect_navigation():
        admin.locator("nav.admin-nav a", has_text="转人工").click()
    row = admin.locator(f"#handoff-{ticket.id}")
    _shot(admin, "admin-handoffs.png")
    assert "游艇码头经营许可" in row.inner_text() and ID_NUMBER not in row.inner_text()
    row.locator("textarea[name=reply]").fill(REPLY)
    with admin.expect_navigation():
        row.locator("button", has_text="发送答复").click()
    assert messages.HANDOFF_ADMIN_SAVED.format(id=ticket.id) in admin.locator(".flash.ok").inner_text()
    assert admin.locator(f"#handoff-{ticket.id}").count() == 0  # no longer waiting

    visitor.reload()
    assert REPLY in visitor.locator("#reply").inner_text()
    _shot(visitor, "handoff-ticket.png")
    assert store.get(ticket.id).delivered_at is not None  # the visitor has seen it


def test_admin_reply_to_a_telegram_ticket_waits_for_its_delivery_loop(browser, server) -> None:
    url, store = server["url"], server["store"]
    ticket = store.open(Asker("telegram", "4242", "4242"), "叉车年检去哪里？")
    with httpx.Client(base_url=url, headers={"X-Admin-Token": TOKEN}) as client:
        listed = client.get("/admin/handoffs")
        assert listed.status_code == 200 and "叉车年检去哪里？" in listed.text and "Telegram" in listed.text
        empty = client.post(f"/admin/handoffs/{ticket.id}/reply", data={"reply": "  "})
        assert empty.status_code == 400 and messages.HANDOFF_ADMIN_REPLY_EMPTY in empty.text
        saved = client.post(f"/admin/handoffs/{ticket.id}/reply", data={"reply": "请到特种设备窗口。"})
        assert saved.status_code == 200
    assert [t.id for t in store.undelivered("telegram")] == [ticket.id]


def test_ticket_pages_cannot_be_guessed_or_opened_from_another_site(server) -> None:
    url, store = server["url"], server["store"]
    with httpx.Client(base_url=url) as client:
        assert client.get("/handoff/" + "A" * 22).status_code == 404
        foreign = client.post("/handoff", data={"q": "问题"}, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert client.post("/handoff", data={"q": " "}).status_code == 400
        no_admin = client.post("/admin/handoffs/1/reply", data={"reply": "冒充"})
        assert no_admin.status_code == 401
    assert all(t.reply != "冒充" for t in store.recent())

"""The web page in a real headless Chromium (Debian's, driven by Playwright), served by uvicorn.

Screenshots of the main pages go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "browser-admin-token"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
GOOD_GUIDE = ("城市建筑垃圾处置核准办事指南\n一、申请材料\n1. 城市建筑垃圾处置核准申请表（原件1份）\n"
              "2. 建筑垃圾运输车辆行驶证（复印件1份）\n二、办理时限\n承诺办结时限：5个工作日\n三、收费标准\n不收费\n")

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(engine, kb_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """uvicorn on 127.0.0.1 in a background thread, over the shared (read-only) session index."""
    import uvicorn

    from bot.feedback import FeedbackStore
    from bot.web.app import create_app
    from ingest.settings import Settings

    base = tmp_path_factory.mktemp("web-browser")
    settings = Settings(govbot_home=base, govbot_knowledge_dir=base / "knowledge", govbot_admin_token=TOKEN,
                        govbot_max_file_mb=1)
    feedback = FeedbackStore(f"sqlite:///{base / 'feedback.sqlite3'}")
    upload_dir = base / "uploads"
    app = create_app(engine, settings, kb_store, feedback, upload_dir=upload_dir)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "upload_dir": upload_dir, "feedback": feedback, "base": base}
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


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    expected = ("status of 400", "status of 401")  # the refused upload and the admin login page

    def on_console(msg) -> None:
        if msg.type == "error" and not any(e in msg.text for e in expected):
            errors.append(msg.text)

    tab.on("console", on_console)
    yield tab
    context.close()
    assert errors == [], errors  # no script errors, no CSP violations, no failed asset loads


def _shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_search_answer_and_follow_up(page, server, engine):
    page.goto(server["url"] + "/")
    assert page.title().startswith("高兴办")
    page.fill("input[name=q]", "开公司需要哪些材料？")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    answer = page.locator("#answer .answer-text")
    answer.wait_for()
    text = answer.inner_text()
    record = engine.records[engine.ask("开公司需要哪些材料？").record_ids[0]]
    assert "申请材料" in text and record.materials[-1].name in text
    assert page.locator(".sources").inner_text().startswith("依据")
    _shot(page, "home-answer.png")

    # A suggestion is a link that asks it, about the same item (conversation state in the URL).
    with page.expect_navigation():
        page.locator(".suggestions a", has_text="要多久").click()
    assert "时限" in page.locator("#answer .answer-text").inner_text()
    assert record.title in page.locator("#answer .answer-text").inner_text()
    # And a follow-up typed into the box uses the hidden fields.
    page.fill("input[name=q]", "收费吗？")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    assert f"rid={record.id}" in page.url
    assert record.title in page.locator("#answer .answer-text").inner_text()
    assert "收费" in page.locator("#answer .answer-text").inner_text()


def test_browse_filters_as_you_type(page, server, engine):
    page.goto(server["url"] + "/")
    items = page.locator("#browse li.item")
    browsable = [r for r in engine.records.values() if r.kind != "faq"]  # FAQ files are not browse items
    assert items.count() == len(browsable)
    page.fill("#browse-filter", "消防")
    visible = page.locator("#browse li.item:visible")
    assert 0 < visible.count() < len(engine.records)
    texts = visible.evaluate_all("els => els.map(e => e.dataset.text)")
    assert all("消防" in t for t in texts)  # matched in title, aliases or department
    assert "显示" in page.locator("#browse-count").inner_text()
    page.fill("#browse-filter", "")
    page.locator(".chip[data-kind=policy]").click()
    policies = sum(1 for r in engine.records.values() if r.kind == "policy")
    assert page.locator("#browse li.item:visible").count() == policies
    page.fill("#browse-filter", "这个词不会出现在任何事项里")
    assert page.locator("#browse-empty").is_visible()


def test_open_item_from_answer_and_members(page, server, engine):
    page.goto(server["url"] + "/?q=" + "开公司需要哪些材料？")
    page.locator(".item-links a.button", has_text="查看完整").click()
    page.wait_for_url("**/items/*")
    record_id = page.url.rsplit("/", 1)[-1]
    record = engine.records[record_id]
    assert page.locator("h1").inner_text() == record.title
    assert page.locator("table.materials tbody tr").count() == len(record.materials)
    _shot(page, "item.png")

    bundle = next(r for r in engine.records.values() if r.kind == "bundle"
                  and any(m in engine.records for m in r.members))
    page.goto(f"{server['url']}/items/{bundle.id}")
    member = next(m for m in bundle.members if m in engine.records)
    page.locator(f"ol.members a[href='/items/{member}']").click()
    page.wait_for_url(f"**/items/{member}")
    assert page.locator("h1").inner_text() == engine.records[member].title


def test_print_view_fits_one_a4_page(page, server, engine, tmp_path):
    from pypdf import PdfReader

    record = engine.records["company-setup"]
    page.goto(f"{server['url']}/items/company-setup")
    page.locator("a", has_text="打印一次性告知单").first.click()
    page.wait_for_url("**/print")
    assert page.locator("h1").inner_text().replace(" ", "") == "一次性告知单"
    assert page.locator("table.materials td.tick").count() == len(record.materials)
    _shot(page, "print.png")
    page.emulate_media(media="print")
    assert not page.locator(".toolbar").is_visible()  # the print button does not print
    pdf = tmp_path / "print.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True, print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "print.pdf")
    reader = PdfReader(str(pdf))
    assert len(reader.pages) == 1, f"{len(reader.pages)} pages"
    # The PDF's CJK glyphs map to Kangxi radicals (⼀ for 一): NFKC folds them back.
    text = unicodedata.normalize("NFKC", reader.pages[0].extract_text()).replace(" ", "")
    assert "一次性告知单" in text and record.materials[-1].name[:4] in text  # table cells wrap


def test_admin_upload_with_and_without_token(page, browser, server, tmp_path):
    upload_dir: Path = server["upload_dir"]
    # Some traffic for the charts: answered, refused and repeated unanswered questions.
    for q in ["开公司需要哪些材料？", "食品经营许可要多久？", "高新技术企业认定有什么奖励？", "拆迁补偿标准是多少？",
              "拆迁补偿标准是多少？", "办理游艇驾驶证需要什么？", "刻章在哪里办？"]:
        page.request.get(server["url"] + "/api/ask", params={"q": q})

    # Without the token: the login page with 401, and a direct upload is refused.
    response = page.goto(server["url"] + "/admin")
    assert response.status == 401
    assert "请输入管理口令" in page.content()
    anonymous = browser.new_context()
    refused = anonymous.request.post(server["url"] + "/admin/upload", multipart={
        "files": {"name": "guide.txt", "mimeType": "text/plain", "buffer": GOOD_GUIDE.encode()}})
    assert refused.status == 401
    anonymous.close()
    page.fill("input[name=token]", "wrong-token")
    page.click("button[type=submit]")
    assert "口令错误" in page.content()
    assert not upload_dir.exists() or not any(p.is_file() for p in upload_dir.iterdir())

    # With the token.
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin")
    assert page.locator("h1").inner_text() == "管理后台"
    assert page.locator("svg.chart").count() == 4
    good = tmp_path / "建筑垃圾处置核准.txt"
    good.write_text(GOOD_GUIDE, encoding="utf-8")
    page.set_input_files("input[name=files]", str(good))
    page.locator("form[action='/admin/upload'] button").click()
    page.locator(".flash.ok").wait_for()
    assert "建筑垃圾处置核准.txt" in page.locator(".flash.ok").inner_text()
    assert (upload_dir / "建筑垃圾处置核准.txt").read_text(encoding="utf-8") == GOOD_GUIDE

    fake = tmp_path / "scan.pdf"
    fake.write_bytes(bytes(range(256)) * 16)
    page.set_input_files("input[name=files]", str(fake))
    page.locator("form[action='/admin/upload'] button").click()
    page.locator(".flash.error").wait_for()
    assert "scan.pdf" in page.locator(".flash.error").inner_text()
    assert not (upload_dir / "scan.pdf").exists()
    page.goto(server["url"] + "/admin")
    _shot(page, "admin.png")


def test_policy_match_form(page, server, engine):
    page.goto(server["url"] + "/")
    with page.expect_navigation():
        page.locator("nav.top a", has_text="政策匹配").click()
    assert page.locator("h1").inner_text() == "惠企政策匹配"
    assert page.locator("#eligible").count() == 0

    # A sodium-battery company in the zone, 高企, 一般纳税人: typed as a person would.
    page.get_by_label("所属行业").fill("钠电")
    page.get_by_label("是", exact=True).check()
    page.get_by_label("员工人数（人）").fill("120")
    page.get_by_label("本年新招用人数（人）").fill("15")
    page.get_by_label("研发投入占比").fill("5%")
    page.get_by_label("高新技术企业").check()
    page.get_by_label("增值税纳税人类型").select_option("一般纳税人")
    with page.expect_navigation():
        page.get_by_role("button", name="匹配政策").click()

    eligible = page.locator("#eligible")
    for policy_id in ("policy-new-energy-cluster", "policy-hnte-award", "policy-vat-refund"):
        assert eligible.locator(f"h3 a[href='/items/{policy_id}']").inner_text() == engine.records[policy_id].title
    assert "首次通过国家认定的高新技术企业，奖励20万元" in eligible.inner_text()
    near = page.locator("#near")
    rd_reward = near.locator("li.verdict[data-id='policy-rd-investment-reward']")
    assert "规上企业研发投入奖励" in rd_reward.inner_text()
    assert "须为规模以上企业" in rd_reward.locator(".missing").inner_text()  # the missing condition, named
    assert not page.locator("#not-applicable ul").is_visible()  # 不适用 stays folded
    page.locator("#not-applicable summary").click()
    assert page.locator("#not-applicable ul").is_visible()
    assert page.get_by_label("所属行业").input_value() == "钠电"  # the form keeps the profile
    _shot(page, "match.png")

    # The policy title leads to the item page with the printable checklist.
    with page.expect_navigation():
        eligible.locator("h3 a[href='/items/policy-hnte-award']").click()
    assert page.locator("h1").inner_text() == "首次认定高新技术企业奖励"
    assert page.locator("a", has_text="打印一次性告知单").count() >= 1
    page.go_back()

    # Bad input: explained next to the form, the typed value kept, the other fields still used.
    page.get_by_label("员工人数（人）").fill("-5")
    with page.expect_navigation():
        page.get_by_role("button", name="匹配政策").click()
    errors = page.locator("#profile-errors")
    assert errors.is_visible()
    assert "“员工人数”不能为负数" in errors.inner_text()
    assert page.get_by_label("员工人数（人）").input_value() == "-5"
    assert page.get_by_label("员工人数（人）").get_attribute("aria-invalid") == "true"
    assert "支持新能源产业集群发展专项政策" in page.locator("#eligible").inner_text()
    assert "小型微利企业所得税优惠" in page.locator("#undecided").inner_text()  # needs the employee count
    _shot(page, "match-error.png")

"""The one admin service: the web admin, Telegram's /reload and the CLI all re-ingest through it.

Real parts throughout: the ingest pipeline with the ``hash`` embedder, the FastAPI app over ASGI,
python-telegram-bot against the fake Bot API, and the `govbot` CLI in-process.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
from pathlib import Path

import pytest
from fake_bot_api import TOKEN as BOT_TOKEN
from fake_bot_api import FakeBotAPI
from starlette.testclient import TestClient
from test_telegram import ADMIN, USER, running
from typer.testing import CliRunner

from bot import texts
from bot.cli import app as cli_app
from bot.cli import run_ingest
from bot.services.admin import AdminService, IngestBusy
from bot.services.container import Services, build_services
from bot.web.app import ERROR_TEXT, create_app
from ingest.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "knowledge" / "guides"
TOKEN = "test-admin-token"


@pytest.fixture
async def api():
    server = await FakeBotAPI(long_poll_cap=0.3).start()
    yield server
    await server.stop()


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for name in ("company-setup.md", "food-business-license.md"):
        shutil.copy(GUIDES / name, folder / name)
    return folder


@pytest.fixture
def services(home: Path, knowledge: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> Services:
    """One process's services, as `govbot serve` builds them, over an index the CLI made first."""
    for key, value in {"GOVBOT_EMBEDDING": "hash", "GOVBOT_KNOWLEDGE_DIR": str(knowledge),
                       "GOVBOT_ADMIN_TOKEN": TOKEN, "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                       "TELEGRAM_ADMIN_IDS": str(ADMIN), "GOVBOT_TELEGRAM_BASE_URL": api.base_url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    assert not run_ingest([knowledge], settings.store_dir, show_progress=False).failed
    return build_services(settings=settings)


def web_client(services: Services) -> TestClient:
    return TestClient(create_app(services.engine, services.settings, services.store_dir, services.feedback,
                                 admin=services.admin))


def bot(services: Services):
    return running(services.engine, services.settings, services.store_dir, services.feedback,
                   admin=services.admin)


async def test_web_telegram_and_cli_ingests_are_serialized(services: Services, knowledge: Path,
                                                           api: FakeBotAPI) -> None:
    """While one admin ingest runs, the others are refused with each channel's own message."""
    client = web_client(services)
    before = services.engine.generation_name
    inside, gate = threading.Event(), threading.Event()

    def hold(stage: str, done: int, total: int) -> None:
        if stage == "读取文件":  # inside the pipeline, with the store's file lock held
            inside.set()
            gate.wait(60)

    async with bot(services) as harness:
        first = asyncio.create_task(asyncio.to_thread(services.admin.reingest, [knowledge], rebuild=True,
                                                      progress=hold))
        assert await asyncio.to_thread(inside.wait, 60)
        try:
            # Telegram /reload of the same process: the same lock, so "busy" at once, never "started".
            assert (await api.ask(ADMIN, "/reload")).text == texts.RELOAD_BUSY
            # The web admin of the same process: the same lock, the web's busy page.
            page = await asyncio.to_thread(client.post, "/admin/ingest", headers={"X-Admin-Token": TOKEN})
            assert page.status_code == 409 and ERROR_TEXT[409] in page.text
            # `govbot ingest` (another process in real life) meets the store's file lock.
            cli = await asyncio.to_thread(CliRunner().invoke, cli_app,
                                          ["ingest", str(knowledge), "--store", str(services.store_dir)])
            assert cli.exit_code == 1 and "另一个导入正在进行" in cli.output
            assert services.engine.generation_name == before  # nothing was switched meanwhile
        finally:
            gate.set()
        summary = await first
        assert summary.generation not in (None, before)
        assert services.engine.generation_name == summary.generation  # the service served it at once
        assert not services.admin.busy
        # Once it is done the others go through again.
        assert (await asyncio.to_thread(client.post, "/admin/ingest",
                                        headers={"X-Admin-Token": TOKEN})).status_code == 200
    assert not harness.errors, harness.errors
    assert [s.text for s in api.messages(ADMIN)] == [texts.RELOAD_BUSY]


async def test_reload_from_telegram_and_from_the_web_serve_the_shared_engine(services: Services, knowledge: Path,
                                                                            api: FakeBotAPI) -> None:
    client = web_client(services)
    async with bot(services) as harness:
        shutil.copy(GUIDES / "hnte-recognition.md", knowledge / "hnte-recognition.md")
        api.message(ADMIN, "/reload")
        report = (await api.wait_until(lambda: [s for s in api.messages(ADMIN) if "导入完成" in s.text],
                                       timeout=60))[0]
        assert api.messages(ADMIN)[0].text.startswith("正在重新导入")
        assert "新增 1" in report.text and "失败 0" in report.text
        # The service reloaded the one engine: the web page serves it without a reload of its own.
        assert "hnte-recognition" in services.engine.records
        assert "hnte-recognition" in {i["id"] for i in client.get("/api/items").json()}

        shutil.copy(GUIDES / "seal-engraving.md", knowledge / "seal-engraving.md")
        page = client.post("/admin/ingest", headers={"X-Admin-Token": TOKEN})
        assert page.status_code == 200 and "新增 1" in page.text
        assert "seal-engraving" in services.engine.records  # Telegram answers from this engine
        sent = await api.ask(USER, "印章刻制备案需要哪些材料？")
        assert sent.text.startswith("《印章刻制备案")
    assert not harness.errors, harness.errors


def test_a_held_run_refuses_a_second_and_is_released(services: Services) -> None:
    with services.admin.begin():
        assert services.admin.busy
        with pytest.raises(IngestBusy):
            services.admin.reingest()
    assert not services.admin.busy
    assert services.admin.reingest().generation == services.engine.generation_name


def test_uploads_are_checked_as_one_batch(tmp_path: Path, services: Services) -> None:
    admin = AdminService(services.settings, services.store_dir, engine=services.engine,
                         upload_dir=tmp_path / "uploads")
    good = (GUIDES / "seal-engraving.md").read_bytes()
    clash = (GUIDES / "company-setup.md").read_bytes()  # an id another file already serves
    refused = admin.save_uploads([("seal.md", io.BytesIO(good)), ("copy.md", io.BytesIO(clash)),
                                  ("empty.txt", io.BytesIO(b""))])
    assert refused.saved == [] and admin.uploaded_files() == []
    assert [name for name, _ in refused.errors] == ["copy.md", "empty.txt"]
    assert "company-setup" in refused.errors[0][1] and "0 字节" in refused.errors[1][1]
    saved = admin.save_uploads([("../印章 刻制.md", io.BytesIO(good))])
    assert saved.saved == ["印章_刻制.md"] and [f["name"] for f in admin.uploaded_files()] == ["印章_刻制.md"]

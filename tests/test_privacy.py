"""Personal numbers masked before they are stored or logged (bot.privacy), through the channels people use.

The masking itself on real-looking text (positives and the numbers that must stay readable: dates,
amounts, landlines, 统一社会信用代码); a question with an ID number asked over the web API (real HTTP,
uvicorn with its access log) and through Telegram (the real python-telegram-bot against
tests/fake_bot_api.py) is stored masked in the database and never appears whole in a log line.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.feedback import FeedbackStore, questions
from bot.privacy import MaskingFilter, install_log_masking, mask_pii

ID_18 = "510302199001011239"  # check digit valid (GB 11643)
ID_18_X = "51030319880808123X"
ID_15 = "510302900101123"  # the pre-1999 15-digit form: no check digit, a YYMMDD birth date
CARD = "6222021234567890128"  # Luhn valid, 19 digits
CARD_16 = "4111111111111111"
MOBILE = "13812345678"
ADMIN_TOKEN = "privacy-admin-token-0123"


def _valid_id(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def test_the_fixture_numbers_are_real_looking() -> None:
    assert _valid_id(ID_18[:17]) == ID_18 and _valid_id(ID_18_X[:17]) == ID_18_X


MASKED = [
    (f"我的身份证{ID_18}丢了怎么办", "我的身份证510***********1239丢了怎么办"),
    (f"身份证号：{ID_18_X}", "身份证号：510***********123X"),
    (f"身份证号：{ID_18_X.lower()}", "身份证号：510***********123x"),
    (f"身份证 {ID_18[:6]} {ID_18[6:14]} {ID_18[14:]} 能办吗", "身份证 510***********1239 能办吗"),
    (f"{ID_18[:3]} {ID_18[3:6]} {ID_18[6:10]} {ID_18[10:14]} {ID_18[14:]}", "510***********1239"),
    (f"老身份证{ID_15}还能用吗", "老身份证510********1123还能用吗"),
    (f"电话{MOBILE}", "电话138****5678"),
    ("手机：138 1234 5678", "手机：138****5678"),
    ("手机：138-1234-5678，谢谢", "手机：138****5678，谢谢"),
    ("+86 138 1234 5678", "+86138****5678"),
    ("(+86)13812345678", "(+86)138****5678"),
    ("（+86）138-1234-5678", "（+86）138****5678"),
    ("+8613812345678", "+86138****5678"),
    ("008613812345678", "0086138****5678"),
    ("TEL13812345678", "TEL138****5678"),
    ("１３８１２３４５６７８", "１３８****５６７８"),  # full-width digits from a Chinese IME
    (f"银行卡号{CARD}", "银行卡号6222***********0128"),
    ("卡号 6222 0212 3456 7890 128 开户行", "卡号 6222***********0128 开户行"),
    (f"卡{CARD_16}", "卡4111********1111"),
    ("2024-01-15 13812345678 来电", "2024-01-15 138****5678 来电"),  # the date stays, the phone goes
    (f"联系人张三，{MOBILE}，身份证{ID_18}", "联系人张三，138****5678，身份证510***********1239"),
]

READABLE = [
    "统一社会信用代码91510300MA62XXXXX1",
    "统一社会信用代码：125103004509123456",  # all digits, but an enterprise code
    "注册号 510300000012345",
    "办公电话0813-8888888",  # landlines are the public office numbers of the knowledge base
    "咨询电话 (0813) 8888888，传真 0813 12345678",
    "服务热线 400-123-4567 或 12345",
    "补贴500000元，最高1 000 000元",
    "2024年1月15日前申报，日期20240115",
    "自府发〔2024〕12号",
    "订单202401151381234567890",  # a longer run of digits: not a phone inside it
    f"{ID_18}y",  # glued to letters: part of some code
    "51030219900101123X",  # 17 digits and X, but the check digit is wrong
    "510302199013011239",  # month 13: no ID card
    "4111111111111112",  # Luhn fails
    "12345678901",  # no mobile prefix
    "价格 3.1415926535 元",
    "",
    "没有数字的问题",
]


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", READABLE)
def test_other_numbers_stay_readable(text: str) -> None:
    assert mask_pii(text) == text


def test_masking_is_stable_and_long_input_is_fine() -> None:
    once = mask_pii(f"手机 {MOBILE} 身份证 {ID_18}")
    assert mask_pii(once) == once
    noisy = "1 " * 5000 + MOBILE  # a pathological paste: still masked, quickly enough to run in a test
    assert mask_pii(noisy).endswith("138****5678")


# ---------------------------------------------------------------- logs


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """A real handler added after masking was installed, as uvicorn and SDKs add theirs."""
    install_log_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("govbot.test.privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_log_lines_are_masked_whoever_logs(log_stream: io.StringIO) -> None:
    log = logging.getLogger("govbot.test.privacy")
    log.info("question: %r", f"我的身份证{ID_18}丢了")
    log.warning("caller %s card %s", MOBILE, CARD)
    log.info("as a number: %d", int(MOBILE))
    log.info(f"inline {ID_15}")
    try:
        raise ValueError(f"bad question 手机{MOBILE}")
    except ValueError:
        log.exception("failed on %s", ID_18)
    out = log_stream.getvalue()
    for number in (ID_18, MOBILE, CARD, ID_15):
        assert number not in out, out
    assert "510***********1239" in out and "138****5678" in out and "6222***********0128" in out
    assert "Traceback" in out and "bad question 手机138****5678" in out


def test_uvicorn_access_log_format_survives_masking(log_stream: io.StringIO) -> None:
    """uvicorn's AccessFormatter unpacks record.args itself: masking keeps them a tuple."""
    from uvicorn.logging import AccessFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    access = logging.getLogger("govbot.test.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        path = "/api/ask?q=%E6%88%91%E7%9A%84%E8%BA%AB%E4%BB%BD%E8%AF%81" + ID_18
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    finally:
        access.removeHandler(handler)
    line = stream.getvalue()
    assert ID_18 not in line and "我的身份证510***********1239" in line and line.rstrip().endswith("200 OK")


def test_masking_filter_for_handlers_configured_by_dictconfig() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "phone %s", (MOBILE,), None)
    assert MaskingFilter().filter(record) and record.getMessage() == "phone 138****5678"


def test_cli_logging_setup_masks_the_console(capfd: pytest.CaptureFixture[str]) -> None:
    """The entry point's set-up (every `govbot` command): what reaches standard error is masked."""
    import subprocess
    import sys

    code = ("from bot.cli import _setup_logging; import logging; _setup_logging(); "
            f"logging.getLogger('govbot').warning('asked: %s', '身份证{ID_18} 手机{MOBILE}')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert "510***********1239" in done.stderr and "138****5678" in done.stderr
    assert ID_18 not in done.stderr and MOBILE not in done.stderr


# ---------------------------------------------------------------- the web API over HTTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web(small_engine, small_store: Path, tmp_path: Path) -> Iterator[dict]:
    """uvicorn on 127.0.0.1 with its own logging set-up and access log, as `govbot web` runs it."""
    import uvicorn

    from bot.web.app import create_app
    from ingest.settings import Settings

    install_log_masking()
    settings = Settings(govbot_home=tmp_path / "home", govbot_knowledge_dir=tmp_path / "knowledge",
                        govbot_admin_token=ADMIN_TOKEN)
    feedback = FeedbackStore(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    app = create_app(small_engine, settings, small_store, feedback, upload_dir=tmp_path / "uploads")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", lifespan="off"))
    # uvicorn configured its loggers above; this handler is added after it, like a deployment's file handler.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("uvicorn.access").addHandler(handler)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "feedback": feedback, "app": app, "log": stream}
    server.should_exit = True
    thread.join(timeout=10)
    logging.getLogger("uvicorn.access").removeHandler(handler)


def _stored(feedback: FeedbackStore) -> list[str]:
    with feedback.db.connect() as conn:
        return [q for (q,) in conn.execute(select(questions.c.question))]


def _everything(db) -> str:
    """Every row of every table in the database, as text: no number may be in any of them whole."""
    from sqlalchemy import MetaData

    tables = MetaData()
    tables.reflect(db)
    with db.connect() as conn:
        return "\n".join(str(row) for table in tables.sorted_tables for row in conn.execute(select(table)))


def test_web_questions_are_stored_and_logged_masked(web: dict) -> None:
    asked = f"我的身份证{ID_18}丢了，烘焙作坊登记证还能办吗"
    got = httpx.get(web["url"] + "/api/ask", params={"q": asked}, timeout=30)
    assert got.status_code == 200 and got.json()["answer"]
    posted = httpx.post(web["url"] + "/api/ask", json={"q": f"手机 138 1234 5678 能改预留电话吗，卡号{CARD}"},
                        timeout=30)
    assert posted.status_code == 200
    web["app"].state.question_log.flush()
    stored = _stored(web["feedback"])
    assert stored == ["我的身份证510***********1239丢了，烘焙作坊登记证还能办吗",
                      "手机 138****5678 能改预留电话吗，卡号6222***********0128"]
    everything = _everything(web["feedback"].db)  # nothing unmasked in another table either
    assert "510***********1239" in everything and ID_18 not in everything and CARD not in everything
    access = web["log"].getvalue()
    assert "/api/ask" in access and ID_18 not in access and "510***********1239" in access


def test_admin_page_shows_questions_and_feedback_masked(web: dict) -> None:
    """What the admin reads (unanswered questions, feedback notes) is the masked record: there is no other."""
    for _ in range(2):
        httpx.get(web["url"] + "/api/ask", params={"q": f"游艇驾驶证怎么考，我身份证{ID_18}"}, timeout=30)
    httpx.post(web["url"] + "/feedback", data={"q": "烘焙作坊登记证要多久", "vote": "-1",
                                               "note": f"不对，请回电{MOBILE}"}, timeout=30)
    page = httpx.get(web["url"] + "/admin", headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=30)
    assert page.status_code == 200
    assert "138****5678" in page.text and "510***********1239" in page.text
    assert ID_18 not in page.text and MOBILE not in page.text


# ---------------------------------------------------------------- Telegram against the fake Bot API


@asynccontextmanager
async def telegram_bot(engine, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from fake_bot_api import TOKEN, FakeBotAPI

    from bot.telegram_bot import build_application
    from ingest.settings import get_settings

    api = await FakeBotAPI(long_poll_cap=0.3).start()
    monkeypatch.setenv("GOVBOT_HOME", str(tmp_path / "tg-home"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("GOVBOT_TELEGRAM_BASE_URL", api.base_url)
    get_settings.cache_clear()
    settings = get_settings()
    feedback = FeedbackStore(settings.database_url)
    app = build_application(engine, settings, store, feedback, timeout=5.0, retry_backoff=0.1)
    try:
        async with app:
            await app.post_init(app)
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            try:
                yield api, feedback, app
            finally:
                await app.updater.stop()
                await app.stop()
                await app.post_shutdown(app)
    finally:
        await api.stop()
        get_settings.cache_clear()


async def test_telegram_questions_are_stored_masked(small_engine, small_store: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    async with telegram_bot(small_engine, small_store, tmp_path, monkeypatch) as (api, feedback, _app):
        sent = await api.ask(4242, f"身份证{ID_18}，手机+86 138 1234 5678，烘焙作坊登记证要什么材料")
        assert sent.text
        for _ in range(100):  # the log line is written beside the answer
            if _stored(feedback):
                break
            await asyncio.sleep(0.05)
        assert _stored(feedback) == ["身份证510***********1239，手机+86138****5678，烘焙作坊登记证要什么材料"]
        # The chat's state (kept for 👍/👎 on recent answers) holds the question masked too.
        from bot.services.state import conversation_state

        with feedback.db.connect() as conn:
            states = " ".join(conn.scalars(select(conversation_state.c.data)))
        assert "510***********1239" in states
        everything = _everything(feedback.db)
        assert ID_18 not in everything and MOBILE not in everything

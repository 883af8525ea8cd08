"""The handoff tickets and the refusal's handoff block, on the real databases and the fixture knowledge base.

Tickets on SQLite and PostgreSQL (replicas share them): a store opened afresh (a restart, another replica)
sees the open ticket; a reply is delivered by one of two replicas, never both; numbers are masked. The
refusal names the nearest item's department, window and phone only where its record states them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import messages
from bot.answer import BlockKind
from bot.services.asking import Asker
from bot.services.handoff import HandoffStore, typed_handoff

ROOT = Path(__file__).resolve().parent.parent
ID_NUMBER = "510302199001011239"  # a well-formed 身份证号 (check digit right), made up
MOBILE = "13912345678"
FAKE_PHONE = "000-00000000（示例）"  # what the test record states; not a real number


def test_tickets_survive_a_restart_and_are_delivered_once(database_url: str) -> None:
    first = HandoffStore(database_url)
    ticket = first.open(Asker("telegram", "42", "42"), f"身份证{ID_NUMBER}，电话{MOBILE}，营业执照怎么补办", "x")
    assert ID_NUMBER not in ticket.question and MOBILE not in ticket.question
    assert ticket.status == "open" and len(ticket.token) >= 20

    replica = HandoffStore(database_url)  # a restarted process or another replica: same database
    assert [t.id for t in replica.list_open()] == [ticket.id]
    assert replica.reply(ticket.id, "web:admin", f"请回电 {MOBILE}") is not None
    assert MOBILE not in replica.get(ticket.id).reply  # replies are masked too
    (pending,) = first.undelivered("telegram")
    assert first.undelivered("dingtalk") == []
    assert first.claim_delivery(pending) and not replica.claim_delivery(pending)  # one of two replicas sends it
    first.release_delivery(pending)  # the send failed
    (again,) = replica.undelivered("telegram")
    assert replica.claim_delivery(again) and first.undelivered("telegram") == []

    assert first.close(ticket.id) and replica.reply(ticket.id, "x", "太晚了") is None
    assert replica.by_token(ticket.token).status == "closed"
    with pytest.raises(ValueError):
        replica.reply(ticket.id, "x", "   ")


def test_forwarding_is_claimed_once(database_url: str) -> None:
    store = HandoffStore(database_url)
    ticket = store.open(Asker("feishu", "ou_1", "oc_1"), "问题", group=True)
    assert [t.id for t in store.unforwarded("feishu")] == [ticket.id]
    assert store.claim_forward(ticket.id, "a") and not store.claim_forward(ticket.id, "b")
    store.release_forward(ticket.id, "a")
    assert store.claim_forward(ticket.id, "b")
    store.set_staff_ref(ticket.id, "feishu:forwarded")
    assert store.unforwarded("feishu") == [] and store.by_staff_ref("feishu:forwarded").id == ticket.id


def test_typed_requests_for_a_person() -> None:
    assert typed_handoff("转人工") == "" and typed_handoff(" 人工客服 ") == ""
    assert typed_handoff("转人工：营业执照丢了怎么办") == "营业执照丢了怎么办"
    assert typed_handoff("人工智能企业有什么补贴") is None and typed_handoff("开公司需要哪些材料") is None


def _handoff(result) -> list[str]:
    (block,) = [b for b in result.blocks if b.kind == BlockKind.HANDOFF]
    return list(block.lines)


def test_refusal_names_the_nearest_items_department_and_window_without_a_phone(small_engine) -> None:
    result = small_engine.ask("游艇码头经营许可怎么办理")
    assert not result.grounded
    nearest = small_engine.records[result.follow_ups[0].record_id]
    assert not nearest.phone  # the fixture records state no phone
    lines = _handoff(result)
    assert lines[0] == messages.HANDOFF_NEAREST.format(title=nearest.title)
    assert messages.DEPARTMENT.format(department=nearest.department) in lines
    assert messages.WINDOW.format(value=nearest.where.window) in lines
    assert not any(line.startswith("咨询电话") for line in lines) and lines[-1] == messages.HANDOFF


def test_refusal_gives_the_phone_where_the_record_has_one(tmp_path: Path) -> None:
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "tests" / "fixtures" / "kb", kb)
    for guide in (kb / "guides").glob("*.md"):  # every guide gets a phone, so the nearest one has it
        text = guide.read_text(encoding="utf-8")
        guide.write_text(text.replace("\nwhere:", f"\nphone: {FAKE_PHONE}\nwhere:", 1), encoding="utf-8")
    store = tmp_path / "index"
    assert not ingest([kb], store, load_embeddings("hash")).failed
    engine = Engine(store)
    result = engine.ask("游艇码头经营许可怎么办理")
    nearest = engine.records[result.follow_ups[0].record_id]
    assert nearest.phone == FAKE_PHONE
    assert messages.PHONE.format(value=FAKE_PHONE) in _handoff(result)


def test_a_refusal_without_a_nearest_item_has_the_general_line(small_engine) -> None:
    from bot.compose import refusal

    assert [b.lines for b in refusal() if b.kind == BlockKind.HANDOFF] == [(messages.HANDOFF,)]
    policy = next(r for r in small_engine.records.values() if r.kind == "policy" and not r.where)
    lines = [b.lines for b in refusal(policy) if b.kind == BlockKind.HANDOFF][0]
    assert messages.DEPARTMENT.format(department=policy.department) in lines
    assert not any("窗口：" in line or "电话" in line for line in lines)  # nothing the record does not state

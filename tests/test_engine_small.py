"""What a user sees from the engine, on the synthetic fixture KB with the deterministic hash embedder.

Only the public API is used (``Engine(store).ask(question, state)`` and the result's fields), and the
expected facts are read from the fixture files themselves, so these tests survive a rewrite of the
engine's internals and give the same result on every machine.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"
# How an answer may say plainly that the item does not state something.
NOT_STATED = ("没有写明", "未写明", "没有提到", "未提及", "未载明", "没有载明", "没有说明")


def item(record_id: str) -> dict:
    """The front matter of a fixture file, read independently of the ingest code."""
    path = next(FIXTURE_KB.rglob(f"{record_id}.md"))
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def tells_where_to_ask(answer: str) -> bool:
    return "咨询" in answer and ("窗口" in answer or "专员" in answer or "热线" in answer)


def line_with(answer: str, text: str) -> str:
    lines = [line for line in answer.splitlines() if text in line]
    assert lines, f"{text!r} not in answer:\n{answer}"
    return lines[0]


def test_a_materials_question_gets_every_material_with_form_and_copies(small_engine):
    result = small_engine.ask("烘焙作坊登记证需要哪些材料？")
    assert result.grounded and result.record_ids == ["demo-bakery-permit"] and result.intent == "materials"
    materials = item("demo-bakery-permit")["materials"]
    assert len(materials) == 6
    for material in materials:
        line = line_with(result.answer, material["name"])
        assert material["form"] in line, line  # 原件 / 复印件 / 原件及复印件, as the guide says
        if material.get("copies"):
            assert f"{material['copies']}份" in line, line
    assert any(source["source"].endswith("demo-bakery-permit.md") for source in result.sources)


def test_a_time_question_gets_the_time_limit_in_a_short_answer(small_engine):
    result = small_engine.ask("烘焙作坊登记证要多久能办好")
    assert result.grounded and result.record_ids == ["demo-bakery-permit"] and result.intent == "time"
    assert "7个工作日" in result.answer and "20个工作日" in result.answer  # promised and legal limits
    assert len(result.answer) < 250
    assert "平面布局图" not in result.answer  # not the whole guide


def test_a_follow_up_answers_for_the_same_item(small_engine):
    first = small_engine.ask("门店招牌设置备案要交什么材料")
    assert first.record_ids == ["demo-shop-sign"] and "招牌设计效果图" in first.answer
    follow = small_engine.ask("那要多久？", first.state)
    assert follow.grounded and follow.record_ids == ["demo-shop-sign"] and follow.intent == "time"
    assert "3个工作日" in follow.answer
    assert "烘焙" not in follow.answer


def test_an_item_not_in_the_knowledge_base_is_refused_with_where_to_ask(small_engine):
    result = small_engine.ask("游艇码头经营许可怎么办理")
    assert not result.grounded
    assert tells_where_to_ask(result.answer), result.answer
    assert "工作日" not in result.answer  # nothing borrowed from a neighbouring item


def test_a_property_the_item_does_not_state_is_said_plainly(small_engine):
    assert "有效期" not in (FIXTURE_KB / "guides" / "demo-shop-sign.md").read_text(encoding="utf-8")
    result = small_engine.ask("门店招牌设置备案的有效期是多久？")
    assert not result.grounded
    assert "门店招牌设置备案" in result.answer  # it says which item it looked at
    assert any(mark in result.answer for mark in NOT_STATED), result.answer
    assert not re.search(r"\d+\s*(年|个月|日|天)", result.answer), result.answer  # no period invented


def test_a_stated_validity_is_quoted(small_engine):
    result = small_engine.ask("烘焙作坊登记证有效期多久")
    assert result.grounded and result.record_ids == ["demo-bakery-permit"]
    assert "3年" in result.answer


@pytest.mark.parametrize("question", [
    "我们公司想办烘焙作坊登记证需要哪些材料" * 1000,  # 19,000 characters of one question repeated
    "烘焙作坊登记证需要哪些材料？" + "请帮忙看一下谢谢。" * 2222,  # a question buried in 20,000 characters
    "啊" * 20000,
])
def test_a_question_of_twenty_thousand_characters_gets_a_clear_reply(small_engine, question: str):
    started = time.monotonic()
    result = small_engine.ask(question)
    assert time.monotonic() - started < 30
    assert 0 < len(result.answer) < 2000  # the question is not echoed back
    if result.grounded:
        assert result.record_ids == ["demo-bakery-permit"] and "烘焙作坊登记申请表" in result.answer
    else:
        assert tells_where_to_ask(result.answer) or "请输入" in result.answer, result.answer


def test_a_question_that_only_names_a_place_is_refused(small_engine):
    result = small_engine.ask("成都")
    assert not result.grounded and not result.record_ids
    assert tells_where_to_ask(result.answer), result.answer


@pytest.mark.parametrize("question", ["", "   ", "\t \u3000 ", "？？"])
def test_an_empty_question_gets_the_prompt(small_engine, question: str):
    result = small_engine.ask(question)
    assert not result.grounded and not result.record_ids
    assert "请输入" in result.answer and "例如" in result.answer


def test_a_bundle_question_lists_its_members(small_engine):
    result = small_engine.ask("开烘焙店一件事包含哪些事项")
    assert result.grounded and result.record_ids == ["demo-bundle-bakery"]
    for member in item("demo-bundle-bakery")["members"]:
        assert item(member)["title"] in result.answer
    # The joint list is derived (issue 11): every member material but those waived, plus what the bundle adds.
    bundle = item("demo-bundle-bakery")
    waived = {c["material"] for c in bundle["changes"] if c["action"] == "waived"}
    for member in bundle["members"]:
        for material in item(member)["materials"]:
            assert (material["name"] in result.answer) == (material["name"] not in waived) or (
                "联办免交" in result.answer and material["name"] in result.answer), material["name"]
    for material in bundle["adds"]:
        assert material["name"] in result.answer


def test_a_policy_question_gets_amount_and_eligibility(small_engine):
    result = small_engine.ask("研发投入后补助能拿多少钱")
    policy = item("demo-policy-rd")
    assert result.grounded and result.record_ids == ["demo-policy-rd"]
    assert "50万元" in result.answer
    assert all(condition in result.answer for condition in policy["eligibility_text"])


def test_answers_are_the_same_when_asked_again(small_engine):
    questions = ["烘焙作坊登记证需要哪些材料？", "叉车使用登记在哪里办", "招工补贴申报条件是什么", "刻章收费吗"]
    first = [small_engine.ask(q) for q in questions]
    again = [small_engine.ask(q) for q in questions]
    assert [(r.answer, r.record_ids, r.grounded) for r in first] == [(r.answer, r.record_ids, r.grounded)
                                                                     for r in again]


@pytest.mark.parametrize(("question", "answered"), [
    ("单位招用灵活就业人员怎么办社保登记", True),  # asked from the employer's side: the enterprise guide
    ("养老保险个人怎么交", False),  # a person's own insurance is not in the knowledge base
])
def test_personal_social_insurance_is_refused_only_without_an_employer(small_engine, question: str, answered: bool):
    result = small_engine.ask(question)
    assert result.grounded is answered, result.answer
    if not answered:
        assert "个人" in result.answer and tells_where_to_ask(result.answer)


def test_an_employer_asking_about_flexible_workers_gets_the_registration_guide(small_engine):
    result = small_engine.ask("单位招用灵活就业人员怎么办社保登记")
    assert result.grounded and result.record_ids == ["demo-social-insurance"]

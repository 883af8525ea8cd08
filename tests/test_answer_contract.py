"""The JSON contract of `govbot ask --json` and `/api/ask` did not move when answers became blocks.

tests/fixtures/answers_before_blocks.json was recorded on the fixture knowledge base with the engine
that returned one formatted string (commit 7b36108): 28 questions, 4 conversations, and what every
Telegram section button showed then, when it asked the engine a short question ("材料？") about the
item in view. The block answers must render to exactly that text, and `answer_section(record, intent)`
must show exactly what the button showed. When a refit of the answerability model changes which items a
refusal suggests, re-record the file with the same questions (only those lines may move).
Refusals name the nearest item's department, window and phone since issue 15: the refusal answers were
re-recorded then (only the lines of their handoff block changed; every other key stayed as it was).
"Not stated" answers name their own item's department, window and phone since the second pass of issue 15:
those 13 entries were re-recorded the same way (a script re-ran every question, wrote only entries whose
answer says 没有写明, and checked that their sources, ids, suggestions and state, and every other entry,
were unchanged).
The variant_conflict refit (issue 10) re-recorded the suggestions of three refusals and of one refused
follow-up; nothing else moved. The smooth-rank refit (issue 10) re-recorded the suggestions of two refusals
(成都 and <script>: their order) and of one refused follow-up (one nearest item); nothing else moved.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answer import AnswerResult, Block, BlockKind, render_text
from bot.intent import INTENTS, Intent

ROOT = Path(__file__).resolve().parent.parent
BEFORE = json.loads((ROOT / "tests" / "fixtures" / "answers_before_blocks.json").read_text(encoding="utf-8"))
CONVERSATIONS = [["门店招牌设置备案要交什么材料", "那要多久？", "收费吗？", "换一个：烘焙作坊登记证要多久"],
                 ["开公司需要哪些材料？", "那要多久？", "在哪里办？"], ["研发投入后补助能拿多少钱", "申报条件是什么？"],
                 ["开烘焙店一件事包含哪些事项", "需要哪些材料？"]]


def _recorded(entry: dict) -> dict:
    return json.loads(json.dumps(entry).replace("{ROOT}/", str(ROOT) + "/"))


def _now(result: AnswerResult) -> dict:
    return json.loads(json.dumps({"public": result.public(), "state": result.state}, ensure_ascii=False))


@pytest.mark.parametrize("question", list(BEFORE["questions"]))
def test_an_answer_reads_as_before(small_engine, question: str) -> None:
    assert _now(small_engine.ask(question)) == _recorded(BEFORE["questions"][question])


def test_a_conversation_reads_as_before(small_engine) -> None:
    assert len(CONVERSATIONS) == len(BEFORE["conversations"])
    for questions, recorded in zip(CONVERSATIONS, BEFORE["conversations"], strict=True):
        state = None
        for question, entry in zip(questions, recorded, strict=True):
            result = small_engine.ask(question, state)
            assert _now(result) == _recorded(entry), question
            state = result.state


def test_a_section_button_shows_what_the_short_question_did(small_engine) -> None:
    for key, entry in BEFORE["sections"].items():
        record_id, intent = key.split("|")
        assert _now(small_engine.answer_section(record_id, intent)) == _recorded(entry), key


def test_answers_are_blocks_and_suggestions_name_item_and_intent(small_engine) -> None:
    result = small_engine.ask("烘焙作坊登记证需要哪些材料？")
    kinds = [b.kind for b in result.blocks]
    assert kinds[0] == BlockKind.TITLE and BlockKind.MATERIALS in kinds and kinds[-1] in (BlockKind.SOURCE,
                                                                                          BlockKind.CONFIRM)
    materials = next(b for b in result.blocks if b.kind == BlockKind.MATERIALS)
    assert materials.heading == INTENTS[Intent.MATERIALS].heading and materials.lines
    assert result.answer == render_text(result.blocks)
    same_item = [s for s in result.follow_ups if s.record_id == result.record_ids[0]]
    assert same_item and all(s.intent != Intent.MATERIALS for s in same_item)
    assert [s.text for s in result.follow_ups] == result.suggestions
    assert all(s.text == INTENTS[Intent(s.intent)].suggestion for s in same_item)


def test_a_refusal_and_a_missing_item_are_blocks_too(small_engine) -> None:
    refused = small_engine.ask("个人所得税怎么交")
    assert not refused.grounded and refused.blocks[0].kind == BlockKind.REFUSAL
    assert refused.blocks[-1].kind == BlockKind.HANDOFF
    assert small_engine.answer_section("no-such-item", "materials") is None


def test_plain_text_results_and_block_rendering() -> None:
    apology = AnswerResult("第一行\n第二行")
    assert apology.answer == "第一行\n第二行" and apology.public()["suggestions"] == []
    blocks = [Block(BlockKind.TITLE, ("事项",)), Block(BlockKind.FEE, ("不收费",), "收费标准", inline=True),
              Block(BlockKind.TIME, ("承诺办结时限：3个工作日",), "办理时限")]
    assert render_text(blocks) == "《事项》\n【收费标准】不收费\n【办理时限】\n承诺办结时限：3个工作日"


def test_intent_values_are_the_strings_json_and_state_use() -> None:
    assert json.dumps({"intent": Intent.MATERIALS}) == '{"intent": "materials"}'
    assert set(INTENTS) == set(Intent)
    assert all(info.button == "" or info.prompt for info in INTENTS.values())  # a button needs its words

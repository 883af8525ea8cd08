"""Questions whose interrogative asks for a kind of sentence (which office, which level, what one gets,
the longest allowed) and questions that name a variant of an item (批发 for a 零售 item), on a guide
written here in a portal's layout and the fixture KB, with the deterministic hash embedder.

The guide is none of the development documents: the mechanisms are general, so they must hold on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"

GUIDE = """# 花卉零售摊点临时设置备案（示例市）

> 所属部门：示例市城市管理局

## 基本要素

| 项目 | 内容 |
| --- | --- |
| 事项名称 | 花卉零售摊点临时设置备案 |
| 服务对象 | 法人、个体工商户 |
| 实施主体 | 示例市城市管理局 |
| 行使层级 | 县级 |
| 法定办结时限 | 10个工作日 |
| 承诺办结时限 | 2个工作日 |
| 结果名称 | 临时设置备案告知书 |
| 是否收费 | 不收费 |

## 申请条件

1. 申请人已取得营业执照；
2. 摊点设在城市管理部门划定的临时经营区域内；
3. 每次设置摊点的时间不超过15日。

## 申请材料

1. 营业执照复印件
2. 摊点设置位置示意图
3. 临时设置申请表

## 办理流程

1. 申请人在线提交申请表和示意图；
2. 城市管理局审核材料；
3. 审核通过后在线发放备案告知书。

## 咨询方式

1. 窗口咨询：示例市政务服务中心城市管理窗口；
2. 邮件咨询：flower-stall@example.com。
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    docs = tmp_path_factory.mktemp("docs")
    (docs / "flower-stall.md").write_text(GUIDE, encoding="utf-8")
    store = tmp_path_factory.mktemp("forms") / "index"
    summary = ingest([FIXTURE_KB, docs], store, load_embeddings("hash"))
    assert not summary.failed, [(f.path, f.reason) for f in summary.failed]
    return Engine(store)


def _answered_from_guide(result) -> None:
    assert result.grounded, result.answer
    assert result.sources[0]["source"].endswith("flower-stall.md"), result.sources


def test_which_office_is_answered_with_the_office_that_handles_the_item(engine):
    result = engine.ask("花卉零售摊点临时设置备案是哪个单位办的")
    _answered_from_guide(result)
    assert "示例市城市管理局" in result.answer


def test_which_level_is_answered_with_the_level(engine):
    result = engine.ask("花卉零售摊点临时设置备案在哪个部门办 归哪一级")
    _answered_from_guide(result)
    assert "县级" in result.answer and "示例市城市管理局" in result.answer


def test_what_one_gets_is_answered_with_the_result_of_the_item(engine):
    result = engine.ask("花卉零售摊点备案办完能拿到啥")
    _answered_from_guide(result)
    assert "备案告知书" in result.answer


def test_the_longest_allowed_is_answered_with_the_bound_not_the_processing_time(engine):
    result = engine.ask("花卉零售摊点临时设置最长能设多少天")
    _answered_from_guide(result)
    assert "不超过15日" in result.answer


def test_an_email_question_is_answered_with_the_address_of_mail(engine):
    result = engine.ask("花卉零售摊点临时设置备案的咨询邮箱是多少")
    _answered_from_guide(result)
    assert "flower-stall@example.com" in result.answer


def test_a_question_naming_another_variant_of_the_item_is_refused(engine):
    named = engine.ask("花卉零售摊点临时设置备案要什么材料")
    _answered_from_guide(named)
    assert "摊点设置位置示意图" in named.answer
    # 批发 is a variant the guide is not (it is for 零售): its materials would be a wrong answer.
    other = engine.ask("花卉批发摊点临时设置备案要什么材料")
    assert not other.grounded, other.answer
    assert "摊点设置位置示意图" not in other.answer


def test_the_variant_refusal_is_not_a_close_call(engine):
    # Decisions must not sit on float edges: the variant question is refused by a clear margin, and
    # the question that names the item itself is answered by one.
    from bot.answerability import eligible
    from bot.intent import detect_intent

    def probability(question: str) -> float:
        candidates = eligible(engine.candidates(question, detect_intent(question)))
        return max(candidates, key=lambda c: c.choice).probability

    assert probability("花卉批发摊点临时设置备案要什么材料") < engine.threshold / 2
    assert probability("花卉零售摊点临时设置备案要什么材料") > engine.threshold * 2

"""What a question asks is read from how it asks (审批时间 is how long it takes, 办公时间 when the office is
open), and a sentence stands for the kind of value asked only when it states one: 有效性 (effectiveness) or 持有效证明
is no period of validity. On documents written here (not the development kit) and the fixture KB, with the
deterministic hash embedder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"

NOTICE = """# 示例市花卉种苗经营备案说明

按照规定，产品安全性、有效性不受流通过程影响的花卉种苗，可以免于经营备案。
申请人须持有效主体资格证明，到示例市农业农村局窗口提交花卉种苗经营备案表。
材料齐全的，窗口当场发放花卉种苗经营备案凭证。
"""

PERMIT = """# 示例市花卉展销活动许可说明

举办花卉展销活动的单位，向示例市城市管理局提出申请。
花卉展销活动许可决定书有效期3年，期满需继续举办的，应在期满前30日申请延续。
申请人补交文件的，审批时间自收到补交文件之日起重新计算，为15个工作日。
受理窗口的办公时间为周一至周五上午9:00至下午5:00。
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    docs = tmp_path_factory.mktemp("docs")
    (docs / "seedling-filing.md").write_text(NOTICE, encoding="utf-8")
    (docs / "flower-fair.md").write_text(PERMIT, encoding="utf-8")
    store = tmp_path_factory.mktemp("kinds") / "index"
    summary = ingest([FIXTURE_KB, docs], store, load_embeddings("hash"))
    assert not summary.failed, [(f.path, f.reason) for f in summary.failed]
    return Engine(store)


def test_effectiveness_is_not_quoted_as_a_period_of_validity(engine):
    result = engine.ask("花卉种苗经营备案凭证有效期多久")
    assert not result.grounded, result.answer
    assert "有效性" not in result.answer and "有效主体资格证明" not in result.answer


def test_a_stated_period_of_validity_is_quoted(engine):
    result = engine.ask("花卉展销活动许可有效期多久")
    assert result.grounded, result.answer
    assert "有效期3年" in result.answer
    assert result.sources[0]["source"].endswith("flower-fair.md"), result.sources


def test_how_long_asked_with_shijian_is_answered_with_the_processing_time(engine):
    first = engine.ask("花卉展销活动许可有效期多久")
    result = engine.ask("那审批时间呢", first.state)  # a follow-up about the same item
    assert result.grounded, result.answer
    assert result.intent == "time"
    assert "15个工作日" in result.answer
    assert "9:00" not in result.answer


def test_office_hours_asked_with_shijian_are_answered_with_the_hours(engine):
    result = engine.ask("花卉展销活动许可受理窗口办公时间")
    assert result.grounded, result.answer
    assert "9:00" in result.answer


def test_how_long_the_handling_time_is_asks_how_long(engine):
    # 办理时间 can be office hours, but 办理时间要多久 asks how long it takes.
    result = engine.ask("花卉展销活动许可办理时间要多久")
    assert result.grounded, result.answer
    assert "15个工作日" in result.answer and "9:00" not in result.answer

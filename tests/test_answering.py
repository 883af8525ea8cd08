"""Answering from documents the team never wrote: salient words, quoted passages, places, the fitted model.

Everything runs on small inputs built here or on the fixture KB, with the deterministic hash embedder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.passages import best_passage, passage_answers
from bot.terms import answer_units, salient_terms
from ingest.schema import Record, Section

FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"

CHENGDU_GUIDE = """<html><head><title>成都市武侯区 户外招牌设置备案 办事指南</title></head><body>
<h1>户外招牌设置备案（成都市武侯区）</h1>
<table>
<tr><td>实施主体</td><td>成都市武侯区城市管理和综合执法局</td></tr>
<tr><td>办理地点</td><td>武侯区政务服务中心三楼城管窗口</td></tr>
<tr><td>法定办结时限</td><td>20个工作日</td></tr>
<tr><td>承诺办结时限</td><td>5个工作日</td></tr>
<tr><td>是否收费</td><td>不收费</td></tr>
</table>
<h2>申请材料</h2>
<table>
<tr><th>序号</th><th>材料名称</th><th>材料形式</th><th>份数</th></tr>
<tr><td>1</td><td>户外招牌设置备案表</td><td>原件</td><td>1</td></tr>
<tr><td>2</td><td>招牌设计效果图</td><td>原件</td><td>1</td></tr>
</table>
</body></html>
"""

NOTICE = """关于申报2026年示例区稳岗奖补资金的通知

一、支持对象：在示例区登记注册、依法参加失业保险的中小微企业。
二、支持标准：按企业上年度实际缴纳失业保险费的50%给予奖补，单户企业最高不超过30万元。
三、申报时间：2026年3月1日至3月31日，逾期不予受理。
四、申报方式：登录示例区人社局网上办事大厅在线申报，并上传营业执照复印件和缴费凭证。
"""


# A portal page whose fee cell is a dash, and a policy page whose end-date cell is one.
BLANK_FEE_GUIDE = """<html><head><title>示例县 人力资源服务许可 办事指南</title></head><body>
<h1>人力资源服务许可（示例县）</h1>
<h2>基本信息</h2>
<dl>
<dt>事项名称</dt><dd>人力资源服务许可</dd>
<dt>实施主体</dt><dd>示例县人力资源和社会保障局</dd>
<dt>审批层级</dt><dd>县级</dd>
<dt>是否收费</dt><dd>—</dd>
<dt>咨询电话</dt><dd>—</dd>
</dl>
<h2>受理条件</h2>
<p>1. 有与开展业务相适应的固定场所。</p>
<p>2. 有明确的章程和管理制度。</p>
</body></html>
"""
BLANK_END_POLICY = """<html><head><title>示例市一次性吸纳补助</title></head><body>
<h1>示例市一次性吸纳补助</h1>
<table>
<tr><th>政策名称</th><td>一次性吸纳补助</td><th>补助标准</th><td>每招用1人1000元</td></tr>
</table>
<p>执行期限：—</p>
<p>申请条件：为新招用人员按规定缴纳3个月以上社会保险费。</p>
</body></html>
"""


def words(question: str) -> list[str]:
    return [t.word for t in salient_terms(question)]


def test_salient_words_are_what_is_asked_about_not_how_it_is_asked():
    assert "营业执照" in words("办理营业执照需要什么材料") and "材料" not in words("办理营业执照需要什么材料")
    assert words("那要多久？") == []
    # Interrogative quantifiers ask, they name nothing.
    assert not any(w.startswith("几") for w in words("临时零售点备案要跑几趟现场"))


def test_a_word_the_segmenter_does_not_know_stays_one_word():
    # jieba splits unknown words into single characters; they are joined again, and count as names.
    assert "犬只" in words("办理犬只登记要多久")
    assert "堤村乡" in words("堤村乡是啥网格")
    assert next(t for t in salient_terms("软著登记时间要多久") if t.word == "软著").is_noun


def test_places_are_recognised_as_places():
    assert any(t.is_place and t.word == "成都" for t in salient_terms("成都办营业执照要什么材料"))


def test_the_unit_asked_for_is_kept_as_a_hint():
    assert answer_units("网络货运经营许可要到现场几次") == ("次",)
    assert answer_units("那注册资金300万的劳务派遣公司呢 归哪级批") == ("级",)
    assert answer_units("全县一共能发多少个烟草零售证") == ()  # 个 counts anything: no hint


def _document(*lines: str, title: str = "示例公告") -> Record:
    return Record(id="doc-x", kind="document", title=title,
                  sections=[Section(key="body", heading="说明", text="\n".join(lines))])


def test_the_passage_is_the_sentence_that_holds_the_detail_asked():
    record = _document("本通知适用于示例区企业。", "办理深度：四级（全网通办）。", "到现场次数：0次。",
                       "咨询邮箱：demo@example.org。", title="示例事项办事指南")
    passage, share = best_passage(record, salient_terms("示例事项要到现场几次"), "process",
                                  answer_units("示例事项要到现场几次"), "示例事项办事指南")
    assert passage and "0次" in passage[0]
    passage, _ = best_passage(record, salient_terms("示例事项的咨询邮箱是多少"), "where", (), "示例事项办事指南")
    assert any("demo@example.org" in p for p in passage)


def test_an_empty_cell_does_not_answer_a_fee_question():
    record = _document("是否收费：—", "办理时限：5个工作日。")
    passage, share = best_passage(record, salient_terms("示例公告收费吗"), "fee", (), "示例公告")
    assert not passage_answers("fee", passage, share)


def test_a_short_table_cell_is_quoted_with_the_line_that_holds_its_value():
    record = _document("企业类型", "龙头企业", "最高补助2000万元", "配套企业", "最高补助500万元")
    passage, _ = best_passage(record, salient_terms("龙头企业最高拿多少"), "subsidy", (), "示例公告")
    assert "龙头企业" in passage and "最高补助2000万元" in passage


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture KB plus a real-looking guide of another city and a subsidy notice, as an admin ingests them."""
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    docs = tmp_path_factory.mktemp("docs")
    (docs / "chengdu-sign.html").write_text(CHENGDU_GUIDE, encoding="utf-8")
    (docs / "wengang-notice.txt").write_text(NOTICE, encoding="utf-8")
    (docs / "hr-service.html").write_text(BLANK_FEE_GUIDE, encoding="utf-8")
    (docs / "xina-policy.html").write_text(BLANK_END_POLICY, encoding="utf-8")
    store = tmp_path_factory.mktemp("mixed") / "index"
    summary = ingest([FIXTURE_KB, docs], store, load_embeddings("hash"))
    assert not summary.failed
    return store


def test_a_place_is_answered_when_the_admin_ingested_a_document_about_it(mixed_store, small_engine):
    from bot.engine import Engine

    question = "成都武侯区户外招牌设置备案在哪里办"
    answer = Engine(mixed_store).ask(question)
    assert answer.grounded and answer.sources[0]["source"].endswith("chengdu-sign.html")
    assert "武侯区政务服务中心三楼城管窗口" in answer.answer
    # Without that document, the same question is about a place the index knows nothing of.
    assert not small_engine.ask(question).grounded


def test_a_notice_is_answered_from_its_own_sentences_briefly(mixed_store):
    from bot.engine import Engine

    engine = Engine(mixed_store)
    amount = engine.ask("示例区稳岗奖补最高能拿多少")
    assert amount.grounded and amount.sources[0]["source"].endswith("wengang-notice.txt")
    assert "30万元" in amount.answer
    deadline = engine.ask("示例区稳岗奖补资金什么时候申报截止")
    assert deadline.grounded and "3月31日" in deadline.answer
    body = deadline.answer.split("来源：")[0]
    assert len(body) <= 250


def test_a_field_the_page_leaves_empty_is_said_to_be_not_stated(mixed_store):
    # The page has a slot for the fee and the end date and leaves them blank ("—"): that is the page
    # saying it does not say, not a cue to quote some other sentence with a number in it.
    from bot.engine import Engine

    engine = Engine(mixed_store)
    fee = engine.ask("示例县人力资源服务许可收费吗")
    assert not fee.grounded and "没有写明是否收费" in fee.answer
    end = engine.ask("示例市一次性吸纳补助执行到什么时候")
    assert not end.grounded and "没有写明执行期限" in end.answer and "3个月" not in end.answer
    # A question with words of its own is still answered from the sentence that holds them.
    months = engine.ask("示例市一次性吸纳补助 社会保险费要缴纳多久")
    assert months.grounded and "3个月" in months.answer


def test_a_question_that_only_names_a_place_is_refused(mixed_store):
    from bot.engine import Engine

    result = Engine(mixed_store).ask("北京")
    assert not result.grounded and "抱歉" in result.answer


def test_fitting_learns_signs_that_make_sense(small_store: Path, tmp_path: Path):
    # A tiny run of the real fitting code: features from the fixture KB, labelled questions, bounded fits.
    from bot import fitting
    from bot.answerability import ANSWER_FEATURES, FEATURES, Model
    from bot.engine import Engine

    engine = Engine(small_store, model=Model.neutral())
    rows = fitting.Rows()
    fitting.add_rows(rows, engine, fitting.generated_questions(engine))
    fitting.add_rows(rows, engine, [fitting.Question(q, set(), "near-miss") for q in
                                    ("商标注册需要什么材料", "护照怎么办", "渔船登记要多久", "北京开公司要什么材料")])
    model = fitting.fit(rows, list(range(len(rows.source))))
    for name, coef in [*zip(FEATURES, model.chooser.coef, strict=True),
                       *zip(ANSWER_FEATURES, model.answer.coef, strict=True)]:
        sign = fitting.SIGNS[name]
        assert sign == 0 or sign is None or np.sign(coef) in (0, sign), name
    predictions = fitting.predict(model, rows, list(range(len(rows.source))))
    answered = [p for q, (p, ok) in predictions.items() if rows.answerable[q] and ok]
    refused = [p for q, (p, _) in predictions.items() if not rows.answerable[q]]
    assert np.median(answered) > np.median(refused)


def test_fitting_reports_the_decisions_that_sit_near_the_threshold():
    # A probability within the margin of the threshold may land on the other side on another CPU;
    # the fit names those questions (closest first) so an admin sees which answers are fragile.
    from bot import fitting

    rows = fitting.Rows(source=["realq-dev", "answers-kit", "generated"], answerable=[True, False, True],
                        text=["营业执照要多久", "注册商标要多少钱", "食品经营许可需要什么材料"])
    pred = {0: (0.195, True), 1: (0.17, False), 2: (0.9, True)}
    report = fitting.near_threshold(pred, rows, threshold=0.18)
    assert report["n"] == 2 and report["of"] == 3
    assert [q["q"] for q in report["questions"]] == ["注册商标要多少钱", "营业执照要多久"]
    assert report["by_source"] == {"answers-kit": 1, "realq-dev": 1}


def test_the_answer_model_is_fitted_on_what_the_engine_shows_it():
    # A money question rules out the procedure guides (only a policy can say how much). The answer model
    # judges how clearly the chooser preferred the policy among the policies, in fitting as in serving;
    # a margin against a procedure that cannot answer is not what it is shown.
    from bot import fitting
    from bot.answerability import FEATURES, Candidate, shipped_model

    def values(**set_: float) -> dict[str, float]:
        return {name: set_.get(name, 0.0) for name in FEATURES}

    procedure = values(cov_text=1.0, cov_name=1.0, name_verbatim=1.0, fused_rel=1.0, bm25_rel=1.0,
                       dense_rank=1.0, rank=1.0, has_section=1.0, states_kind=1.0)
    policy = values(cov_text=1.0, cov_name=1.0, name_share=0.8, fused_rel=0.7, bm25_rel=0.9, dense_rank=0.33,
                    rank=0.33, kind_match=1.0, has_section=1.0, states_kind=1.0)
    model = shipped_model()
    rows = fitting.Rows(x=[np.array([[procedure[n] for n in FEATURES], [policy[n] for n in FEATURES]])],
                        y=[np.array([0, 1])], source=["generated"], answerable=[True], text=["新招员工有什么补助"])
    [(_, fitted_on, chose_the_policy)] = fitting._choices(model.chooser, rows, [0])
    served = [Candidate("0", procedure), Candidate("1", policy)]
    best = model.choose(served)
    assert best is not None and best.record_id == "1" and chose_the_policy
    assert model.answer.probability(fitted_on) == pytest.approx(best.probability)


def test_two_items_whose_scores_swap_in_the_fifth_decimal_keep_their_decisions(small_engine):
    # Another CPU's float noise swaps two items whose retrieval scores are nearly equal. A rank feature
    # jumped from 1 to 1/2 on that swap and flipped the answer (5年失业险可以领几个月 under simulated
    # noise, bench/float_noise.py); the features must move by about as little as the scores do.
    from bot.retrieval import ItemHit

    engine = small_engine.pinned()
    question = "门店招牌和单位社会保险登记要多久"
    high, low = (1.00482, 12.0, 0.90002), (1.00480, 12.0, 0.90000)

    def choices(first: str, second: str) -> dict[str, float]:
        hits = [ItemHit(first, *high), ItemHit(second, *low)]
        return {c.record_id: c.choice for c in engine.candidates(question, "time", hits)}

    one = choices("demo-shop-sign", "demo-social-insurance")
    other = choices("demo-social-insurance", "demo-shop-sign")
    assert one.keys() == other.keys()
    for rid in one:
        assert abs(one[rid] - other[rid]) < 0.01, (rid, one[rid], other[rid])
    # Scores that are apart keep their ranks (1, 1/2, 1/3), which the model was fitted on.
    from bot.candidates import DENSE_SMOOTHING, soft_rank

    assert [round(r, 3) for r in soft_rank([0.95, 0.90, 0.85], DENSE_SMOOTHING)] == [1.0, 0.5, 0.333]


def test_of_two_pages_about_one_item_the_one_that_states_what_was_asked_answers(tmp_path: Path):
    # Some portals publish a guide as one page per section; a time question belongs to the page that
    # gives a number of days, not to the materials page that repeats the item's name more often.
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "eia-materials.txt").write_text(
        "建设项目环境影响评价审批 申请材料\n建设项目环境影响评价审批需提交：环境影响报告书（表）、建设项目环境影响评价审批申请表、"
        "建设单位营业执照复印件。建设项目环境影响评价审批的材料须加盖公章。\n", encoding="utf-8")
    (docs / "eia-time.txt").write_text(
        "建设项目环境影响评价审批 办理时限\n报告书自受理之日起30个工作日内作出审批决定，报告表15个工作日内作出审批决定。\n",
        encoding="utf-8")
    store = tmp_path / "index"
    assert not ingest([docs], store, load_embeddings("hash")).failed
    answer = Engine(store).ask("建设项目环境影响评价审批要多久")
    assert answer.grounded and answer.sources[0]["source"].endswith("eia-time.txt")
    assert "30个工作日" in answer.answer


def test_a_bundle_is_found_by_what_it_says_not_by_its_members_lists(small_engine):
    # The bundle's derived list repeats every member's materials; indexed, it made the bundle the top
    # hit for questions about one member. Retrieval sees what the bundle adds; answers show the whole list.
    from ingest.chunking import chunk_record

    bundle = small_engine.records["demo-bundle-bakery"]
    member = small_engine.records["demo-shop-sign"]
    indexed = "\n".join(c.page_content for c in chunk_record(bundle))
    assert "开烘焙店“一件事”申请表" in indexed
    assert not any(m.name in indexed for m in member.materials)
    answer = small_engine.ask("开烘焙店一件事需要哪些材料").answer
    assert "开烘焙店“一件事”申请表" in answer and all(m.name in answer for m in member.materials)

"""Issue 11: bundles derived from their members, policies with validity, sources that say where they come from.

One test per class of error the fact check found, each asserting what a visitor sees. They run on
tests/fixtures/kb (hash embedder) or on small copies of it, never on the wall clock.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ingest.check import check_paths

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_KB = ROOT / "tests" / "fixtures" / "kb"
TODAY = date(2026, 12, 1)


def _kb_copy(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb)
    return kb


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _check(path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "check", str(path), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    report = json.loads(proc.stdout)
    report["returncode"] = proc.returncode
    return report


# ----------------------------------------------------------------------------- bundles

def test_a_bundle_answer_lists_every_member_material(small_engine):
    """Before: the bundle's hand-written list dropped 从业人员健康证明 and 食品安全管理制度 of a member."""
    answer = small_engine.ask("开烘焙店一件事要带什么材料").answer
    for member_id in small_engine.records["demo-bundle-bakery"].members:
        for material in small_engine.records[member_id].materials:
            if material.name in ("烘焙作坊登记申请表", "招牌设置备案表"):
                continue  # waived by the joint application, with the reason shown below
            assert material.name in answer, material.name
    assert "《烘焙作坊登记证（新办）》需要" in answer  # each line says which member needs it
    assert "开烘焙店“一件事”申请表" in answer  # what the bundle adds
    assert "联办免交" in answer and "一表填报" in answer  # what it waives, and why


def test_the_derived_list_keeps_the_stricter_form_once(tmp_path):
    kb = _kb_copy(tmp_path)
    # The sign member now also asks for the business licence, as an original.
    _replace(kb / "guides" / "demo-shop-sign.md", "materials:\n",
             "materials:\n  - name: 营业执照\n    form: 原件\n    copies: 1\n")
    from ingest.bundles import derive_all

    records, problems = derive_all(check_paths([kb]).records)
    bundle = next(r for r in records if r.id == "demo-bundle-bakery")
    licences = [m for m in bundle.materials if m.name == "营业执照"]
    assert problems == {} and len(licences) == 1
    assert licences[0].form == "原件"  # 原件 over 复印件
    assert licences[0].needed_by == ["《烘焙作坊登记证（新办）》", "《门店招牌设置备案》"]


def _client(engine, store: Path, tmp_path: Path):
    from fastapi.testclient import TestClient

    from bot.feedback import FeedbackStore
    from bot.web.app import create_app
    from ingest.settings import Settings

    settings = Settings(govbot_home=tmp_path / "home", govbot_knowledge_dir=tmp_path / "home" / "knowledge")
    feedback = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite3'}")
    return TestClient(create_app(engine, settings, store, feedback, upload_dir=tmp_path / "uploads"))


def test_web_page_and_printed_sheet_show_the_derived_list(small_engine, small_store, tmp_path):
    engine = small_engine
    client = _client(engine, small_store, tmp_path)
    bundle = engine.records["demo-bundle-bakery"]
    for url in (f"/items/{bundle.id}", f"/items/{bundle.id}/print"):
        html = client.get(url).text
        assert "从业人员健康证明" in html and "食品安全管理制度" in html, url
        assert "《烘焙作坊登记证（新办）》需要" in html, url
        assert "联办免交" in html, url


def test_check_rejects_a_hand_written_bundle_list_and_a_promise_without_member(tmp_path):
    kb = _kb_copy(tmp_path)
    bundle = kb / "bundles" / "demo-bundle-bakery.md"
    # A promise of an item that is a guide of the knowledge base but not a member.
    _replace(bundle, "summary: 把烘焙作坊登记证和门店招牌设置备案合并为一次申请",
             "summary: 把烘焙作坊登记证、门店招牌设置备案和单位社会保险登记合并为一次申请")
    _replace(bundle, "adds:\n", "materials:\n  - {name: 营业执照, form: 复印件}\nadds:\n")
    report = _check(kb)
    assert report["returncode"] == 1
    errors = "\n".join(report["errors"])
    assert str(bundle) in errors
    assert "materials 由成员事项的材料清单自动合并生成" in errors


def test_check_fails_a_bundle_promising_an_item_it_has_no_member_for(tmp_path):
    kb = _kb_copy(tmp_path)
    bundle = kb / "bundles" / "demo-bundle-bakery.md"
    _replace(bundle, "summary: 把烘焙作坊登记证和门店招牌设置备案合并为一次申请",
             "summary: 把烘焙作坊登记证、门店招牌设置备案和单位社会保险登记合并为一次申请")
    report = _check(kb)
    assert report["returncode"] == 1
    assert any(str(bundle) in e and "demo-social-insurance" in e for e in report["errors"]), report["errors"]


def test_check_fails_a_waiver_without_reason(tmp_path):
    kb = _kb_copy(tmp_path)
    bundle = kb / "bundles" / "demo-bundle-bakery.md"
    _replace(bundle, "    reason: 内容已并入“一件事”申请表，一表填报\n", "    reason: \"\"\n")
    report = _check(kb)
    assert report["returncode"] == 1
    assert any(str(bundle) in e and "reason 不能为空" in e for e in report["errors"]), report["errors"]


def test_check_fails_a_change_naming_no_member_material(tmp_path):
    kb = _kb_copy(tmp_path)
    bundle = kb / "bundles" / "demo-bundle-bakery.md"
    _replace(bundle, "  - material: 招牌设置备案表\n", "  - material: 不存在的材料\n")
    report = _check(kb)
    assert report["returncode"] == 1
    assert any(str(bundle) in e and "不存在的材料" in e for e in report["errors"]), report["errors"]


def test_shipped_bundles_keep_the_materials_the_fact_check_found_missing():
    from ingest.bundles import derive_all

    records, problems = derive_all(check_paths([ROOT / "knowledge"]).records)
    by_id = {r.id: r for r in records}
    assert problems == {}
    names = {bid: "\n".join(m.name for m in by_id[bid].materials) for bid in by_id if by_id[bid].kind == "bundle"}
    assert "场所消防设施平面图" in names["bundle-restaurant"] and "公司章程" in names["bundle-restaurant"]
    assert "减资公告情况说明" in names["bundle-info-change"] and "股权转让协议" in names["bundle-info-change"]
    assert "卫星定位装置安装及入网证明" in names["bundle-transport"]
    assert "施工图设计文件审查合格书" in names["bundle-project-start"]
    assert "施工图设计文件审查合格书" in names["bundle-construction-permit"]
    assert "近三个会计年度的财务会计报告" in names["bundle-tech-innovation"]
    assert "预留银行签章" in names["bundle-company-open"] and "营业执照正本" in names["bundle-company-open"]
    assert "即办清税证明承诺书" in names["bundle-company-cancel"]


# ----------------------------------------------------------------------------- policies

@pytest.fixture(scope="module")
def expired_engine(tmp_path_factory: pytest.TempPathFactory):
    """The fixture knowledge base with the hiring subsidy ended on 2025-12-31."""
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    kb = _kb_copy(tmp_path_factory.mktemp("expired"))
    policy = kb / "policies" / "demo-policy-hiring.md"
    _replace(policy, "valid_from: 2026-01-01\nvalid_until: 2027-12-31", "valid_from: 2025-01-01\nvalid_until: 2025-12-31")
    store = kb.parent / "index"
    summary = ingest([kb], store, load_embeddings("hash"))
    assert not summary.failed
    return Engine(store), kb


def test_an_expired_policy_is_answered_as_expired(expired_engine):
    engine, _ = expired_engine
    answer = engine.ask("新招员工一次性岗位补贴能拿多少").answer
    assert "已到期" in answer and "2025-12-31" in answer
    assert answer.index("已到期") < answer.index("每新招用1名员工")  # said before the amount
    assert "接续政策" in answer


def test_a_current_policy_states_its_period(small_engine):
    answer = small_engine.ask("新招员工一次性岗位补贴能拿多少").answer
    assert "已到期" not in answer and "2026-01-01 至 2027-12-31" in answer


def test_the_matcher_never_lists_an_expired_policy_as_eligible(expired_engine):
    from bot.matcher import match_data, render_text

    engine, _ = expired_engine
    profile = {"in_zone": True, "new_hires": 20, "industry": "制造业", "employees": 50}
    result = match_data(profile, engine.records, today=TODAY)
    assert "demo-policy-hiring" not in [v.id for v in result.eligible]
    text = render_text(result)
    assert "新招员工一次性岗位补贴" in text.split("【不适用】")[1] and "2025-12-31" in text
    # The same profile a year earlier: the policy was in force.
    earlier = match_data(profile, engine.records, today=date(2025, 6, 1))
    assert "demo-policy-hiring" in [v.id for v in earlier.eligible]


def test_check_warns_on_an_expired_policy_and_one_without_validity(tmp_path):
    kb = _kb_copy(tmp_path)
    _replace(kb / "policies" / "demo-policy-hiring.md", "valid_until: 2027-12-31", "valid_until: 2025-12-31")
    rd = kb / "policies" / "demo-policy-rd.md"
    _replace(rd, "valid_from: 2026-01-01\nvalid_until: 2027-12-31\nvalidity_basis: 示例园区管委会政策通知（示例）\n", "")
    report = check_paths([kb], today=TODAY)
    assert report.errors == []
    warnings = "\n".join(report.warnings)
    assert "demo-policy-hiring.md" in warnings and "2025-12-31 到期" in warnings
    assert "demo-policy-rd.md" in warnings and "未写明有效期" in warnings


def test_a_bad_validity_date_is_a_clear_error(tmp_path):
    kb = _kb_copy(tmp_path)
    policy = kb / "policies" / "demo-policy-hiring.md"
    _replace(policy, "valid_until: 2027-12-31", "valid_until: 2027年底")
    report = _check(kb)
    assert report["returncode"] == 1
    assert any(str(policy) in e and "YYYY-MM-DD" in e for e in report["errors"]), report["errors"]


def test_shipped_policies_that_ended_are_answered_as_ended(monkeypatch):
    from bot import compose
    from ingest import validity

    records = {r.id: r for r in check_paths([ROOT / "knowledge"]).records}
    for pid in ("policy-stable-jobs-return", "policy-job-expansion"):
        assert validity.status(records[pid], TODAY) == "expired", pid
        text = compose.compose(records[pid], "subsidy", records).text + compose.source_line(records[pid])
        assert "已到期" in text and "2025-12-31" in text
    assert validity.status(records["policy-small-profit-tax"], TODAY) == "current"
    assert "不超过300万元的部分" not in records["policy-small-profit-tax"].amount


def test_the_matcher_asks_no_new_hire_of_a_guarantee_loan_applicant():
    """Before: min_new_hires: 1 made every applicant, individuals too, 'lack' a new hire."""
    from bot.matcher import conditions_for, parse_profile

    records = {r.id: r for r in check_paths([ROOT / "knowledge"]).records}
    policy = records["policy-guarantee-loan-interest"]
    profile, errors = parse_profile({"new_hires": 0, "employees": 3}, list(records.values()))
    assert not errors and profile is not None
    assert all(c.key != "min_new_hires" for c in conditions_for(policy.eligibility, profile))


# ----------------------------------------------------------------------------- sources

def test_source_origin_is_computed_from_the_address():
    from ingest.provenance import origin

    assert origin("http://credit.zg.gov.cn/373/4573.html").scope == "zigong"
    assert origin("https://www.sczwfw.gov.cn/").scope == "sichuan"
    assert origin("https://flk.npc.gov.cn/").scope == "national"
    assert origin("http://www.beijing.gov.cn/x.html").label == "北京市"
    assert origin("http://tyj.cngy.gov.cn/a").scope == "other_region"  # Sichuan, but not Zigong
    assert origin("https://unknown-county.gov.cn/").scope == "other_region"
    assert origin("000_3af28a7629a8b246.txt").scope == "seed"


def test_a_record_on_another_regions_page_says_so_in_answer_page_and_sheet(engine, kb_store, tmp_path):
    record = engine.records["company-archive-query"]  # rests on a Shanghai page
    answer = engine.ask("企业登记档案查询需要什么材料").answer
    assert "外地政府网站（上海市）" in answer and "以窗口核实为准" in answer
    client = _client(engine, kb_store, tmp_path)
    for url in (f"/items/{record.id}", f"/items/{record.id}/print"):
        html = client.get(url).text
        assert "外地政府网站（上海市）" in html and "外地：上海市" in html, url

"""Policy matcher: hand-written expectations per profile (tests/profiles), thresholds, bad input, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from bot.matcher import (
    CERT_CHOICES,
    FIELD_LABELS,
    Profile,
    as_json,
    cert_choices,
    known_certs,
    known_industries,
    load_policies,
    load_profile,
    match,
    match_data,
    parse_profile,
    plain_labels,
    render_text,
    typed_value,
)
from ingest.check import check_paths
from ingest.schema import Eligibility, Record

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
PROFILES = Path(__file__).resolve().parent / "profiles"
CASES = sorted(p.stem for p in (PROFILES / "expected").glob("*.json"))
PERSONS_ONLY = {"policy-science-award", "policy-talent-subsidy"}


@pytest.fixture(scope="module")
def policies() -> list[Record]:
    report = check_paths([KNOWLEDGE])
    assert report.errors == []
    return [r for r in report.records if r.kind == "policy"]


def _expected(name: str) -> dict:
    return json.loads((PROFILES / "expected" / f"{name}.json").read_text(encoding="utf-8"))


def _profile_path(name: str) -> Path:
    return PROFILES / _expected(name).get("profile_file", f"{name}.json")


def _run(name: str, policies: list[Record]):
    profile, errors = load_profile(_profile_path(name), policies)
    result = match(profile, policies) if profile is not None else match(Profile(), [])
    result.profile_errors = errors
    return result


def test_enough_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_profile_case(name: str, policies: list[Record]):
    expected = _expected(name)
    result = _run(name, policies)
    assert sorted(v.id for v in result.eligible) == expected["eligible"], render_text(result)
    near = {v.id: v.missing for v in result.near}
    assert sorted(near) == sorted(expected["near"]), near
    for policy_id, fragment in expected["near"].items():
        assert fragment in near[policy_id], (policy_id, near[policy_id])
    if "undecided" in expected:
        assert {v.id: v.needs for v in result.undecided} == expected["undecided"]
    if "not_applicable" in expected:
        assert sorted(v.id for v in result.not_applicable) == expected["not_applicable"]
    if expected["errors"]:
        for fragment in expected["errors"]:
            assert any(fragment in e for e in result.profile_errors), (fragment, result.profile_errors)
    else:
        assert result.profile_errors == []
    # Every policy gets exactly one verdict once a profile was read; persons-only ones never qualify.
    verdicts = [v.id for bucket in (result.eligible, result.near, result.undecided, result.not_applicable)
                for v in bucket]
    assert len(verdicts) == len(set(verdicts))
    if result.eligible or result.undecided or result.near:
        assert set(verdicts) == {p.id for p in policies}
    assert not PERSONS_ONLY & {v.id for v in result.eligible + result.near}


# ----------------------------------------------------------------------------- thresholds

def _policy(**conditions) -> Record:
    return Record(id="test-policy", kind="policy", title="测试政策", amount="最高10万元",
                  how_to_apply=["第一步", "第二步"], eligibility=Eligibility(**conditions))


THRESHOLDS = [
    # (eligibility condition, profile field, value at the threshold, value one step beyond, expected message)
    ({"min_rd_ratio": 0.03}, "rd_ratio", 0.03, 0.02, "研发投入占比需不低于3%，当前为2%"),
    ({"min_employees": 10}, "employees", 10, 9, "员工人数需不少于10人，当前为9人"),
    ({"max_employees": 300}, "employees", 300, 301, "员工人数需不超过300人，当前为301人"),
    ({"min_revenue_wan": 2000}, "revenue_wan", 2000, 1999, "年营业收入需不低于2000万元，当前为1999万元"),
    ({"max_revenue_wan": 5000}, "revenue_wan", 5000, 5001, "年营业收入需不超过5000万元，当前为5001万元"),
    ({"min_new_hires": 5}, "new_hires", 5, 4, "本年新招用人数需不少于5人，当前为4人"),
    ({"min_fixed_asset_investment_wan": 1000}, "fixed_asset_investment_wan", 1000, 999.5,
     "固定资产投资需不低于1000万元，当前为999.5万元"),
    ({"founded_after_year": 2020}, "founded_year", 2020, 2019, "成立年份须在2020年或之后，当前为2019年"),
]


@pytest.mark.parametrize(("condition", "field", "at", "beyond", "message"), THRESHOLDS)
def test_threshold_equal_passes_one_beyond_is_named(condition, field, at, beyond, message):
    policy = _policy(**condition)
    assert [v.id for v in match(Profile(**{field: at}), [policy]).eligible] == ["test-policy"]
    near = match(Profile(**{field: beyond}), [policy]).near
    assert [v.missing for v in near] == [message]
    undecided = match(Profile(), [policy]).undecided
    assert [v.needs for v in undecided] == [[field]]


def test_two_unmet_is_not_applicable_and_both_are_named():
    policy = _policy(in_zone=True, min_rd_ratio=0.03)
    result = match(Profile(in_zone=False, rd_ratio=0.01), [policy])
    assert [v.id for v in result.not_applicable] == ["test-policy"]
    assert "须在自贡高新区注册" in result.not_applicable[0].missing
    assert "研发投入占比需不低于3%，当前为1%" in result.not_applicable[0].missing


def test_one_unmet_with_a_missing_field_is_undecided_and_says_both():
    result = match(Profile(in_zone=False), [_policy(in_zone=True, min_employees=10)])
    assert [v.needs for v in result.undecided] == [["employees"]]
    assert "须在自贡高新区注册" in result.undecided[0].missing


def test_certifications_all_and_any():
    policy = _policy(certifications_all=["高新技术企业", "专精特新"])
    near = match(Profile(certifications=["高企"]), [policy]).near
    assert [v.missing for v in near] == ["须具备专精特新资质，当前资质与身份：高新技术企业"]
    assert match(Profile(certifications=[]), [policy]).not_applicable  # both missing: two conditions
    either = _policy(certifications_any=["科技型中小企业", "专精特新"])
    assert match(Profile(certifications="科小、规上"), [either]).eligible  # a string is split; synonyms resolved


def test_industry_family_works_downwards_only():
    policy = _policy(industries=["新能源"])
    assert match(Profile(industry="钠电"), [policy]).eligible
    narrow = _policy(industries=["钠离子电池"])
    assert match(Profile(industry="新能源"), [narrow]).near


def test_persons_only_policy_is_never_eligible(policies):
    everything = Profile(industry="新能源", in_zone=True, employees=100, revenue_wan=5000, founded_year=2020,
                         certifications=["高新技术企业", "规模以上企业", "小型微利企业", "专精特新"],
                         taxpayer="一般纳税人", rd_ratio=0.1, new_hires=10, fixed_asset_investment_wan=1000)
    result = match(everything, policies)
    reasons = {v.id: v.missing for v in result.not_applicable}
    # Besides persons-only policies, only those that ended (issue 11) are not applicable to this profile.
    expired = {"policy-job-expansion", "policy-stable-jobs-return"}
    assert set(reasons) == PERSONS_ONLY | expired
    assert all("个人" in reasons[pid] for pid in PERSONS_ONLY)
    assert all("已经到期" in reasons[pid] for pid in expired)


def test_negative_industry_list_excludes_narrower_industries_too():
    taxed = Record(id="x-deduction", kind="policy", title="加计扣除",
                   eligibility=Eligibility(excluded_industries=["批发和零售业", "住宿和餐饮业"]))
    assert match(Profile(industry="零售"), [taxed]).near[0].missing.startswith("所属行业不得为：批发和零售业")
    assert match(Profile(industry="餐饮"), [taxed]).near
    assert match(Profile(industry="制造业"), [taxed]).eligible
    assert match(Profile(in_zone=True), [taxed]).undecided[0].needs == ["industry"]


def test_real_negative_list_keeps_catering_out_of_the_rd_super_deduction(policies):
    # Regression: a 餐饮 company was told it qualified for 研发费用加计扣除, whose negative list names 住宿和餐饮业.
    result = match(Profile(industry="餐饮", in_zone=True), policies)
    assert "policy-rd-super-deduction" not in [v.id for v in result.eligible]
    assert "policy-rd-super-deduction" in [v.id for v in result.near]


def test_policy_with_nothing_a_profile_can_decide_is_not_promised_to_everyone(policies):
    # Regression: policies whose conditions exist only in prose came out "eligible" for an empty profile.
    result = match(Profile(industry="制造业", in_zone=True), policies)
    undecided = {v.id: v for v in result.undecided}
    for policy_id in ("policy-jiebang", "policy-specialized-new"):  # stable-jobs-return has ended (issue 11)
        assert policy_id in undecided and policy_id not in [v.id for v in result.eligible]
        assert "无法按企业档案自动判断" in undecided[policy_id].missing
    assert "无法按企业档案自动判断" in render_text(result)


def test_applicant_field_is_honoured_when_a_schema_adds_it():
    class Future(Eligibility):
        applicant: str = "enterprise"

    person = Record(id="x-person", kind="policy", title="个人奖", eligibility=Future(applicant="person"))
    assert match(Profile(), [person]).not_applicable


def test_policy_without_eligibility_block_is_undecided():
    bare = Record(id="bare", kind="policy", title="无条件政策")
    result = match(Profile(in_zone=True), [bare, Record(id="g", kind="guide", title="办事指南")])
    assert [v.id for v in result.undecided] == ["bare"] and not result.eligible
    # The same message as a block with nothing a profile can decide.
    assert result.undecided[0].missing == "申报条件无法按企业档案自动判断，请对照申报条件原文"


def test_cert_choices_are_the_usual_ones_then_the_policies_own():
    special = Record(id="x-gazelle", kind="policy", title="瞪羚奖",
                     eligibility=Eligibility(certifications_any=["瞪羚企业", "高企", "一般纳税人"]))
    choices = cert_choices([special])
    assert choices == [*CERT_CHOICES, "瞪羚企业"]  # 高企 is 高新技术企业; taxpayer types are asked apart
    assert cert_choices() == list(CERT_CHOICES)
    assert {"瞪羚企业", "增值税一般纳税人", "高新技术企业"} <= known_certs([special])
    assert "瞪羚企业" not in known_certs()


# ----------------------------------------------------------------------------- profile validation

def test_profile_model_rejects_contradictions_and_bad_values_in_chinese():
    with pytest.raises(ValidationError, match="多于 employees"):
        Profile(employees=5, new_hires=10)
    with pytest.raises(ValidationError, match="0.05"):
        Profile(rd_ratio=5)
    with pytest.raises(ValidationError):
        Profile(rd_ratio=1.5e3)
    assert Profile(rd_ratio="5%").rd_ratio == pytest.approx(0.05)
    assert Profile(rd_ratio=1).rd_ratio == 1


def test_parse_profile_keeps_good_fields_and_names_bad_ones(policies):
    profile, errors = parse_profile({"in_zone": True, "employees": 12.5, "rd_ratio": -0.1,
                                     "revenue_wan": 0, "fixed_asset_investment_wan": float("nan")}, policies)
    assert profile is not None and profile.in_zone is True and profile.revenue_wan == 0
    assert profile.employees is None and profile.rd_ratio is None
    joined = "\n".join(errors)
    assert "employees（员工人数）须为整数" in joined
    assert "rd_ratio" in joined and "不能为负数" in joined
    assert "fixed_asset_investment_wan" in joined


def test_rd_ratio_with_zero_revenue_is_contradictory():
    profile, errors = parse_profile({"revenue_wan": 0, "rd_ratio": 0.05})
    assert profile is not None and profile.rd_ratio is None and profile.revenue_wan is None
    assert any("revenue_wan" in e for e in errors)


# ----------------------------------------------------------------------------- typed answers (web form, chat)

@pytest.mark.parametrize(("field", "text", "expected"), [
    ("employees", "120", 120), ("employees", "120人", 120), ("employees", "１２０人", 120), ("new_hires", "15名", 15),
    ("revenue_wan", "８０００万元", 8000), ("revenue_wan", "8000万", 8000), ("revenue_wan", "8,000", 8000),
    ("revenue_wan", "8,000万元", 8000), ("revenue_wan", "8 000", 8000), ("revenue_wan", "1.2亿", 12000),
    ("fixed_asset_investment_wan", "0.35亿元", 3500), ("revenue_wan", "1.5万", 1.5),
    ("founded_year", "2019年", 2019), ("rd_ratio", "0.05", 0.05), ("employees", "-5", -5),
])
def test_typed_value_reads_everyday_notation(field, text, expected):
    value = typed_value(field, text)
    assert value == expected and type(value) is type(expected)  # a whole number stays an int: "-5", not "-5.0"


@pytest.mark.parametrize(("field", "text", "message"), [
    ("revenue_wan", "8000元", '“年营业收入（万元）”须为数字（收到："8000元"）'),  # yuan, never read as 万元
    ("revenue_wan", "abc", '“年营业收入（万元）”须为数字（收到："abc"）'),
    ("employees", "abc", '“员工人数”须为整数（收到："abc"）'),
    ("employees", "120,8000", '“员工人数”须为整数（收到："120,8000"）'),  # not a thousands separator
    ("employees", "1.2亿", '“员工人数”须为整数（收到："1.2亿"）'),  # 亿 is for the 万元 fields only
    ("founded_year", "2019人", '“成立年份”须为整数（收到："2019人"）'),  # another field's unit
    ("employees", "人", '“员工人数”须为整数（收到："人"）'),
])
def test_typed_value_leaves_the_rest_for_the_matcher_to_name(field, text, message):
    assert typed_value(field, text) == text
    profile, errors = parse_profile({field: typed_value(field, text)})
    assert profile is not None and getattr(profile, field) is None
    assert [plain_labels(e) for e in errors] == [message]
    assert errors[0].startswith(f"{field}（{FIELD_LABELS[field]}）")  # the CLI's wording keeps the key


@pytest.mark.parametrize("text", ["5%", "５％", " 5 % "])
def test_typed_percent_is_read_by_the_matcher(text):
    value = typed_value("rd_ratio", text)
    assert isinstance(value, str)
    profile, errors = parse_profile({"rd_ratio": value})
    assert errors == [] and profile is not None and profile.rd_ratio == pytest.approx(0.05)


def test_typed_value_of_text_fields_is_the_text():
    assert typed_value("industry", " 钠电 ") == "钠电"
    assert typed_value("certifications", "高企，瞪羚企业") == "高企,瞪羚企业"  # NFKC; the matcher splits it


def test_plain_labels_name_fields_as_people_see_them():
    assert plain_labels('employees（员工人数）不能为负数（收到：-5）') == "“员工人数”不能为负数（收到：-5）"
    assert plain_labels("industry（所属行业）“钢铁”无法识别") == "所属行业“钢铁”无法识别"  # no two quotes in a row
    assert (plain_labels("new_hires（本年新招用人数）为20，多于 employees（员工人数）10")
            == "“本年新招用人数”为20，多于“员工人数”10")
    assert plain_labels("需要补充：revenue_wan（年营业收入，万元）、rd_ratio（研发投入占营业收入比例，0到1的小数）") == (
        "需要补充：“年营业收入（万元）”、“研发投入占比”")
    assert plain_labels("certifications（资质与身份） 第2项须为文字") == "“资质与身份”第2项须为文字"
    assert plain_labels("min_employees（员工人数下限）") == "min_employees（员工人数下限）"  # not a profile field


def test_render_text_plain_is_for_people(policies):
    for name in ("partial-in-zone", "employees-301", "negative-numbers", "empty"):
        result = _run(name, policies)
        keyed, plain = render_text(result), render_text(result, plain=True)
        assert plain.count("\n") == keyed.count("\n")  # the same lines, none joined
        assert "policy-" not in plain and not any(f"{key}（" in plain for key in FIELD_LABELS), plain
    plain = render_text(_run("partial-in-zone", policies), plain=True)
    assert "支持新能源产业集群发展专项政策：需要补充：“所属行业”" in plain
    assert "补充以下信息可判断更多政策：“所属行业”、" in plain
    assert "· “员工人数”不能为负数" in render_text(_run("negative-numbers", policies), plain=True)


def test_known_industries_start_with_the_policies_own(policies):
    known = known_industries(policies)
    assert known[:7] == ["新能源", "钠离子电池", "锂电池", "储能", "光伏", "电池材料", "电池装备"]
    assert "制造业" in known and "批发和零售业" in known


def test_match_data_for_channels(policies):
    by_id = {p.id: p for p in policies}  # Engine.records is a dict by id
    result = match_data({"industry": "光伏", "in_zone": True}, by_id)
    assert "policy-new-energy-cluster" in {v.id for v in result.eligible}
    unknown = match_data({"industry": "星际采矿"}, by_id).profile_errors
    assert len(unknown) == 1 and "政策所列行业：新能源、钠离子电池" in unknown[0]
    assert match_data("not a dict", policies).profile_errors


# ----------------------------------------------------------------------------- output

def test_as_json_shape(policies):
    result = _run("full-sodium-hnte", policies)
    data = as_json(result)
    assert set(data) == {"eligible", "near", "profile_errors", "undecided"}
    assert all(set(item) == {"id", "title", "amount", "how"} for item in data["eligible"])
    assert all(set(item) == {"id", "title", "missing"} for item in data["near"])
    hnte = next(item for item in data["eligible"] if item["id"] == "policy-hnte-award")
    assert hnte["amount"] == "首次通过国家认定的高新技术企业，奖励20万元"
    assert hnte["how"].startswith("按国家高新技术企业认定程序提交认定申请；")
    json.dumps(data, ensure_ascii=False)


def test_render_text_cites_policies_and_conditions(policies):
    text = render_text(_run("employees-301", policies))
    assert "【符合条件】" in text and "【差一项条件】" in text and "【不适用】" in text
    assert "小型微利企业所得税优惠（policy-small-profit-tax）" in text
    assert "员工人数需不超过300人，当前为301人" in text
    partial = render_text(_run("partial-in-zone", policies))
    assert "【信息不足，暂无法判断】" in partial and "employees（员工人数）" in partial
    bad = render_text(_run("broken", policies))
    assert "【企业档案有问题】" in bad and "不是有效的 JSON" in bad


# ----------------------------------------------------------------------------- CLI

def _cli(profile: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"GOVBOT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "bot.cli", "match", "--profile", str(profile), *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


@pytest.mark.parametrize("name", ["full-sodium-hnte", "partial-in-zone", "empty", "unknown-industry", "broken",
                                  "missing-file", "not-object", "negative-numbers"])
def test_cli_json(name: str, tmp_path: Path, policies: list[Record]):
    proc = _cli(_profile_path(name), tmp_path, "--json")
    data = json.loads(proc.stdout)
    assert set(data) >= {"eligible", "near", "profile_errors"}
    assert data == as_json(_run(name, policies))
    expected = _expected(name)
    assert proc.returncode == (1 if expected["errors"] else 0), proc.stderr
    assert sorted(item["id"] for item in data["eligible"]) == expected["eligible"]
    assert "政策来源：知识文件" in proc.stderr


def test_cli_text(tmp_path: Path):
    proc = _cli(PROFILES / "employees-300.json", tmp_path)
    assert proc.returncode == 0
    assert "【符合条件】" in proc.stdout and "policy-small-profit-tax" in proc.stdout


def test_cli_prefers_the_current_index(tmp_path: Path):
    # A minimal generation on disk, written the way ingest.index writes one.
    store = tmp_path / "index"
    generation = store / "generations" / "g1"
    generation.mkdir(parents=True)
    (generation / "manifest.json").write_text(json.dumps({"embedder": "none"}), encoding="utf-8")
    record = Record(id="only-policy", kind="policy", title="索引里的政策", eligibility=Eligibility(in_zone=True))
    (generation / "records.jsonl").write_text(record.model_dump_json() + "\n", encoding="utf-8")
    (generation / "chunks.jsonl").write_text("", encoding="utf-8")
    np.save(generation / "vectors.npy", np.zeros((0, 4), dtype=np.float32))
    (store / "CURRENT").write_text("g1", encoding="utf-8")
    assert [r.id for r in load_policies(store, KNOWLEDGE)[0]] == ["only-policy"]
    profile = tmp_path / "p.json"
    profile.write_text('{"in_zone": true}', encoding="utf-8")
    proc = _cli(profile, tmp_path, "--json", "--store", str(store))
    assert proc.returncode == 0, proc.stderr
    assert [item["id"] for item in json.loads(proc.stdout)["eligible"]] == ["only-policy"]
    assert "政策来源：当前索引 g1" in proc.stderr


def test_vat_status_is_not_inferred_from_other_certifications(policies):
    # Regression: ticking 高新技术企业 without answering the taxpayer question put 留抵退税 under
    # 差一项 (须为增值税一般纳税人) as if the company had said it was not a general taxpayer.
    result = match(Profile(in_zone=True, certifications=["高新技术企业"]), policies)
    undecided = {v.id: v.needs for v in result.undecided}
    assert undecided.get("policy-vat-refund") == ["taxpayer"]
    assert "policy-vat-refund" not in [v.id for v in result.near]
    small = match(Profile(in_zone=True, certifications=["增值税小规模纳税人"]), policies)
    assert "policy-vat-refund" in [v.id for v in small.near]  # the other type listed does decide it


def test_an_absurdly_large_number_is_a_clear_error_not_a_crash():
    # 10^309 employees used to pass validation and fail with OverflowError while the result was
    # formatted (a 500 on /api/match, a dead /match in Telegram, which goes through parse_profile too).
    from bot.matcher import match, parse_profile

    profile, errors = parse_profile({"employees": 10**309, "in_zone": True})
    assert profile is not None and profile.employees is None and profile.in_zone is True
    assert len(errors) == 1 and "员工人数" in errors[0] and "不能大于" in errors[0] and len(errors[0]) < 120
    match(profile, [])  # the rest of the profile is still usable

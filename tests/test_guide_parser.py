"""Tests for ingest.guide_parser: section recognition and structured fields from document blocks."""

from __future__ import annotations

import pytest

from ingest.guide_parser import (
    Block,
    classify_heading,
    material_from_line,
    materials_from_table,
    normalise_form,
    parse_guide,
)


def _p(text: str) -> Block:
    return Block("paragraph", text=text)


def _h(text: str, level: int = 2) -> Block:
    return Block("heading", level=level, text=text)


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("一、申请材料", "materials"),
        ("1. 申请材料", "materials"),
        ("【申请材料】", "materials"),
        ("申請材料", "materials"),
        ("所需材料：", "materials"),
        ("（三）办理流程", "process"),
        ("辦理程序", "process"),
        ("二、受理条件", "conditions"),
        ("申请人条件", "conditions"),
        ("法定办结时限", "time"),
        ("承诺时限", "time"),
        ("收费标准", "fee"),
        ("是否收费", "fee"),
        ("办理地点", "where"),
        ("窗口地址", "where"),
        ("咨询电话", "phone"),
        ("監督電話", "phone"),
        ("设定依据", "basis"),
        ("办理时间", "hours"),
        ("网上办理", "online"),
        ("办理网址", "online"),
        ("常见问题", None),
        ("事项名称", None),
    ],
)
def test_classify_heading(heading: str, key: str | None) -> None:
    assert classify_heading(heading) == key


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("原件", "原件"),
        ("复印件", "复印件"),
        ("原件和复印件", "原件及复印件"),
        ("原件、复印件", "原件及复印件"),
        ("原件或复印件", "原件或复印件"),
        ("電子件", "电子件"),
        ("电子版", "电子件"),
        ("影印件", "复印件"),
        ("纸质", ""),
    ],
)
def test_normalise_form(text: str, form: str) -> None:
    assert normalise_form(text) == form


def test_material_from_numbered_line() -> None:
    material = material_from_line("1.《食品经营许可申请书》原件1份")
    assert material is not None
    assert (material.name, material.form, material.copies) == ("食品经营许可申请书", "原件", 1)

    both = material_from_line("（2）法定代表人身份证原件及复印件各一份")
    assert both is not None
    assert (both.name, both.form, both.copies, both.notes) == ("法定代表人身份证", "原件及复印件", 1, "")

    plain = material_from_line("3、场所使用证明")
    assert plain is not None
    assert (plain.name, plain.form, plain.copies) == ("场所使用证明", "", None)


def test_materials_table_with_separate_original_and_copy_columns() -> None:
    rows = [
        ["序号", "材料名称", "纸质材料", "", "是否容缺", "备注"],
        ["", "", "原件", "复印件", "", ""],
        ["1", "营业执照", "1", "0", "否", ""],
        ["2", "身份证", "1", "2", "是", "核验后退还"],
        ["3", "户口簿", "1", "1", "", ""],
        ["4", "委托书", "", "2", "", ""],
    ]
    materials = materials_from_table(rows)
    assert materials is not None
    by_name = {m.name: m for m in materials}
    assert by_name["营业执照"].form == "原件" and by_name["营业执照"].copies == 1
    assert by_name["身份证"].form == "原件及复印件" and by_name["身份证"].tolerance is True
    assert by_name["身份证"].notes == "核验后退还；原件：1；复印件：2"
    assert by_name["户口簿"].form == "原件及复印件" and by_name["户口簿"].copies == 1
    assert by_name["委托书"].form == "复印件" and by_name["委托书"].copies == 2


def test_non_materials_table_is_not_read_as_materials() -> None:
    assert materials_from_table([["申请材料", "营业执照"], ["办理时限", "3个工作日"]]) is None


def test_parse_guide_from_text_lines() -> None:
    blocks = [
        _p("食品经营许可办事指南"),
        _p("一、受理条件"),
        _p("1.具有与经营的食品品种相适应的场所"),
        _p("二、申请材料"),
        _p("申请人需提交以下材料："),
        _p("1.《食品经营许可申请书》原件1份"),
        _p("2.营业执照复印件2份（加盖公章）"),
        _p("三、办理流程"),
        _p("申请—受理—审查—决定"),
        _p("四、办结时限"),
        _p("法定办结时限：20个工作日，承诺办结时限：五个工作日"),
        _p("办理地点：自贡高新区政务服务中心"),
        _p("咨询电话：0813-0000000"),
        _p("收费标准：不收费"),
        _p("设定依据：《中华人民共和国食品安全法》"),
    ]
    record = parse_guide("食品经营许可办事指南", blocks, "doc-food", "/tmp/food.txt")
    assert record.kind == "guide"
    assert record.conditions == ["具有与经营的食品品种相适应的场所"]
    assert [(m.name, m.form, m.copies) for m in record.materials] == [
        ("食品经营许可申请书", "原件", 1),
        ("营业执照", "复印件", 2),
    ]
    assert record.materials[1].notes == "加盖公章"
    assert record.process == ["申请—受理—审查—决定"]
    assert record.time_limit is not None
    assert (record.time_limit.legal_days, record.time_limit.promised_days) == (20, 5)
    assert record.where is not None and record.where.address == "自贡高新区政务服务中心"
    assert record.phone == "0813-0000000"
    assert record.fee == "不收费"
    assert record.legal_basis == ["《中华人民共和国食品安全法》"]
    # Nothing is lost: every line is in some section.
    all_text = "\n".join(s.heading + "\n" + s.text for s in record.sections)
    for block in blocks:
        assert block.text in all_text or block.text.split("：", 1)[-1] in all_text


def test_key_value_table_sections() -> None:
    blocks = [
        _h("企业登记", 1),
        Block(
            "table",
            rows=[
                ["事项类型", "行政许可"],
                ["承诺时限", "3个工作日"],
                ["法定时限", "20个工作日"],
                ["是否收费", "否"],
                ["办理窗口", "综合受理窗口"],
                ["受理时间", "工作日 9:00-17:00"],
            ],
        ),
    ]
    record = parse_guide("企业登记", blocks, "doc-reg", "x.html")
    assert record.kind == "guide"
    assert record.time_limit is not None
    assert (record.time_limit.promised_days, record.time_limit.legal_days) == (3, 20)
    assert record.fee == "是否收费：否"
    assert record.where is not None
    assert (record.where.window, record.where.hours) == ("综合受理窗口", "工作日 9:00-17:00")
    assert any(s.key == "body" and "事项类型" in s.text for s in record.sections)


def test_time_without_qualifier_goes_to_notes() -> None:
    blocks = [_p("办理时限：5个工作日"), _p("收费标准：不收费")]
    record = parse_guide("某事项", blocks, "doc-t", "t.txt")
    assert record.time_limit is not None
    # "办理时限" says neither 法定 nor 承诺: we do not guess which one it is.
    assert record.time_limit.legal_days is None and record.time_limit.promised_days is None
    assert "5个工作日" in record.time_limit.notes


def test_traditional_text_kept_and_recognised() -> None:
    blocks = [
        _p("一、申請材料"),
        _p("1. 營業執照複印件1份"),
        _p("二、辦理時限"),
        _p("承諾辦結時限：3個工作日"),
    ]
    record = parse_guide("營業執照辦理指南", blocks, "doc-tw", "tw.txt")
    assert record.kind == "guide"
    assert record.sections[0].heading == "一、申請材料"
    assert record.materials[0].name == "營業執照"  # kept as written
    assert record.materials[0].form == "复印件"  # normalised schema value
    assert record.time_limit is not None and record.time_limit.promised_days == 3


def test_unrecognised_document_keeps_text() -> None:
    blocks = [_h("关于开展2026年度评优工作的通知", 1), _p("各有关单位："), _p("现将有关事项通知如下。")]
    record = parse_guide("关于开展2026年度评优工作的通知", blocks, "doc-n", "n.md")
    assert record.kind == "document"
    assert record.materials == [] and record.time_limit is None
    text = "\n".join(s.text for s in record.sections)
    assert "各有关单位：" in text and "现将有关事项通知如下。" in text
    assert all(s.key == "body" for s in record.sections)


def test_single_recognised_section_is_still_a_document() -> None:
    blocks = [_p("申请材料"), _p("1. 营业执照复印件1份")]
    record = parse_guide("说明", blocks, "doc-one", "one.txt")
    assert record.kind == "document"
    assert record.sections[0].key == "materials"
    assert "营业执照复印件1份" in record.sections[0].text


def test_sentence_mentioning_a_section_is_not_a_heading() -> None:
    blocks = [
        _p("申请材料"),
        _p("1. 申请材料真实性承诺书原件1份"),
        _p("受理条件"),
        _p("依法设立的企业"),
    ]
    record = parse_guide("x", blocks, "doc-s", "s.txt")
    assert [m.name for m in record.materials] == ["申请材料真实性承诺书"]

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


def test_the_name_field_of_the_page_is_a_name_of_the_item() -> None:
    # Portals title a page "公司变更登记 - 广州市网上办事大厅" or "某县 X 办事指南" and give the item's
    # name in a field of its own; people ask by that name, so it is an alias (material and result
    # names are not).
    blocks = [
        Block("table", rows=[["通用事项名称", "公司变更登记", "事项类型", "行政许可"],
                             ["结果名称", "营业执照"], ["承诺时限", "3个工作日"], ["是否收费", "否"]]),
        _p("目录清单名称：第二类医疗器械经营备案"),
        Block("table", rows=[["序号", "材料名称", "份数"], ["1", "申请书", "1"]]),
    ]
    record = parse_guide("公司变更登记 - 广州市网上办事大厅", blocks, "doc-change", "x.html")
    assert record.aliases == ["公司变更登记", "第二类医疗器械经营备案"]
    empty = parse_guide("某县 人力资源服务许可 办事指南", [Block("table", rows=[["事项名称", "—"]])], "d", "y.html")
    assert empty.aliases == []


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


# --------------------------------------------------------------------------- portal layouts


def _section_text(record) -> str:  # noqa: ANN001 - a Record
    return "\n".join(f"{s.heading}\n{s.text}" for s in record.sections)


def test_dash_and_empty_cells_state_nothing() -> None:
    blocks = [
        _h("基本信息"),
        Block(
            "table",
            rows=[
                ["承诺办结时限", "—", "法定办结时限", "20个工作日"],
                ["是否收费", "—", "咨询电话", ""],
                ["办理地点", "空", "实施机关", "某县市场监督管理局"],
            ],
        ),
    ]
    record = parse_guide("某事项", blocks, "doc-dash", "d.html")
    assert record.time_limit is not None
    assert record.time_limit.promised_days is None  # a dash is never 0 days
    assert record.time_limit.legal_days == 20
    assert "0个工作日" not in record.time_limit.notes
    assert record.fee == "" and record.phone == "" and record.where is None
    assert record.department == "某县市场监督管理局"
    assert not any(s.key == "fee" for s in record.sections)  # no section claims a fee the page omits
    assert "是否收费：—" in _section_text(record)  # but the text is kept


def test_numbered_label_lines_each_open_their_field() -> None:
    blocks = [
        _p("一、基本信息"),
        _p("1．事项类型：行政许可。"),
        _p("2．办件类型：承诺件。"),
        _p("3．实施主体：某县交通运输局；行使层级：县级。"),
        _p("4．承诺办结时限：5个工作日；法定办结时限：20个工作日。"),
        _p("5．办理形式：窗口办理、网上办理。"),
        _p("6．办理地点：某县政务服务中心二楼B12窗口。"),
        _p("7．到现场办理次数：0次。"),
    ]
    record = parse_guide("某许可", blocks, "doc-num", "n.docx")
    assert record.time_limit is not None
    assert (record.time_limit.promised_days, record.time_limit.legal_days) == (5, 20)
    assert record.time_limit.notes == ""  # 办理形式 is not part of the time limit
    assert record.department == "某县交通运输局"
    assert record.where is not None and "B12窗口" in record.where.address
    assert "办件类型：承诺件。" in record.process
    assert "办理形式：窗口办理、网上办理。" in record.process
    assert "到现场办理次数：0次。" in record.process


def test_step_list_under_online_heading_is_the_process() -> None:
    blocks = [
        _h("一、网上办理步骤"),
        _p("第一步：登录省政务服务网。"),
        _p("第二步：搜索事项并在线填报。"),
        _h("二、申请材料"),
        _p("1. 营业执照复印件1份"),
    ]
    record = parse_guide("某登记", blocks, "doc-steps", "s.docx")
    assert record.process == ["第一步：登录省政务服务网。", "第二步：搜索事项并在线填报。"]
    assert record.where is None or "第一步" not in record.where.online


def test_hours_line_is_not_part_of_the_address() -> None:
    blocks = [
        _h("办理地点和时间"),
        _p("- 地点：某市某区某大道1号政务服务中心3号窗口；"),
        _p("- 时间：法定工作日。夏季上午09:00~12:00，下午14:00~18:00。"),
        _h("收费标准"),
        _p("不收费"),
    ]
    record = parse_guide("某许可", blocks, "doc-hours", "h.md")
    assert record.where is not None
    assert record.where.address == "某市某区某大道1号政务服务中心3号窗口"
    assert "09:00" in record.where.hours and "09:00" not in record.where.address


def test_metrics_table_keeps_column_titles_in_time_notes() -> None:
    blocks = [
        _h("改革成效"),
        Block("table", rows=[["指标", "改革前", "改革后"], ["办理时限", "48个工作日", "13个工作日"]]),
        _h("申请材料"),
        _p("1. 营业执照"),
    ]
    record = parse_guide("一件事", blocks, "doc-metrics", "m.docx")
    assert record.time_limit is not None
    assert record.time_limit.legal_days is None and record.time_limit.promised_days is None
    assert "改革前：48个工作日" in record.time_limit.notes and "改革后：13个工作日" in record.time_limit.notes


def test_materials_table_in_any_column_order_with_header_variants() -> None:
    rows = [
        ["材料名称", "序号", "纸质材料份数", "来源渠道", "材料形式", "是否必要"],
        ["营业执照", "1", "1", "申请人自备", "复印件", "必要"],
        ["法定代表人身份证", "2", "—", "政府部门核发", "原件", "—"],
    ]
    materials = materials_from_table(rows)
    assert materials is not None
    assert [(m.name, m.form, m.copies) for m in materials] == [
        ("营业执照", "复印件", 1),
        ("法定代表人身份证", "原件", None),
    ]
    assert materials[0].notes == "来源渠道：申请人自备；是否必要：必要"
    assert "—" not in materials[1].notes


def test_materials_table_without_header_row() -> None:
    blocks = [
        _h("申请材料"),
        Block("table", rows=[["1", "食品经营许可申请书", "原件", "1份"], ["2", "营业执照", "复印件", "1份"]]),
        _h("办理时限"),
        _p("承诺办结时限：3个工作日"),
    ]
    record = parse_guide("食品经营许可", blocks, "doc-nohead", "x.docx")
    assert [(m.name, m.form, m.copies) for m in record.materials] == [
        ("食品经营许可申请书", "原件", 1),
        ("营业执照", "复印件", 1),
    ]


def test_numbered_table_that_is_not_materials_stays_text() -> None:
    rows = [["1", "县城", "发展区", "11"], ["2", "某镇", "饱和区", "0"]]
    assert materials_from_table(rows) is None
    blocks = [_h("受理条件"), _p("依法设立"), _h("网格信息"), Block("table", rows=rows)]
    record = parse_guide("公告", blocks, "doc-grid", "g.txt")
    assert record.materials == []
    assert "1 | 县城 | 发展区 | 11" in _section_text(record)


def test_empty_materials_table_lists_nothing_and_keeps_other_fields() -> None:
    blocks = [
        _h("申请材料"),
        Block("table", rows=[["序号", "材料名称", "材料形式", "份数"]]),
        _h("办结时限"),
        _p("法定办结时限：20个工作日"),
        _p("办理地点：某市政务服务中心"),
    ]
    record = parse_guide("某事项", blocks, "doc-empty", "e.html")
    assert record.materials == []
    assert not any(s.key == "materials" for s in record.sections)  # nothing claims to list materials
    assert record.time_limit is not None and record.time_limit.legal_days == 20
    assert record.where is not None and record.where.address == "某市政务服务中心"


def test_other_table_with_a_name_column_is_not_materials() -> None:
    rows = [["环节名称", "所需时限", "法定依据", "是否收费", "收费依据"], ["书面审查", "", "", "", ""]]
    assert materials_from_table(rows, in_materials=True) is None
    record = parse_guide("x", [_h("申报材料"), Block("table", rows=rows), _h("收费标准"), _p("不收费")], "d", "x")
    assert record.materials == []
    assert record.fee == "不收费"


def test_sub_headings_stay_in_their_section_and_text_is_kept_as_written() -> None:
    blocks = [
        _h("A. 一般事項", 2),
        _h("1. 怎樣令申請更順利？", 3),
        _p("請詳細閱讀申請指引。"),
        _h("B. 申請資格", 2),
        _h("1. 哪些企業符合資格申請？", 3),
        _p("是按照《商業登記條例》在香港登記的非上市企業。"),
        _h("2. 非分配利潤組織是否合資格？", 3),
        _p("不合資格。"),
    ]
    record = parse_guide("常見問題", blocks, "doc-faq", "f.html")
    assert "是按照《商業登記條例》在香港登記的非上市企業。" in record.conditions
    assert "不合資格。" in record.conditions
    assert "請詳細閱讀申請指引。" not in record.conditions


def test_plain_line_after_a_one_line_field_is_not_part_of_it() -> None:
    blocks = [
        _p("受理条件：参保人员需要注销社会保障卡的"),
        _p("承诺时限：1工作日"),
        _p("社会保障卡注销事项受理材料清单说明见下表"),
        Block("table", rows=[["序号", "材料名称", "规格份数"], ["1", "居民身份证", "1"]]),
    ]
    record = parse_guide("社会保障卡注销", blocks, "doc-line", "l.html")
    assert record.time_limit is not None and record.time_limit.promised_days == 1
    assert record.time_limit.notes == ""
    assert [(m.name, m.copies) for m in record.materials] == [("居民身份证", 1)]


def test_label_line_with_numbered_items_keeps_them() -> None:
    blocks = [
        _p("受理条件：申请人应当具备以下条件："),
        _p("1. 依法设立的企业；"),
        _p("2. 有固定的经营场所。"),
        _p("办理地点：某市政务服务中心"),
    ]
    record = parse_guide("某事项", blocks, "doc-items", "i.txt")
    assert record.conditions == ["申请人应当具备以下条件：", "依法设立的企业；", "有固定的经营场所。"]

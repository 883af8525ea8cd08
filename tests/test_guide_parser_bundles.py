"""A 一件事 document's member items (issue 10): read into ``members`` from every layout portals use, and a
count of materials ("一件事申请材料 | 35份 | 17份") is never read as a materials list.

Each test writes a small document of its own (python-docx, HTML, TXT) and loads it through the real
loader, as `govbot ingest` does; the last one asks the engine over a real index (hash embedder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load_file
from ingest.schema import Record

MEMBERS = ["食品经营许可核发（餐饮服务经营者）", "公众聚集场所投入使用、营业前消防安全检查", "户外招牌设施设置"]


def _docx(path: Path, parts: list[tuple[str, object]]) -> Path:
    """A .docx from (kind, content) parts: ("h1", text), ("p", text), ("table", rows)."""
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for kind, content in parts:
        if kind == "title":
            document.add_heading(content, 0)
        elif kind == "h1":
            document.add_heading(content, 1)
        elif kind == "p":
            document.add_paragraph(content)
        else:
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for row, values in zip(table.rows, content, strict=True):
                for cell, value in zip(row.cells, values, strict=True):
                    cell.text = value
    document.save(str(path))
    return path


def _html(path: Path, title: str, body: str) -> Path:
    path.write_text(f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>",
                    encoding="utf-8")
    return path


def _section_keys(record: Record) -> list[str]:
    return [section.key for section in record.sections]


def test_docx_numbered_heading_over_seq_and_item_table(tmp_path: Path) -> None:
    path = _docx(tmp_path / "bundle.docx", [
        ("title", "开办餐饮店“一件事”实施指南"),
        ("p", "把开办餐饮店需要办的3个事项放在一起办理，一次申请、并联审批。"),
        ("h1", "一、集成的3个事项"),
        ("table", [["序号", "事项"], *[[str(i), name] for i, name in enumerate(MEMBERS, 1)]]),
        ("h1", "二、改革成效"),
        ("table", [["指标", "改革前", "改革后"], ["一件事申请材料", "35份", "17份"],
                   ["办理时限", "48个工作日", "13个工作日"]]),
    ])
    record = load_file(path, "restaurant-bundle")
    assert record.members == MEMBERS
    assert record.materials == []
    assert "materials" not in _section_keys(record)  # a count of materials is not a materials list
    counted = next(s for s in record.sections if "17份" in s.text)
    assert counted.key == "body" and counted.text == "一件事申请材料：改革前：35份，改革后：17份"
    assert record.summary.startswith("把开办餐饮店需要办的3个事项")


def test_html_catalogue_table_takes_the_item_column(tmp_path: Path) -> None:
    # The layout of a 流程再造方案 page: the 事项 column beside the bundle, lead office and partners;
    # "—" in the national catalogue column is not an item.
    rows = [["服务对象", "一件事名称", "牵头部门", "国发清单事项", "事项", "实施层级", "联办部门"],
            ["法人", "开办餐饮店一件事", "省市场监管局", "—", "企业营业执照信息核验", "/", "省市场监管局"],
            ["法人", "开办餐饮店一件事", "省市场监管局", "食品经营许可", "食品经营许可新办", "市级、县区级", "省市场监管局"],
            ["法人", "开办餐饮店一件事", "省市场监管局", "—", "户外招牌设施设置规范管理", "/", "省住建厅"]]
    table = "<table>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows) + "</table>"
    path = _html(tmp_path / "plan.html", "开办餐饮店“一件事”流程再造方案", "<h2>一、事项清单</h2>" + table)
    record = load_file(path, "plan")
    assert record.members == ["企业营业执照信息核验", "食品经营许可新办", "户外招牌设施设置规范管理"]


def test_html_numbered_list_under_members_heading(tmp_path: Path) -> None:
    items = "".join(f"<p>{i}. {name}；</p>" for i, name in enumerate(MEMBERS, 1))
    path = _html(tmp_path / "list.html", "开餐馆一件事办事指南",
                 "<h2>（一）涉及事项</h2>" + items + "<h2>（二）办理地点</h2><p>政务服务中心一件事综合窗口</p>")
    record = load_file(path, "list")
    assert record.members == MEMBERS
    assert record.where is not None and "综合窗口" in record.where.address


def test_txt_labelled_line_and_headerless_table(tmp_path: Path) -> None:
    path = tmp_path / "inline.txt"
    path.write_text("企业开办“一件事”办事指南\n整合事项：企业设立登记；印章刻制；发票申领；员工参保登记\n"
                    "办理时限：1个工作日\n", encoding="utf-8")
    record = load_file(path, "inline")
    assert record.members == ["企业设立登记", "印章刻制", "发票申领", "员工参保登记"]

    enumerated = tmp_path / "enumerated.txt"
    enumerated.write_text("企业开办一件事\n包含事项：企业设立登记、印章刻制、发票申领\n", encoding="utf-8")
    assert load_file(enumerated, "enumerated").members == ["企业设立登记", "印章刻制", "发票申领"]

    headerless = _docx(tmp_path / "headerless.docx", [
        ("title", "开办餐饮店一件事"), ("h1", "包含以下事项"),
        ("table", [[str(i), name] for i, name in enumerate(MEMBERS, 1)]),
    ])
    assert load_file(headerless, "headerless").members == MEMBERS


def test_members_beside_other_facts_keep_those_facts(tmp_path: Path) -> None:
    # "序号 | 涉及事项 | 受理条件" gives the names, and its conditions stay in the conditions section.
    path = _docx(tmp_path / "conditions.docx", [
        ("title", "开办餐饮店一件事"), ("h1", "受理条件"),
        ("table", [["序号", "涉及事项", "受理条件"], ["1", "企业营业执照信息核验", "营业执照状态正常有效"],
                   ["2", "食品经营许可新办", "具有相适应的经营场所"]]),
    ])
    record = load_file(path, "conditions")
    assert record.members == ["企业营业执照信息核验", "食品经营许可新办"]
    conditions = next(s for s in record.sections if s.key == "conditions")
    assert "营业执照状态正常有效" in conditions.text


def test_only_a_bundle_document_has_members(tmp_path: Path) -> None:
    path = _html(tmp_path / "guide.html", "食品经营许可办事指南",
                 "<h2>涉及事项</h2><p>1. 食品经营许可核发</p><h2>申请材料</h2><p>1. 食品经营许可申请书原件1份</p>")
    record = load_file(path, "guide")
    assert record.members == []
    assert [m.name for m in record.materials] == ["食品经营许可申请书"]
    assert "members" not in _section_keys(record)


def test_a_count_line_is_no_materials_list_but_a_list_after_it_is(tmp_path: Path) -> None:
    counted = tmp_path / "counted.txt"
    counted.write_text("个体工商户登记指南\n申请材料：共5份\n办理时限：3个工作日\n", encoding="utf-8")
    record = load_file(counted, "counted")
    assert record.materials == [] and "materials" not in _section_keys(record)
    assert any(s.text == "申请材料：共5份" for s in record.sections)

    listed = tmp_path / "listed.txt"
    listed.write_text("个体工商户登记指南\n申请材料：共2份\n1. 登记申请书原件1份\n2. 经营者身份证复印件1份\n"
                      "办理时限：3个工作日\n", encoding="utf-8")
    assert [m.name for m in load_file(listed, "listed").materials] == ["登记申请书", "经营者身份证"]


def test_the_bundle_question_is_answered_with_its_items(tmp_path: Path) -> None:
    from bot.engine import Engine
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    folder = tmp_path / "docs"
    folder.mkdir()
    _docx(folder / "bundle.docx", [
        ("title", "开办餐饮店“一件事”实施指南"),
        ("p", "把开办餐饮店需要办的3个事项放在一起办理，一次申请、并联审批。"),
        ("h1", "一、集成的3个事项"),
        ("table", [["序号", "事项"], *[[str(i), name] for i, name in enumerate(MEMBERS, 1)]]),
        ("h1", "二、改革成效"),
        ("table", [["指标", "改革前", "改革后"], ["一件事申请材料", "35份", "17份"]]),
    ])
    store = tmp_path / "index"
    summary = ingest([folder], store, load_embeddings("hash"))
    assert not summary.failed
    answer = Engine(store).ask("开餐馆那个一件事打包了哪些手续").answer
    assert all(name in answer for name in MEMBERS)
    assert "【申请材料】" not in answer


def test_a_sentence_among_online_and_offline_lines_is_not_the_address(tmp_path: Path) -> None:
    path = _html(tmp_path / "where.html", "开餐馆一件事办事指南",
                 "<h2>一、涉及事项</h2><p>1. 食品经营许可核发</p><p>2. 户外招牌设施设置</p>"
                 "<h2>二、在哪里申请</h2><p>线上：登录政务服务网“一件事”专栏申请。</p>"
                 "<p>线下：到政务服务中心一件事综合窗口申请。</p>"
                 "<p>申请人提交申请材料后，由政务服务平台统一受理，结果统一送达。</p>")
    record = load_file(path, "where")
    assert record.where is not None
    assert record.where.address == "到政务服务中心一件事综合窗口申请。"
    assert record.where.online == "登录政务服务网“一件事”专栏申请。"
    where = next(s for s in record.sections if s.key == "where")
    assert "统一受理" in where.text  # kept for quoting, only not typed as an address

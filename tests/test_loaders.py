"""Tests for ingest.loaders: every supported format, and every bad input fails with a clear LoadError."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ingest import loaders
from ingest.loaders import LoadError, check_structured_file, load_file

GUIDE_MD = """\
---
id: food-business-license
kind: guide
title: 食品经营许可（新办）
department: 市场监督管理部门
materials:
  - name: 食品经营许可申请书
    form: 原件
    copies: 1
time_limit: {legal_days: 10, promised_days: 3}
sources: [https://www.sczwfw.gov.cn/]
updated: 2026-11-01
---
正文开头的说明。

## 申请材料说明
在线填报的无需另交纸质件。

## 常见问题
问：要多久？答：3个工作日。
"""


def _write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode(encoding))
    return path


def _load_error(path: Path, **kwargs: int) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_file(path, "doc-test", **kwargs)
    error = info.value
    # Every message names the file, so an admin knows which one to fix.
    assert error.path == str(path)
    assert str(error).startswith(f"{path}:")
    assert "\n" not in str(error)
    return error


# --------------------------------------------------------------------------- good inputs


def test_structured_markdown(tmp_path: Path) -> None:
    path = _write(tmp_path, "food.md", GUIDE_MD)
    record = load_file(path, "ignored-id")
    assert record.id == "food-business-license"  # front matter id wins over record_id
    assert record.kind == "guide"
    assert record.updated == "2026-11-01"
    assert record.materials[0].name == "食品经营许可申请书"
    assert record.time_limit is not None and record.time_limit.promised_days == 3
    assert record.source_path == str(path)
    assert [(s.key, s.heading) for s in record.sections] == [
        ("body", ""),
        ("materials", "申请材料说明"),
        ("body", "常见问题"),
    ]
    assert record.sections[2].text == "问：要多久？答：3个工作日。"


def test_plain_markdown_titled_by_first_heading(tmp_path: Path) -> None:
    text = (
        "# 企业开办一件事\n\n办理说明。\n\n## 一、申请材料\n\n- 营业执照申请书原件1份\n"
        "- 股东身份证复印件1份\n\n## 二、办结时限\n\n承诺办结时限：1个工作日\n\n"
        "| 项目 | 内容 |\n| --- | --- |\n| 收费标准 | 不收费 |\n"
    )
    record = load_file(_write(tmp_path, "kaiban.md", text), "doc-kaiban")
    assert record.title == "企业开办一件事"
    assert record.id == "doc-kaiban"
    assert record.kind == "guide"
    assert [m.name for m in record.materials] == ["营业执照申请书", "股东身份证"]
    assert record.time_limit is not None and record.time_limit.promised_days == 1
    assert record.fee == "不收费"


def test_gbk_text(tmp_path: Path) -> None:
    text = "税务登记办事指南\n一、申请材料\n1.营业执照复印件1份\n二、办理地点\n自贡高新区政务服务中心\n"
    record = load_file(_write(tmp_path, "tax.txt", text, encoding="gbk"), "doc-tax")
    assert record.title == "税务登记办事指南"
    assert record.kind == "guide"
    assert record.materials[0].name == "营业执照"
    assert record.where is not None and record.where.address == "自贡高新区政务服务中心"


def test_utf8_bom_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + "社保登记\n办理时间：工作日\n".encode())
    record = load_file(path, "doc-bom")
    assert record.title == "社保登记"  # no BOM left in the title
    assert "\ufeff" not in record.model_dump_json()


def test_traditional_text_kept_as_written(tmp_path: Path) -> None:
    text = "營業執照辦理指南\n一、申請材料\n1.身份證原件1份\n二、辦理時限\n承諾辦結時限：3個工作日\n"
    record = load_file(_write(tmp_path, "tw.txt", text), "doc-tw")
    assert record.title == "營業執照辦理指南"
    assert record.kind == "guide"
    materials_section = next(s for s in record.sections if s.key == "materials")
    assert materials_section.heading == "一、申請材料"
    assert materials_section.text == "1.身份證原件1份"
    assert record.materials[0].name == "身份證"


def test_html_strips_script_and_reads_materials_table(tmp_path: Path) -> None:
    html = """<html><head><title>食品经营许可办事指南</title>
    <script>var leaked = "SCRIPT_TEXT";</script><style>.x{color:red}</style></head>
    <body><nav>首页 | 导航菜单</nav>
    <h2>一、受理条件</h2><p>具有固定经营场所</p>
    <h2>二、申请材料</h2>
    <table>
      <tr><th>序号</th><th>材料名称</th><th>材料形式</th><th>纸质材料份数</th><th>是否容缺</th><th>备注</th></tr>
      <tr><td>1</td><td>食品经营许可申请书</td><td>原件</td><td>1</td><td>否</td><td></td></tr>
      <tr><td>2</td><td>营业执照</td><td>复印件</td><td>2份</td><td>是</td><td>加盖公章</td></tr>
      <tr><td>3</td><td>法定代表人身份证</td><td>原件和复印件</td><td>1</td><td>否</td><td></td></tr>
    </table>
    <h2>三、办结时限</h2><p>法定办结时限：20个工作日<br>承诺办结时限：5个工作日</p>
    </body></html>"""
    record = load_file(_write(tmp_path, "food.html", html), "doc-food")
    dumped = record.model_dump_json()
    assert "SCRIPT_TEXT" not in dumped and "color:red" not in dumped and "导航菜单" not in dumped
    assert record.title == "食品经营许可办事指南"
    assert record.kind == "guide"
    assert [(m.name, m.form, m.copies, m.tolerance) for m in record.materials] == [
        ("食品经营许可申请书", "原件", 1, False),
        ("营业执照", "复印件", 2, True),
        ("法定代表人身份证", "原件及复印件", 1, False),
    ]
    assert record.materials[1].notes == "加盖公章"
    assert record.time_limit is not None
    assert (record.time_limit.legal_days, record.time_limit.promised_days) == (20, 5)


def test_docx_heading_and_materials_table(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("食品经营许可办事指南", 0)  # style "Title"
    document.add_heading("一、申请材料", 1)
    table = document.add_table(rows=4, cols=4)
    for row, values in zip(
        table.rows,
        [
            ["序号", "材料名称", "材料形式", "份数"],
            ["1", "食品经营许可申请书", "原件", "1"],
            ["2", "营业执照", "复印件", "1"],
            ["", "", "", ""],
        ],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.rows[3].cells[0].merge(table.rows[3].cells[3])
    merged.text = "以下材料根据情况提供"  # a merged group row, not a material
    document.add_heading("二、办理时限", 1)
    document.add_paragraph("承诺办结时限：3个工作日")
    path = tmp_path / "food.docx"
    document.save(str(path))

    record = load_file(path, "doc-docx")
    assert record.title == "食品经营许可办事指南"
    assert record.kind == "guide"
    assert [(m.name, m.form, m.copies) for m in record.materials] == [
        ("食品经营许可申请书", "原件", 1),
        ("营业执照", "复印件", 1),
    ]
    assert record.time_limit is not None and record.time_limit.promised_days == 3
    assert "以下材料根据情况提供" in "\n".join(s.text for s in record.sections)


def test_pdf_with_chinese_text(tmp_path: Path) -> None:
    # reportlab (test extra) writes a PDF with a built-in CID font whose text pypdf can extract.
    pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "guide.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 12)
    lines = [
        "食品经营许可办事指南",
        "一、申请材料",
        "1.《食品经营许可申请书》原件1份",
        "二、承诺办结时限",
        "3个工作日",
    ]
    for index, line in enumerate(lines):
        pdf.drawString(72, 800 - 20 * index, line)
    pdf.save()

    record = load_file(path, "doc-pdf")
    assert record.title == "食品经营许可办事指南"
    assert record.kind == "guide"
    assert [(m.name, m.form, m.copies) for m in record.materials] == [("食品经营许可申请书", "原件", 1)]
    assert record.time_limit is not None and record.time_limit.promised_days == 3


def test_no_recognisable_sections_is_a_plain_document(tmp_path: Path) -> None:
    text = "关于举办企业座谈会的通知\n各企业：\n定于下周三召开座谈会，请准时参加。\n"
    record = load_file(_write(tmp_path, "notice.txt", text), "doc-notice")
    assert record.kind == "document"
    assert record.title == "关于举办企业座谈会的通知"
    body = "\n".join(s.text for s in record.sections)
    assert "定于下周三召开座谈会，请准时参加。" in body


def test_long_first_line_is_not_a_title(tmp_path: Path) -> None:
    text = "这是一段很长的说明文字" * 10 + "\n第二行\n"
    record = load_file(_write(tmp_path, "long-line.txt", text), "doc-long")
    assert record.title == "long-line"


# --------------------------------------------------------------------------- bad inputs


def test_missing_path(tmp_path: Path) -> None:
    error = _load_error(tmp_path / "nope.txt")
    assert error.reason == "文件不存在"


def test_empty_and_whitespace_only_files(tmp_path: Path) -> None:
    assert "文件为空" in _load_error(_write(tmp_path, "empty.txt", b"")).reason
    assert "只有空白字符" in _load_error(_write(tmp_path, "blank.md", " \n\t\n　\n")).reason


def test_unsupported_extension(tmp_path: Path) -> None:
    error = _load_error(_write(tmp_path, "sheet.xls", b"data"))
    assert "不支持的文件类型 .xls" in error.reason


def test_binary_renamed_pdf(tmp_path: Path) -> None:
    path = _write(tmp_path, "fake.pdf", random.Random(0).randbytes(4096))
    assert "不是有效的 PDF 文件" in _load_error(path).reason


def test_pdf_without_text(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    assert "PDF 中没有可提取的文字" in _load_error(path).reason


def test_corrupt_docx(tmp_path: Path) -> None:
    broken_zip = _write(tmp_path, "broken.docx", b"PK\x03\x04" + b"\x00garbage" * 100)
    assert "DOCX 文件已损坏" in _load_error(broken_zip).reason
    not_zip = _write(tmp_path, "text.docx", "这其实是一个文本文件")
    assert "不是有效的 DOCX 文件" in _load_error(not_zip).reason


def test_nul_bytes_in_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "nul.txt", "申请材料\x00\x00\x01营业执照".encode())
    assert "NUL 字节" in _load_error(path).reason


def test_random_bytes_in_html(tmp_path: Path) -> None:
    data = bytes(b for b in random.Random(1).randbytes(4096) if b)  # no NUL: must still be caught
    assert "二进制" in _load_error(_write(tmp_path, "noise.html", data)).reason


def test_file_over_size_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: instant, takes no disk space

    def must_not_read(*_args: object) -> bytes:
        raise AssertionError("the size check must happen before reading")

    monkeypatch.setattr(loaders.common, "_read_bytes", must_not_read)
    error = _load_error(path)
    assert error.reason == "文件过大（50 MB），超过上限 20 MB"
    assert "超过上限 1 MB" in _load_error(path, max_bytes=1024 * 1024).reason


def test_directory_and_fifo_are_not_regular_files(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert "是一个目录" in _load_error(folder).reason
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening a FIFO would block; the loader must refuse it from stat() alone
    assert "不是普通文件" in _load_error(fifo).reason


def test_unreadable_symlink_loop(tmp_path: Path) -> None:
    # We run as root, which ignores chmod 000. A symlink pointing at itself fails for root too
    # (ELOOP), so it is a truly unreadable path.
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop.name)
    assert "符号链接形成了循环" in _load_error(loop).reason


def test_unreadable_by_permissions(tmp_path: Path) -> None:
    path = _write(tmp_path, "secret.txt", "内容")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop root from reading")
        assert "没有读取权限" in _load_error(path).reason
    finally:
        path.chmod(0o644)


def test_permission_error_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root cannot be denied by chmod, so simulate the kernel's EACCES at read time.
    def denied(*_args: object) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loaders.common, "_read_bytes", denied)
    assert "没有读取权限" in _load_error(_write(tmp_path, "locked.txt", "内容")).reason


# --------------------------------------------------------------------------- front matter errors


def test_invalid_form_reports_its_line(tmp_path: Path) -> None:
    text = GUIDE_MD.replace("    form: 原件\n", "    form: 原件和复印件\n")
    error = _load_error(_write(tmp_path, "bad-form.md", text))
    assert error.line == 8
    assert str(error).startswith(f"{tmp_path / 'bad-form.md'}:8: ")
    assert "materials 第1项的 form" in error.reason and "原件和复印件" in error.reason


def test_yaml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    text = GUIDE_MD.replace("title: 食品经营许可（新办）", "title: 食品经营许可: 新办")
    error = _load_error(_write(tmp_path, "bad-yaml.md", text))
    assert error.line == 4
    assert "YAML 语法错误" in error.reason


def test_unknown_key_and_bad_id(tmp_path: Path) -> None:
    text = GUIDE_MD.replace("department:", "departmnet:")
    text = text.replace("id: food-business-license", "id: Food License")
    error = _load_error(_write(tmp_path, "typo.md", text))
    assert error.line == 2 and "id“Food License”不合法" in error.reason
    assert "另有 1 处问题" in error.reason


def test_unclosed_front_matter(tmp_path: Path) -> None:
    error = _load_error(_write(tmp_path, "open.md", "---\nid: x\nkind: guide\n"))
    assert error.line == 1 and "没有结束行" in error.reason


def test_check_reports_every_problem_with_lines(tmp_path: Path) -> None:
    text = """\
---
id: food
kind: guide
title: 食品经营许可
materials:
  - 营业执照
  - name: 申请书
    form: 纸质
sources: []
colour: red
---
"""
    path = _write(tmp_path, "check.md", text)
    record, problems = check_structured_file(path)
    assert record is None
    messages = dict(problems)
    assert messages[6].startswith("materials 第1项 应写成“name: 材料名称”")
    assert any(line == 8 and "form" in message and "纸质" in message for line, message in problems)
    assert any(line == 10 and "未知字段 colour" in message for line, message in problems)
    assert any(line == 9 and "sources" in message and "不能为空" in message for line, message in problems)
    assert any(line is None and "department" in message for line, message in problems)
    assert any(line is None and "updated" in message for line, message in problems)


def test_check_valid_file_and_missing_front_matter(tmp_path: Path) -> None:
    record, problems = check_structured_file(_write(tmp_path, "good.md", GUIDE_MD))
    assert problems == [] and record is not None and record.id == "food-business-license"
    record, problems = check_structured_file(_write(tmp_path, "plain.md", "# 标题\n正文\n"))
    assert record is None
    assert problems == [(1, "缺少 front matter：第一行应为 ---，接着写 YAML 字段，再用一行 --- 结束")]
    no_materials = GUIDE_MD.replace(
        "materials:\n  - name: 食品经营许可申请书\n    form: 原件\n    copies: 1\n", "materials: []\n"
    )
    record, problems = check_structured_file(_write(tmp_path, "empty-materials.md", no_materials))
    assert record is not None
    assert problems == [(6, "materials（申请材料）不能为空：办事指南至少要列出一项")]


def test_load_error_format() -> None:
    assert str(LoadError("a/b.md", "出错了", 3)) == "a/b.md:3: 出错了"
    assert str(LoadError("a/b.md", "出错了\n第二行")) == "a/b.md: 出错了 第二行"


# --------------------------------------------------------------------------- portal layouts


def _all_text(record) -> str:  # noqa: ANN001 - a Record
    return "\n".join(f"{s.heading}\n{s.text}" for s in record.sections)


def test_html_definition_list_guide(tmp_path: Path) -> None:
    html = """<html><head><title>劳务派遣经营许可</title></head><body><h1>劳务派遣经营许可</h1>
    <h2>基本信息</h2>
    <dl><dt>实施机关</dt><dd>某市人力资源和社会保障局</dd>
    <dt>法定办结时限</dt><dd>20个工作日</dd>
    <dt>线上办理</dt><dd>“某某办”政务服务平台</dd>
    <dt>线下办理</dt><dd>有管辖权的人力社保部门</dd>
    <dt>是否收费</dt><dd>—</dd><dt>咨询电话</dt><dd>—</dd></dl>
    <h2>许可条件</h2><ol><li>注册资本不得少于人民币二百万元；</li><li>有固定的经营场所和设施。</li></ol>
    </body></html>"""
    record = load_file(_write(tmp_path, "dl.html", html), "doc-dl")
    assert record.kind == "guide"
    assert record.department == "某市人力资源和社会保障局"
    assert record.time_limit is not None and record.time_limit.legal_days == 20
    assert record.where is not None
    assert record.where.online == "“某某办”政务服务平台"
    assert record.where.address == "有管辖权的人力社保部门"
    assert record.conditions == ["注册资本不得少于人民币二百万元；", "有固定的经营场所和设施。"]
    assert record.fee == "" and record.phone == ""  # "—" states nothing


def test_html_div_grid_guide(tmp_path: Path) -> None:
    cells = [
        ("实施机构", "某市市场监督管理局"),
        ("法定办结时限", "15个工作日"),
        ("承诺办结时限", "3个工作日"),
        ("办件类型", "承诺件"),
        ("物流快递", "支持物流快递"),
        ("是否收费", "—"),
    ]
    grid = "".join(f'<div class="cell"><span class="k">{k}</span><span class="v">{v}</span></div>' for k, v in cells)
    html = f"""<html><body><h1>公司变更登记</h1><h2>基本信息</h2><div class="grid">{grid}</div>
    <h2>申请条件</h2><p>公司的登记事项发生了变化。</p></body></html>"""
    record = load_file(_write(tmp_path, "grid.html", html), "doc-grid")
    assert record.kind == "guide"
    assert record.department == "某市市场监督管理局"
    assert record.time_limit is not None
    assert (record.time_limit.legal_days, record.time_limit.promised_days) == (15, 3)
    assert "办件类型：承诺件" in record.process and "物流快递：支持物流快递" in record.process
    assert record.fee == ""
    assert record.conditions == ["公司的登记事项发生了变化。"]


def test_html_tab_bar_and_class_named_titles(tmp_path: Path) -> None:
    html = """<html><body><ul class="tabs"><li>基本信息</li><li>申请条件</li><li>申报材料</li>
    <li>办理流程</li><li>收费标准</li><li>常见问题</li></ul>
    <div class="panel-title">申请条件</div><p>依法设立的企业。</p>
    <div class="panel-title">收费标准</div><p>不收费</p>
    <div class="panel-title">服务承诺</div>
    <div class="row"><span class="label">咨询电话:</span><span class="value"></span></div></body></html>"""
    record = load_file(_write(tmp_path, "tabs.html", html), "doc-tabs")
    assert record.conditions == ["依法设立的企业。"]  # the tab names are not conditions
    assert record.fee == "不收费"
    assert record.phone == ""  # an empty value cell invents no number
    assert "基本信息 | 申请条件" in _all_text(record)


def _reportlab_canvas(path: Path):  # noqa: ANN202 - a reportlab canvas
    pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 11)
    return pdf


def test_pdf_lines_wrapped_mid_word_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.pdf"
    pdf = _reportlab_canvas(path)
    lines = [
        "网络货运经营许可办事指南",
        "一、办理时限",
        "本事项承诺办结时限为5个工作日，法定办结时限为二十个工作日，自受理之日起计算，特殊",
        "情形除外。",
        "二、办理地点",
        "办理地点：某县政务服务中心（某县某镇环城西路核桃文化产业园交易市场18幢）二楼B47、B",
        "48窗口。",
    ]
    for index, line in enumerate(lines):
        pdf.drawString(40, 800 - 18 * index, line)
    pdf.save()
    record = load_file(path, "doc-wrap")
    assert record.time_limit is not None
    assert (record.time_limit.promised_days, record.time_limit.legal_days) == (5, 20)
    assert record.where is not None and "B48窗口" in record.where.address.replace(" ", "")


def test_pdf_in_two_columns_keeps_text_and_invents_nothing(tmp_path: Path) -> None:
    path = tmp_path / "columns.pdf"
    pdf = _reportlab_canvas(path)
    left = ["申请材料", "1.营业执照复印件1份", "2.法定代表人身份证", "受理条件", "依法设立的企业"]
    right = ["办理地点", "某市政务服务中心", "咨询电话", "0813-1234567", "办理时间：工作日"]
    for index, (a, b) in enumerate(zip(left, right, strict=True)):
        pdf.drawString(40, 800 - 20 * index, a)
        pdf.drawString(320, 800 - 20 * index, b)
    pdf.save()
    record = load_file(path, "doc-cols")
    text = _all_text(record).replace(" ", "")
    for line in left + right:
        assert line.replace(" ", "") in text or line.split("：")[-1] in text  # nothing is lost
    # Nothing invented: every structured value comes from the page.
    assert record.time_limit is None
    assert record.fee == ""
    for material in record.materials:
        assert material.name.replace(" ", "") in text
    if record.phone:
        assert "0813-1234567" in record.phone
    # The columns are read one after the other, so each section gets its own lines.
    assert [m.name for m in record.materials] == ["营业执照", "法定代表人身份证"]
    assert record.conditions == ["依法设立的企业"]
    assert record.where is not None and record.where.address == "某市政务服务中心"
    assert record.phone == "0813-1234567"


def test_docx_numbered_paragraphs_only(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("网络货运经营许可办理指南", 1)
    for line in [
        "一、基本信息",
        "1．办件类型：承诺件。",
        "2．承诺办结时限：5个工作日；法定办结时限：20个工作日。",
        "3．办理形式：窗口办理、网上办理。",
        "4．办理地点：某县政务服务中心二楼B47、B48窗口。",
        "二、申请材料",
        "1．网络货运经营申请表；",
        "2．营业执照复印件1份。",
    ]:
        document.add_paragraph(line)
    path = tmp_path / "numbered.docx"
    document.save(str(path))
    record = load_file(path, "doc-numbered")
    assert record.kind == "guide"
    assert record.time_limit is not None and record.time_limit.notes == ""
    assert record.where is not None and "B47、B48窗口" in record.where.address
    assert [m.name for m in record.materials] == ["网络货运经营申请表", "营业执照"]
    assert "办件类型：承诺件。" in record.process


def test_docx_materials_table_without_header(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("特种设备使用登记", 1)
    document.add_heading("二、申请材料", 2)
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [["1", "使用单位营业执照", "电子件"], ["2", "设备检验报告", "电子件"]], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("三、办理时限", 2)
    document.add_paragraph("承诺办结时限：5个工作日")
    path = tmp_path / "nohead.docx"
    document.save(str(path))
    record = load_file(path, "doc-nohead")
    assert [(m.name, m.form) for m in record.materials] == [("使用单位营业执照", "电子件"), ("设备检验报告", "电子件")]


def test_notice_with_metadata_lines_is_a_document(tmp_path: Path) -> None:
    text = "关于网格单元可办证数量的公告\n发布时间：2025-10-09　体裁分类：公告公示\n一、公告期\n公告期为7天。\n"
    record = load_file(_write(tmp_path, "notice.txt", text), "doc-notice")
    assert record.kind == "document"
    assert record.materials == [] and record.time_limit is None and record.where is None and record.process == []
    assert "公告期为7天。" in _all_text(record)

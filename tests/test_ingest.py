"""The admin path end to end: failures keep the previous version, updates leave nothing stale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.engine import Engine
from ingest.embeddings import load_embeddings
from ingest.index import ChromaLocation, IngestLocked, current_name, ingest_lock, open_current
from ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent


def guide(folder: Path, rid: str, title: str, materials: list[str], fee: str = "不收费") -> Path:
    items = "\n".join(f"  - {{name: {m}, form: 原件, copies: 1}}" for m in materials)
    path = folder / f"{rid}.md"
    path.write_text(
        f"---\nid: {rid}\nkind: guide\ntitle: {title}\ndepartment: 测试部门\nmaterials:\n{items}\n"
        f"time_limit: {{legal_days: 20, promised_days: 3}}\nfee: {fee}\n"
        f"sources: [测试]\nupdated: 2026-11-20\n---\n{title}的说明。\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def use_embeddings():
    # The portable embedder keeps these many small ingests fast; e5 is covered by the session fixture.
    return load_embeddings("use")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    guide(folder, "pet-license", "宠物店经营备案", ["宠物店备案申请表", "经营场所平面图"])
    guide(folder, "boat-permit", "游船营运许可", ["游船检验证书", "船员适任证书"])
    return folder


def materials_answer(store: Path, question: str) -> str:
    return Engine(store).ask(question).answer


def test_first_ingest_then_unchanged_reingest_reuses_everything(corpus, tmp_path, use_embeddings):
    store = tmp_path / "index"
    first = ingest([corpus], store, use_embeddings)
    assert first.count("added") == 2 and not first.failed and first.embedded > 0
    second = ingest([corpus], store, use_embeddings)
    assert second.count("unchanged") == 2
    assert second.embedded == 0
    assert second.generation == first.generation  # nothing changed: the serving generation stays


def test_an_index_built_by_an_older_parser_gains_what_the_new_one_reads(tmp_path, use_embeddings, monkeypatch):
    # Unchanged files are not read again, so a parser improvement (here: the page's 事项名称 field as
    # an alias) never reached an existing index without --rebuild. A newer parser reads them once.
    import ingest.guide_parser as guide_parser
    from ingest import pipeline

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hr.html").write_text(
        "<html><head><title>某县 人力资源服务许可 办事指南</title></head><body><table>"
        "<tr><td>事项名称</td><td>人力资源服务许可</td></tr><tr><td>承诺时限</td><td>5个工作日</td></tr>"
        "<tr><td>是否收费</td><td>不收费</td></tr></table></body></html>", encoding="utf-8")
    store = tmp_path / "index"
    with monkeypatch.context() as older:
        older.setattr(pipeline, "PARSER_VERSION", pipeline.PARSER_VERSION - 1)
        older.setattr(guide_parser, "_names", lambda parts, title: [])
        ingest([docs], store, use_embeddings)
    assert [r.aliases for r in open_current(store).records.values()] == [[]]
    again = ingest([docs], store, use_embeddings)
    assert again.count("updated") == 1
    assert [r.aliases for r in open_current(store).records.values()] == [["人力资源服务许可"]]
    assert ingest([docs], store, use_embeddings).count("unchanged") == 1  # read once, then reused


def test_bad_files_fail_alone_and_previous_version_keeps_serving(corpus, tmp_path, use_embeddings):
    store = tmp_path / "index"
    ingest([corpus], store, use_embeddings)
    before = materials_answer(store, "宠物店经营备案需要什么材料")
    assert "宠物店备案申请表" in before

    (corpus / "empty.txt").write_text("")
    (corpus / "fake.pdf").write_bytes(os.urandom(4096))
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    with open(corpus / "huge.txt", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing 50 MB
    (corpus / "page.html").write_text(
        "<html><head><title>测试页面</title><script>alert('x')</script></head>"
        "<body><h1>测试页面</h1><p>普通说明文字。</p></body></html>", encoding="utf-8")
    (corpus / "gbk.txt").write_bytes("企业档案查询说明\n查询需要携带营业执照。".encode("gbk"))
    (corpus / "plain.txt").write_text("这是一段没有任何章节的文字，只是一些说明。", encoding="utf-8")
    # The good file is edited into a broken one: its previous version must keep serving.
    (corpus / "pet-license.md").write_text("---\nid: pet-license\nkind: guide\ntitle: [unclosed\n---\n",
                                           encoding="utf-8")
    missing = tmp_path / "does-not-exist.md"

    summary = ingest([corpus, missing], store, use_embeddings)
    failed = {Path(f.path).name: f.reason for f in summary.failed}
    assert set(failed) == {"empty.txt", "fake.pdf", "broken.docx", "huge.txt", "pet-license.md",
                           "does-not-exist.md"}
    assert all(reason and "\n" not in reason for reason in failed.values())
    added = {Path(f.path).name for f in summary.files if f.status == "added"}
    assert {"page.html", "gbk.txt", "plain.txt"} <= added

    engine = Engine(store)
    assert engine.ask("宠物店经营备案需要什么材料").answer == before
    html = next(r for r in engine.records.values() if r.title == "测试页面")
    assert "alert" not in json.dumps(html.model_dump(), ensure_ascii=False)
    assert any("营业执照" in s.text for r in engine.records.values() for s in r.sections if r.title.startswith("企业档案"))


def test_edit_and_delete_leave_nothing_of_the_old_version(corpus, tmp_path, use_embeddings):
    store = tmp_path / "index"
    ingest([corpus], store, use_embeddings)
    guide(corpus, "pet-license", "宠物店经营备案", ["新版备案承诺书"])
    (corpus / "boat-permit.md").unlink()
    summary = ingest([corpus], store, use_embeddings, prune=True)
    assert summary.count("updated") == 1 and summary.count("removed") == 1

    generation = open_current(store)
    everything = "\n".join(c.page_content for c in generation.chunks)
    assert "宠物店备案申请表" not in everything and "游船" not in everything
    assert "新版备案承诺书" in everything
    # Chroma holds exactly the new chunks, so dense search cannot surface the old text either.
    collection = generation.collection(ChromaLocation())
    assert collection.count() == len(generation.chunks)
    assert not collection.get(where_document={"$contains": "宠物店备案申请表"})["ids"]
    engine = Engine(store)
    answer = engine.ask("游船营运许可要什么材料")
    assert "游船检验证书" not in answer.answer and not answer.grounded


def test_deleted_file_without_prune_keeps_serving(corpus, tmp_path, use_embeddings):
    store = tmp_path / "index"
    ingest([corpus], store, use_embeddings)
    (corpus / "boat-permit.md").unlink()
    summary = ingest([corpus], store, use_embeddings)
    assert [f.status for f in summary.files if f.path.endswith("boat-permit.md")] == ["missing"]
    assert "游船检验证书" in materials_answer(store, "游船营运许可要什么材料")


def test_second_ingest_is_refused_while_one_runs(corpus, tmp_path, use_embeddings):
    store = tmp_path / "index"
    with ingest_lock(store), pytest.raises(IngestLocked, match="另一个导入正在进行"):
        ingest([corpus], store, use_embeddings)


def test_cli_ingest_exit_status_and_summary(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVBOT_EMBEDDING", "use")
    from ingest.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    store = tmp_path / "index"
    ok = runner.invoke(app, ["ingest", str(corpus), "--store", str(store)])
    assert ok.exit_code == 0, ok.output
    assert "新增" in ok.output and "失败" in ok.output
    (corpus / "empty.md").write_text("")
    bad = runner.invoke(app, ["ingest", str(corpus), "--store", str(store)])
    assert bad.exit_code == 1
    assert "empty.md" in bad.output
    get_settings.cache_clear()


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time, bm25s
    from pathlib import Path
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest

    original = bm25s.BM25.save
    def slow_save(self, *args, **kwargs):
        original(self, *args, **kwargs)
        Path(sys.argv[3]).write_text("writing")
        time.sleep(60)  # killed here, half-way through writing the generation
    bm25s.BM25.save = slow_save
    ingest([Path(sys.argv[1])], Path(sys.argv[2]), load_embeddings("use"), rebuild=True)
    """
)


def test_sigkill_half_way_leaves_previous_generation_serving(corpus, tmp_path, use_embeddings):
    store = tmp_path / "index"
    first = ingest([corpus], store, use_embeddings)
    before = materials_answer(store, "游船营运许可要什么材料")
    marker = tmp_path / "marker"
    guide(corpus, "boat-permit", "游船营运许可", ["不应出现的新材料"])
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(corpus), str(store), str(marker)],
                            cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the ingest subprocess ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert current_name(store) == first.generation
    assert materials_answer(store, "游船营运许可要什么材料") == before
    # The next ingest is not blocked by the dead one and sweeps its half-written directory.
    after = ingest([corpus], store, use_embeddings)
    assert after.generation != first.generation
    names = {p.name for p in (store / "generations").iterdir()}
    assert all((store / "generations" / n / "manifest.json").exists() for n in names)
    assert "不应出现的新材料" in materials_answer(store, "游船营运许可要什么材料")


def test_traditional_text_is_found_by_simplified_query(tmp_path, use_embeddings):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "trad.txt").write_text("營業執照遺失補領說明\n申請材料：\n1. 遺失聲明原件1份\n", encoding="utf-8")
    store = tmp_path / "index"
    ingest([folder], store, use_embeddings)
    engine = Engine(store)
    hits = engine.rank("营业执照遗失补领")
    assert hits and engine.records[hits[0].record_id].title.startswith("營業執照")  # display keeps the original


def test_docx_materials_table_becomes_structured(tmp_path, use_embeddings):
    import docx

    folder = tmp_path / "kb"
    folder.mkdir()
    document = docx.Document()
    document.add_heading("危险废物经营许可办事指南", level=1)
    document.add_heading("申请材料", level=2)
    table = document.add_table(rows=3, cols=4)
    for row, values in zip(table.rows, [["材料名称", "材料形式", "份数", "备注"],
                                        ["经营许可申请表", "原件", "1", ""],
                                        ["环境影响评价文件", "复印件", "2", "加盖公章"]], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("办结时限", level=2)
    document.add_paragraph("法定办结时限：20个工作日；承诺办结时限：10个工作日。")
    document.save(folder / "guide.docx")
    store = tmp_path / "index"
    summary = ingest([folder], store, use_embeddings)
    assert not summary.failed
    engine = Engine(store)
    record = next(iter(engine.records.values()))
    assert [(m.name, m.form, m.copies) for m in record.materials] == [
        ("经营许可申请表", "原件", 1), ("环境影响评价文件", "复印件", 2)]
    answer = engine.ask("危险废物经营许可要多久").answer
    assert "20个工作日" in answer and "10个工作日" in answer


def test_chroma_server_mode(corpus, tmp_path, use_embeddings, monkeypatch):
    chroma = Path(sys.executable).parent / "chroma"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "chroma-server"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        location = ChromaLocation("127.0.0.1", port)
        deadline = time.monotonic() + 60
        while True:
            try:
                location.client(tmp_path).heartbeat()
                break
            except Exception:
                assert time.monotonic() < deadline, "chroma server did not start"
                time.sleep(0.3)
        store = tmp_path / "index"
        summary = ingest([corpus], store, use_embeddings, location=location)
        assert not (store / "generations" / summary.generation / "chroma").exists()
        monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("CHROMA_PORT", str(port))
        from ingest.settings import Settings

        engine = Engine(store, settings=Settings())
        hits = engine._retriever._dense("游船营运需要的证书")
        assert hits, "dense search went to the server"
        assert "游船检验证书" in engine.ask("游船营运许可要什么材料").answer
        # A second generation replaces the first; the old collection is dropped from the server.
        guide(corpus, "boat-permit", "游船营运许可", ["游船检验证书", "保险单"])
        ingest([corpus], store, use_embeddings, location=location)
        ingest([corpus], store, use_embeddings, location=location, rebuild=True)
        names = {c.name for c in location.client(tmp_path).list_collections()}
        assert ChromaLocation.collection_name(summary.generation) not in names
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_zip_that_is_not_docx_names_the_file(tmp_path, use_embeddings):
    folder = tmp_path / "kb"
    folder.mkdir()
    with zipfile.ZipFile(folder / "notes.docx", "w") as z:
        z.writestr("hello.txt", "not a word document")
    summary = ingest([folder], tmp_path / "index", use_embeddings)
    assert [Path(f.path).name for f in summary.failed] == ["notes.docx"]


def test_quick_successive_ingests_keep_the_current_and_the_previous_generation(corpus, tmp_path, use_embeddings):
    # Regression: generation names once sorted randomly within one second, so the sweep could
    # delete the generation that had just been made current.
    store = tmp_path / "index"
    made = [ingest([corpus], store, use_embeddings, rebuild=True).generation for _ in range(6)]
    kept = sorted(p.name for p in (store / "generations").iterdir())
    assert kept == made[-2:]
    assert current_name(store) == made[-1]
    assert "游船检验证书" in materials_answer(store, "游船营运许可要什么材料")


def test_switching_the_embedder_rebuilds_even_when_no_file_changed(corpus, tmp_path, use_embeddings):
    # The admin sets GOVBOT_EMBEDDING to another model and re-ingests the same files: the index must be
    # rebuilt with it, not kept because "nothing changed".
    store = tmp_path / "index"
    first = ingest([corpus], store, use_embeddings)
    e5 = load_embeddings("e5")
    second = ingest([corpus], store, e5)
    assert second.generation != first.generation
    assert second.embedded == second.chunks and second.embedder == "e5"
    assert open_current(store).embedder == "e5"
    assert "游船检验证书" in materials_answer(store, "游船营运许可要什么材料")
    # And back again with nothing changed: every vector reused.
    assert ingest([corpus], store, e5).embedded == 0


def test_symlink_loops_fail_alone_and_previous_version_keeps_serving(corpus, tmp_path, use_embeddings):
    # Regression: Path.resolve() raised RuntimeError on a symlink loop, so one loop in the knowledge
    # folder crashed the whole ingest and nothing else was ingested.
    store = tmp_path / "index"
    first = ingest([corpus], store, use_embeddings)
    before = materials_answer(store, "游船营运许可要什么材料")
    (corpus / "a.md").symlink_to("b.md")
    (corpus / "b.md").symlink_to("a.md")
    (corpus / "self.txt").symlink_to("self.txt")
    # A file that was ingested becomes a loop: its previous version keeps serving, even with --prune.
    (corpus / "boat-permit.md").unlink()
    (corpus / "boat-permit.md").symlink_to("boat-permit.md")
    guide(corpus, "dog-walker", "遛狗服务登记", ["遛狗服务登记表"])
    loop_arg = tmp_path / "loop-arg.md"
    loop_arg.symlink_to(loop_arg.name)

    summary = ingest([corpus, loop_arg], store, use_embeddings, prune=True)
    failed = {Path(f.path).name: f.reason for f in summary.failed}
    assert set(failed) == {"a.md", "b.md", "self.txt", "boat-permit.md", "loop-arg.md"}
    assert all("符号链接" in reason and "循环" in reason and "\n" not in reason for reason in failed.values())
    assert summary.count("removed") == 0
    assert [Path(f.path).name for f in summary.files if f.status == "added"] == ["dog-walker.md"]
    assert summary.generation != first.generation
    assert materials_answer(store, "游船营运许可要什么材料") == before
    assert "遛狗服务登记表" in materials_answer(store, "遛狗服务登记需要什么材料")


def test_cli_check_reports_symlink_loops_instead_of_crashing(corpus, tmp_path):
    (corpus / "a.md").symlink_to("b.md")
    (corpus / "b.md").symlink_to("a.md")
    (corpus / "self.txt").symlink_to("self.txt")
    result = CliRunner().invoke(app, ["check", str(corpus)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a reported error, not a traceback
    errors = [line for line in result.output.splitlines() if "符号链接" in line]
    assert sorted(Path(line.split(":")[0]).name for line in errors) == ["a.md", "b.md", "self.txt"]
    assert "共 2 条" in result.output  # the good files are still checked


def test_rebuild_keeps_failed_and_unnamed_files_and_recomputes_every_vector(corpus, tmp_path, use_embeddings):
    # Regression: --rebuild dropped the previous generation, so a file failing in that run and every
    # item ingested from other paths disappeared.
    store = tmp_path / "index"
    extra = tmp_path / "extra"
    extra.mkdir()
    guide(extra, "dog-walker", "遛狗服务登记", ["遛狗服务登记表"])
    ingest([corpus, extra], store, use_embeddings)
    before = materials_answer(store, "宠物店经营备案需要什么材料")
    (corpus / "pet-license.md").write_text("---\nid: pet-license\nkind: guide\ntitle: [unclosed\n---\n",
                                           encoding="utf-8")

    summary = ingest([corpus], store, use_embeddings, rebuild=True)
    assert [Path(f.path).name for f in summary.failed] == ["pet-license.md"]
    assert summary.records == 3
    assert summary.embedded == summary.chunks  # nothing reused, the kept items included
    assert materials_answer(store, "宠物店经营备案需要什么材料") == before
    assert "遛狗服务登记表" in materials_answer(store, "遛狗服务登记需要什么材料")
    # Nothing changed, but --rebuild still re-reads and re-embeds everything into a new generation.
    again = ingest([corpus], store, use_embeddings, rebuild=True)
    assert again.generation != summary.generation and again.embedded == again.chunks == summary.chunks


def test_pruning_the_last_files_switches_to_an_empty_generation(corpus, tmp_path, use_embeddings):
    # Regression: with no records left the old generation stayed current, so "removed" items were
    # still answered.
    store = tmp_path / "index"
    first = ingest([corpus], store, use_embeddings)
    engine = Engine(store)
    assert "游船检验证书" in engine.ask("游船营运许可要什么材料").answer
    for path in list(corpus.iterdir()):
        path.unlink()

    summary = ingest([corpus], store, use_embeddings, prune=True)
    assert summary.count("removed") == 2
    assert summary.generation is not None and summary.generation != first.generation
    assert current_name(store) == summary.generation
    assert (summary.records, summary.chunks) == (0, 0)
    assert open_current(store).records == {}
    for answer in (engine.ask("游船营运许可要什么材料"), Engine(store).ask("游船营运许可要什么材料")):
        assert "游船检验证书" not in answer.answer and not answer.grounded
    # Ingesting again from the empty generation works and serves the new file.
    guide(corpus, "boat-permit", "游船营运许可", ["游船检验证书"])
    refilled = ingest([corpus], store, use_embeddings)
    assert refilled.count("added") == 1
    assert "游船检验证书" in engine.ask("游船营运许可要什么材料").answer

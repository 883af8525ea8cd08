"""Files an admin should never have put in the knowledge folder: each fails alone, with the file and the
reason, quickly, and what served before keeps serving (findings F1, F2, F6, F13, F14, F15 of the
reliability review)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.engine import Engine
from ingest.embeddings import load_embeddings
from ingest.pipeline import ingest
from tests.test_ingest import guide

ROOT = Path(__file__).resolve().parent.parent
# Generous: the fixed code takes about a second; the broken one took hours or hung for ever.
HANG_GUARD_SECONDS = 120


@pytest.fixture(scope="module")
def embeddings():
    return load_embeddings("hash")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    guide(folder, "pet-license", "宠物店经营备案", ["宠物店备案申请表", "经营场所平面图"])
    return folder


def ingest_in_subprocess(folder: Path, store: Path) -> dict[str, str]:
    """Ingest in a child process that is killed if it hangs; returns {file name: failure reason}."""
    script = textwrap.dedent(f"""
        import json
        from pathlib import Path
        from ingest.embeddings import load_embeddings
        from ingest.pipeline import ingest
        summary = ingest([Path({str(folder)!r})], Path({str(store)!r}), load_embeddings("hash"))
        print(json.dumps({{Path(f.path).name: f.reason for f in summary.failed}}, ensure_ascii=False))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=HANG_GUARD_SECONDS, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_yaml_alias_bomb_is_refused_at_once(corpus: Path, tmp_path: Path):
    # 9 levels of 9 aliases: about 400 million nodes from under a kilobyte; walking them took hours.
    lines = ["---", "id: yb", "kind: document", "title: t", "sources: [x]", "updated: 2026-11-01",
             "a0: &a0 [x,x,x,x,x,x,x,x,x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (corpus / "yb.md").write_text("\n".join([*lines, "---", "body"]) + "\n", encoding="utf-8")
    failed = ingest_in_subprocess(corpus, tmp_path / "index")
    assert set(failed) == {"yb.md"} and "锚点" in failed["yb.md"] and "第7行" in failed["yb.md"]
    assert "宠物店备案申请表" in Engine(tmp_path / "index").ask("宠物店经营备案需要什么材料").answer


def test_a_fifo_and_a_link_to_a_device_never_hang_ingest(corpus: Path, tmp_path: Path):
    os.mkfifo(corpus / "pipe.txt")  # reading it would block for ever
    (corpus / "zero.txt").symlink_to("/dev/zero")  # reading it would never end
    failed = ingest_in_subprocess(corpus, tmp_path / "index")
    assert set(failed) == {"pipe.txt", "zero.txt"}
    assert "不是普通文件" in failed["pipe.txt"] and "导入目录之外" in failed["zero.txt"]


def test_a_link_out_of_the_knowledge_folder_is_not_published(corpus: Path, tmp_path: Path, embeddings):
    outside = tmp_path / "secret.txt"
    outside.write_text("服务器内部配置说明，不应公开。", encoding="utf-8")
    (corpus / "innocent.txt").symlink_to(outside)
    (corpus / "inside.txt").write_text("宠物店经营备案的补充说明。", encoding="utf-8")
    (corpus / "alias.txt").symlink_to("inside.txt")  # a link that stays inside the folder is fine
    summary = ingest([corpus], tmp_path / "index", embeddings)
    failed = {Path(f.path).name: f.reason for f in summary.failed}
    assert set(failed) == {"innocent.txt"} and "导入目录之外" in failed["innocent.txt"]
    texts = [s.text for r in Engine(tmp_path / "index").records.values() for s in r.sections]
    assert not any("服务器内部配置" in t for t in texts)


def test_a_new_file_cannot_take_over_an_existing_items_id(corpus: Path, tmp_path: Path, embeddings):
    store = tmp_path / "index"
    ingest([corpus], store, embeddings)
    before = Engine(store).ask("宠物店经营备案需要什么材料").answer
    # Sorted before guides of the same folder, so it used to be read first and win silently.
    (corpus / "aaa").mkdir()
    impostor = guide(corpus / "aaa", "pet-license", "冒名顶替宠物店经营备案", ["伪造材料"])
    summary = ingest([corpus], store, embeddings)
    failed = {Path(f.path).name: f.reason for f in summary.failed}
    assert set(failed) == {impostor.name}
    assert "pet-license" in failed[impostor.name] and str(corpus / "pet-license.md") in failed[impostor.name]
    assert Engine(store).ask("宠物店经营备案需要什么材料").answer == before
    # The same holds when the impostor arrives in a run that does not name the original's folder.
    other = tmp_path / "uploads"
    other.mkdir()
    guide(other, "pet-license", "又一个冒名的宠物店经营备案", ["伪造材料"])
    summary = ingest([other], store, embeddings)
    assert [Path(f.path).name for f in summary.failed] == ["pet-license.md"]
    assert Engine(store).ask("宠物店经营备案需要什么材料").answer == before


def test_big5_text_is_read_as_the_characters_it_holds(tmp_path: Path, embeddings):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "big5.txt").write_bytes("企業開辦登記指南\n申請材料：營業執照副本、法定代表人身份證明。".encode("big5"))
    (folder / "gbk-short.txt").write_bytes("企业开办登记指南".encode("gbk"))
    summary = ingest([folder], tmp_path / "index", embeddings)
    assert not summary.failed
    texts = "\n".join(s.text for r in Engine(tmp_path / "index").records.values() for s in r.sections)
    titles = {r.title for r in Engine(tmp_path / "index").records.values()}
    assert "營業執照副本" in texts and "企業開辦登記指南" in titles and "企业开办登记指南" in titles


def test_damaged_structures_name_the_file_and_the_reason(tmp_path: Path, embeddings):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "deep.html").write_text("<html><body>" + "<div>" * 5000 + "深" + "</div>" * 5000 + "</body></html>",
                                      encoding="utf-8")
    (folder / "bigint.md").write_text("---\nid: bigint\nkind: document\ntitle: t\nsources: [x]\n"
                                      f"updated: 2026-11-01\ncount: {'9' * 5000}\n---\nbody\n", encoding="utf-8")
    summary = ingest([folder], tmp_path / "index", embeddings)
    failed = {Path(f.path).name: f.reason for f in summary.failed}
    assert "嵌套层级过深" in failed["deep.html"] and "RecursionError" not in failed["deep.html"]
    assert "数字" in failed["bigint.md"] and "ValueError" not in failed["bigint.md"]

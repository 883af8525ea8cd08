"""Chunks: one section of one item, title-prefixed, with ids stable across re-ingests."""

from __future__ import annotations

from ingest.chunking import MAX_CHUNK_CHARS, chunk_record
from ingest.schema import Material, Record, Section


def record(body: str = "说明文字。") -> Record:
    return Record(id="pet-shop", kind="guide", title="宠物店备案", fee="不收费",
                  materials=[Material(name="备案申请表", form="原件", copies=1)],
                  sections=[Section(key="body", heading="说明", text=body)])


def test_every_chunk_is_one_section_prefixed_with_the_title():
    chunks = chunk_record(record())
    ids = [c.id for c in chunks]
    assert "pet-shop#materials" in ids and "pet-shop#fee" in ids and "pet-shop#body" in ids
    for chunk in chunks:
        section = chunk.id.split("#")[1]
        assert chunk.metadata["section"] == section and chunk.metadata["record_id"] == "pet-shop"
        assert chunk.page_content.startswith(f"宠物店备案｜{chunk.metadata['heading']}\n")
    assert "备案申请表，原件，1份" in next(c for c in chunks if c.id == "pet-shop#materials").page_content


def test_ids_are_stable_and_long_sections_split_with_numbered_ids():
    long_body = "。".join(f"第{i}条说明内容比较长需要切分" for i in range(200)) + "。"
    first, again = chunk_record(record(long_body)), chunk_record(record(long_body))
    assert [c.id for c in first] == [c.id for c in again]
    body = [c for c in first if c.metadata["section"] == "body"]
    assert len(body) > 1
    assert [c.id for c in body] == ["pet-shop#body"] + [f"pet-shop#body-{n}" for n in range(1, len(body))]
    assert all(len(c.page_content) <= MAX_CHUNK_CHARS + len("宠物店备案｜说明\n") for c in body)

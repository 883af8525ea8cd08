"""Section-aware chunks: one section of one item, prefixed with the item's title, with stable ids."""

from __future__ import annotations

import hashlib

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.schema import SECTION_LABELS, Material, Record, Section

MAX_CHUNK_CHARS = 600
# length_function=len: the tiktoken-based splitters would try to download encodings.
_SPLITTER = RecursiveCharacterTextSplitter(
    chunk_size=MAX_CHUNK_CHARS,
    chunk_overlap=60,
    length_function=len,
    separators=["\n\n", "\n", "。", "；", "，", ""],
)


def days(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}个工作日"


def material_line(index: int, material: Material) -> str:
    parts = [f"{index}. {material.name}"]
    if material.form:
        parts.append(material.form)
    if material.copies:
        parts.append(f"{material.copies}份")
    if material.tolerance:
        parts.append("可容缺受理")
    line = "，".join(parts)
    # A bundle's derived line says which member items need the material.
    notes = "；".join(x for x in (needed_by(material), material.notes) if x)
    return f"{line}（{notes}）" if notes else line


def needed_by(material: Material) -> str:
    return f"{'、'.join(material.needed_by)}需要" if material.needed_by else ""


def structured_sections(record: Record) -> list[Section]:
    """The record's structured fields as readable sections (what gets indexed for them)."""
    sections: list[Section] = []

    def add(key: str, text: str) -> None:
        if text.strip():
            sections.append(Section(key=key, heading=SECTION_LABELS[key], text=text.strip()))

    overview = [record.summary]
    if record.aliases:
        overview.append("又称：" + "、".join(record.aliases))
    if record.department:
        overview.append("实施部门：" + record.department)
    add("overview", "\n".join(p for p in overview if p))
    if record.aliases:
        # The names people use, in a chunk of their own: a question that names the item matches it
        # strongly, however often other items' bodies mention the same words.
        add("names", "\n".join([record.title, *record.aliases]))
    add("conditions", "\n".join(record.conditions))
    add("materials", "\n".join(material_line(i, m) for i, m in enumerate(record.materials, 1)))
    add("process", "\n".join(f"{i}. {step}" for i, step in enumerate(record.process, 1)))
    if record.time_limit:
        t = record.time_limit
        lines = []
        if t.legal_days is not None:
            lines.append("法定办结时限：" + days(t.legal_days))
        if t.promised_days is not None:
            lines.append("承诺办结时限：" + days(t.promised_days))
        if t.notes:
            lines.append(t.notes)
        add("time", "\n".join(lines))
    add("fee", record.fee)
    if record.where:
        w = record.where
        add("where", "\n".join(x for x in (w.window, w.address) if x))
        add("online", w.online)
        add("hours", w.hours)
    add("phone", record.phone)
    add("basis", "\n".join(record.legal_basis))
    add("members", "\n".join(record.members))
    amount = record.amount
    if record.no_application_needed:
        amount = (amount + "\n免申即享：符合条件的无需申请。").strip()
    add("amount", amount)
    add("eligibility", "\n".join(record.eligibility_text))
    add("how", "\n".join(record.how_to_apply))
    add("deadline", record.deadline)
    return sections


def record_sections(record: Record) -> list[Section]:
    return structured_sections(record) + list(record.sections)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def indexed_sections(record: Record) -> list[Section]:
    """What retrieval sees of a record. A bundle's derived materials are its members' lists, which the
    members' own chunks already hold: indexed twice they would make every bundle look like the answer to
    a question about one of its members, so a bundle is found by what it says itself (what it adds)."""
    sections = record_sections(record)
    if record.kind != "bundle":
        return sections
    itself = f"《{record.title}》联办"  # how ingest/bundles.py marks what the bundle adds
    own = [m for m in record.materials if not m.needed_by or m.needed_by == [itself]]
    text = "\n".join(material_line(i, m) for i, m in enumerate(own, 1))
    return [Section(key=s.key, heading=s.heading, text=text) if s.key == "materials" else s
            for s in sections if s.key != "materials" or text]


def chunk_record(record: Record) -> list[Document]:
    """Chunks of one record; ids are ``<record id>#<section key>[-n]`` so re-ingests replace, never add."""
    documents: list[Document] = []
    seen: dict[str, int] = {}
    for section in indexed_sections(record):
        pieces = _SPLITTER.split_text(section.text) if len(section.text) > MAX_CHUNK_CHARS else [section.text]
        for piece in pieces:
            n = seen.get(section.key, 0)
            seen[section.key] = n + 1
            chunk_id = f"{record.id}#{section.key}" + (f"-{n}" if n else "")
            text = f"{record.title}｜{section.heading}\n{piece}"
            documents.append(
                Document(
                    id=chunk_id,
                    page_content=text,
                    metadata={
                        "record_id": record.id,
                        "section": section.key,
                        "heading": section.heading,
                        "title": record.title,
                        "kind": record.kind,
                        "source": record.source_path,
                        "hash": text_hash(text),
                    },
                )
            )
    if not documents:  # a record always has at least its title to be found by
        text = record.title
        documents.append(
            Document(
                id=f"{record.id}#overview",
                page_content=text,
                metadata={"record_id": record.id, "section": "overview", "heading": "事项说明",
                          "title": record.title, "kind": record.kind, "source": record.source_path,
                          "hash": text_hash(text)},
            )
        )
    return documents

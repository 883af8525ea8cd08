"""Turn the blocks of an unstructured 办事指南 (HTML, DOCX, PDF, TXT, plain Markdown) into a Record.

Government guides share a handful of sections (申请材料, 办理时限, 办理地点 ...). They appear as
headings, as short numbered lines ("一、申请材料"), as "label：value" lines or as the first column
of a key/value table. We recognise them, pull the structured fields we can read reliably
(materials, time limits, fee, where, phone ...) and keep every block's text in ``sections`` so
nothing is lost. Text is kept as written; traditional characters are converted only for matching.

The package does one job per module: text (Block and shared text helpers), labels (which section a
heading or label names), materials (申请材料 lines and tables), tables (key/value and step tables),
collector (blocks → parts), fields (parts → typed fields), members (a 一件事 document's items and
counts of materials). This module builds the Record.
"""

from __future__ import annotations

from ingest.guide_parser.collector import _LABEL_LEVEL, _collect_parts, _Part
from ingest.guide_parser.fields import (
    _bundle_summary,
    _fee,
    _joined,
    _lines,
    _materials,
    _members,
    _names,
    _time_limit,
    _where,
)
from ingest.guide_parser.labels import classify_heading
from ingest.guide_parser.materials import material_from_line, materials_from_table, normalise_form
from ingest.guide_parser.members import is_bundle_document, members_from_table
from ingest.guide_parser.text import Block, BlockKind, not_stated, to_simplified
from ingest.schema import Record, Section

__all__ = [
    "Block",
    "BlockKind",
    "classify_heading",
    "material_from_line",
    "materials_from_table",
    "members_from_table",
    "normalise_form",
    "not_stated",
    "parse_guide",
    "to_simplified",
]


def parse_guide(title: str, blocks: list[Block], record_id: str, source_path: str) -> Record:
    """Build a Record from document blocks. Every block's text ends up in a Section; the fields
    are filled from the sections we recognise. Kind "guide" needs at least two of them, else the
    record is a "document" (a notice that mentions 申请材料 once is not a service guide). A 一件事
    document that lists the items it merges has those names as its ``members``."""
    parts = _collect_parts(title, blocks, bundle=is_bundle_document(title, blocks))
    members = _members(parts)
    for part in parts:
        if part.key == "members" and not members:
            part.key = "body"  # a "涉及事项" heading over prose: no list to read
    by_key: dict[str, list[_Part]] = {}
    for part in parts:
        by_key.setdefault(part.key, []).append(part)
    recognised = {key for key in by_key if key != "body"}
    sections = [Section(key=part.key, heading=part.heading, text="\n".join(part.lines)) for part in parts]
    kind = "guide" if len(recognised) >= 2 else "document"
    if not recognised:
        return Record(id=record_id, kind=kind, title=title, aliases=_names(parts, title), members=members,
                      sections=sections, source_path=source_path, parsed=True)

    where_parts = by_key.get("where", [])
    hours_parts = by_key.get("hours", [])
    online_parts = by_key.get("online", [])
    where, where_phones = _where(where_parts, hours_parts, online_parts)
    has_where = any((where.window, where.address, where.online, where.hours))
    # Steps first, then the labelled facts of the basic-information table (办件类型, 到现场次数 ...).
    process_parts = sorted(by_key.get("process", []), key=lambda part: part.level == _LABEL_LEVEL)
    department = _lines(by_key.get("department", []))
    return Record(
        id=record_id,
        kind=kind,
        parsed=True,
        title=title,
        aliases=_names(parts, title),
        department=department[0] if department else "",
        conditions=_lines(by_key.get("conditions", [])),
        materials=_materials(by_key.get("materials", [])),
        time_limit=_time_limit(by_key["time"]) if "time" in by_key else None,
        fee=_fee(by_key.get("fee", [])),
        where=where if has_where else None,
        phone="；".join([*where_phones, *filter(None, [_joined(by_key.get("phone", []))])]),
        process=_lines(process_parts),
        legal_basis=_lines(by_key.get("basis", [])),
        members=members,
        summary=_bundle_summary(parts) if members else "",
        sections=sections,
        source_path=source_path,
    )

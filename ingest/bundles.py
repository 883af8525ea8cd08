"""A bundle's one set of materials, derived from its member guides (issue 11).

A hand-written joint list drifted from the members it merges: visitors were sent home without a
material a member requires. So the list is computed: every member material, de-duplicated by name,
the stricter form kept, each line naming the members that need it. The bundle file states only what
the joint application changes (`changes`: a material shared under one name or waived, with the
reason) and what it adds (`adds`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.schema import Material, Record
from ingest.textnorm import to_simplified

# Stricter first: bringing the original and a copy satisfies every weaker demand.
FORM_RANK = {"原件及复印件": 5, "原件": 4, "原件或复印件": 3, "复印件": 2, "电子件": 1, "": 0}
_NOISE = re.compile(r"[\s，,、；;：:。.（）()《》“”\"'【】\[\]/]")
_NAME_MIN = 4  # titles and aliases shorter than this ("社保") match too much prose


def material_key(name: str) -> str:
    """Names that differ only in spacing, punctuation or script are one material."""
    return _NOISE.sub("", to_simplified(name))


@dataclass
class Derived:
    materials: list[Material]
    waived: list[Material]
    errors: list[str] = field(default_factory=list)  # the bundle cannot be trusted as written
    warnings: list[str] = field(default_factory=list)


def derive(bundle: Record, records: dict[str, Record]) -> Derived:
    """The joint list of ``bundle`` from its members in ``records``, and what is wrong with the bundle."""
    errors: list[str] = []
    members = [records[m] for m in bundle.members if m in records and records[m].kind == "guide"]
    member_ids = {m.id for m in members}
    alias: dict[str, str] = {}  # material key -> key of the shared line it is merged into
    shared_reason: dict[str, str] = {}
    for change in bundle.changes:
        if change.action == "shared":
            for other in change.same_as:
                alias[material_key(other)] = material_key(change.material)
            shared_reason[material_key(change.material)] = change.reason
    waived_for: dict[str, tuple[set[str], str]] = {}
    for change in bundle.changes:
        if change.action == "waived":
            unknown = [m for m in change.members if m not in bundle.members]
            if unknown:
                errors.append(f"changes 中“{change.material}”指定的成员 {'、'.join(unknown)} 不在 members 中")
            waived_for[material_key(change.material)] = (set(change.members), change.reason)

    lines: dict[str, list[tuple[Record, Material]]] = {}
    waived: dict[str, list[tuple[Record, Material]]] = {}
    for member in members:
        for material in member.materials:
            key = material_key(material.name)
            only, _ = waived_for.get(key, (None, ""))
            if only is not None and (not only or member.id in only):
                waived.setdefault(key, []).append((member, material))
                continue
            lines.setdefault(alias.get(key, key), []).append((member, material))

    # Every name a change mentions must be one a member lists: a stale change hides nothing.
    listed = {material_key(m.name) for member in members for m in member.materials}
    for change in bundle.changes:
        for name in [change.material, *change.same_as]:
            if material_key(name) not in listed and member_ids:
                errors.append(f"changes 中的材料“{name}”不在任何成员事项的材料清单中")

    shared_names = {material_key(c.material): c.material for c in bundle.changes if c.action == "shared"}
    out = [_merge(entries, shared_names.get(key), shared_reason.get(key)) for key, entries in lines.items()]
    for add in bundle.adds:
        if material_key(add.name) in lines:
            errors.append(f"adds 中的“{add.name}”已是成员事项的材料，不必重复写；要改写法请用 changes")
            continue
        out.append(add.model_copy(update={"needed_by": [f"《{bundle.title}》联办"]}))
    gone = [_merge(entries, None, waived_for[key][1], "免交理由") for key, entries in waived.items()]
    return Derived(out, gone, errors)


def _merge(entries: list[tuple[Record, Material]], name: str | None, reason: str | None,
           label: str = "联办共用") -> Material:
    """One line for a material several members need: the strictest form, the most copies."""
    first = entries[0][1]
    form = max((m.form for _, m in entries), key=lambda f: FORM_RANK.get(f, 0))
    copies = [m.copies for _, m in entries if m.copies]
    needed_by = list(dict.fromkeys(f"《{member.title}》" for member, _ in entries))
    notes: list[str] = []
    forms = {m.form for _, m in entries}
    several = len(needed_by) > 1
    for member, material in entries:
        bits = []
        if several and len(forms) > 1 and material.form:
            bits.append(material.form)
        if material.notes:
            bits.append(material.notes)
        if bits:
            note = "，".join(bits)
            notes.append(f"《{member.title}》：{note}" if several else note)
    if reason:
        notes.append(f"{label}：{reason}")
    return Material(name=name or first.name, form=form, copies=max(copies) if copies else None,
                    notes="；".join(dict.fromkeys(notes)), tolerance=all(m.tolerance for _, m in entries),
                    needed_by=needed_by)


def unpromised(bundle: Record, records: Iterable[Record]) -> list[str]:
    """Guides the bundle's summary or process names although they are not its members.

    What a bundle promises to handle is what it says in its summary and steps; promising an item it has
    no member guide for sends the visitor away without that item's materials.
    """
    text = to_simplified("\n".join([bundle.summary, *bundle.process]))
    records = list(records)
    # A name inside a member's own names (营业执照 in 营业执照变更) is the member speaking, not a promise.
    own = "\n".join(to_simplified(n) for r in records if r.id in bundle.members for n in [r.title, *r.aliases])
    named = []
    for record in records:
        if record.kind != "guide" or record.id in bundle.members:
            continue
        names = [record.title, re.sub(r"（[^）]*）", "", record.title), *record.aliases]
        hit = next((n for n in names if len(n) >= _NAME_MIN and to_simplified(n) in text
                    and to_simplified(n) not in own), None)
        if hit:
            named.append(f"{hit}（{record.id}）")
    return named


def derive_all(records: list[Record]) -> tuple[list[Record], dict[str, list[str]]]:
    """Every bundle among ``records`` with its derived lists; problems by bundle id."""
    by_id = {r.id: r for r in records}
    problems: dict[str, list[str]] = {}
    out = []
    for record in records:
        if record.kind == "bundle":
            derived = derive(record, by_id)
            if derived.errors:
                problems[record.id] = derived.errors
            record = record.model_copy(update={"materials": derived.materials, "waived": derived.waived})
        out.append(record)
    return out, problems

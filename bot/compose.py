"""Extractive composer: answers quote the record's fields completely and name their source."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot import messages as M
from bot.answer import Block, block, inline, render_text
from bot.answer import BlockKind as K
from bot.intent import INTENTS, Intent, as_intent
from ingest import provenance, validity
from ingest.chunking import days, material_line
from ingest.schema import SECTION_LABELS, Record


@dataclass
class Composed:
    blocks: list[Block]
    section: str  # the section key the answer quotes

    def __post_init__(self) -> None:
        if isinstance(self.blocks, str):  # a body given as text (an LLM's, a test's)
            self.blocks = [Block(K.GENERATED, tuple(self.blocks.split("\n")))]

    @property
    def text(self) -> str:
        return render_text(self.blocks)


def has_section(record: Record, intent: str) -> bool:
    """Whether the record states what the intent asks for (structured field or a parsed section)."""
    key = INTENTS[as_intent(intent)].field
    if key is None or (record.members and as_intent(intent) in _BUNDLE_INTENTS):
        return True  # a 一件事 answers with its member items (and their joint materials when it has them)
    structured = {
        "materials": bool(record.materials),
        "conditions": bool(record.conditions),
        "validity": bool(_validity(record)),
        "time": record.time_limit is not None,
        "fee": bool(record.fee) and not is_empty_value(record.fee),
        "where": bool(record.where and (record.where.window or record.where.address or record.where.online)),
        "process": bool(record.process),
        # A policy answer is useful without a published amount: it says so and gives the rest.
        "amount": bool(record.amount or record.no_application_needed or record.eligibility_text
                       or record.how_to_apply),
        "eligibility": bool(record.eligibility_text),
    }[key]
    parsed = any((s.key == key or (key == "where" and s.key in ("online", "hours"))) and not is_empty_value(s.text)
                 for s in record.sections)
    return structured or parsed


_EMPTY_VALUE = re.compile(r"^[\s：:—\-－/无空]*$|未说明|为空|未注明|不详")


def is_empty_value(text: str) -> bool:
    """A field whose value states nothing ("是否收费：—", "此栏为空，未说明")."""
    return bool(_EMPTY_VALUE.search(re.split(r"[：:]", text, maxsplit=1)[-1]))


def _validity(record: Record) -> list[str]:
    """Sentences of the record that state how long its licence is valid, quoted as written.

    "有效期内" (while still valid) states no period, so it does not count.
    """
    texts = [record.summary, *record.conditions, *(s.text for s in record.sections)]
    sentences = (part.strip() for text in texts for part in re.split(r"[。；;\n]", text))
    return [f"{s}。" for s in sentences if re.search(r"有效期(?!内)", s) and re.search(r"\d|[一二三四五六七八九十]", s)]



def _numbered(items: list[str]) -> list[str]:
    return [f"{i}. {s}" for i, s in enumerate(items, 1)]


def _materials(record: Record) -> list[str]:
    lines = [material_line(i, m) for i, m in enumerate(record.materials, 1)]
    if any(m.tolerance for m in record.materials):
        lines.append(M.TOLERANCE_NOTE)
    return lines


def _time(record: Record) -> list[str]:
    t = record.time_limit
    if t is None:
        return []
    lines = []
    if t.legal_days is not None:
        lines.append(M.LEGAL_DAYS.format(days=days(t.legal_days)))
    if t.promised_days is not None:
        lines.append(M.PROMISED_DAYS.format(days=days(t.promised_days)))
    if t.notes:
        lines.append(t.notes)
    return lines


def _where(record: Record) -> list[str]:
    w = record.where
    lines = []
    if w:
        lines += [M.WINDOW.format(value=w.window)] if w.window else []
        lines += [M.ADDRESS.format(value=w.address)] if w.address else []
        lines += [M.ONLINE.format(value=w.online)] if w.online else []
        lines += [M.HOURS.format(value=w.hours)] if w.hours else []
    if record.phone:
        lines.append(M.PHONE.format(value=record.phone))
    return lines


def _parsed(record: Record, key: str) -> list[str]:
    """Text of sections the guide parser found in an unstructured document."""
    keys = {key, "online", "hours", "phone"} if key == "where" else {key}
    return [s.text for s in record.sections if s.key in keys]


def _heading(intent: Intent) -> str:
    return INTENTS[intent].heading


def _expired(record: Record) -> list[Block]:
    # An expired policy says so before its amount, so nobody reads the amount as on offer.
    return block(K.TEXT, [validity.notice(record)]) if validity.status(record) == "expired" else []


def _text(*lines: str) -> list[Block]:
    return block(K.TEXT, [line for line in lines if line])


def _policy(record: Record) -> list[Block]:
    blocks = _expired(record) + block(K.AMOUNT, [record.amount or M.NO_AMOUNT], _heading(Intent.SUBSIDY))
    if record.no_application_needed:
        blocks += _text(M.NO_APPLICATION)
    blocks += block(K.ELIGIBILITY, record.eligibility_text, _heading(Intent.ELIGIBILITY))
    blocks += block(K.HOW_TO_APPLY, _numbered(record.how_to_apply), M.H_HOW_TO_APPLY)
    return blocks + inline(K.DEADLINE, M.H_DEADLINE, record.deadline)


def _overview(record: Record, records: dict[str, Record]) -> list[Block]:
    if record.kind == "policy":
        return _text(record.summary) + _policy(record)
    if record.kind == "bundle":
        return _bundle(record, records)
    if record.kind == "document" and not record.materials:
        return block(K.TEXT, [s.text for s in record.sections][:3])
    blocks = _text(record.summary, M.DEPARTMENT.format(department=record.department) if record.department else "")
    blocks += block(K.TIME, _time(record), _heading(Intent.TIME))
    blocks += inline(K.FEE, _heading(Intent.FEE), record.fee)
    blocks += block(K.WHERE, _where(record), _heading(Intent.WHERE))
    if record.materials:
        blocks += _text(M.MATERIALS_COUNT.format(n=len(record.materials)))
    return blocks


def _bundle(record: Record, records: dict[str, Record]) -> list[Block]:
    members = _numbered([records[m].title if m in records else m for m in record.members])
    waived = [M.WAIVED_ROW.format(name=m.name, needed_by="、".join(m.needed_by), notes=m.notes) for m in record.waived]
    return (_text(record.summary) + block(K.MEMBERS, members, M.H_MEMBERS)
            + block(K.MATERIALS, _materials(record), M.H_BUNDLE_MATERIALS) + block(K.WAIVED, waived, M.H_WAIVED)
            + block(K.TIME, _time(record), _heading(Intent.TIME)) + block(K.WHERE, _where(record), _heading(Intent.WHERE)))


# Policies answer these intents from their own fields; bundles these.
_POLICY_INTENTS = (Intent.SUBSIDY, Intent.ELIGIBILITY, Intent.FEE, Intent.OTHER, Intent.MATERIALS, Intent.PROCESS)
_BUNDLE_INTENTS = (Intent.BUNDLE, Intent.OTHER, Intent.MATERIALS)


def _policy_body(record: Record, intent: Intent) -> tuple[list[Block], str]:
    if intent == Intent.MATERIALS and record.materials:
        return _expired(record) + block(K.MATERIALS, _materials(record), M.H_APPLY_MATERIALS), "materials"
    if intent == Intent.ELIGIBILITY:
        return (_expired(record) + block(K.ELIGIBILITY, record.eligibility_text, _heading(Intent.ELIGIBILITY))
                + block(K.AMOUNT, [record.amount] if record.amount else [], _heading(Intent.SUBSIDY))), "eligibility"
    return _policy(record), "amount"


def _section_body(record: Record, intent: Intent) -> list[Block]:
    """The record's structured field for ``intent``; [] when it has none."""
    heading = _heading(intent)
    if intent == Intent.MATERIALS:
        return block(K.MATERIALS, _materials(record), heading) if record.materials else []
    if intent == Intent.CONDITION:
        return block(K.CONDITIONS, _numbered(record.conditions), heading)
    if intent == Intent.VALIDITY:
        return block(K.VALIDITY, _validity(record), heading)
    if intent == Intent.TIME:
        return block(K.TIME, _time(record), heading) if record.time_limit else []
    if intent == Intent.FEE:
        return inline(K.FEE, heading, record.fee)
    if intent == Intent.WHERE and _where(record):
        # "哪个部门办" is a where question too: the department that does it is part of the answer.
        department = [M.DEPARTMENT.format(department=record.department)] if record.department else []
        return block(K.WHERE, _where(record) + department, heading)
    if intent == Intent.PROCESS:
        return block(K.PROCESS, _numbered(record.process), heading)
    return []


def compose(record: Record, intent: str, records: dict[str, Record]) -> Composed:
    """The answer body for ``intent`` about ``record``, quoting its fields completely."""
    intent = as_intent(intent)
    field = INTENTS[intent].field
    if record.kind == "policy" and intent in _POLICY_INTENTS:
        body, key = _policy_body(record, intent)
    elif (record.kind == "bundle" or record.members) and intent in _BUNDLE_INTENTS:
        body, key = _bundle(record, records), "members"
    elif body := _section_body(record, intent):
        key = field or "overview"
    elif field and _parsed(record, field):
        body, key = block(K.SECTION, _parsed(record, field), SECTION_LABELS[field]), field
    else:
        body, key = _overview(record, records), "overview"
    return Composed(block(K.TITLE, [record.title]) + body, key)


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def source_label(text: str) -> str:
    """A source as shown to the public: a URL as is, a local path by its file name only.

    The directory the admin ingested from (often an absolute server path) means nothing to a visitor.
    """
    if not text or is_url(text):
        return text
    return Path(text).name


def source_block(record: Record) -> Block:
    """The lines every answer about ``record`` ends with, whoever composed its body.

    A policy's validity and a warning about other regions' sources live here, not in the body, so an
    LLM-written or quoted-passage answer carries them too.
    """
    where = source_label(record.source_path or (record.sources[0] if record.sources else ""))
    line = (M.SOURCE_WHERE.format(title=record.title, where=where) if where
            else M.SOURCE.format(title=record.title))
    line += M.SOURCE_UPDATED.format(updated=record.updated) if record.updated else ""
    extra = [validity.footer(record), provenance.note(record)]
    return Block(K.SOURCE, (*(x for x in extra if x), line))


def source_line(record: Record) -> str:
    return render_text([source_block(record)])


def responsible(record: Record) -> list[str]:
    """The department, window (or address) and phone of ``record``: only what the record states."""
    where = record.where
    lines = [M.DEPARTMENT.format(department=record.department)] if record.department else []
    lines += [M.WINDOW.format(value=where.window)] if where and where.window else []
    lines += [M.ADDRESS.format(value=where.address)] if where and where.address else []
    return lines + ([M.PHONE.format(value=record.phone)] if record.phone else [])


def not_stated(record: Record, intent: str, what: str = "") -> list[Block]:
    """``what``: the document's own label of the field it leaves empty (执行期限), when it has one.

    The handoff names who is responsible for this very item, as a refusal does for the nearest one.
    """
    what = M.NOT_STATED_BLANK.format(label=what) if what else (INTENTS[as_intent(intent)].heading
                                                                or M.NOT_STATED_ANYTHING)
    contacts = responsible(record)
    if contacts:
        contacts.insert(0, M.NOT_STATED_ASK.format(title=record.title))
    return [Block(K.NOT_STATED, (M.NOT_STATED.format(title=record.title, what=what),)),
            Block(K.HANDOFF, (*contacts, M.HANDOFF)), source_block(record)]


def refusal(nearest: Record | None = None) -> list[Block]:
    """Nothing answers; the handoff names who is responsible for the ``nearest`` item, as its record states.

    Its department, window (or address) and phone only where the record has them: never an invented
    number. Without a nearest item that states any of them, the general line alone.
    """
    lines = []
    if nearest is not None:
        where = nearest.where
        lines += [M.DEPARTMENT.format(department=nearest.department)] if nearest.department else []
        lines += [M.WINDOW.format(value=where.window)] if where and where.window else []
        lines += [M.ADDRESS.format(value=where.address)] if where and where.address else []
        lines += [M.PHONE.format(value=nearest.phone)] if nearest.phone else []
    if lines:
        lines.insert(0, M.HANDOFF_NEAREST.format(title=nearest.title))
    return [Block(K.REFUSAL, M.REFUSAL), Block(K.HANDOFF, (*lines, M.HANDOFF))]


def notice(text: str) -> list[Block]:
    return [Block(K.NOTICE, (text,))]


def passage_blocks(sentences: list[str]) -> list[Block]:
    """Sentences quoted exactly from the document."""
    return [Block(K.PASSAGE, tuple(sentences), M.H_PASSAGE)]


def faq_blocks(question: str, answer: str, source: str, record: Record) -> list[Block]:
    """A FAQ pair's answer quoted exactly under its question, then where it comes from.

    The source line names the pair's own source (窗口整理, a URL) and the file that holds the pair.
    """
    where = source_label(record.source_path or (record.sources[0] if record.sources else ""))
    line = (M.FAQ_SOURCE.format(source=source, where=where) if source
            else M.FAQ_SOURCE_FILE.format(title=record.title, where=where))
    line += M.SOURCE_UPDATED.format(updated=record.updated) if record.updated else ""
    blocks = [Block(K.FAQ, tuple(answer.split("\n")), question), Block(K.SOURCE, (line,))]
    if record.confirm_at_window and M.CONFIRM.rstrip("。") not in answer:  # said once is enough
        blocks.append(Block(K.CONFIRM, (M.CONFIRM,)))
    return blocks

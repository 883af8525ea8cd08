"""Extractive composer: answers quote the record's fields completely and name their source."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest import provenance, validity
from ingest.chunking import days, material_line
from ingest.schema import SECTION_LABELS, Record

CONFIRM = "以窗口最新告知为准。"
HANDOFF = "如需人工帮助，请到自贡高新区政务服务中心窗口咨询，或联系营商环境专员。"

# The record field each intent is answered from, for the "does the record say it at all?" check.
INTENT_SECTION = {
    "materials": "materials",
    "condition": "conditions",
    "validity": "validity",
    "time": "time",
    "fee": "fee",
    "where": "where",
    "process": "process",
    "subsidy": "amount",
    "eligibility": "eligibility",
}
WHAT = {
    "materials": "申请材料",
    "condition": "受理条件",
    "validity": "证照有效期",
    "time": "办理时限",
    "fee": "收费标准",
    "where": "办理地点",
    "process": "办理流程",
    "subsidy": "支持标准",
    "eligibility": "申报条件",
}


@dataclass
class Composed:
    text: str
    section: str  # the section key the answer quotes


def has_section(record: Record, intent: str) -> bool:
    """Whether the record states what the intent asks for (structured field or a parsed section)."""
    key = INTENT_SECTION.get(intent)
    if key is None:
        return True
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


def _lines(title: str, items: list[str]) -> list[str]:
    return [title, *items] if items else []


def _materials(record: Record) -> list[str]:
    lines = [material_line(i, m) for i, m in enumerate(record.materials, 1)]
    if any(m.tolerance for m in record.materials):
        lines.append("注：标“可容缺受理”的材料，可先受理、后补交，是否适用以窗口确认为准。")
    return lines


def _time(record: Record) -> list[str]:
    t = record.time_limit
    if t is None:
        return []
    lines = []
    if t.legal_days is not None:
        lines.append(f"法定办结时限：{days(t.legal_days)}")
    if t.promised_days is not None:
        lines.append(f"承诺办结时限：{days(t.promised_days)}")
    if t.notes:
        lines.append(t.notes)
    return lines


def _where(record: Record) -> list[str]:
    w = record.where
    lines = []
    if w:
        lines += [f"办理窗口：{w.window}"] if w.window else []
        lines += [f"地址：{w.address}"] if w.address else []
        lines += [f"网上办理：{w.online}"] if w.online else []
        lines += [f"办理时间：{w.hours}"] if w.hours else []
    if record.phone:
        lines.append(f"咨询电话：{record.phone}")
    return lines


def _parsed(record: Record, key: str) -> list[str]:
    """Text of sections the guide parser found in an unstructured document."""
    keys = {key, "online", "hours", "phone"} if key == "where" else {key}
    return [s.text for s in record.sections if s.key in keys]


NO_AMOUNT = "知识库未写明具体金额，以主管部门最新通知为准。"


def _policy(record: Record) -> list[str]:
    # An expired policy says so before its amount, so nobody reads the amount as on offer.
    lines = [validity.notice(record)] if validity.status(record) == "expired" else []
    lines += _lines("【支持标准】", [record.amount or NO_AMOUNT])
    if record.no_application_needed:
        lines.append("免申即享：符合条件的无需申请。")
    lines += _lines("【申报条件】", record.eligibility_text)
    lines += _lines("【申报方式】", [f"{i}. {s}" for i, s in enumerate(record.how_to_apply, 1)])
    lines += [f"【申报时间】{record.deadline}"] if record.deadline else []
    return lines


def _overview(record: Record, records: dict[str, Record]) -> list[str]:
    if record.kind == "policy":
        return ([record.summary] if record.summary else []) + _policy(record)
    if record.kind == "bundle":
        return _bundle(record, records)
    if record.kind == "document" and not record.materials:
        return [s.text for s in record.sections][:3]
    lines = [record.summary] if record.summary else []
    if record.department:
        lines.append(f"实施部门：{record.department}")
    lines += _lines("【办理时限】", _time(record))
    lines += [f"【收费标准】{record.fee}"] if record.fee else []
    lines += _lines("【办理地点】", _where(record))
    if record.materials:
        lines.append(f"申请材料共 {len(record.materials)} 项，可问“需要哪些材料”查看完整清单。")
    return lines


def _bundle(record: Record, records: dict[str, Record]) -> list[str]:
    lines = [record.summary] if record.summary else []
    members = [f"{i}. {records[m].title if m in records else m}" for i, m in enumerate(record.members, 1)]
    lines += _lines("【包含事项】", members)
    lines += _lines("【合并后的申请材料】", _materials(record))
    lines += _lines("【联办免交】", [f"· {m.name}（{'、'.join(m.needed_by)}；{m.notes}）" for m in record.waived])
    lines += _lines("【办理时限】", _time(record))
    lines += _lines("【办理地点】", _where(record))
    return lines


def compose(record: Record, intent: str, records: dict[str, Record]) -> Composed:
    """The answer body for ``intent`` about ``record``, quoting its fields completely."""
    if record.kind == "policy" and intent in ("subsidy", "eligibility", "fee", "other", "materials", "process"):
        expired = [validity.notice(record)] if validity.status(record) == "expired" else []
        if intent == "materials" and record.materials:
            body, key = expired + _lines("【申报材料】", _materials(record)), "materials"
        elif intent == "eligibility":
            body = expired + _lines("【申报条件】", record.eligibility_text) + _lines(
                "【支持标准】", [record.amount] if record.amount else [])
            key = "eligibility"
        else:
            body, key = _policy(record), "amount"
    elif record.kind == "bundle" and intent in ("bundle", "other", "materials"):
        body, key = _bundle(record, records), "members"
    elif intent == "materials" and record.materials:
        body, key = _lines("【申请材料】", _materials(record)), "materials"
    elif intent == "condition" and record.conditions:
        body, key = _lines("【受理条件】", [f"{i}. {c}" for i, c in enumerate(record.conditions, 1)]), "conditions"
    elif intent == "validity" and _validity(record):
        body, key = _lines("【证照有效期】", _validity(record)), "validity"
    elif intent == "time" and record.time_limit:
        body, key = _lines("【办理时限】", _time(record)), "time"
    elif intent == "fee" and record.fee:
        body, key = [f"【收费标准】{record.fee}"], "fee"
    elif intent == "where" and _where(record):
        # "哪个部门办" is a where question too: the department that does it is part of the answer.
        department = [f"实施部门：{record.department}"] if record.department else []
        body, key = _lines("【办理地点】", _where(record) + department), "where"
    elif intent == "process" and record.process:
        body, key = _lines("【办理流程】", [f"{i}. {s}" for i, s in enumerate(record.process, 1)]), "process"
    elif intent in INTENT_SECTION and _parsed(record, INTENT_SECTION[intent]):
        key = INTENT_SECTION[intent]
        body = [f"【{SECTION_LABELS[key]}】", *_parsed(record, key)]
    else:
        body, key = _overview(record, records), "overview"
    head = f"《{record.title}》"
    return Composed("\n".join([head, *body]), key)


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def source_label(text: str) -> str:
    """A source as shown to the public: a URL as is, a local path by its file name only.

    The directory the admin ingested from (often an absolute server path) means nothing to a visitor.
    """
    if not text or is_url(text):
        return text
    return Path(text).name


def source_line(record: Record) -> str:
    """The lines every answer about ``record`` ends with, whoever composed its body.

    A policy's validity and a warning about other regions' sources live here, not in the body, so an
    LLM-written or quoted-passage answer carries them too.
    """
    where = source_label(record.source_path or (record.sources[0] if record.sources else ""))
    line = f"来源：《{record.title}》（{where}）" if where else f"来源：《{record.title}》"
    line += f"，更新于 {record.updated}" if record.updated else ""
    extra = [validity.footer(record), provenance.note(record)]
    return "\n".join([*(x for x in extra if x), line])


def not_stated(record: Record, intent: str, what: str = "") -> str:
    """``what``: the document's own label of the field it leaves empty (执行期限), when it has one."""
    what = f"{what}（原文此栏为空）" if what else WHAT.get(intent, "这方面的内容")
    return f"知识库中《{record.title}》没有写明{what}，我不能替您猜测。\n{HANDOFF}\n" + source_line(record)


REFUSAL = ("抱歉，知识库里没有找到能回答这个问题的内容，我不能替您猜测。\n"
           "我可以解答已收录的企业办事指南（申请材料、办理时限、收费、办理地点）、“一件事”套餐和惠企政策；"
           "个人事务（如个人所得税、个人社保、证件）和知识库未收录地区的规定不在范围内。\n" + HANDOFF)
NO_INDEX = "知识库尚未导入，请管理员先导入办事指南。"


def passage_block(sentences: list[str]) -> str:
    """Sentences quoted exactly from the document."""
    return "【原文摘录】\n" + "\n".join(sentences)
EMPTY = "请输入您要咨询的问题，例如：“开公司需要哪些材料？”“高新技术企业认定有什么奖励？”"

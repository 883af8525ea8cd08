"""The knowledge record: one service item (guide, bundle, policy) or one plain document.

Structured Markdown files under ``knowledge/`` carry these fields in YAML front matter;
unstructured files (HTML, DOCX, PDF, TXT, plain Markdown) become records with the
fields the guide parser could find and the rest of the text in ``sections``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["guide", "bundle", "policy", "document", "faq"]  # faq: a file that only holds question-answer pairs
MaterialForm = Literal["原件", "复印件", "原件及复印件", "电子件", "原件或复印件", ""]

# Section keys, in the order a guide is usually read. The Chinese labels are what users see.
SECTION_LABELS: dict[str, str] = {
    "overview": "事项说明",
    "names": "事项名称",
    "conditions": "受理条件",
    "materials": "申请材料",
    "process": "办理流程",
    "time": "办结时限",
    "fee": "收费标准",
    "where": "办理地点",
    "hours": "办理时间",
    "online": "网上办理",
    "phone": "咨询电话",
    "basis": "设定依据",
    "members": "包含事项",
    "amount": "支持标准",
    "eligibility": "申报条件",
    "how": "申报方式",
    "deadline": "申报时间",
    "faq": "常见问题",  # an answer taken from a FAQ pair (bot/faq.py)
    "body": "说明",
}


class _Strict(BaseModel):
    # Unknown keys in front matter are almost always typos of a real field: reject them.
    model_config = ConfigDict(extra="forbid")


class Material(_Strict):
    name: str = Field(min_length=1)
    form: MaterialForm = ""
    copies: int | None = Field(default=None, ge=0)
    notes: str = ""
    tolerance: bool = False  # 容缺受理: may be handed in after acceptance
    # Filled when a bundle's list is derived, not by authors: the member items that need this material.
    needed_by: list[str] = []


class BundleChange(_Strict):
    """What a joint application changes in its members' lists; only these may differ from the members."""

    material: str = Field(min_length=1)  # as a member guide names it
    action: Literal["shared", "waived"]  # shared: one copy serves several members; waived: not needed at all
    same_as: list[str] = []  # shared: other members' names for the same material
    members: list[str] = []  # waived: only for these members (empty: every member that lists it)
    reason: str = Field(min_length=1)  # why; shown to the visitor


class TimeLimit(_Strict):
    legal_days: float | None = Field(default=None, ge=0)  # 法定办结时限, working days
    promised_days: float | None = Field(default=None, ge=0)  # 承诺办结时限, working days
    notes: str = ""


class Where(_Strict):
    window: str = ""
    address: str = ""
    online: str = ""
    hours: str = ""


class Eligibility(_Strict):
    """Machine-readable conditions a policy matcher can evaluate; None means no condition."""

    in_zone: bool | None = None
    industries: list[str] = []  # empty: any industry
    excluded_industries: list[str] = []  # a negative list; narrower industries of these are excluded too
    certifications_any: list[str] = []  # at least one of these
    certifications_all: list[str] = []  # all of these
    min_employees: int | None = None
    max_employees: int | None = None
    min_revenue_wan: float | None = None
    max_revenue_wan: float | None = None
    min_rd_ratio: float | None = Field(default=None, ge=0, le=1)
    min_new_hires: int | None = None
    min_fixed_asset_investment_wan: float | None = None
    founded_after_year: int | None = None  # founded in or after this year
    notes: str = ""


class FaqEntry(_Strict):
    """One question with the answer to quote exactly (issue 15); ``about``: the id of the item it is about."""

    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    source: str = ""  # who wrote or published the answer (a URL, 窗口整理…); shown with the answer
    about: str = ""

    @field_validator("question", "answer", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        # A blank answer ("  ") is as empty as a missing one: it must fail min_length.
        return value.strip() if isinstance(value, str) else value


class Section(BaseModel):
    """A titled block of prose, kept as written (traditional characters too)."""

    key: str
    heading: str
    text: str


class Record(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Kind
    title: str = Field(min_length=1)
    aliases: list[str] = []
    department: str = ""
    stage: str = ""  # life-cycle stage: 开办, 经营许可, 工程建设, 用工, 纳税, 变更, 注销, 扶持
    summary: str = ""
    conditions: list[str] = []
    materials: list[Material] = []
    time_limit: TimeLimit | None = None
    fee: str = ""
    where: Where | None = None
    phone: str = ""
    process: list[str] = []
    legal_basis: list[str] = []
    # bundle: the joint list is derived from the members' lists at ingest (ingest/bundles.py) and
    # written into `materials`; the file states only what the bundle adds and changes.
    members: list[str] = []
    adds: list[Material] = []
    changes: list[BundleChange] = []
    waived: list[Material] = []  # derived: member materials the joint application does not need, with why
    # policy
    amount: str = ""
    amount_max_wan: float | None = None
    eligibility_text: list[str] = []
    eligibility: Eligibility | None = None
    how_to_apply: list[str] = []
    deadline: str = ""
    no_application_needed: bool = False  # 免申即享
    issuer: str = ""
    # policy validity: dates as YYYY-MM-DD; an empty valid_until with a basis means no end date is set
    valid_from: str = ""
    valid_until: str = ""
    validity_basis: str = ""  # the document that sets the period
    successor_hint: str = ""  # where to check for a follow-up policy once this one ends
    # provenance
    sources: list[str] = []
    updated: str = ""
    confirm_at_window: bool = True  # end answers with 以窗口最新告知为准
    sections: list[Section] = []
    faq: list[FaqEntry] = []  # question-answer pairs answered as written (bot/faq.py)
    # filled by the loader, not by authors
    source_path: str = ""
    parsed: bool = False  # read from an unstructured document (its kind and fields are the parser's guess)

    @field_validator("updated", "valid_from", "valid_until", mode="before")
    @classmethod
    def _date_to_str(cls, value: object) -> object:
        # YAML turns 2026-11-01 into a date; we keep it as text.
        return value.isoformat() if hasattr(value, "isoformat") else value

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("日期须写成 YYYY-MM-DD，例如 2027-12-31")
        return value

    @field_validator("id", mode="before")
    @classmethod
    def _id_str(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

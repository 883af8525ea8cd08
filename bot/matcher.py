"""Policy matcher: a company profile in, the policies it qualifies for (and what it lacks for the rest) out.

Only the policies' machine-readable ``eligibility`` block is evaluated. Every policy ends up in one bucket:

* eligible: every condition is met (conditions that exist only in prose are shown as 还需核对);
* near: exactly one condition is unmet and everything else is met; the unmet condition is named;
* undecided: a condition needs a profile field that was not given (the field is named);
* not_applicable: two or more conditions unmet, or the policy rewards persons, not enterprises.

Channel-neutral: the CLI, Telegram and the web call `parse_profile`/`load_profile`, `match`,
`render_text` and `as_json`. Channels where people type answers use `typed_value` to read them, and
`plain_labels` (or ``render_text(plain=True)``) to show the matcher's messages without field keys.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest import validity
from ingest.schema import Eligibility, Record

FIELD_LABELS: dict[str, str] = {
    "industry": "所属行业",
    "in_zone": "是否在自贡高新区注册",
    "employees": "员工人数",
    "revenue_wan": "年营业收入，万元",
    "founded_year": "成立年份",
    "certifications": "资质与身份",
    "taxpayer": "增值税纳税人类型",
    "rd_ratio": "研发投入占营业收入比例，0到1的小数",
    "new_hires": "本年新招用人数",
    "fixed_asset_investment_wan": "固定资产投资，万元",
}
# The same fields as people see them (the web form's labels, the chat's questions and summary): the CLI's
# messages name the JSON key for whoever edits the profile file; the channels show these instead.
PLAIN_LABELS: dict[str, str] = {
    "industry": "所属行业",
    "in_zone": "是否在自贡高新区注册",
    "employees": "员工人数",
    "revenue_wan": "年营业收入（万元）",
    "founded_year": "成立年份",
    "certifications": "资质与身份",
    "taxpayer": "增值税纳税人类型",
    "rd_ratio": "研发投入占比",
    "new_hires": "本年新招用人数",
    "fixed_asset_investment_wan": "固定资产投资（万元）",
}
# Numeric fields and the units a person may type after the number ("120人", "8000万元"). Only the field's
# own unit is dropped: "8000元" stays text and is rejected, never read as 8000 万元. rd_ratio's "5%" is
# read by the Profile model itself.
NUMBER_UNITS: dict[str, tuple[str, ...]] = {
    "employees": ("人", "名"), "revenue_wan": ("万元", "万"), "founded_year": ("年",), "rd_ratio": (),
    "new_hires": ("人", "名"), "fixed_asset_investment_wan": ("万元", "万"),
}
_HUNDRED_MILLION = ("亿元", "亿")  # 1亿 = 10000万, for the 万元 fields

# Industry names a profile may use beyond the policies' own `industries`: national sectors
# (GB/T 4754 门类, short forms) and the zone's featured industries, so an ordinary company is not "unknown".
BASE_INDUSTRIES: tuple[str, ...] = (
    "新材料", "节能环保", "电子信息", "装备制造", "生物医药", "数字经济", "化工", "食品",
    "农林牧渔业", "采矿业", "制造业", "烟草制造业", "电力热力燃气及水生产和供应业", "建筑业",
    "批发和零售业", "批发业", "零售业", "交通运输仓储和邮政业", "住宿和餐饮业", "住宿业", "餐饮业",
    "信息传输软件和信息技术服务业", "软件和信息技术服务业", "金融业", "房地产业", "租赁和商务服务业",
    "科学研究和技术服务业", "水利环境和公共设施管理业", "生态保护和环境治理业",
    "居民服务修理和其他服务业", "教育", "卫生和社会工作", "文化体育和娱乐业", "娱乐业",
)
# A narrower industry satisfies a policy that lists its broader family (钠电 company -> 新能源 policy),
# never the reverse. The 新能源 family is the one policy-new-energy-cluster defines.
INDUSTRY_PARENT: dict[str, str] = {
    "钠离子电池": "新能源", "锂电池": "新能源", "储能": "新能源", "光伏": "新能源",
    "电池材料": "新能源", "电池装备": "新能源", "风电": "新能源", "氢能": "新能源",
    "烟草制造业": "制造业", "批发业": "批发和零售业", "零售业": "批发和零售业",
    "住宿业": "住宿和餐饮业", "餐饮业": "住宿和餐饮业", "娱乐业": "文化体育和娱乐业",
    "软件和信息技术服务业": "信息传输软件和信息技术服务业",
    "生态保护和环境治理业": "水利环境和公共设施管理业",
}
INDUSTRY_SYNONYMS: dict[str, str] = {
    "钠电": "钠离子电池", "钠离子": "钠离子电池", "钠电池": "钠离子电池",
    "锂电": "锂电池", "锂离子电池": "锂电池", "锂电子电池": "锂电池",
    "新型储能": "储能", "储能电池": "储能", "太阳能": "光伏", "光伏发电": "光伏",
    "风力发电": "风电", "氢能源": "氢能", "新能源产业": "新能源",
    "软件": "软件和信息技术服务业", "信息技术": "软件和信息技术服务业", "IT": "软件和信息技术服务业",
    "科研": "科学研究和技术服务业", "技术服务": "科学研究和技术服务业",
    "批发": "批发业", "零售": "零售业", "商贸": "批发和零售业", "餐饮": "餐饮业", "住宿": "住宿业",
    "酒店": "住宿业", "房地产": "房地产业", "建筑": "建筑业", "金融": "金融业", "环保": "节能环保",
    "制造": "制造业", "工业": "制造业", "农业": "农林牧渔业",
}
CERT_SYNONYMS: dict[str, str] = {
    "高企": "高新技术企业", "国家高新技术企业": "高新技术企业", "国家高新": "高新技术企业",
    "科小": "科技型中小企业", "科技型中小": "科技型中小企业",
    "专精特新企业": "专精特新", "专精特新中小企业": "专精特新",
    "规上企业": "规模以上企业", "规上": "规模以上企业", "规模以上": "规模以上企业",
    "一般纳税人": "增值税一般纳税人", "小规模纳税人": "增值税小规模纳税人",
    "小型微利": "小型微利企业", "个体户": "个体工商户",
}
TAXPAYER_CERTS: dict[str, str] = {"一般纳税人": "增值税一般纳税人", "小规模纳税人": "增值税小规模纳税人"}
TAXPAYER_CHOICES: tuple[str, ...] = tuple(TAXPAYER_CERTS)  # the taxpayer question's answers, in every channel
# The 资质与身份 every channel offers to pick (checkboxes, buttons); `cert_choices` adds the policies' own.
CERT_CHOICES: tuple[str, ...] = ("高新技术企业", "科技型中小企业", "专精特新", "规模以上企业", "小型微利企业",
                                 "个体工商户")
# Until the schema says who may apply (see module report), persons-only policies are recognised by their notes.
PERSONS_ONLY_NOTES = re.compile(r"只奖励个人|奖励对象(?:为|是)(?:人才)?个人|企业不(?:符合条件|能作为申报主体)")
_SPLIT = re.compile(r"[,，、;；/\s]+")
_EPSILON = 1e-9  # 0.03 must pass a 3% threshold however it was typed
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # 8,000 but not 120,8000
# "employees（员工人数）" as the matcher's messages name a field, with the spaces that set the key apart from
# Chinese text (not a bullet's "· ", not a line break); the lookbehind leaves min_employees alone.
FIELD_REF = re.compile(r"(?:(?<=[^\s·]) )?(?<![A-Za-z_])(" + "|".join(map(re.escape, FIELD_LABELS))
                       + r")（[^）]*）(?: (?=\S))?")


# ----------------------------------------------------------------------------- profile

def _clean_text(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


def typed_value(field: str, text: str) -> object:
    """An answer a person typed for one profile field, in the form `parse_profile` validates.

    Forgiving where the meaning is plain: full-width characters, spaces, thousands separators, the
    field's own unit (120人, ８０００万元, 2019年) and 亿 for the 万元 fields (1.2亿 -> 12000). Anything
    else, and every non-numeric field, comes back as the text (NFKC, trimmed), so the matcher's
    validation decides and names the problem: "8000元" and "abc" get 须为数字, "5%" is read as 0.05.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    units = NUMBER_UNITS.get(field)
    if units is None:
        return value
    compact, scale = re.sub(r"\s+", "", value), 1
    if "万元" in units and compact.endswith(_HUNDRED_MILLION) and compact not in _HUNDRED_MILLION:
        compact, scale = compact.removesuffix("元").removesuffix("亿"), 10_000
    else:
        for unit in units:
            if compact.endswith(unit) and compact != unit:
                compact = compact.removesuffix(unit)
                break
    if _THOUSANDS.fullmatch(compact):
        compact = compact.replace(",", "")
    if not _NUMBER.fullmatch(compact):
        return value
    with localcontext(prec=len(compact) + 5):  # exact: 1.2亿 is 12000, not 12000.000000000002
        number = Decimal(compact) * scale
    # A whole number stays an int, so an int field accepts it and a message echoes "-5", not "-5.0".
    return int(number) if number == number.to_integral_value() else float(number)


def plain_labels(text: str) -> str:
    """The matcher's text with each field key (``employees（员工人数）``) replaced by its label for people.

    The label is quoted (“员工人数”不能为负数) unless a quotation follows (所属行业“钢铁”无法识别).
    """
    def label(m: re.Match[str]) -> str:
        name = PLAIN_LABELS[m.group(1)]
        return name if text.startswith("“", m.end()) else f"“{name}”"

    return FIELD_REF.sub(label, text)


def canonical_industry(name: str) -> str:
    """The industry's canonical name: synonyms resolved, a trailing 行业/产业/领域 dropped when that helps."""
    text = _clean_text(name)
    text = INDUSTRY_SYNONYMS.get(text, text)
    static = set(BASE_INDUSTRIES) | set(INDUSTRY_PARENT) | set(INDUSTRY_PARENT.values())
    if text not in static:
        for suffix in ("行业", "产业", "领域", "企业"):
            stem = text.removesuffix(suffix)
            # Only when the stem is a known name: 房地产业 must not become 房地.
            if stem != text and INDUSTRY_SYNONYMS.get(stem, stem) in static:
                return INDUSTRY_SYNONYMS.get(stem, stem)
    return text


def canonical_cert(name: str) -> str:
    text = _clean_text(name).strip("“”\"'")
    return CERT_SYNONYMS.get(text, text)


def _lineage(industry: str) -> set[str]:
    names = {canonical_industry(industry)}
    current = canonical_industry(industry)
    while current in INDUSTRY_PARENT and INDUSTRY_PARENT[current] not in names:
        current = INDUSTRY_PARENT[current]
        names.add(current)
    return names


def industry_matches(industry: str, listed: Iterable[str]) -> bool:
    return bool(_lineage(industry) & {canonical_industry(name) for name in listed})


Records = Iterable[Record] | Mapping[str, Record]


def _records(records: Records) -> list[Record]:
    # Engine.records is a dict by id; check_paths gives a list.
    return list(records.values() if isinstance(records, Mapping) else records)


def policy_industries(records: Records) -> list[str]:
    names: dict[str, None] = {}
    for record in _records(records):
        if record.eligibility is not None:
            for name in record.eligibility.industries:
                names[canonical_industry(name)] = None
    return list(names)


def known_industries(records: Records = ()) -> list[str]:
    """The policies' own industries first, then the general sectors; canonical names, no duplicates."""
    names = dict.fromkeys(policy_industries(records))
    names.update(dict.fromkeys((*BASE_INDUSTRIES, *INDUSTRY_PARENT, *INDUSTRY_PARENT.values())))
    return list(names)


def cert_choices(records: Records = ()) -> list[str]:
    """The 资质 to offer: the usual ones, then any other the policies require (taxpayer types are asked apart)."""
    names = dict.fromkeys(CERT_CHOICES)
    for record in _records(records):
        if record.eligibility is not None:
            for cert in (*record.eligibility.certifications_any, *record.eligibility.certifications_all):
                name = canonical_cert(cert)
                if name not in TAXPAYER_CERTS.values():
                    names[name] = None
    return list(names)


def known_certs(records: Records = ()) -> set[str]:
    """Every 资质 name the matcher understands: the choices, the synonyms' targets, the taxpayer types."""
    return set(cert_choices(records)) | set(CERT_SYNONYMS.values()) | set(TAXPAYER_CERTS.values())


def _unknown_industry_message(industry: str, records: Records) -> str:
    named = policy_industries(records)
    others = [name for name in known_industries(records) if name not in named]
    return (f"industry（所属行业）“{industry}”无法识别。政策所列行业：{'、'.join(named) or '无'}；"
            f"其他可填行业：{'、'.join(others)}；也接受常见简称，如钠电、锂电、软件、餐饮")


def _contradictions(values: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Cross-field problems as (message, fields to distrust)."""
    problems: list[tuple[str, tuple[str, ...]]] = []
    employees, new_hires = values.get("employees"), values.get("new_hires")
    if employees is not None and new_hires is not None and new_hires > employees:
        problems.append((f"new_hires（本年新招用人数）为{new_hires}，多于 employees（员工人数）{employees}："
                         "本年新招用的人员也计入员工人数，请核对这两项", ("new_hires", "employees")))
    revenue, rd_ratio = values.get("revenue_wan"), values.get("rd_ratio")
    if revenue == 0 and rd_ratio:
        problems.append(("rd_ratio（研发投入占比）按营业收入计算，revenue_wan（年营业收入）为0时不可能大于0，"
                         "请核对这两项", ("rd_ratio", "revenue_wan")))
    certs = set(values.get("certifications") or [])
    taxpayer = values.get("taxpayer")
    types = {c for c in TAXPAYER_CERTS.values() if c in certs}
    if taxpayer:
        types.add(TAXPAYER_CERTS[taxpayer])
    if len(types) > 1:
        problems.append(("增值税一般纳税人与小规模纳税人只能是其中一种，请核对 taxpayer（增值税纳税人类型）"
                         "与 certifications（资质与身份）", ("taxpayer", "certifications")))
    return problems


def _reject_bool(value: object) -> object:
    # JSON true/false would silently become 1/0 in a number field.
    if isinstance(value, bool):
        raise ValueError("须为数字，不能是 true/false")
    return value


# Far above any real company, far below where a number stops converting to float (10^309 made
# /api/match and Telegram's /match fail while formatting the result).
MAX_COUNT = 10_000_000
MAX_WAN = 1_000_000_000


class Profile(BaseModel):
    """What a company tells the matcher about itself. Every field is optional; None means "not given"."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    industry: str | None = None
    in_zone: bool | None = None
    employees: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    revenue_wan: float | None = Field(default=None, ge=0, le=MAX_WAN)
    founded_year: int | None = Field(default=None, ge=1900)
    certifications: list[str] | None = None  # qualifications and statuses: 高新技术企业, 规模以上企业, 小型微利企业 …
    taxpayer: Literal["一般纳税人", "小规模纳税人"] | None = None
    rd_ratio: float | None = Field(default=None, ge=0)
    new_hires: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    fixed_asset_investment_wan: float | None = Field(default=None, ge=0, le=MAX_WAN)

    @field_validator("employees", "revenue_wan", "founded_year", "rd_ratio", "new_hires",
                     "fixed_asset_investment_wan", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        return _reject_bool(value)

    @field_validator("rd_ratio", mode="before")
    @classmethod
    def _percent_text(cls, value: object) -> object:
        # "5%" says plainly it is a percent; a bare 5 is ambiguous and rejected below.
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                return float(value.strip().rstrip("%")) / 100
            except ValueError:
                return value
        return value

    @field_validator("rd_ratio")
    @classmethod
    def _ratio(cls, value: float | None) -> float | None:
        if value is not None and value > 1:
            if value <= 100:
                raise ValueError(f"应为0到1之间的小数，{value:g} 看起来是百分数：{value:g}%请填写 {value / 100:g}")
            raise ValueError("应为0到1之间的小数，例如研发投入占营业收入5%填写 0.05")
        return value

    @field_validator("founded_year")
    @classmethod
    def _not_future(cls, value: int | None) -> int | None:
        this_year = date.today().year
        if value is not None and value > this_year:
            raise ValueError(f"不能晚于今年（{this_year}年）")
        return value

    @field_validator("in_zone", mode="before")
    @classmethod
    def _yes_no(cls, value: object) -> object:
        return {"是": True, "否": False}.get(value.strip(), value) if isinstance(value, str) else value

    @field_validator("industry", mode="before")
    @classmethod
    def _industry(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("taxpayer", mode="before")
    @classmethod
    def _taxpayer(cls, value: object) -> object:
        return _clean_text(value).removeprefix("增值税") if isinstance(value, str) else value

    @field_validator("certifications", mode="before")
    @classmethod
    def _certs_in(cls, value: object) -> object:
        return [part for part in _SPLIT.split(value) if part] if isinstance(value, str) else value

    @field_validator("certifications")
    @classmethod
    def _certs(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return list(dict.fromkeys(c for c in (canonical_cert(v) for v in value) if c))

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        problems = _contradictions(self.__dict__)
        if problems:
            raise ValueError("；".join(message for message, _ in problems))
        return self

    def has_cert(self, cert: str) -> bool | None:
        """True/False when the profile says; None when it does not (no certifications, no taxpayer type)."""
        if cert in (self.certifications or []):
            return True
        if cert in TAXPAYER_CERTS.values():
            if self.taxpayer is not None:
                return TAXPAYER_CERTS[self.taxpayer] == cert
            # Listing 高新技术企业 says nothing about the VAT status: only the other type listed does.
            other_listed = any(c in (self.certifications or []) for c in TAXPAYER_CERTS.values() if c != cert)
            return False if other_listed else None
        return None if self.certifications is None else False

    def all_certs(self) -> list[str]:
        certs = list(self.certifications or [])
        if self.taxpayer is not None and TAXPAYER_CERTS[self.taxpayer] not in certs:
            certs.append(TAXPAYER_CERTS[self.taxpayer])
        return certs


_ERROR_TEXT: dict[str, str] = {
    "int_parsing": "须为整数", "int_type": "须为整数", "int_from_float": "须为整数",
    "float_parsing": "须为数字", "float_type": "须为数字", "finite_number": "须为有限的数字",
    "bool_parsing": "须为 true 或 false", "bool_type": "须为 true 或 false",
    "string_type": "须为文字", "list_type": "须为列表，例如 [\"高新技术企业\"]",
    "literal_error": "只能是：一般纳税人 或 小规模纳税人",
}


def _field_text(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return f"{name}（{label}）" if label else name


def _pydantic_messages(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.errors():
        loc = error.get("loc", ())
        where = _field_text(str(loc[0])) if loc else "档案"
        if len(loc) > 1 and isinstance(loc[1], int):
            where += f" 第{loc[1] + 1}项"
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "greater_than_equal":
            text = "不能为负数" if ctx.get("ge") == 0 else f"不能小于{ctx.get('ge')}"
        elif kind == "less_than_equal":
            text = f"不能大于{ctx.get('le')}，请检查数字和单位"
        elif kind == "value_error":
            text = str(ctx.get("error", error["msg"]))
        else:
            text = _ERROR_TEXT.get(kind, error["msg"])
        shown = json.dumps(error.get("input"), ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 40 else shown[:37] + "…"  # a 4,000-digit number is not worth echoing
        messages.append(f"{where}{text}（收到：{shown}）" if loc else text)
    return messages


def parse_profile(data: object, records: Records = ()) -> tuple[Profile | None, list[str]]:
    """Validate a profile field by field: bad fields are reported and left out, the rest is still usable.

    Returns (profile, errors); profile is None only when ``data`` is not a JSON object at all.
    ``records`` supply the industries the policies name (for the unknown-industry check).
    """
    if not isinstance(data, dict):
        return None, ["企业档案须为 JSON 对象，例如 {\"industry\": \"新能源\", \"in_zone\": true}"]
    errors: list[str] = []
    if not data:
        errors.append("企业档案为空，无法判断大多数政策。可填写：" + "、".join(_field_text(f) for f in FIELD_LABELS))
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in Profile.model_fields:
            guess = difflib.get_close_matches(str(key), list(Profile.model_fields), n=1)
            errors.append(f"未知字段 {key}" + (f"，是否想填 {_field_text(guess[0])}？" if guess else "。")
                          + "可填写：" + "、".join(FIELD_LABELS))
            continue
        if value is None:
            continue
        try:
            values[key] = getattr(Profile.model_validate({key: value}), key)
        except ValidationError as exc:
            errors.extend(_pydantic_messages(exc))
    for message, fields in _contradictions(values):
        errors.append(message)
        for name in fields:
            values.pop(name, None)
    industry = values.get("industry")
    if industry is not None and canonical_industry(industry) not in known_industries(records):
        errors.append(_unknown_industry_message(industry, records))
        values.pop("industry")
    return Profile.model_validate(values), errors


def load_profile(path: Path, records: Records = ()) -> tuple[Profile | None, list[str]]:
    """Read a profile JSON file; unreadable files give (None, [reason])."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None, [f"找不到企业档案文件：{path}"]
    except UnicodeDecodeError:
        return None, [f"企业档案文件 {path} 不是 UTF-8 文本"]
    except OSError as exc:
        return None, [f"无法读取企业档案文件 {path}：{exc.strerror or exc}"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"企业档案文件 {path} 不是有效的 JSON（第{exc.lineno}行第{exc.colno}列）：{exc.msg}"]
    return parse_profile(data, records)


# ----------------------------------------------------------------------------- matching

Status = Literal["met", "unmet", "unknown"]


@dataclass
class Condition:
    """One machine-readable condition of one policy, judged against the profile."""

    key: str  # the Eligibility field, e.g. min_rd_ratio
    requirement: str  # 研发投入占比需不低于3%
    status: Status
    actual: str = ""  # 当前为2%
    needs: tuple[str, ...] = ()  # profile fields that would decide an unknown condition

    def describe(self) -> str:
        if self.status == "unknown":
            return f"{self.requirement}（需提供 " + "、".join(_field_text(f) for f in self.needs) + "）"
        if self.status == "unmet":
            return f"{self.requirement}，{self.actual}"
        return f"{self.requirement}（{self.actual}）" if self.actual else self.requirement


@dataclass
class Verdict:
    id: str
    title: str
    status: Literal["eligible", "near", "undecided", "not_applicable"]
    amount: str = ""
    how: str = ""
    no_application_needed: bool = False
    conditions: list[Condition] = field(default_factory=list)
    notes: str = ""  # conditions that exist only in prose: to be checked by a person
    reason: str = ""  # why, for verdicts that are not about conditions (persons-only, no eligibility block)

    @property
    def unmet(self) -> list[Condition]:
        return [c for c in self.conditions if c.status == "unmet"]

    @property
    def needs(self) -> list[str]:
        wanted = {f for c in self.conditions if c.status == "unknown" for f in c.needs}
        return [f for f in FIELD_LABELS if f in wanted]

    @property
    def missing(self) -> str:
        """The unmet condition(s) in Chinese; for undecided verdicts, what must be supplied."""
        if self.reason:
            return self.reason
        parts = []
        if self.needs:
            parts.append("需要补充：" + "、".join(_field_text(f) for f in self.needs))
        if self.unmet:
            prefix = "另有一项不满足：" if self.needs else ""
            parts.append(prefix + "；".join(c.describe() for c in self.unmet))
        return "；".join(parts)


@dataclass
class MatchResult:
    eligible: list[Verdict] = field(default_factory=list)
    near: list[Verdict] = field(default_factory=list)
    undecided: list[Verdict] = field(default_factory=list)
    not_applicable: list[Verdict] = field(default_factory=list)
    profile_errors: list[str] = field(default_factory=list)

    @property
    def missing_fields(self) -> list[str]:
        """Profile fields whose absence left some policy undecided."""
        wanted = {f for v in self.undecided for f in v.needs}
        return [f for f in FIELD_LABELS if f in wanted]


def _num(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    return _num(value * 100) + "%"


def _cert_phrase(cert: str) -> str:
    return f"须为{cert}" if cert.endswith(("企业", "纳税人", "工商户")) else f"须具备{cert}资质"


def _certs_now(profile: Profile) -> str:
    certs = profile.all_certs()
    return "当前资质与身份：" + "、".join(certs) if certs else "当前无任何资质"


def _persons_only(eligibility: Eligibility) -> bool:
    # Forward-compatible with a schema field `applicant` ("enterprise" | "person" | "any").
    return getattr(eligibility, "applicant", None) == "person" or bool(PERSONS_ONLY_NOTES.search(eligibility.notes))


def _numeric(key: str, limit: float, value: float | None, field_name: str, phrase: str,
             unit: str, at_least: bool, show=_num) -> Condition:
    # Head counts read 不少于; amounts and ratios read 不低于 (研发投入占比需不低于3%).
    floor = "不少于" if unit == "人" else "不低于"
    requirement = f"{phrase}需{floor if at_least else '不超过'}{show(limit)}{unit}"
    if value is None:
        return Condition(key, requirement, "unknown", needs=(field_name,))
    ok = value >= limit - _EPSILON if at_least else value <= limit + _EPSILON
    return Condition(key, requirement, "met" if ok else "unmet", f"当前为{show(value)}{unit}")


def conditions_for(eligibility: Eligibility, profile: Profile) -> list[Condition]:
    """Every machine-readable condition of one policy, each judged met / unmet / unknown."""
    e, p = eligibility, profile
    out: list[Condition] = []
    if e.in_zone is not None:
        requirement = "须在自贡高新区注册" if e.in_zone else "须不在自贡高新区注册"
        if p.in_zone is None:
            out.append(Condition("in_zone", requirement, "unknown", needs=("in_zone",)))
        else:
            actual = "当前已在高新区注册" if p.in_zone else "当前未在高新区注册"
            out.append(Condition("in_zone", requirement, "met" if p.in_zone == e.in_zone else "unmet", actual))
    industry_now = ""
    if p.industry is not None:
        canonical = canonical_industry(p.industry)
        industry_now = f"当前为{p.industry}" + (f"（{canonical}）" if canonical != p.industry else "")
    if e.industries:
        requirement = "所属行业须为以下之一：" + "、".join(e.industries)
        if p.industry is None:
            out.append(Condition("industries", requirement, "unknown", needs=("industry",)))
        else:
            ok = industry_matches(p.industry, e.industries)
            out.append(Condition("industries", requirement, "met" if ok else "unmet", industry_now))
    if e.excluded_industries:
        excluded = e.excluded_industries
        requirement = "所属行业不得为：" + "、".join(excluded)
        if p.industry is None:
            out.append(Condition("excluded_industries", requirement, "unknown", needs=("industry",)))
        else:
            bad = industry_matches(p.industry, excluded)
            out.append(Condition("excluded_industries", requirement, "unmet" if bad else "met", industry_now))
    if e.certifications_any:
        requirement = "须为以下之一：" + "、".join(e.certifications_any)
        held = [profile.has_cert(canonical_cert(c)) for c in e.certifications_any]
        needs = tuple(dict.fromkeys("taxpayer" if canonical_cert(c) in TAXPAYER_CERTS.values() else "certifications"
                                    for c, h in zip(e.certifications_any, held, strict=True) if h is None))
        status: Status = "met" if any(held) else ("unknown" if needs else "unmet")
        out.append(Condition("certifications_any", requirement, status, _certs_now(p), needs))
    for cert in e.certifications_all:
        held_one = profile.has_cert(canonical_cert(cert))
        if held_one is None:
            need = "taxpayer" if canonical_cert(cert) in TAXPAYER_CERTS.values() else "certifications"
            out.append(Condition("certifications_all", _cert_phrase(cert), "unknown", needs=(need,)))
        else:
            out.append(Condition("certifications_all", _cert_phrase(cert), "met" if held_one else "unmet",
                                 "已具备" if held_one else _certs_now(p)))
    numeric = (
        ("min_employees", e.min_employees, p.employees, "employees", "员工人数", "人", True, _num),
        ("max_employees", e.max_employees, p.employees, "employees", "员工人数", "人", False, _num),
        ("min_revenue_wan", e.min_revenue_wan, p.revenue_wan, "revenue_wan", "年营业收入", "万元", True, _num),
        ("max_revenue_wan", e.max_revenue_wan, p.revenue_wan, "revenue_wan", "年营业收入", "万元", False, _num),
        ("min_rd_ratio", e.min_rd_ratio, p.rd_ratio, "rd_ratio", "研发投入占比", "", True, _pct),
        ("min_new_hires", e.min_new_hires, p.new_hires, "new_hires", "本年新招用人数", "人", True, _num),
        ("min_fixed_asset_investment_wan", e.min_fixed_asset_investment_wan, p.fixed_asset_investment_wan,
         "fixed_asset_investment_wan", "固定资产投资", "万元", True, _num),
    )
    for key, limit, value, field_name, phrase, unit, at_least, show in numeric:
        if limit is not None:
            out.append(_numeric(key, limit, value, field_name, phrase, unit, at_least, show))
    if e.founded_after_year is not None:
        requirement = f"成立年份须在{e.founded_after_year}年或之后"
        if p.founded_year is None:
            out.append(Condition("founded_after_year", requirement, "unknown", needs=("founded_year",)))
        else:
            ok = p.founded_year >= e.founded_after_year
            out.append(Condition("founded_after_year", requirement, "met" if ok else "unmet",
                                 f"当前为{p.founded_year}年"))
    return out


def judge(record: Record, profile: Profile, today: date | None = None) -> Verdict:
    """One policy's verdict for one profile on ``today`` (default: the configured day)."""
    verdict = Verdict(record.id, record.title, "not_applicable", amount=record.amount,
                      how="；".join(record.how_to_apply), no_application_needed=record.no_application_needed)
    state = validity.status(record, today)
    if state in ("expired", "not_yet"):
        # Whatever the profile, an expired policy is never 符合条件: nothing can be applied for.
        verdict.reason = validity.notice(record, today).removeprefix("【已到期】").removeprefix("【尚未施行】")
        return verdict
    eligibility = record.eligibility
    if eligibility is not None:
        verdict.notes = eligibility.notes
        if _persons_only(eligibility):
            verdict.reason = "奖励对象为个人，企业本身不能作为受益主体申报"
            return verdict
        verdict.conditions = conditions_for(eligibility, profile)
    if not verdict.conditions:
        # No eligibility block, or nothing in it a profile can decide: "eligible" would promise it to every
        # company. So an eligible verdict always has conditions to show.
        verdict.status = "undecided"
        verdict.reason = "申报条件无法按企业档案自动判断，请对照申报条件原文" + (f"：{verdict.notes}"
                                                                 if verdict.notes else "")
        return verdict
    unmet = len(verdict.unmet)
    unknown = any(c.status == "unknown" for c in verdict.conditions)
    if unmet >= 2:
        verdict.status = "not_applicable"
    elif unknown:
        verdict.status = "undecided"  # even with one unmet: the missing field may hide a second one
    elif unmet == 1:
        verdict.status = "near"
    else:
        verdict.status = "eligible"
    if state == "unknown" and verdict.status in ("eligible", "near"):
        # Shown under 还需核对: a policy with no known period may have ended.
        verdict.notes = "；".join(x.rstrip("。") for x in (verdict.notes, "政策未写明执行期限，请先向主管部门核实是否仍在执行")
                                 if x)
    return verdict


def match(profile: Profile, records: Records, today: date | None = None) -> MatchResult:
    """Sort every policy among ``records`` (other kinds are ignored) into the four buckets, by id."""
    result = MatchResult()
    for record in sorted((r for r in _records(records) if r.kind == "policy"), key=lambda r: r.id):
        verdict = judge(record, profile, today)
        getattr(result, verdict.status).append(verdict)
    return result


def match_data(data: object, records: Records, today: date | None = None) -> MatchResult:
    """Parse and match in one step, for channels that receive a profile as a dict."""
    policies = _records(records)
    profile, errors = parse_profile(data, policies)
    result = match(profile, policies, today) if profile is not None else MatchResult()
    result.profile_errors = errors
    return result


def load_policies(store_dir: Path, knowledge_dir: Path) -> tuple[list[Record], str]:
    """Policies from the current index if there is one, else straight from the knowledge files.

    Returns (policies, a one-line Chinese note saying which).
    """
    from ingest.index import open_current

    try:
        generation = open_current(store_dir, with_bm25=False)
    except (OSError, ValueError, KeyError) as exc:
        generation, broken = None, f"（索引无法读取：{exc}）"
    else:
        broken = ""
    if generation is not None:
        policies = [r for r in generation.records.values() if r.kind == "policy"]
        return policies, f"政策来源：当前索引 {generation.name}（{len(policies)} 条政策）"
    from ingest.check import check_paths

    report = check_paths([knowledge_dir])
    policies = [r for r in report.records if r.kind == "policy"]
    return policies, f"政策来源：知识文件 {knowledge_dir}（尚无索引{broken}；{len(policies)} 条政策）"


# ----------------------------------------------------------------------------- output

def as_json(result: MatchResult) -> dict[str, Any]:
    """The JSON contract of `govbot match --json`: eligible, near, profile_errors (+ undecided)."""
    return {
        "eligible": [{"id": v.id, "title": v.title, "amount": v.amount, "how": v.how} for v in result.eligible],
        "near": [{"id": v.id, "title": v.title, "missing": v.missing} for v in result.near],
        "profile_errors": list(result.profile_errors),
        "undecided": [{"id": v.id, "title": v.title, "needs": v.needs, "reason": v.missing}
                      for v in result.undecided],
    }


def render_text(result: MatchResult, *, plain: bool = False) -> str:
    """A Chinese report for people; every verdict names the policy (title and id) and the condition.

    ``plain=True`` is for channels whose users never see the JSON profile: no record ids, and fields by
    their labels (`plain_labels`) rather than their keys.
    """
    def ref(v: Verdict) -> str:
        return "" if plain else f"（{v.id}）"

    lines: list[str] = []
    if result.profile_errors:
        lines.append("【企业档案有问题】以下内容未参与判断，请修改后重试：")
        lines += [f"· {message}" for message in result.profile_errors]
        lines.append("")
    if result.eligible:
        lines.append(f"【符合条件】共 {len(result.eligible)} 项")
        for n, v in enumerate(result.eligible, 1):
            lines.append(f"{n}. {v.title}{ref(v)}" + ("〔免申即享〕" if v.no_application_needed else ""))
            lines.append("   支持标准：" + (v.amount or "公开资料未载明具体标准，以主管部门通知为准"))
            lines.append("   符合：" + "；".join(c.describe() for c in v.conditions))
            if v.notes:
                lines.append(f"   还需核对：{v.notes}")
            if v.how:
                lines.append(f"   申报方式：{v.how}")
        lines.append("")
    if result.near:
        lines.append(f"【差一项条件】共 {len(result.near)} 项")
        for n, v in enumerate(result.near, 1):
            lines.append(f"{n}. {v.title}{ref(v)}")
            lines.append(f"   未满足：{v.missing}")
            if v.amount:
                lines.append(f"   支持标准：{v.amount}")
        lines.append("")
    if result.undecided:
        lines.append(f"【信息不足，暂无法判断】共 {len(result.undecided)} 项")
        for n, v in enumerate(result.undecided, 1):
            lines.append(f"{n}. {v.title}{ref(v)}：{v.missing}")
        if result.missing_fields:
            lines.append("补充以下信息可判断更多政策：" + "、".join(_field_text(f) for f in result.missing_fields))
        lines.append("")
    if result.not_applicable:
        lines.append(f"【不适用】共 {len(result.not_applicable)} 项")
        for v in result.not_applicable:
            lines.append(f"· {v.title}{ref(v)}：{v.missing}")
        lines.append("")
    if not (result.eligible or result.near or result.undecided or result.not_applicable):
        lines.append("没有可以给出的匹配结果。")
        lines.append("")
    lines.append("以上按各政策的机读申报条件初步匹配，仅供参考；能否享受以主管部门最新通知和窗口告知为准。")
    text = "\n".join(lines)
    return plain_labels(text) if plain else text

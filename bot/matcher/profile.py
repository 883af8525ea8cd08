"""A company profile: what people type read into numbers (`typed_value`), the Profile model, and its
validation field by field, each problem worded for people (`parse_profile`, `load_profile`)."""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot import messages
from bot.matcher.vocabulary import (
    FIELD_LABELS,
    NUMBER_UNITS,
    TAXPAYER_CERTS,
    Records,
    canonical_cert,
    canonical_industry,
    clean_text,
    field_text,
    known_industries,
    policy_industries,
)

_HUNDRED_MILLION = ("亿元", "亿")  # 1亿 = 10000万, for the 万元 fields
_SPLIT = re.compile(r"[,，、;；/\s]+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # 8,000 but not 120,8000


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


def _unknown_industry_message(industry: str, records: Records) -> str:
    named = policy_industries(records)
    others = [name for name in known_industries(records) if name not in named]
    return messages.MATCHER_UNKNOWN_INDUSTRY.format(industry=industry, named="、".join(named) or messages.MATCHER_NONE,
                                                    others="、".join(others))


def _contradictions(values: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Cross-field problems as (message, fields to distrust)."""
    problems: list[tuple[str, tuple[str, ...]]] = []
    employees, new_hires = values.get("employees"), values.get("new_hires")
    if employees is not None and new_hires is not None and new_hires > employees:
        problems.append((messages.MATCHER_HIRES_OVER_EMPLOYEES.format(new_hires=new_hires, employees=employees),
                         ("new_hires", "employees")))
    revenue, rd_ratio = values.get("revenue_wan"), values.get("rd_ratio")
    if revenue == 0 and rd_ratio:
        problems.append((messages.MATCHER_RD_WITHOUT_REVENUE, ("rd_ratio", "revenue_wan")))
    certs = set(values.get("certifications") or [])
    taxpayer = values.get("taxpayer")
    types = {c for c in TAXPAYER_CERTS.values() if c in certs}
    if taxpayer:
        types.add(TAXPAYER_CERTS[taxpayer])
    if len(types) > 1:
        problems.append((messages.MATCHER_TWO_TAXPAYER_TYPES, ("taxpayer", "certifications")))
    return problems


def _reject_bool(value: object) -> object:
    # JSON true/false would silently become 1/0 in a number field.
    if isinstance(value, bool):
        raise ValueError(messages.MATCHER_NOT_BOOL)
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
                raise ValueError(messages.MATCHER_RATIO_PERCENT.format(value=value, fraction=value / 100))
            raise ValueError(messages.MATCHER_RATIO_RANGE)
        return value

    @field_validator("founded_year")
    @classmethod
    def _not_future(cls, value: int | None) -> int | None:
        this_year = date.today().year
        if value is not None and value > this_year:
            raise ValueError(messages.MATCHER_FUTURE_YEAR.format(year=this_year))
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
        return clean_text(value).removeprefix("增值税") if isinstance(value, str) else value

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


def _pydantic_messages(exc: ValidationError) -> list[str]:
    found = []
    for error in exc.errors():
        loc = error.get("loc", ())
        where = field_text(str(loc[0])) if loc else messages.MATCHER_THE_PROFILE
        if len(loc) > 1 and isinstance(loc[1], int):
            where += messages.MATCHER_ITEM.format(n=loc[1] + 1)
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "greater_than_equal":
            text = messages.MATCHER_NEGATIVE if ctx.get("ge") == 0 else messages.MATCHER_BELOW.format(ge=ctx.get("ge"))
        elif kind == "less_than_equal":
            text = messages.MATCHER_ABOVE.format(le=ctx.get("le"))
        elif kind == "value_error":
            text = str(ctx.get("error", error["msg"]))
        else:
            text = messages.MATCHER_ERROR_TEXT.get(kind, error["msg"])
        shown = json.dumps(error.get("input"), ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 40 else shown[:37] + "…"  # a 4,000-digit number is not worth echoing
        found.append(messages.MATCHER_FIELD_ERROR.format(where=where, text=text, shown=shown) if loc else text)
    return found


def parse_profile(data: object, records: Records = ()) -> tuple[Profile | None, list[str]]:
    """Validate a profile field by field: bad fields are reported and left out, the rest is still usable.

    Returns (profile, errors); profile is None only when ``data`` is not a JSON object at all.
    ``records`` supply the industries the policies name (for the unknown-industry check).
    """
    if not isinstance(data, dict):
        return None, [messages.MATCHER_NOT_OBJECT]
    errors: list[str] = []
    if not data:
        errors.append(messages.MATCHER_EMPTY.format(fields="、".join(field_text(f) for f in FIELD_LABELS)))
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in Profile.model_fields:
            guess = difflib.get_close_matches(str(key), list(Profile.model_fields), n=1)
            errors.append(messages.MATCHER_UNKNOWN_FIELD.format(key=key)
                          + (messages.MATCHER_DID_YOU_MEAN.format(field=field_text(guess[0])) if guess else "。")
                          + messages.MATCHER_FIELDS_ARE.format(fields="、".join(FIELD_LABELS)))
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
        return None, [messages.MATCHER_FILE_MISSING.format(path=path)]
    except UnicodeDecodeError:
        return None, [messages.MATCHER_FILE_NOT_UTF8.format(path=path)]
    except OSError as exc:
        return None, [messages.MATCHER_FILE_UNREADABLE.format(path=path, reason=exc.strerror or exc)]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [messages.MATCHER_FILE_NOT_JSON.format(path=path, line=exc.lineno, column=exc.colno, reason=exc.msg)]
    return parse_profile(data, records)

"""Matching: each policy's machine-readable conditions judged against a profile, and its verdict
(eligible, near: one condition unmet, undecided: a field missing, not_applicable)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from bot import messages
from bot.matcher.profile import Profile, parse_profile
from bot.matcher.vocabulary import (
    FIELD_LABELS,
    TAXPAYER_CERTS,
    Records,
    as_list,
    canonical_cert,
    canonical_industry,
    field_text,
    industry_matches,
)
from ingest import validity
from ingest.schema import Eligibility, Record

# Until the schema says who may apply (see module report), persons-only policies are recognised by their notes.
PERSONS_ONLY_NOTES = re.compile(r"只奖励个人|奖励对象(?:为|是)(?:人才)?个人|企业不(?:符合条件|能作为申报主体)")
_EPSILON = 1e-9  # 0.03 must pass a 3% threshold however it was typed

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
            return messages.MATCHER_CONDITION_UNKNOWN.format(requirement=self.requirement,
                                                             fields="、".join(field_text(f) for f in self.needs))
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
            parts.append(messages.MATCHER_SUPPLY.format(fields="、".join(field_text(f) for f in self.needs)))
        if self.unmet:
            prefix = messages.MATCHER_ALSO_UNMET if self.needs else ""
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
    template = messages.MATCHER_CERT_BE if cert.endswith(("企业", "纳税人", "工商户")) else messages.MATCHER_CERT_HAVE
    return template.format(cert=cert)


def _certs_now(profile: Profile) -> str:
    certs = profile.all_certs()
    return messages.MATCHER_CERTS_NOW.format(certs="、".join(certs)) if certs else messages.MATCHER_NO_CERTS


def _persons_only(eligibility: Eligibility) -> bool:
    # Forward-compatible with a schema field `applicant` ("enterprise" | "person" | "any").
    return getattr(eligibility, "applicant", None) == "person" or bool(PERSONS_ONLY_NOTES.search(eligibility.notes))


def _numeric(key: str, limit: float, value: float | None, field_name: str, at_least: bool,
             show=_num) -> Condition:
    unit = messages.MATCHER_NUMBER_UNITS[field_name]
    # Head counts read 不少于; amounts and ratios read 不低于 (研发投入占比需不低于3%).
    floor = messages.MATCHER_AT_LEAST_PEOPLE if field_name in ("employees", "new_hires") else messages.MATCHER_AT_LEAST
    requirement = messages.MATCHER_NUMBER_NEEDED.format(
        phrase=messages.MATCHER_NUMBER_PHRASES[field_name], bound=floor if at_least else messages.MATCHER_AT_MOST,
        limit=show(limit), unit=unit)
    if value is None:
        return Condition(key, requirement, "unknown", needs=(field_name,))
    ok = value >= limit - _EPSILON if at_least else value <= limit + _EPSILON
    return Condition(key, requirement, "met" if ok else "unmet", messages.MATCHER_NOW.format(value=f"{show(value)}{unit}"))


def conditions_for(eligibility: Eligibility, profile: Profile) -> list[Condition]:
    """Every machine-readable condition of one policy, each judged met / unmet / unknown."""
    e, p = eligibility, profile
    out = [*_place_conditions(e, p), *_cert_conditions(e, p)]
    numeric = (
        ("min_employees", e.min_employees, p.employees, "employees", True, _num),
        ("max_employees", e.max_employees, p.employees, "employees", False, _num),
        ("min_revenue_wan", e.min_revenue_wan, p.revenue_wan, "revenue_wan", True, _num),
        ("max_revenue_wan", e.max_revenue_wan, p.revenue_wan, "revenue_wan", False, _num),
        ("min_rd_ratio", e.min_rd_ratio, p.rd_ratio, "rd_ratio", True, _pct),
        ("min_new_hires", e.min_new_hires, p.new_hires, "new_hires", True, _num),
        ("min_fixed_asset_investment_wan", e.min_fixed_asset_investment_wan, p.fixed_asset_investment_wan,
         "fixed_asset_investment_wan", True, _num),
    )
    for key, limit, value, field_name, at_least, show in numeric:
        if limit is not None:
            out.append(_numeric(key, limit, value, field_name, at_least, show))
    if e.founded_after_year is not None:
        requirement = messages.MATCHER_FOUNDED_AFTER.format(year=e.founded_after_year)
        if p.founded_year is None:
            out.append(Condition("founded_after_year", requirement, "unknown", needs=("founded_year",)))
        else:
            ok = p.founded_year >= e.founded_after_year
            out.append(Condition("founded_after_year", requirement, "met" if ok else "unmet",
                                 messages.MATCHER_FOUNDED_NOW.format(year=p.founded_year)))
    return out


def _place_conditions(e: Eligibility, p: Profile) -> list[Condition]:
    """Where the company is registered and what it does: in_zone, industries, excluded_industries."""
    out: list[Condition] = []
    if e.in_zone is not None:
        requirement = messages.MATCHER_IN_ZONE if e.in_zone else messages.MATCHER_NOT_IN_ZONE
        if p.in_zone is None:
            out.append(Condition("in_zone", requirement, "unknown", needs=("in_zone",)))
        else:
            actual = messages.MATCHER_NOW_IN_ZONE if p.in_zone else messages.MATCHER_NOW_OUT_OF_ZONE
            out.append(Condition("in_zone", requirement, "met" if p.in_zone == e.in_zone else "unmet", actual))
    industry_now = ""
    if p.industry is not None:
        canonical = canonical_industry(p.industry)
        industry_now = messages.MATCHER_NOW.format(value=p.industry) + (f"（{canonical}）" if canonical != p.industry else "")
    for key, listed, template, wanted in (("industries", e.industries, messages.MATCHER_INDUSTRY_ONE_OF, True),
                                          ("excluded_industries", e.excluded_industries, messages.MATCHER_INDUSTRY_NOT,
                                           False)):
        if not listed:
            continue
        requirement = template.format(industries="、".join(listed))
        if p.industry is None:
            out.append(Condition(key, requirement, "unknown", needs=("industry",)))
        else:
            ok = industry_matches(p.industry, listed) == wanted
            out.append(Condition(key, requirement, "met" if ok else "unmet", industry_now))
    return out


def _cert_conditions(e: Eligibility, p: Profile) -> list[Condition]:
    """The 资质 and taxpayer type: one of certifications_any, each of certifications_all."""
    out: list[Condition] = []
    if e.certifications_any:
        requirement = messages.MATCHER_CERT_ONE_OF.format(certs="、".join(e.certifications_any))
        held = [p.has_cert(canonical_cert(c)) for c in e.certifications_any]
        needs = tuple(dict.fromkeys("taxpayer" if canonical_cert(c) in TAXPAYER_CERTS.values() else "certifications"
                                    for c, h in zip(e.certifications_any, held, strict=True) if h is None))
        status: Status = "met" if any(held) else ("unknown" if needs else "unmet")
        out.append(Condition("certifications_any", requirement, status, _certs_now(p), needs))
    for cert in e.certifications_all:
        held_one = p.has_cert(canonical_cert(cert))
        if held_one is None:
            need = "taxpayer" if canonical_cert(cert) in TAXPAYER_CERTS.values() else "certifications"
            out.append(Condition("certifications_all", _cert_phrase(cert), "unknown", needs=(need,)))
        else:
            out.append(Condition("certifications_all", _cert_phrase(cert), "met" if held_one else "unmet",
                                 messages.MATCHER_HAS_CERT if held_one else _certs_now(p)))
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
            verdict.reason = messages.MATCHER_PERSONS_ONLY
            return verdict
        verdict.conditions = conditions_for(eligibility, profile)
    if not verdict.conditions:
        # No eligibility block, or nothing in it a profile can decide: "eligible" would promise it to every
        # company. So an eligible verdict always has conditions to show.
        verdict.status = "undecided"
        verdict.reason = messages.MATCHER_NOT_AUTOMATIC + (f"：{verdict.notes}" if verdict.notes else "")
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
        verdict.notes = "；".join(x.rstrip("。") for x in (verdict.notes, messages.MATCHER_NO_PERIOD) if x)
    return verdict


def match(profile: Profile, records: Records, today: date | None = None) -> MatchResult:
    """Sort every policy among ``records`` (other kinds are ignored) into the four buckets, by id."""
    result = MatchResult()
    for record in sorted((r for r in as_list(records) if r.kind == "policy"), key=lambda r: r.id):
        verdict = judge(record, profile, today)
        getattr(result, verdict.status).append(verdict)
    return result


def match_data(data: object, records: Records, today: date | None = None) -> MatchResult:
    """Parse and match in one step, for channels that receive a profile as a dict."""
    policies = as_list(records)
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
        generation, broken = None, messages.MATCHER_INDEX_BROKEN.format(reason=exc)
    else:
        broken = ""
    if generation is not None:
        policies = [r for r in generation.records.values() if r.kind == "policy"]
        return policies, messages.MATCHER_FROM_INDEX.format(name=generation.name, n=len(policies))
    from ingest.check import check_paths

    report = check_paths([knowledge_dir])
    policies = [r for r in report.records if r.kind == "policy"]
    return policies, messages.MATCHER_FROM_FILES.format(folder=knowledge_dir, broken=broken, n=len(policies))

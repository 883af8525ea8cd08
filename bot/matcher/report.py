"""The match result for people (`render_text`) and the JSON contract of `govbot match --json` (`as_json`)."""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.matcher.judging import MatchResult, Verdict
from bot.matcher.vocabulary import field_text, plain_labels


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
        lines.append(messages.MATCHER_REPORT_ERRORS)
        lines += [f"· {message}" for message in result.profile_errors]
        lines.append("")
    if result.eligible:
        lines.append(messages.MATCHER_REPORT_ELIGIBLE.format(n=len(result.eligible)))
        for n, v in enumerate(result.eligible, 1):
            lines.append(f"{n}. {v.title}{ref(v)}" + (messages.MATCHER_REPORT_NO_APPLICATION
                                                      if v.no_application_needed else ""))
            lines.append(messages.MATCHER_REPORT_AMOUNT.format(amount=v.amount or messages.MATCHER_REPORT_NO_AMOUNT))
            lines.append(messages.MATCHER_REPORT_MET.format(conditions="；".join(c.describe() for c in v.conditions)))
            if v.notes:
                lines.append(messages.MATCHER_REPORT_CHECK.format(notes=v.notes))
            if v.how:
                lines.append(messages.MATCHER_REPORT_HOW.format(how=v.how))
        lines.append("")
    if result.near:
        lines.append(messages.MATCHER_REPORT_NEAR.format(n=len(result.near)))
        for n, v in enumerate(result.near, 1):
            lines.append(f"{n}. {v.title}{ref(v)}")
            lines.append(messages.MATCHER_REPORT_UNMET.format(missing=v.missing))
            if v.amount:
                lines.append(messages.MATCHER_REPORT_AMOUNT.format(amount=v.amount))
        lines.append("")
    if result.undecided:
        lines.append(messages.MATCHER_REPORT_UNDECIDED.format(n=len(result.undecided)))
        for n, v in enumerate(result.undecided, 1):
            lines.append(f"{n}. {v.title}{ref(v)}：{v.missing}")
        if result.missing_fields:
            lines.append(messages.MATCHER_REPORT_MORE.format(fields="、".join(field_text(f) for f in result.missing_fields)))
        lines.append("")
    if result.not_applicable:
        lines.append(messages.MATCHER_REPORT_NOT_APPLICABLE.format(n=len(result.not_applicable)))
        for v in result.not_applicable:
            lines.append(f"· {v.title}{ref(v)}：{v.missing}")
        lines.append("")
    if not (result.eligible or result.near or result.undecided or result.not_applicable):
        lines.append(messages.MATCHER_REPORT_NOTHING)
        lines.append("")
    lines.append(messages.MATCHER_REPORT_DISCLAIMER)
    text = "\n".join(lines)
    return plain_labels(text) if plain else text

"""The /match profile as Telegram takes it: answers typed in chat, checked one at a time, and the report."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.matcher import (
    NUMBER_UNITS,
    PLAIN_LABELS,
    MatchResult,
    canonical_industry,
    parse_profile,
    plain_labels,
    render_text,
    typed_value,
)

MATCH_FIELDS: tuple[str, ...] = tuple(texts.MATCH_QUESTIONS)  # the order the questions are asked
# Each numeric field's first unit after its value (120人, 2019年); the 万元 fields say it in the label.
MATCH_UNITS = {field: units[0] for field, units in NUMBER_UNITS.items() if units and units[0] != "万元"}


def clean_answer(field: str, text: str) -> object:
    """A typed answer in the form the matcher validates (`typed_value`: numbers, units, 1.2亿 …).

    The chat adds everyday words for yes and no (在, 不在, 没有 …), which the web's radio buttons never need.
    """
    value = typed_value(field, text)
    if field == "in_zone" and isinstance(value, str):
        lowered = value.lower()
        if lowered in texts.MATCH_YES_WORDS:
            return texts.MATCH_YES
        if lowered in texts.MATCH_NO_WORDS:
            return texts.MATCH_NO
    return value


def check_answer(field: str, value: object, answers: dict[str, Any],
                 policies: list[Any]) -> tuple[Any, str | None]:
    """Validate one answer with the matcher's profile rules, alone and then with the earlier answers.

    Returns (the matcher's canonical value, None), or (None, a Chinese reason to ask again).
    """
    if value is None:
        return None, None
    alone, errors = parse_profile({field: value}, policies)
    if errors or alone is None:
        return None, plain_labels("；".join(errors))
    together, errors = parse_profile({**answers, field: getattr(alone, field)}, policies)
    if errors or together is None:  # contradicts an earlier answer, e.g. more new hires than employees
        return None, plain_labels("；".join(errors)) + "。" + texts.MATCH_CONTRADICTION_HINT
    return getattr(together, field), None


def _show_value(field: str, value: Any) -> str:
    if field == "in_zone":
        return texts.MATCH_YES if value else texts.MATCH_NO
    if field == "industry":
        canonical = canonical_industry(value)
        return value if canonical == value else f"{value}（{canonical}）"
    if field == "certifications":
        return "、".join(value) or texts.MATCH_NO_CERTS
    if field == "rd_ratio":
        return f"{value * 100:.4f}".rstrip("0").rstrip(".") + "%"
    if isinstance(value, float):
        value = f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{value}{MATCH_UNITS.get(field, '')}"


def render_match(answers: dict[str, Any], result: MatchResult, *, with_buttons: bool = False) -> str:
    """The /match result as plain text: the profile as understood, then the matcher's report.

    The report is the matcher's own, in its form for people (no field keys, no record ids), since chat
    users read Chinese only.
    """
    lines = [texts.MATCH_PROFILE]
    missing = []
    for field in MATCH_FIELDS:
        value = answers.get(field)
        if value is None:
            missing.append(PLAIN_LABELS[field])
        else:
            lines.append(texts.MATCH_PROFILE_ROW.format(label=PLAIN_LABELS[field],
                                                       value=_show_value(field, value)))
    if missing:
        lines.append(texts.MATCH_PROFILE_MISSING.format(labels="、".join(missing)))
    footer = (texts.MATCH_FOOTER_BUTTONS + texts.MATCH_FOOTER) if with_buttons else texts.MATCH_FOOTER
    return "\n".join(lines) + "\n\n" + render_text(result, plain=True) + "\n\n" + footer

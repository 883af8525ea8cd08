"""Policy matcher: a company profile in, the policies it qualifies for (and what it lacks for the rest) out.

Only the policies' machine-readable ``eligibility`` block is evaluated. Every policy ends up in one bucket:

* eligible: every condition is met (conditions that exist only in prose are shown as 还需核对);
* near: exactly one condition is unmet and everything else is met; the unmet condition is named;
* undecided: a condition needs a profile field that was not given (the field is named);
* not_applicable: two or more conditions unmet, or the policy rewards persons, not enterprises.

Channel-neutral: the CLI, Telegram and the web call `parse_profile`/`load_profile`, `match`,
`render_text` and `as_json`. Channels where people type answers use `typed_value` to read them, and
`plain_labels` (or ``render_text(plain=True)``) to show the matcher's messages without field keys.

One module per step, imported from here: ``vocabulary`` (fields, industries, 资质 and their canonical
names), ``profile`` (reading and validating a profile), ``judging`` (conditions and verdicts),
``report`` (text and JSON). Every sentence people read is in bot/messages.py (MATCHER_*).
"""

from __future__ import annotations

from bot.matcher.judging import (
    PERSONS_ONLY_NOTES,
    Condition,
    MatchResult,
    Verdict,
    conditions_for,
    judge,
    load_policies,
    match,
    match_data,
)
from bot.matcher.profile import MAX_COUNT, MAX_WAN, Profile, load_profile, parse_profile, typed_value
from bot.matcher.report import as_json, render_text
from bot.matcher.vocabulary import (
    BASE_INDUSTRIES,
    CERT_CHOICES,
    CERT_SYNONYMS,
    FIELD_LABELS,
    FIELD_REF,
    INDUSTRY_PARENT,
    INDUSTRY_SYNONYMS,
    NUMBER_UNITS,
    PLAIN_LABELS,
    TAXPAYER_CERTS,
    TAXPAYER_CHOICES,
    Records,
    canonical_cert,
    canonical_industry,
    cert_choices,
    industry_matches,
    known_certs,
    known_industries,
    plain_labels,
    policy_industries,
)

__all__ = [
    "BASE_INDUSTRIES", "CERT_CHOICES", "CERT_SYNONYMS", "FIELD_LABELS", "FIELD_REF", "INDUSTRY_PARENT",
    "INDUSTRY_SYNONYMS", "MAX_COUNT", "MAX_WAN", "NUMBER_UNITS", "PERSONS_ONLY_NOTES", "PLAIN_LABELS",
    "TAXPAYER_CERTS", "TAXPAYER_CHOICES", "Condition", "MatchResult", "Profile", "Records", "Verdict", "as_json",
    "canonical_cert", "canonical_industry", "cert_choices", "conditions_for", "industry_matches", "judge",
    "known_certs", "known_industries", "load_policies", "load_profile", "match", "match_data", "parse_profile",
    "plain_labels", "policy_industries", "render_text", "typed_value",
]

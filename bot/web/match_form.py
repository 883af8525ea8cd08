"""The policy-matcher form: browser form fields in, a matcher profile dict out, and messages for people.

The matcher (bot/matcher/) reads typed numbers (`typed_value`), validates every value and words the
messages (`plain_labels`); this module only turns what a browser sends (strings, empty meaning "not
given", checkboxes) into the dict `parse_profile` expects, and fits the messages to the form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot import messages
from bot.matcher import CERT_CHOICES, FIELD_REF, NUMBER_UNITS, PLAIN_LABELS, plain_labels, typed_value

TEXT_FIELDS: tuple[str, ...] = ("industry", "in_zone", *NUMBER_UNITS, "taxpayer", "cert_other")
ALL_FIELDS: tuple[str, ...] = ("go", *TEXT_FIELDS, "certifications", "certs_none")
MAX_FIELD = 100  # per text box; a pasted essay is cut so it is not echoed back twice in the error message

_SPLIT = re.compile(r"[,，、;；/\s]+")
# The matcher's unknown-industry message lists every sector (40-odd names); on the page they are in the
# input's drop-down list already, so the box keeps the policies' own industries and points there.
_OTHER_INDUSTRIES = re.compile(re.escape(messages.MATCHER_OTHER_INDUSTRIES) + "[^；]*")


class FormData(Protocol):
    """What both query parameters and a posted form offer (Starlette's multi-dicts)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...

    def __contains__(self, key: object) -> bool: ...


@dataclass
class MatchForm:
    """The form as the person filled it in (re-displayed verbatim) and the profile built from it."""

    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(TEXT_FIELDS, ""))
    certs: list[str] = field(default_factory=list)  # ticked checkboxes
    certs_none: bool = False  # "以上都没有" ticked
    profile: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # problems only the form can have


def _text(data: FormData, key: str) -> str:
    value = data.get(key)
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""


def submitted(data: FormData) -> bool:
    """Whether the form was sent (the hidden go=1, or any field in a hand-made link), not just opened."""
    return any(key in data for key in ALL_FIELDS)


def read_form(data: FormData, cert_choices: Collection[str] = CERT_CHOICES) -> MatchForm:
    """Build the profile dict from form fields: an empty box (or 未填) is simply left out.

    ``cert_choices`` are the checkboxes the page offers (`matcher.cert_choices`); any other ticked value
    is ignored, names that are not offered go in the "其他资质" text box.
    """
    form = MatchForm()
    for key in TEXT_FIELDS:
        form.values[key] = _text(data, key)
    form.certs = [c for c in data.getlist("certifications") if isinstance(c, str) and c in cert_choices]
    form.certs_none = data.get("certs_none") == "1"
    values, profile = form.values, form.profile

    if values["industry"]:
        profile["industry"] = values["industry"]
    if values["in_zone"]:
        profile["in_zone"] = values["in_zone"]  # 是/否; anything forged gets the matcher's message
    for key in NUMBER_UNITS:
        if values[key]:
            profile[key] = typed_value(key, values[key])
    if values["taxpayer"]:
        profile["taxpayer"] = values["taxpayer"]

    other = [part for part in _SPLIT.split(unicodedata.normalize("NFKC", values["cert_other"])) if part]
    ticked = list(dict.fromkeys([*form.certs, *other]))
    if form.certs_none and ticked:
        # Not passed on at all: either answer may be the wrong one.
        form.errors.append(messages.MATCH_FORM_NONE_AND_CERTS.format(label=PLAIN_LABELS["certifications"],
                                                                    certs="、".join(ticked)))
    elif ticked:
        profile["certifications"] = ticked
    elif form.certs_none:
        profile["certifications"] = []  # "has none" decides policies; an empty box would leave them undecided
    return form


def for_page(message: str) -> str:
    """A matcher message as the form's error box shows it: Chinese labels, no 40-name industry list."""
    return plain_labels(_OTHER_INDUSTRIES.sub(messages.MATCH_FORM_OTHER_INDUSTRIES, message))


def invalid_fields(problems: Iterable[str]) -> set[str]:
    """Form fields named in the matcher's messages, to mark those inputs."""
    # The empty-profile message lists every field as a suggestion: none of them is wrong.
    empty = messages.MATCHER_EMPTY.partition("{")[0]
    shown = [message for message in problems if not message.startswith(empty)]
    named = {m.group(1) for message in shown for m in FIELD_REF.finditer(message)}
    certs = f"“{PLAIN_LABELS['certifications']}”"  # the none-and-ticked message names the checkboxes
    return named | ({"certifications"} if any(certs in message for message in shown) else set())

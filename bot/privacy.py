"""Personal numbers masked before anything is stored or logged: 身份证号, 手机号, bank card numbers.

Visitors paste their ID card or phone number into a question ("我的身份证510302199001011234丢了怎么办");
the usage log, the unanswered queue, handoff tickets, exports and log files keep the question with those
numbers masked, never whole. Checks that a real number satisfies (the ID card's check digit, the card
number's Luhn sum, the phone's mobile prefix) keep dates, amounts and file numbers readable.
"""

from __future__ import annotations

import logging
import re

# Digits not glued to other digits: a number inside a longer run of digits is not one of these.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
                      r"(\d{3})([0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_CARD = re.compile(r"(?<!\d)(\d(?:[ -]?\d){15,18})(?!\d)")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _id_card_valid(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _mask_id(match: re.Match[str]) -> str:
    number = "".join(match.groups())
    if not _id_card_valid(number):
        return match.group(0)
    return number[:3] + "*" * 11 + number[-4:]


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(3)}"


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    if not _luhn_valid(digits):
        return match.group(0)
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def mask_pii(text: str) -> str:
    """``text`` with ID card, mobile and bank card numbers masked (the first and last digits stay for staff)."""
    if not text or not any(c.isdigit() for c in text):
        return text
    text = _ID_CARD.sub(_mask_id, text)
    text = _CARD.sub(_mask_card, text)
    return _MOBILE.sub(_mask_mobile, text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal numbers in every record's message before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Mask personal numbers in what the handlers of ``logger`` (the root logger by default) write."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())

"""Personal numbers masked before anything is stored or logged: 身份证号, 手机号, bank card numbers.

Visitors paste their ID card or phone number into a question ("我的身份证510302199001011234丢了怎么办");
the usage log, the unanswered queue, handoff tickets, exports and log files keep the question with those
numbers masked, never whole.

How a number is found: every run of digits (full-width too) whose groups are split by at most a space
or a hyphen ("138 1234 5678", "510302 19900101 1234") is a candidate; the digits of one or more
consecutive groups are then tested against what a real number satisfies: the 18-digit ID card's check
digit, the 15-digit (pre-1999) ID card's birth date, a mobile's 1[3-9] prefix (also after 86 / 0086),
a bank card's Luhn sum. So dates, amounts, file numbers, landlines (public office numbers, left alone)
and 统一社会信用代码 (letters glued to the digits) stay readable.

Logs: `install_log_masking` sets a log record factory, so every record of every logger (uvicorn's access
log, python-telegram-bot, the messenger SDKs) is masked when it is made, whatever handlers are added later.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import unquote_plus

_SEP = r"(?:[ \u00a0\u3000]{1,2}|[ \u00a0\u3000]?[-\u2013\u2014\uff0d][ \u00a0\u3000]?)"
# Digits not glued to other digits; an ID card may end in X.
_RUN = re.compile(rf"(?<!\d)\d+(?:{_SEP}\d+)*(?:[Xx](?![A-Za-z]))?(?!\d)")
_GROUP = re.compile(r"\d+[Xx]?")
# Letters right before a run that follow digits: the run is the tail of a code like 91510300MA62….
_IN_CODE = re.compile(r"\d[A-Za-z]+$")
_NOT_PERSONAL = re.compile(r"(?:信用代码|注册号|机构代码|组织代码)[^\d]{0,6}$")  # enterprise codes

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"1[3-9]\d{9}")
_DATE6 = re.compile(r"\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
_DATE8 = re.compile(r"(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
MAX_DIGITS = 19  # the longest number masked (a bank card); longer joins are not tried


def _ascii(digits: str) -> str:
    """Full-width (and other Unicode) digits as ASCII, for the checks; X stays."""
    return "".join(str(int(c)) if c.isdigit() else c.upper() for c in digits)


def _id18(n: str) -> bool:
    if not (n[0] != "0" and n[:17].isdigit() and _DATE8.fullmatch(n[6:14])):
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


def _id15(n: str) -> bool:
    return n.isdigit() and n[0] != "0" and bool(_DATE6.fullmatch(n[6:12]))


def _luhn(n: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(n)):
        v = int(d)
        if i % 2:
            v = v * 2 - 9 if v > 4 else v * 2
        total += v
    return total % 10 == 0


def _masked(raw: str, sizes: list[int]) -> str | None:
    """The masked form of one candidate number (its separators removed, ``sizes`` its groups' lengths),
    or None when it is not personal."""
    n = _ascii(raw)
    size = len(n)
    if size == 18 and _id18(n):
        return raw[:3] + "*" * 11 + raw[-4:]
    if "X" in n:
        return None
    if size == 15 and _id15(n):
        return raw[:3] + "*" * 8 + raw[-4:]
    for prefix in ("", "86", "0086"):  # a mobile, alone or after the country code
        if size == 11 + len(prefix) and n.startswith(prefix) and _MOBILE.fullmatch(n[len(prefix):]):
            return raw[:len(prefix) + 3] + "****" + raw[-4:]
    # A card is written whole or in fours ("6222 0212 3456 7890 123"): a date glued to a phone is no card.
    card_shape = all(s == 4 for s in sizes[:-1])
    if 16 <= size <= MAX_DIGITS and card_shape and n[0] != "0" and _luhn(n):
        return raw[:4] + "*" * (size - 8) + raw[-4:]
    return None


def _mask_run(text: str, match: re.Match[str]) -> str:
    """A run of digit groups with every personal number in it masked (the longest from the left first)."""
    start, end = match.span()
    before, after = text[max(0, start - 24):start], text[end:end + 1]
    glued = after.isascii() and after.isalpha()  # digits then letters: a code, not a number
    if glued or _IN_CODE.search(before) or _NOT_PERSONAL.search(before):
        return match.group(0)
    groups = list(_GROUP.finditer(match.group(0)))
    run = match.group(0)
    out: list[str] = []
    pos = i = 0
    while i < len(groups):
        found = None
        digits = ""
        sizes: list[int] = []
        for j in range(i, len(groups)):
            digits += groups[j].group(0)
            sizes.append(len(groups[j].group(0)))
            if len(digits) > MAX_DIGITS:
                break
            masked = _masked(digits, sizes)
            if masked is not None:
                found = (j, masked)  # keep going: a longer number wins (an ID card over a mobile in it)
        if found is None:
            i += 1
            continue
        j, masked = found
        out.append(run[pos:groups[i].start()])
        out.append(masked)
        pos = groups[j].end()
        i = j + 1
    out.append(run[pos:])
    return "".join(out)


def mask_pii(text: str) -> str:
    """``text`` with ID card, mobile and bank card numbers masked (the first and last digits stay for staff)."""
    if not text or not any(c.isdigit() for c in text):
        return text
    return _RUN.sub(lambda m: _mask_run(text, m), text)


# ---------------------------------------------------------------- logs


def _mask_logged(text: str) -> str:
    """mask_pii, and for a percent-encoded address (an access log's /api/ask?q=…) the decoded text masked
    when it holds a number: the encoding's hex digits would otherwise glue onto the number."""
    masked = mask_pii(text)
    if "%" in text:
        decoded = unquote_plus(text)
        if decoded != text and mask_pii(decoded) != decoded:
            return mask_pii(decoded)
    return masked


def _mask_args(args: object) -> object:
    if isinstance(args, tuple):
        return tuple(_mask_logged(a) if isinstance(a, str) else a for a in args)
    if isinstance(args, dict):
        return {k: _mask_logged(v) if isinstance(v, str) else v for k, v in args.items()}
    return args


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record's message in place. Arguments stay separate where masking them is enough, because
    some formatters (uvicorn's access log) read ``record.args`` themselves."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
        return record
    if _mask_logged(message) != message:
        if isinstance(record.msg, str):
            record.msg = _mask_logged(record.msg)
        record.args = _mask_args(record.args)
        try:
            still = record.getMessage()
        except Exception:  # noqa: BLE001
            still = message
        if _mask_logged(still) != still:  # the number was in a non-text argument: keep the text only
            record.msg, record.args = _mask_logged(still), None
    if record.exc_info and not record.exc_text:
        # An exception's message may quote the question; formatters use exc_text when it is set.
        record.exc_text = mask_pii(logging.Formatter().formatException(record.exc_info))
    return record


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal numbers in every record before a handler writes it
    (for handlers configured by dictConfig; `install_log_masking` covers the whole process)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_installed = threading.Lock()
_factory_set = False


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Mask personal numbers in every log record of this process (idempotent).

    A record factory masks each record when it is made, so loggers and handlers configured later
    (uvicorn, SDKs) are covered too; ``logger``'s present handlers (the root's by default) also get a
    MaskingFilter, for records made before this call or by a factory someone else set later.
    """
    global _factory_set
    with _installed:
        if not _factory_set:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                return mask_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_set = True
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())

"""Text normalisation shared by the indexer and the query side, so both see the same tokens."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_CONVERTER = opencc.OpenCC("t2s")
_SPACE = re.compile(r"\s+")
# Characters worth indexing: CJK ideographs, latin letters and digits.
_KEEP = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfa-z0-9]+")


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    return _CONVERTER.convert(text)


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), traditional to simplified, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    return _SPACE.sub(" ", text).strip().lower()


def char_tokens(text: str) -> list[str]:
    """Character unigrams + bigrams over runs of CJK/alphanumerics (measured best here)."""
    tokens: list[str] = []
    for run in _KEEP.findall(normalize(text)):
        if run.isascii():
            # Latin words and numbers stay whole; splitting them into letters only adds noise.
            tokens.extend(w for w in re.findall(r"[a-z]+|[0-9]+", run))
            continue
        tokens.extend(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens

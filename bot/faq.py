"""FAQ pairs: a question that matches a pair's question closely enough gets that pair's answer, as written.

Every record's ``faq`` entries (a ``kind: faq`` file, an ingested 问：/答： page or Excel sheet) are
collected when an index generation is installed. Both sides first have their asking words in one spelling
(`same_words`: 咋办 -> 怎么办, 当天 -> 当场, 几天 -> 多少天). A question is compared with every pair's question by
measurable features (character pairs shared both ways, the question's salient words found in the pair
and the pair's in the question, how telling the words are that one lacks, whether both ask the same
thing — 收费吗 is not 要多久 —, their length ratio), and a logistic model fitted by `govbot fit`
(bot/faq_fitting.py) says how likely the pair answers it. The best pair answers when that probability
reaches the fitted threshold, chosen for high precision: a wrong FAQ answer is worse than the normal
engine's. Parameters ship in ``bot/data/faq.json``, so every machine decides the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.answerability import Logistic, bigrams, missing_weight, term_coverage
from bot.intent import Intent, content, detect_intent
from bot.normalize import clean
from bot.terms import Term, salient_terms
from ingest.schema import Record
from ingest.textnorm import normalize

PARAMS_PATH = Path(__file__).with_name("data") / "faq.json"
# Greetings and asking phrases bot.intent does not list (its words are for intents, not small talk).
_SMALL_TALK = re.compile(r"您好|你好|谢谢|麻烦|问下|想问|请问|想办|能办好|办得好|办好|能办|拿到|下来|提交|准备|能拿|怎么样|"
                         r"咋办|咋弄|咋整|需不需要|要不要|用不用|是不是|有没有|能不能|多长|多少天|几天|的话")

# Other spellings of the same asking words turned into one
# on both sides before anything is compared, so a reworded question shares the pair's character pairs:
# 咋整 / 怎么处理 -> 怎么办, 当天 / 立等可取 -> 当场, 用不用交 -> 需要提交, 几天 / 多长时间 -> 多少天.
# Only wording that asks the same thing: the property asked (收费 vs 多少天) and the item named stay as written.
_SAME_WORDS = tuple((re.compile(pattern), word) for pattern, word in (
    (r"咋(?:办|整|弄)|怎么(?:处理|弄|整)|如何处理|该怎么办", "怎么办"),
    (r"咋|如何", "怎么"),
    (r"(?<=[要用得还])交|出具|提供", "提交"),
    (r"需不需要|要不要|用不用|是不是不用|是不是不需要|不需要|不用|无需|还需要|还要|还用|必须", "需要"),
    (r"当天|当即|即时|立等可取|马上", "当场"),
    (r"办结|办完|办下来|办妥|拿证|拿到执照|拿到营业执照|就好", "办好"),
    (r"多长时间|多长|多久|几个工作日|多少个工作日|多少日|几天", "多少天"),
    (r"提了异议|提出了异议|提异议|有异议|反对", "提出异议"),
    (r"(?<=公示|公告)(?:期间|的时候|时)", "期内"),
))


def same_words(text: str) -> str:
    """``text`` with the other spellings of asking words in one spelling."""
    for pattern, word in _SAME_WORDS:
        text = pattern.sub(word, text)
    return text


FEATURES = (
    "gram_recall",  # share of the pair question's content character pairs the question repeats
    "gram_precision",  # share of the question's content character pairs found in the pair question
    "gram_jaccard",  # Jaccard of all character pairs (the asking words included)
    "term_cov_q",  # IDF-weighted share of the question's salient words found in the pair question
    "term_cov_f",  # ... of the pair question's salient words found in the question
    "miss_q",  # weight of the most telling word of the question the pair question lacks (0..1)
    "miss_f",  # ... of the pair question the question lacks
    "same_intent",  # both ask for the same kind of thing (materials, time, fee …)
    "intent_conflict",  # both ask for a kind of thing, and not the same one
    "intent_added",  # the question asks for a kind of thing (要多久) the pair question does not ask for
    "intent_dropped",  # the pair question asks for a kind of thing the question does not name (咋办 for 怎么办)
    "length_ratio",  # shorter content length / longer
    "rest_conflict",  # what is left of each once their shared runs go asks for different things
    #                   (不动产登记资料查询 + 有哪些步骤 vs + 需要哪些材料: the name holds 资料 in both)
    # A pair answers when both ask the same thing *and* about the same: the products say "and".
    "same_and_grams",  # same_intent × the smaller of gram_recall and gram_precision
    "same_and_terms",  # same_intent × the smaller of term_cov_q and term_cov_f
)


@dataclass(frozen=True)
class Asked:
    """A question prepared once for comparison."""

    text: str  # normalised
    grams: frozenset[str]  # content character pairs (asking words removed)
    all_grams: frozenset[str]
    terms: tuple[Term, ...]
    intent: Intent
    size: int  # content characters


@lru_cache(maxsize=4096)
def prepare(question: str) -> Asked:
    text = same_words(normalize(clean(question)))
    core = _SMALL_TALK.sub(" ", content(text))
    # Salient words of the content only: 多长时间能办好 and 需要哪些 ask, they name nothing.
    return Asked(text, frozenset(bigrams(core)), frozenset(bigrams(text)), salient_terms(core),
                 detect_intent(text), len("".join(core.split())))


def _share(part: frozenset[str], whole: frozenset[str]) -> float:
    return len(part & whole) / len(whole) if whole else 0.0


def _rests(a: str, b: str) -> tuple[str, str]:
    """Each text without the runs of two or more characters both share."""
    keep_a, keep_b = list(a), list(b)
    for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        if block.size >= 2:
            keep_a[block.a:block.a + block.size] = [" "] * block.size
            keep_b[block.b:block.b + block.size] = [" "] * block.size
    return "".join(keep_a), "".join(keep_b)


def features(q: Asked, f: Asked) -> np.ndarray:
    union = q.all_grams | f.all_grams
    recall, precision = _share(q.grams, f.grams), _share(f.grams, q.grams)
    cov_q, cov_f = term_coverage(q.terms, f.text), term_coverage(f.terms, q.text)
    same = float(q.intent == f.intent)
    rest_q, rest_f = (detect_intent(r) for r in _rests(q.text, f.text))
    return np.array([
        recall,
        precision,
        len(q.all_grams & f.all_grams) / len(union) if union else 0.0,
        cov_q,
        cov_f,
        missing_weight(q.terms, f.text),
        missing_weight(f.terms, q.text),
        same,
        float(q.intent != f.intent and Intent.OTHER not in (q.intent, f.intent)),
        float(q.intent != Intent.OTHER and f.intent == Intent.OTHER),
        float(q.intent == Intent.OTHER and f.intent != Intent.OTHER),
        min(q.size, f.size) / max(q.size, f.size, 1),
        float(rest_q != rest_f and Intent.OTHER not in (rest_q, rest_f)),
        same * min(recall, precision),
        same * min(cov_q, cov_f),
    ], dtype=np.float64)


def related(q: Asked, f: Asked) -> bool:
    """Whether the pair is worth scoring at all: it shares a content character pair or a salient word."""
    return bool(q.grams & f.grams) or any(t.word in f.text for t in q.terms)


@dataclass(frozen=True)
class FaqModel:
    logistic: Logistic
    threshold: float

    def probability(self, q: Asked, f: Asked) -> float:
        return self.logistic.probability(features(q, f))

    def to_json(self, extra: dict | None = None) -> str:
        return json.dumps({"features": list(FEATURES), "model": self.logistic.to_dict(),
                           "threshold": self.threshold, **(extra or {})}, ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> FaqModel:
        if tuple(data["features"]) != FEATURES:
            raise ValueError("FAQ parameters were fitted on other features; run govbot fit")
        return cls(Logistic.from_dict(data["model"]), float(data["threshold"]))


@lru_cache(maxsize=1)
def shipped_model() -> FaqModel:
    return FaqModel.from_dict(json.loads(PARAMS_PATH.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class FaqPair:
    question: str
    answer: str
    source: str
    record_id: str  # the record (file) that holds the pair
    about: str  # the item the pair is about, when the author said so


@dataclass(frozen=True)
class FaqMatch:
    pair: FaqPair
    probability: float


class FaqMatcher:
    """The FAQ pairs of one index generation, prepared once (built in Engine._install)."""

    def __init__(self, records: dict[str, Record], model: FaqModel | None = None) -> None:
        self.model = model or shipped_model()
        self.pairs = [FaqPair(e.question, e.answer, e.source, r.id, e.about)
                      for r in records.values() for e in r.faq]
        self._asked = [prepare(p.question) for p in self.pairs]

    def best(self, question: str) -> FaqMatch | None:
        """The pair most likely to answer ``question`` (first of equals: the first pair), or None."""
        if not self.pairs:
            return None
        q = prepare(question)
        best: FaqMatch | None = None
        for pair, f in zip(self.pairs, self._asked, strict=True):
            if not related(q, f):
                continue
            p = self.model.probability(q, f)
            if best is None or p > best.probability:
                best = FaqMatch(pair, p)
        return best

    def match(self, question: str) -> FaqMatch | None:
        """The best pair when it answers closely enough, else None (the normal engine answers)."""
        best = self.best(question)
        return best if best is not None and best.probability >= self.model.threshold else None

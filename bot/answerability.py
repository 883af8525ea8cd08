"""Whether a candidate item answers a question: a logistic model over measurable features.

Each retrieval candidate gets a feature vector (how much of the question's salient words its text and
its name hold, how telling the words it lacks are, whether any document in the index holds them, its
lexical and dense rank, whether its kind fits what is asked). The engine answers from the candidate with
the highest probability, and refuses when that probability is below the threshold chosen at fitting
time for at most 5 % false refusals. Parameters are fitted by `govbot fit` (bot/fitting.py) and ship in
``bot/data/answerability.json``, so every machine makes the same decision from the same features.

The features are scale-free on purpose (ranks and shares, not raw cosine values), so the fitted model
holds for another embedder too.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.terms import Term, covered

PARAMS_PATH = Path(__file__).with_name("data") / "answerability.json"
MAX_TERM_WEIGHT = 13.0  # about jieba's largest IDF; scales miss_max to 0..1

FEATURES = (
    "cov_text",  # IDF-weighted share of the question's salient words found in the item's text
    "cov_name",  # ... found in the item's title and aliases
    "name_share",  # share of the item's name (character pairs) that the question repeats
    "name_verbatim",  # the longest of the item's names the question contains word for word, relative to the pool
    "miss_max",  # weight of the most telling word the item lacks (0..1)
    "miss_noun",  # ... among nouns only (verbs are often paraphrased: 办好, 开通)
    "cov_noun",  # IDF-weighted share of the question's nouns found in the item's text
    "place_missing",  # the question names a place the item's text never mentions
    "unknown_index",  # share of the question's weight no document in the index holds
    "unknown_char",  # the question's content has a character no document in the index holds (犬 in 犬只)
    "fused_rel",  # fused retrieval score relative to the best candidate
    "bm25_rel",  # BM25 score relative to the best candidate
    # Smooth ranks (bot/candidates.py soft_rank): a hard rank jumps from 1 to 1/2 when two near-equal
    # scores swap on another CPU's float noise, and the decision jumped with it.
    "dense_rank",  # ~ 1 / (1 + rank by dense similarity among the candidates)
    "rank",  # ~ 1 / (1 + fused rank)
    "kind_match",  # a bundle asked and a bundle offered, or money asked and a policy offered
    "kind_mismatch",  # a bundle offered when none was asked, or a policy offered for a procedure question
    "has_section",  # the item has a field for the property asked (materials, time, fee ...)
    "states_kind",  # some sentence of the item states a value of the kind asked (a number of days for 多久)
    "n_terms",  # how many salient words the question has (0..1)
    "variant_conflict",  # the question names a variant (批发, 设立, 三类) the item's name has another of
)


# The answer model sees the chosen candidate's features and how clearly the chooser preferred it.
ANSWER_FEATURES = (*FEATURES, "choice", "choice_margin", "choice_share")


@dataclass
class Candidate:
    record_id: str
    values: dict[str, float] = field(default_factory=dict)
    choice: float = 0.0  # the chooser's score: is this the item the question is about
    probability: float = 0.0  # the answer model's: is answering from it right (set for the chosen one)

    def vector(self) -> np.ndarray:
        return np.array([self.values[name] for name in FEATURES], dtype=np.float64)


def answer_vector(chosen: Candidate, candidates: list[Candidate]) -> np.ndarray:
    """The answer model's input: the chosen candidate's features and how clearly the chooser preferred
    it among what could answer (the eligible ones), one definition for fitting and serving."""
    others = eligible(candidates)
    runner_up = max((c.choice for c in others if c is not chosen), default=0.0)
    total = sum(c.choice for c in others) or 1.0
    return np.append(chosen.vector(), [chosen.choice, chosen.choice - runner_up, chosen.choice / total])


def bigrams(text: str) -> set[str]:
    runs = re.findall(r"[\u4e00-\u9fff]+", text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


def term_coverage(terms: tuple[Term, ...], text: str) -> float:
    total = sum(t.weight for t in terms)
    if not total:
        return 0.0
    return sum(t.weight for t in terms if covered(t.word, text)) / total


def nouns(terms: tuple[Term, ...]) -> tuple[Term, ...]:
    return tuple(t for t in terms if t.is_noun)


def place_missing(terms: tuple[Term, ...], text: str) -> float:
    return float(any(t.is_place and not covered(t.word, text) for t in terms))


def missing_weight(terms: tuple[Term, ...], text: str) -> float:
    missing = [t.weight for t in terms if not covered(t.word, text)]
    return min(max(missing, default=0.0) / MAX_TERM_WEIGHT, 1.0)


def name_share(question_grams: set[str], names: list[set[str]]) -> float:
    return max((len(g & question_grams) / len(g) for g in names if g), default=0.0)


@dataclass(frozen=True)
class Logistic:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.scale) @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict) -> Logistic:
        return cls(np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]), float(data["intercept"]))


@dataclass(frozen=True)
class Model:
    """Two fitted steps: the chooser ranks candidates, the answer model decides whether to answer."""

    chooser: Logistic
    answer: Logistic
    threshold: float

    def choose(self, candidates: list[Candidate]) -> Candidate | None:
        """The candidate the question is most likely about; its ``probability`` says whether to answer."""
        best = self.best(candidates)
        if best is not None:
            best.probability = self.answer.probability(answer_vector(best, candidates))
        return best

    def best(self, candidates: list[Candidate]) -> Candidate | None:
        return pick(self.chooser, candidates)


    def to_json(self, extra: dict | None = None) -> str:
        data = {"features": list(FEATURES), "answer_features": list(ANSWER_FEATURES),
                "chooser": self.chooser.to_dict(), "answer": self.answer.to_dict(), "threshold": self.threshold,
                **(extra or {})}
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def neutral(cls) -> Model:
        """A model with no opinion (used while features are collected for fitting)."""
        def zero(n: int) -> Logistic:
            return Logistic(np.zeros(n), np.ones(n), np.zeros(n), 0.0)

        return cls(zero(len(FEATURES)), zero(len(ANSWER_FEATURES)), 0.5)

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        if tuple(data["features"]) != FEATURES or tuple(data["answer_features"]) != ANSWER_FEATURES:
            raise ValueError("answerability parameters were fitted on other features; run govbot fit")
        return cls(Logistic.from_dict(data["chooser"]), Logistic.from_dict(data["answer"]), float(data["threshold"]))


def pick(chooser: Logistic, candidates: list[Candidate]) -> Candidate | None:
    """Score every candidate with the chooser; the best one of the kind asked (first of equals: the
    better retrieval rank)."""
    for c in candidates:
        c.choice = chooser.probability(c.vector())
    pool = eligible(candidates)
    return max(pool, key=lambda c: c.choice) if pool else None


def eligible(candidates: list[Candidate]) -> list[Candidate]:
    """Only an item of the kind asked can answer: how much money there is is said by a policy, what a
    一件事 holds by a bundle. When the pool has such items, the others are not chosen."""
    fitting = [c for c in candidates if c.values.get("kind_match")]
    return fitting or candidates


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    return Model.from_dict(json.loads(PARAMS_PATH.read_text(encoding="utf-8")))

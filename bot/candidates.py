"""What the answerability model sees of each item that might answer a question.

`ItemIndex` is the lexical view of one index generation (each item's names and their character pairs,
its whole text, the corpus), built once when the generation is installed. `feature_values` turns one
question and its candidate items into the features bot/answerability.py scores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from bot import compose as C
from bot.answerability import bigrams, missing_weight, name_share, nouns, place_missing, term_coverage
from bot.intent import content
from bot.passages import CUES, kinds_stated
from bot.retrieval import ItemHit
from bot.terms import Term, variant_conflict
from ingest.index import Generation
from ingest.schema import Record
from ingest.textnorm import normalize

_MONEY_WORD = re.compile(r"补贴|补助|奖励|奖补|资助|贴息|返还|扶持资金")
_AMOUNT = re.compile(r"\d+(?:\.\d+)?\s*(?:万元|元|亿元)|\d+(?:\.\d+)?\s*[%％]")
# Particles users put inside a name, and punctuation (“一件事”, （参保登记）) the question leaves out.
_PARTICLES = re.compile(r"[的有了个之]|[^\w]")


def without_particles(text: str) -> str:
    return _PARTICLES.sub("", text)


def name_variants(record: Record) -> list[str]:
    """The names people use for an item: its title, the title without qualifiers, its aliases."""
    core = re.split(r"\s+[-—–]+\s+|——", record.title)[0]
    core = re.sub(r"[（(][^）)]*[）)]|《|》", "", core)
    return list(dict.fromkeys(normalize(n) for n in [record.title, core, *record.aliases] if n.strip()))


@dataclass(frozen=True)
class ItemIndex:
    """Each item's names and text as the features read them, for one generation."""

    names: dict[str, str] = field(default_factory=dict)  # an item's names, normalised, one per line
    name_grams: dict[str, list[set[str]]] = field(default_factory=dict)  # character pairs of each name
    texts: dict[str, str] = field(default_factory=dict)  # names and every chunk of the item
    corpus: str = ""
    chars: frozenset[str] = frozenset()
    offers_money: frozenset[str] = frozenset()  # ingested notices that pay money (奖补 with an amount)
    kinds: dict[str, frozenset[str]] = field(default_factory=dict)  # kinds of value some sentence states
    bundles_of: dict[str, list[str]] = field(default_factory=dict)  # the bundles an item is a member of
    all_name_grams: frozenset[str] = frozenset()

    @classmethod
    def build(cls, generation: Generation) -> ItemIndex:
        name_grams: dict[str, list[set[str]]] = {}
        texts: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        bundles_of: dict[str, list[str]] = {}
        for record in generation.records.values():
            variants = name_variants(record)
            name_grams[record.id] = [bigrams(v) for v in variants]
            names[record.id] = "\n".join(variants)
            texts[record.id] = [names[record.id]]
            for member in record.members:
                bundles_of.setdefault(member, []).append(record.id)
        for chunk in generation.chunks:
            texts.setdefault(chunk.metadata["record_id"], []).append(normalize(chunk.page_content))
        joined = {rid: "\n".join(parts) for rid, parts in texts.items()}
        corpus = "\n".join(joined.values())
        # An ingested notice that pays money answers "how much" like a policy does; an item the
        # knowledge base's authors typed says what it is.
        offers_money = frozenset(rid for rid, text in joined.items()
                                 if generation.records[rid].parsed and _MONEY_WORD.search(text)
                                 and _AMOUNT.search(text))
        return cls(
            names=names, name_grams=name_grams, texts=joined, corpus=corpus, chars=frozenset(corpus),
            offers_money=offers_money,
            kinds={rid: kinds_stated(record) for rid, record in generation.records.items()},
            bundles_of=bundles_of,
            all_name_grams=frozenset().union(*(g for grams in name_grams.values() for g in grams)),
        )


# Widths of the smooth ranks, in score units: as narrow as keeps them ranks wherever the scores are
# apart (what the model is fitted on), and hundreds of times the float noise between CPUs (~1e-6).
# Wider (0.002 / 0.01) was measured too: more refusals in cross-validation, but the section page that
# states the asked time lost to the materials page of the same item (test_answering.py).
DENSE_SMOOTHING = 0.0005
FUSED_SMOOTHING = 0.003


def soft_rank(scores: list[float], width: float) -> list[float]:
    """1 / (1 + rank) for each score, with "is j above i" a logistic step of the given width instead of
    a hard comparison: the same as the rank when scores are far apart, continuous when two swap."""
    s = np.asarray(scores, dtype=np.float64)
    above = 1.0 / (1.0 + np.exp(-np.clip((s[None, :] - s[:, None]) / width, -50, 50)))
    np.fill_diagonal(above, 0.0)
    return (1.0 / (1.0 + above.sum(axis=1))).tolist()


def section_intent(record: Record, intent: str, offers_money: bool) -> str:
    """The intent as this kind of item answers it (a policy's 条件 is its 申报条件)."""
    if record.kind == "policy" and intent in ("condition",):
        return "eligibility"
    if record.kind == "policy" and (intent in ("fee", "other", "time", "where", "process")
                                    or (intent == "materials" and not record.materials)):
        return "subsidy"  # a policy answer carries amount, conditions, how and when to apply
    if record.kind == "bundle" and intent == "other":
        return "bundle"
    if record.kind != "policy" and intent == "eligibility":
        return "condition"
    if record.kind != "policy" and intent == "subsidy" and not offers_money:
        return "other"  # a procedure guide says nothing about money
    return intent


def feature_values(asked: str, terms: tuple[Term, ...], intent: str, pool: list[ItemHit],
                   records: dict[str, Record], items: ItemIndex) -> list[dict[str, float]]:
    """One feature dict per candidate of ``pool`` (in its order) for the normalised question ``asked``."""
    grams = bigrams(asked)
    top_fused = max(h.score for h in pool) or 1.0
    top_bm25 = max(h.bm25 for h in pool) or 1.0
    # Said word for word, give or take particles and punctuation (股票上市有奖励 for 上市奖励).
    compact = without_particles(asked)
    verbatim = {h.record_id: max((len(n) for n in items.names.get(h.record_id, "").split("\n")
                                  if len(n) >= 2 and without_particles(n) in compact), default=0)
                for h in pool}
    longest = max(verbatim.values()) or 1
    dense_rank = soft_rank([h.dense for h in pool], DENSE_SMOOTHING)
    fused_rank = soft_rank([h.score for h in pool], FUSED_SMOOTHING)
    unknown = 1.0 - term_coverage(terms, items.corpus) if terms else 0.0
    unknown_char = float(any(ch not in items.chars for ch in re.findall(r"[\u4e00-\u9fff]", content(asked))))
    asks_bundle, asks_money = intent == "bundle", intent == "subsidy"
    out = []
    for i, hit in enumerate(pool):
        rid = hit.record_id
        record = records[rid]
        text, names = items.texts.get(rid, ""), items.names.get(rid, "")
        is_bundle, is_policy = record.kind == "bundle", record.kind == "policy"
        offers_money = is_policy or rid in items.offers_money
        out.append({
            "cov_text": term_coverage(terms, text),
            "cov_name": term_coverage(terms, names),
            "name_share": name_share(grams, items.name_grams.get(rid, [])),
            "name_verbatim": verbatim[rid] / longest,
            "miss_max": missing_weight(terms, text),
            "miss_noun": missing_weight(nouns(terms), text),
            "cov_noun": term_coverage(nouns(terms), text),
            "place_missing": place_missing(terms, text),
            "unknown_index": unknown,
            "unknown_char": unknown_char,
            "fused_rel": hit.score / top_fused,
            "bm25_rel": hit.bm25 / top_bm25,
            "dense_rank": dense_rank[i] if hit.dense else 0.0,
            "rank": fused_rank[i],
            "kind_match": float((asks_bundle and is_bundle) or (asks_money and offers_money)),
            "kind_mismatch": float((is_bundle and not asks_bundle)
                                   or (is_policy and intent in ("materials", "time", "where", "process",
                                                                "condition", "fee"))),
            "has_section": float(C.has_section(record, section_intent(record, intent, rid in items.offers_money))),
            "states_kind": float(intent not in CUES or intent in items.kinds.get(rid, ())),
            "n_terms": min(len(terms), 6) / 6,
            "variant_conflict": variant_conflict(asked, names),
        })
    return out

"""`govbot fit`: fit the answerability model and report how it does on sets it was not fitted on.

Labelled questions come from four sources, each asked against the index it is about:
- generated: every item of knowledge/ asked by its names (title, aliases) with the usual question forms;
- near misses (bot/data/near_miss.jsonl): items and places the knowledge base does not hold;
- the development sets in ../shared/eval: real user questions (realq-dev.jsonl) against knowledge/,
  and the answers kit's questions against the kit's own documents.
Each candidate the engine weighs is one row (label: is it an item that answers the question).
Figures are leave-one-source-out: a source is scored by a model fitted on the other sources. The
threshold is the highest one that keeps false refusals at or below 5 % in 5-fold cross-validated
predictions.
bot/data/heldout.jsonl and bot/data/heldout_variants.jsonl (questions naming a variant of an item: 延续,
变更, 提取) are never fitted on; they are only scored. The FAQ match model is fitted here too
(bot/faq_fitting.py, its own generated pairs) and reported under ``faq``.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.answerability import (
    ANSWER_FEATURES,
    FEATURES,
    PARAMS_PATH,
    Candidate,
    Logistic,
    Model,
    answer_vector,
    eligible,
    pick,
)
from bot.engine import RETRIEVED, Engine
from bot.intent import detect_intent
from bot.normalize import clean, expand
from bot.terms import salient_terms
from ingest.textnorm import normalize

DATA = Path(__file__).with_name("data")
MAX_FALSE_REFUSAL = 0.05
GUIDE_FORMS = ("{}需要什么材料", "{}要多久", "{}在哪里办", "{}收费吗", "{}怎么办理", "{}有什么条件")
BUNDLE_FORMS = ("{}包含哪些事项", "{}要准备什么材料", "{}怎么办")
POLICY_FORMS = ("{}能拿多少钱", "{}申报条件是什么", "{}怎么申请")


@dataclass
class Question:
    text: str
    accepted: set[str]  # ids that answer it; empty when nothing in the index does
    source: str


@dataclass
class Rows:
    """One entry per question: its candidates' feature vectors and which of them answer it."""

    x: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    answerable: list[bool] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def generated_questions(engine: Engine) -> list[Question]:
    """Each item asked by its names, and by the main word of each name (营业执照 for 办营业执照): a word
    several items are named by is answered by any of them."""
    out = []
    names_of = {rid: engine._items.names.get(rid, "") for rid in engine.records}
    fragments: set[str] = set()
    for n, record in enumerate(engine.records.values()):
        if record.kind == "faq":
            continue  # a file of FAQ pairs is answered by its pairs (bot/faq.py), not by its name
        forms = {"bundle": BUNDLE_FORMS, "policy": POLICY_FORMS}.get(record.kind, GUIDE_FORMS)
        names = list(dict.fromkeys([record.title.split("（")[0], *record.aliases[:3]]))
        for i, name in enumerate(names):
            for j in (0, 1):
                form = forms[(n + i + j * 2) % len(forms)]
                out.append(Question(form.format(name), {record.id, *record.members}, "generated"))
            nouns = [t.word for t in salient_terms(name) if t.is_noun and len(t.word) >= 3]
            if nouns and nouns[0] != normalize(name) and nouns[0] not in fragments:
                fragments.add(nouns[0])
                accepted = {rid for rid, names_text in names_of.items() if nouns[0] in names_text}
                out.append(Question(forms[(n + i + 1) % len(forms)].format(nouns[0]), accepted, "generated"))
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def labelled(path: Path, source: str) -> list[Question]:
    out = []
    for row in _jsonl(path):
        ids = {row.get("expect_id"), *row.get("also_ok", [])} - {None}
        if row.get("in_scope") is False:
            ids = set()
        out.append(Question(row["q"], ids, source))
    return out


def kit_questions(kit: Path, engine: Engine) -> list[Question]:
    by_file = {Path(r.source_path).name: r.id for r in engine.records.values()}
    return [Question(row["q"], {by_file[row["doc"]]} if row.get("doc") in by_file and row["type"] != "unanswerable"
                     else set(), "answers-kit") for row in _jsonl(kit / "questions.jsonl")]


def build_store(paths: list[Path], store: Path) -> Path:
    from ingest.embeddings import load_embeddings
    from ingest.pipeline import ingest
    from ingest.settings import get_settings

    ingest(paths, store, load_embeddings(get_settings().govbot_embedding))
    return store


def add_rows(rows: Rows, engine: Engine, questions: list[Question]) -> None:
    for q in questions:
        intent = detect_intent(normalize(clean(q.text)))
        hits = engine._retriever.search(expand(q.text), limit=RETRIEVED) if engine._retriever else []
        candidates = eligible(engine.candidates(q.text, intent, hits))
        rows.x.append(np.array([c.vector() for c in candidates]).reshape(len(candidates), len(FEATURES)))
        rows.y.append(np.array([int(c.record_id in q.accepted) for c in candidates]))
        rows.source.append(q.source)
        rows.answerable.append(bool(q.accepted))
        rows.text.append(q.text)


# The direction each feature may push, so collinear features cannot flip a sign on noise: more of the
# question found in the item never argues against it, a missing word never argues for it.
SIGNS = {"cov_text": 1, "cov_name": 1, "name_share": 1, "name_verbatim": 1, "miss_max": -1, "miss_noun": -1,
         "cov_noun": 1, "place_missing": -1, "unknown_index": -1, "unknown_char": -1, "fused_rel": 1, "bm25_rel": 1,
         "dense_rank": 1, "rank": 1, "kind_match": 1, "kind_mismatch": -1, "has_section": 1,
         "states_kind": 1, "n_terms": 0, "variant_conflict": -1, "choice": 1, "choice_margin": 1, "choice_share": 1}
L2 = 1.0


def _logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, names: tuple[str, ...]) -> Logistic:
    """Weighted L2 logistic regression with a sign constraint per feature (L-BFGS-B bounds)."""
    from scipy.optimize import minimize

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    w = weight / weight.sum() * len(y)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = z @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-margin))
        value = float(np.sum(w * (np.logaddexp(0, margin) - y * margin)) + 0.5 * L2 * theta[:-1] @ theta[:-1])
        grad_m = w * (p - y)
        grad = np.append(z.T @ grad_m + L2 * theta[:-1], grad_m.sum())
        return value, grad

    bounds = [(0, 0) if SIGNS[n] is None else (0, None) if SIGNS[n] > 0 else (None, 0) if SIGNS[n] < 0 else (None, None) for n in names]
    result = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)])
    return Logistic(mean, scale, result.x[:-1].copy(), float(result.x[-1]))


GENERATED_WEIGHT = 0.3  # generated questions name their item exactly; real questions should teach more


def _source_weights(sources: list[str]) -> np.ndarray:
    # Every source weighs the same in total, whatever its number of questions (generated ones less).
    counts = {s: sources.count(s) for s in set(sources)}
    return np.array([len(sources) / (len(counts) * counts[s]) * (GENERATED_WEIGHT if s == "generated" else 1.0)
                     for s in sources])


def _choices(chooser: Logistic, rows: Rows, idx: list[int]) -> list[tuple[int, np.ndarray | None, bool]]:
    """Per question: the chosen candidate's answer-model vector and whether it answers the question."""
    out = []
    for q in idx:
        cands = [Candidate(str(i), dict(zip(FEATURES, v, strict=True))) for i, v in enumerate(rows.x[q])]
        if not cands:
            out.append((q, None, False))
            continue
        best = pick(chooser, cands)
        out.append((q, answer_vector(best, cands), bool(rows.y[q][int(best.record_id)])))
    return out


def fit(rows: Rows, idx: list[int]) -> Model:
    weights = _source_weights([rows.source[q] for q in idx])
    w_of = dict(zip(idx, weights, strict=True))
    x = np.vstack([rows.x[q] for q in idx if len(rows.x[q])])
    y = np.concatenate([rows.y[q] for q in idx if len(rows.x[q])])
    w = np.concatenate([np.full(len(rows.y[q]), w_of[q] / len(rows.y[q])) for q in idx if len(rows.x[q])])
    chooser = _logistic(x, y, w, FEATURES)
    chosen = [(q, v, ok) for q, v, ok in _choices(chooser, rows, idx) if v is not None]
    answer = _logistic(np.array([v for _, v, _ in chosen]), np.array([int(ok) for _, _, ok in chosen]),
                       np.array([w_of[q] for q, _, _ in chosen]), ANSWER_FEATURES)
    return Model(chooser, answer, 0.5)


def predict(model: Model, rows: Rows, idx: list[int]) -> dict[int, tuple[float, bool]]:
    """Per question: the answer probability and whether the chosen candidate answers it."""
    return {q: ((model.answer.probability(v), ok) if v is not None else (0.0, False))
            for q, v, ok in _choices(model.chooser, rows, idx)}


def score(pred: dict[int, tuple[float, bool]], answerable: list[bool], threshold: float) -> dict[str, float | None]:
    ans = [q for q in pred if answerable[q]]
    una = [q for q in pred if not answerable[q]]
    route = sum(pred[q][0] >= threshold and pred[q][1] for q in ans)
    false_refusal = sum(pred[q][0] < threshold for q in ans)
    refused = sum(pred[q][0] < threshold for q in una)
    pct = lambda a, n: round(100.0 * a / n, 1) if n else None  # noqa: E731
    return {"n": len(pred), "route": pct(route, len(ans)), "false_refusal": pct(false_refusal, len(ans)),
            "refusal": pct(refused, len(una))}


def collect(dev_dir: Path, knowledge: Path) -> tuple[Rows, Rows]:
    """Feature rows of every labelled question (and of the held-out set), from fresh indexes."""
    with tempfile.TemporaryDirectory(prefix="govbot-fit-") as tmp:
        kb = Engine(build_store([knowledge], Path(tmp) / "kb"), model=Model.neutral())
        rows = Rows()
        add_rows(rows, kb, generated_questions(kb))
        add_rows(rows, kb, labelled(DATA / "near_miss.jsonl", "near-miss"))
        if (dev_dir / "realq-dev.jsonl").exists():
            add_rows(rows, kb, labelled(dev_dir / "realq-dev.jsonl", "realq-dev"))
        kit = dev_dir / "answers"
        if (kit / "docs").is_dir():
            docs = Engine(build_store([kit / "docs"], Path(tmp) / "kit"), model=Model.neutral())
            add_rows(rows, docs, kit_questions(kit, docs))
        held = Rows()
        add_rows(held, kb, labelled(DATA / "heldout.jsonl", "heldout"))
        add_rows(held, kb, labelled(DATA / "heldout_variants.jsonl", "heldout-variants"))
    return rows, held


def _threshold(pred: dict[int, tuple[float, bool]], rows: Rows) -> float:
    """The highest round threshold whose false refusals, averaged over the sources of real questions,
    stay within 5 % (generated questions name their item exactly, so they would make it look easy)."""
    by_source: dict[str, list[float]] = {}
    for q, (p, _) in pred.items():
        if rows.answerable[q] and rows.source[q] != "generated":
            by_source.setdefault(rows.source[q], []).append(p)
    for step in range(99, 0, -1):
        t = step / 100  # round values keep the decision away from the last digits of a probability
        rate = np.mean([np.mean([p < t for p in ps]) for ps in by_source.values()])
        if rate <= MAX_FALSE_REFUSAL:
            return t
    return 0.01


def cross_validated(rows: Rows) -> tuple[dict[int, tuple[float, bool]], float]:
    """5-fold cross-validated predictions for every question, and the threshold they give."""
    folds = np.random.default_rng(0).permutation(len(rows.source)) % 5
    cv: dict[int, tuple[float, bool]] = {}
    for f in range(5):
        cv.update(predict(fit(rows, [q for q in range(len(folds)) if folds[q] != f]), rows,
                          [q for q in range(len(folds)) if folds[q] == f]))
    return cv, _threshold(cv, rows)


EDGE = 0.03  # a probability this close to the threshold may fall on the other side on another CPU


def near_threshold(pred: dict[int, tuple[float, bool]], rows: Rows, threshold: float) -> dict:
    """The labelled questions the shipped model decides within ``EDGE`` of the threshold, closest first:
    the decisions a slightly different dense score on another machine could flip."""
    close = sorted((abs(p - threshold), q) for q, (p, _) in pred.items() if abs(p - threshold) < EDGE)
    texts = getattr(rows, "text", [])  # a rows cache written before texts were kept has none
    by_source: dict[str, int] = {}
    for _, q in close:
        by_source[rows.source[q]] = by_source.get(rows.source[q], 0) + 1
    return {"margin": EDGE, "n": len(close), "of": len(pred), "by_source": dict(sorted(by_source.items())),
            "questions": [{"q": texts[q] if q < len(texts) else "", "source": rows.source[q],
                           "probability": round(pred[q][0], 3)} for _, q in close[:20]]}


def run(dev_dir: Path, knowledge: Path, write: bool = True, rows_cache: Path | None = None) -> dict:
    """Fit, report leave-one-source-out figures and the held-out set, and write the parameters.

    The FAQ match model (bot/faq_fitting.py) is fitted first; its figures are under ``faq``."""
    from bot.faq_fitting import run_on

    faq_report = run_on(knowledge, write=write)
    if rows_cache and rows_cache.exists():
        rows, held = pickle.loads(rows_cache.read_bytes())
    else:
        rows, held = collect(dev_dir, knowledge)
        if rows_cache:
            rows_cache.write_bytes(pickle.dumps((rows, held)))

    sources = sorted(set(rows.source))
    # The threshold comes from 5-fold cross-validated predictions (every source in every fold).
    # (A larger L2 picked by CV refusal was tried: it refused more in CV but broke real answers.)
    cv, threshold = cross_validated(rows)
    # Leave one source out: how the model does on a kind of question it has never seen.
    oof: dict[int, tuple[float, bool]] = {}
    for s in sources:
        train = [q for q, src in enumerate(rows.source) if src != s]
        test = [q for q, src in enumerate(rows.source) if src == s]
        oof.update(predict(fit(rows, train), rows, test))
    report: dict = {"threshold": threshold, "cross_validated": {}, "held_out_by_source": {}}
    for s in sources:
        test = [q for q, src in enumerate(rows.source) if src == s]
        report["cross_validated"][s] = score({q: cv[q] for q in test}, rows.answerable, threshold)
        report["held_out_by_source"][s] = score({q: oof[q] for q in test}, rows.answerable, threshold)
    final = fit(rows, list(range(len(rows.source))))
    final = Model(final.chooser, final.answer, threshold)
    for s, key in (("heldout", "heldout_own"), ("heldout-variants", "heldout_variants")):
        test = [q for q, src in enumerate(held.source) if src == s]
        report[key] = score(predict(final, held, test), held.answerable, threshold)
    report["near_threshold"] = near_threshold(predict(final, rows, list(range(len(rows.source)))), rows, threshold)
    report["answer_coefficients"] = {f: round(float(c), 3) for f, c in
                                     zip(ANSWER_FEATURES, final.answer.coef, strict=True)}
    report["questions"] = len(rows.source)
    report["faq"] = faq_report
    if write:
        PARAMS_PATH.write_text(final.to_json({"fitted_on": sources, "report": {
            k: v for k, v in report.items() if k not in ("answer_coefficients", "faq", "near_threshold")}})
            + "\n", encoding="utf-8")
    return report

"""Fit the FAQ match model (bot/faq.py) on labelled pairs generated from the knowledge base itself.

FAQ questions: every item of knowledge/ asked by its names for two of the usual properties (so most
properties of an item have *no* pair, as in a real FAQ), plus the real pairs of knowledge/faq/.
User questions, labelled against each FAQ question they are compared with:
- positives: the FAQ question reworded (other asking words, another name of the item, reordered,
  shortened, in colloquial frames: 请问…, 我想问一下…);
- near-miss negatives: the same item asked for another property (收费吗 vs 要多久), other items asked
  for the same property, other pairs' questions.
Each user question is compared, as at run time, with the FAQ questions that share a word with it (the
20 closest by shared character pairs, plus its own pair). Items are split 75/25: the model is fitted
on three quarters and measured on the held-out quarter; the threshold is the lowest round value whose
cross-validated precision (4 folds of the training items) (question level: the best pair answers, and it is a right one) is at least 99 %.
The final model is fitted on all items and written to bot/data/faq.json with the figures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.answerability import Logistic, bigrams
from bot.faq import FEATURES, PARAMS_PATH, FaqModel, features, prepare, related
from bot.intent import Intent
from ingest.schema import Record

MIN_PRECISION = 0.99
CLOSEST = 20
SEED = 0
# How a FAQ author asks (the pair's question) and how users ask (other words for the same thing).
AUTHOR = {
    Intent.MATERIALS: "{n}需要哪些材料", Intent.TIME: "{n}多长时间能办好", Intent.FEE: "{n}收费吗",
    Intent.WHERE: "{n}在哪里办理", Intent.PROCESS: "{n}的办理流程是什么", Intent.CONDITION: "{n}需要满足什么条件",
    Intent.SUBSIDY: "{n}能拿多少补贴", Intent.ELIGIBILITY: "{n}的申报条件是什么",
}
USER = {
    Intent.MATERIALS: ("{n}要带什么资料", "办{n}要准备哪些东西", "{n}要交哪些材料啊", "想办{n}，需要提交什么材料"),
    Intent.TIME: ("{n}几天能下来", "{n}要多久", "办{n}需要几个工作日", "{n}多久能拿到"),
    Intent.FEE: ("{n}要钱吗", "办{n}交费吗", "{n}有没有费用", "{n}免费吗"),
    Intent.WHERE: ("{n}去哪办", "{n}在哪个窗口办", "到哪里办{n}", "{n}的办理地点"),
    Intent.PROCESS: ("{n}怎么办", "{n}有哪些步骤", "办{n}的程序", "{n}怎么弄"),
    Intent.CONDITION: ("{n}有什么要求", "什么条件能办{n}", "{n}的受理条件", "办{n}要具备什么条件"),
    Intent.SUBSIDY: ("{n}补多少钱", "{n}奖励多少", "{n}给多少补助", "{n}的支持标准"),
    Intent.ELIGIBILITY: ("{n}有资格申请吗", "{n}够条件吗", "什么企业能享受{n}", "{n}享受条件"),
}
BY_KIND = {"policy": (Intent.SUBSIDY, Intent.ELIGIBILITY, Intent.MATERIALS, Intent.PROCESS),
           "bundle": (Intent.MATERIALS, Intent.TIME, Intent.PROCESS, Intent.WHERE)}
GUIDE = (Intent.MATERIALS, Intent.TIME, Intent.FEE, Intent.WHERE, Intent.PROCESS, Intent.CONDITION)
FRAMES = ("{q}", "请问{q}？", "您好，{q}", "我想问一下{q}", "{q}呢", "麻烦问下，{q}？谢谢")
# Another property asked of a free-text question: replaces its asking words (怎么补办 -> 补办收费吗).
OTHER_ASKS = ("收费吗", "要多久", "在哪里办", "需要什么材料", "有什么条件")


@dataclass(frozen=True)
class Pair:
    question: str
    group: str  # the item: pairs of one item are held out together
    intent: str  # the property asked ("" for a free-text question)


@dataclass(frozen=True)
class Asking:
    text: str
    group: str
    answers: frozenset[str]  # FAQ questions that answer it (may be none in the pool)


def _names(record: Record) -> list[str]:
    core = record.title.split("（")[0].split("(")[0].strip()
    return list(dict.fromkeys(n for n in [core, *record.aliases[:2]] if len(n) >= 2))


def _same(name: str) -> str:
    """A name as said: 办施工许可证 and 施工许可证 name the same thing."""
    return name.removeprefix("办").removeprefix("申请")


def _free_paraphrases(question: str, rng: random.Random) -> list[str]:
    """A free-text FAQ question reworded: shortened, reordered at its comma, in a frame."""
    core = question.rstrip("？?。")
    out = [core.replace("怎么", "如何", 1) if "怎么" in core else core + "呀"]
    parts = [p for p in core.replace(",", "，").split("，") if p]
    if len(parts) > 1:
        out.append("，".join(reversed(parts)))
    out.append(core[:-1] if core.endswith(("吗", "呢")) else core.replace("的", "", 1))
    return [rng.choice(FRAMES).format(q=x) for x in out]


def _other_property(question: str, rng: random.Random) -> str:
    core = question.rstrip("？?。")
    for word in ("怎么补办", "怎么办理", "怎么办", "如何办理", "需要什么材料", "要多久", "收费吗", "在哪里办"):
        if word in core:
            return core.replace(word, rng.choice([a for a in OTHER_ASKS if a not in word]))
    return core + rng.choice(OTHER_ASKS)


def generate(records: dict[str, Record], rng: random.Random) -> tuple[list[Pair], list[Asking]]:
    """The FAQ pool and the user questions (with the pool questions that answer each)."""
    pool: list[Pair] = []
    asked: list[Asking] = []
    items = [r for r in records.values() if r.kind != "faq" and not r.faq]
    chosen = {r.id: rng.sample(BY_KIND.get(r.kind, GUIDE), 2) for r in items}  # most properties have no pair
    # A pair answers a user question that names the item as the pair does (two items may share a
    # name: 公司注销 for the guide and its 一件事); another name of the item (开公司 for 企业开办) is
    # left to the normal engine, whose retrieval knows the aliases.
    named: dict[str, set[str]] = {}
    for record in items:
        for name in _names(record):
            named.setdefault(_same(name), set()).add(record.id)
    for record in items:
        for name in _names(record):
            for intent in BY_KIND.get(record.kind, GUIDE):
                if intent in chosen[record.id]:
                    pool.append(Pair(AUTHOR[intent].format(n=name), record.id, intent))
                answers = frozenset(AUTHOR[intent].format(n=n) for rid in named[_same(name)] if intent in chosen[rid]
                                    for n in _names(records[rid]) if _same(n) == _same(name))
                for form in rng.sample(USER[intent], 2):
                    asked.append(Asking(rng.choice(FRAMES).format(q=form.format(n=name)), record.id, answers))
    for record in records.values():
        for entry in record.faq:
            group = entry.about or record.id
            pool.append(Pair(entry.question, group, ""))
            for text in _free_paraphrases(entry.question, rng):
                asked.append(Asking(text, group, frozenset([entry.question])))
            asked.append(Asking(_other_property(entry.question, rng), group, frozenset()))
    return pool, asked


def _compared(q: Asking, pool: list[Pair]) -> list[Pair]:
    """The FAQ questions a user question is scored against: the closest by shared character pairs."""
    a = prepare(q.text)
    near = [p for p in pool if related(a, prepare(p.question))]
    near.sort(key=lambda p: -len(a.all_grams & bigrams(prepare(p.question).text)))
    own = [p for p in pool if p.question in q.answers and p not in near[:CLOSEST]]
    return near[:CLOSEST] + own


def rows(asked: list[Asking], pool: list[Pair]) -> list[tuple[int, np.ndarray, int]]:
    """(question index, feature vector, label) for every compared pair."""
    out = []
    for i, q in enumerate(asked):
        for p in _compared(q, pool):
            out.append((i, features(prepare(q.text), prepare(p.question)), int(p.question in q.answers)))
    return out


def _fit(data: list[tuple[int, np.ndarray, int]]) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    x = np.array([v for _, v, _ in data])
    y = np.array([label for _, _, label in data])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    return Logistic(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def question_scores(model: Logistic, data: list[tuple[int, np.ndarray, int]]) -> dict[int, tuple[float, bool]]:
    """Per user question: the best pair's probability and whether that pair answers it."""
    best: dict[int, tuple[float, bool]] = {}
    for i, v, label in data:
        p = model.probability(v)
        if i not in best or p > best[i][0]:
            best[i] = (p, bool(label))
    return best


def figures(scores: dict[int, tuple[float, bool]], answerable: dict[int, bool], threshold: float) -> dict:
    captured = [ok for p, ok in scores.values() if p >= threshold]
    can = sum(answerable[i] for i in scores)
    right = sum(captured)
    return {"questions": len(scores), "answerable": can, "captured": len(captured),
            "precision": round(right / len(captured), 4) if captured else None,
            "recall": round(right / can, 4) if can else None,
            "wrongly_captured": len(captured) - right}


def choose_threshold(scores: dict[int, tuple[float, bool]]) -> float:
    """The lowest round threshold whose precision is at least MIN_PRECISION (round: away from float edges)."""
    for step in range(50, 100):
        t = step / 100
        captured = [ok for p, ok in scores.values() if p >= t]
        if not captured or sum(captured) / len(captured) >= MIN_PRECISION:
            return t
    return 0.99


def _cross_validated(data: list[tuple[int, np.ndarray, int]], asked: list[Asking]) -> dict[int, tuple[float, bool]]:
    """Question scores of the training items, each from a model fitted on the other folds of items."""
    groups = sorted({asked[i].group for i, _, _ in data})
    fold = {g: n % 4 for n, g in enumerate(random.Random(SEED + 1).sample(groups, len(groups)))}
    out: dict[int, tuple[float, bool]] = {}
    for k in range(4):
        model = _fit([row for row in data if fold[asked[row[0]].group] != k])
        out.update(question_scores(model, [row for row in data if fold[asked[row[0]].group] == k]))
    return out


def run(records: dict[str, Record], write: bool = True) -> dict:
    """Fit on three quarters of the items, measure on the rest, refit on all; write bot/data/faq.json."""
    rng = random.Random(SEED)
    pool, asked = generate(records, rng)
    groups = sorted({q.group for q in asked})
    held = set(random.Random(SEED).sample(groups, len(groups) // 4))
    split = {name: [i for i, q in enumerate(asked) if (q.group in held) == (name == "held_out")]
             for name in ("train", "held_out")}
    data = {}
    for name, idx in split.items():
        in_split = {asked[i].group for i in idx}
        sub_pool = [p for p in pool if p.group in in_split]
        sub = rows([asked[i] for i in idx], sub_pool)
        data[name] = [(idx[i], v, label) for i, v, label in sub]
    answerable = {i: bool(q.answers) for i, q in enumerate(asked)}
    trained = _fit(data["train"])
    cv = _cross_validated(data["train"], asked)
    threshold = choose_threshold(cv)
    report = {"pairs": len(pool), "user_questions": len(asked), "rows": sum(len(d) for d in data.values()),
              "threshold": threshold, "min_precision": MIN_PRECISION,
              "cross_validated": figures(cv, answerable, threshold),
              "train": figures(question_scores(trained, data["train"]), answerable, threshold),
              "held_out": figures(question_scores(trained, data["held_out"]), answerable, threshold)}
    final = _fit(data["train"] + data["held_out"])
    report["coefficients"] = {f: round(float(c), 3) for f, c in zip(FEATURES, final.coef, strict=True)}
    if write:
        PARAMS_PATH.write_text(FaqModel(final, threshold).to_json({"report": report}) + "\n", encoding="utf-8")
    return report


def run_on(knowledge: Path, write: bool = True) -> dict:
    """`govbot fit`: the FAQ model fitted on the records of ``knowledge`` (loaded, not embedded)."""
    from ingest.loaders import LoadError, load_file
    from ingest.pipeline import discover, document_id

    files, _ = discover([knowledge])
    records: dict[str, Record] = {}
    for path in files:
        try:
            record = load_file(path, document_id(path))
        except LoadError:
            continue  # govbot check reports it; the fit uses what loads
        records[record.id] = record
    return run(records, write)

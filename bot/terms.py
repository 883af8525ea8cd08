"""Salient terms of a question: the words that name what is asked about, weighted by how telling they are.

Words come from jieba's segmenter and their weights from jieba's IDF table, which was estimated on a
large general Chinese corpus: a rare word (软著, 商标, 成都) weighs more than a common one (办理, 公司).
Words that only ask (多久, 需要, 什么) and particles are dropped, so what is left is what the question
is about. Nothing here is fitted on our own documents.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from bot.intent import intent_words
from bot.normalize import clean
from ingest.textnorm import normalize

# Words that carry no topic: question words, auxiliaries, pronouns, generic verbs of asking.
_FUNCTION_WORDS = """
请问 一下 需要 我们 我想 可以 这个 那个 什么 怎么 怎么样 怎样 如何 哪些 哪个 哪里 有没有 是不是 能不能 要不要 多少 是否
还是 或者 以及 还有 就是 然后 现在 目前 已经 应该 必须 一定 如果 的话 时候 之后 以后 之前 以前 关于 对于 一个 一些
自己 你们 他们 咱们 本人 大家 怎么办 咋办 咋整 为什么 为啥 有什么 要求 具体 相关 情况 问题 东西 事情 办法 方面 一般
能否 可否 是否是 到底 究竟 还能 还要 还得 得去 好心人 谢谢 您好 你好 急 求助 跪求 麻烦 帮忙 告诉 知道 想问 问下
要交 要带 要去 要办 办个 弄个 一起 同时 最多 最少 最长 最短 最低 最高 时间 意思 区别 规定 举例 帮助 办理 手续
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
# Interrogative quantifiers (几天, 几趟, 多少钱, 哪一级): they ask, they name nothing.
_ASKING = re.compile(r"^(几|多少|多久|多长|多大|哪)")
MIN_IDF = 2.0  # words more common than this (的, 是) carry nothing
_PUNCT = re.compile(r"[^\u4e00-\u9fff\u3400-\u4dbfa-z0-9]+")


@dataclass(frozen=True)
class Term:
    word: str
    weight: float
    pos: str = "n"  # jieba's part of speech: ns place, n* / j / vn nouns, v verbs ...

    @property
    def is_place(self) -> bool:
        return self.pos == "ns"

    @property
    def is_noun(self) -> bool:
        return self.pos[:1] in ("n", "j", "l", "i", "e") or self.pos in ("vn", "nz", "b")


class _Jieba:
    """jieba's tokenizer and IDF table, loaded once per process (about 1 s)."""

    _lock = threading.Lock()
    _loaded: _Jieba | None = None

    def __init__(self) -> None:
        import jieba
        import jieba.analyse
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        self.tagger = jieba.posseg.POSTokenizer(self.tokenizer)
        tfidf = jieba.analyse.default_tfidf
        self.idf: dict[str, float] = tfidf.idf_freq
        self.unknown_idf: float = max(self.idf.values()) * 0.9  # a word no corpus knows is telling

    @classmethod
    def get(cls) -> _Jieba:
        if cls._loaded is None:
            with cls._lock:
                if cls._loaded is None:
                    cls._loaded = cls()
        return cls._loaded


@lru_cache(maxsize=1)
def _question_words() -> frozenset[str]:
    return frozenset(w for w in intent_words() if not w.isascii())


_GLUE = set("的了吗呢啊呀吧么嘛是在要和与及或也都就还又才把被给让向从到去来办弄")


def _merge_single_nouns(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A word jieba does not know comes out as single characters (堤 村 乡, 犬 只): a run of them that
    starts with a noun is joined again, up to a particle or a verb of asking."""
    out: list[tuple[str, str]] = []
    run: list[str] = []
    for word, flag in [*pairs, ("", "x")]:
        single = len(word) == 1 and not word.isascii() and word not in _GLUE
        if single and (run or flag[:1] == "n"):
            run.append(word)
            continue
        if run:
            out.append(("".join(run), "n" if len(run) > 1 else "x"))
            run = []
        if word:
            out.append((word, flag))
    return out


def tagged(text: str) -> list[tuple[str, str]]:
    """(word, part of speech) pairs of normalised text."""
    tagger = _Jieba.get().tagger
    return [(p.word, p.flag) for p in tagger.lcut(_PUNCT.sub(" ", normalize(text)), HMM=True) if p.word.strip()]


@lru_cache(maxsize=2048)
def salient_terms(question: str) -> tuple[Term, ...]:
    """Content words of a question with their IDF weights, heaviest first; duplicates merged."""
    j = _Jieba.get()
    asked = _question_words()
    out: dict[str, float] = {}
    pos: dict[str, str] = {}
    for word, flag in _merge_single_nouns(tagged(clean(question))):
        if word in FUNCTION_WORDS or word in asked or _ASKING.match(word):
            continue
        if len(word) < 2 and not word.isdigit():
            continue  # single characters are mostly particles or fragments of an unknown word
        if word.isdigit() and len(word) < 3:
            continue
        weight = j.idf.get(word, j.unknown_idf)
        if weight < MIN_IDF:
            continue
        if word not in j.idf and not word.isascii():
            flag = "n"  # a word no corpus knows is a name (软著, 滴滴), whatever the tagger guessed
        out[word] = max(out.get(word, 0.0), weight)
        pos.setdefault(word, flag)
    return tuple(sorted((Term(w, s, pos[w]) for w, s in out.items()), key=lambda t: -t.weight))


def covered(term: str, text: str) -> bool:
    """Whether normalised ``text`` holds the term, or (for a long term) every one of its halves.

    Users join words the documents keep apart (营业执照注销 / 注销…营业执照), so a word of four or more
    characters counts when both halves occur.
    """
    if term in text:
        return True
    if len(term) >= 4:
        half = len(term) // 2
        return term[:half] in text and term[half:] in text
    return False


# What an interrogative asks for, by the unit it names: 几次 wants a count of 次, 哪级 a 级, 几成 a share.
_UNIT_AFTER_ASKING = re.compile(r"(?:几|多少|哪)(?:个)?([次趟回级天日年月岁元人家成份项号条])")
_UNIT_EQUIVALENTS = {"趟": "次", "回": "次", "成": "%", "岁": "岁", "号": "号", "级": "级", "年": "年", "天": "日"}


def answer_units(question: str) -> tuple[str, ...]:
    """Units the answer sentence should hold: 要到现场几次 -> (次,), 归哪级批 -> (级,)."""
    units = []
    for unit in _UNIT_AFTER_ASKING.findall(normalize(clean(question))):
        units.append(_UNIT_EQUIVALENTS.get(unit, unit))
    return tuple(dict.fromkeys(units))


# Variants an item is split into in the service catalogues (an item is set up, changed, cancelled or
# renewed; a licence is for wholesale or retail; a device or drug is of class one, two or three): a question that names one variant is not answered by an
# item named for another. Each axis lists its variants; each variant its usual words. The feature only
# says "conflict"; how much it counts is fitted (bot/fitting.py), like every other feature.
VARIANT_AXES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("设立", "新办", "新设", "开办", "首次", "新申请"), ("变更", "更名", "改名"), ("注销",),
     ("延续", "换证", "换发", "续期"), ("补办", "补发", "补领"), ("转移", "过户"), ("撤销",)),
    (("批发",), ("零售",)),
    (("一类", "第一类"), ("二类", "第二类"), ("三类", "第三类")),
    (("简易注销", "简易程序"), ("普通注销", "一般注销")),
    (("缴存", "缴纳", "参保"), ("提取", "领取", "报销")),
    (("许可", "核发"), ("备案",)),
    # Who the item serves: an employer's registration is not a person's own affair (养老保险个人怎么交).
    (("单位", "企业", "公司", "法人", "用人单位"), ("个人", "本人", "自然人")),
)


def _variants_in(text: str, axis: tuple[tuple[str, ...], ...]) -> set[int]:
    return {i for i, words in enumerate(axis) if any(w in text for w in words)}


def variant_conflict(question: str, name: str) -> float:
    """1.0 when the (normalised) question names a variant the item's name lacks while the name names
    another variant of the same kind (出版物批发 asked, 临时零售点 offered; 设立 asked, 变更登记 offered)."""
    for axis in VARIANT_AXES:
        asked = _variants_in(question, axis)
        offered = _variants_in(name, axis)
        if asked and offered and not asked & offered:
            return 1.0
    return 0.0

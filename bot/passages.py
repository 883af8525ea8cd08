"""The sentences of one item that hold what was asked, quoted exactly as the document writes them.

Used when the item has no structured field for the question (a policy notice, an FAQ page, a news report,
or a guide section the parser could not type) and to add the sentence that answers a specific detail.
A sentence scores by the question's salient words it holds, each weighted by its IDF and by how rare it
is among this item's own sentences (the item's name is everywhere, so it tells nothing), plus a cue when
the sentence is of the kind asked (a time question wants a sentence with a number of days).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.compose import is_empty_value
from bot.terms import Term, covered
from ingest.chunking import record_sections
from ingest.schema import Record
from ingest.textnorm import normalize

SHORT_INTENTS = ("time", "fee", "where", "validity")
SHORT_CHARS = 220
LONG_CHARS = 420

# What a sentence of each kind looks like (the property it states, not a topic).
CUES: dict[str, re.Pattern[str]] = {
    "time": re.compile(r"[\d一二三四五六七八九十两]+\s*个?[^\d，。；]{0,3}(工作日|日|天|小时|月)|时限|期限|即办|当场|当日"),
    # A period of validity, not the adjective: 有效性, 完好有效, 持有效证明 state no period.
    "validity": re.compile(r"有效期|有效[至到]|有效[^，。；]{0,3}[\d一二三四五六七八九十两]+\s*个?[年月日天]|"
                           r"[\d一二三四五六七八九十两]+\s*个?[年月日天]内?有效|长期有效"),
    "fee": re.compile(r"收费|免费|不收|费用|工本费|收取"),
    "where": re.compile(r"地址|地点|窗口|大厅|中心|室|楼|号|路|街|网|专区|手机|平台|app|APP|邮箱|信箱|电话|部门|局|实施主体"),
    "materials": re.compile(r"材料|证明|复印件|原件|申请书|申请表|证件|执照|照片|合同"),
    "condition": re.compile(r"条件|应当|须|具备|符合|不得|不予|可以|能够|范围"),
    "eligibility": re.compile(r"条件|符合|企业|申请人|对象|范围|不得|须|应当|可以"),
    "process": re.compile(r"步|流程|提交|受理|审核|审查|办结|领取|登录|选择|次|现场|网上|在线"),
    "subsidy": re.compile(r"万元|元|%|％|比例|补贴|补助|奖励|资助|奖补|最高|上限"),
    "bundle": re.compile(r"一件事|事项|合并|一次|联办|材料"),
}
SECTION_OF_INTENT = {
    "time": {"time"}, "fee": {"fee"}, "where": {"where", "online", "hours", "phone"},
    "materials": {"materials"}, "condition": {"conditions"}, "eligibility": {"eligibility", "conditions"},
    "process": {"process", "online", "how"}, "subsidy": {"amount", "eligibility", "deadline"},
    "validity": set(), "bundle": {"members", "materials"},
}


# What a question's interrogative asks for, and what a sentence that answers it holds: 哪个单位办 wants
# the office (实施部门), 哪一级 the level, 能拿到啥 the result or certificate, 最长多少天 a bound (不超过), 邮箱 an e-mail address.
# These are forms of asking, not topics, so they hold for any guide.
ASKED_FORMS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"哪个(单位|部门|机关|机构)|哪家(单位|部门|机构)|什么(单位|部门|机关)|啥(单位|部门)|谁(来)?(办|审批|负责|受理|管)"),
     re.compile(r"(实施|受理|审批|办理|主管|决定|责任|行使)(部门|主体|机关|机构|单位)|负责.{0,6}(部门|局)")),
    (re.compile(r"哪一?级|什么级别|哪个层级|几级"), re.compile(r"层级|[省市县区]级")),
    (re.compile(r"拿到(啥|什么)|能拿(啥|什么)|给(个)?(啥|什么)(凭证|证|结果)|给个啥|(啥|什么)(凭证|证照|证书|结果)|发(个)?(啥|什么)证"),
     re.compile(r"结果|取得|获得|领取|发放|颁发|核发|出具|回执|凭证")),
    (re.compile(r"最长|最多|最久|最高|最大|上限|最少|至少|最低|最短"),
     # a bound states a quantity: "不超过10日", "最高补助500万元", "3个月以内"
     re.compile(r"(不超过|不得超过|最长|最多|上限|不高于|至少|不少于|不低于|最低|最高|最短)[^，。；]{0,12}"
                r"[\d一二三四五六七八九十两百千万]|[\d一二三四五六七八九十两百千万][^，。；]{0,6}(以内|以下|为限)")),
    # A way to get in touch is asked by its kind: an address of mail, a number, a web address.
    (re.compile(r"邮箱|电子邮件|email|e-mail"), re.compile(r"[\w.-]+@[\w-]+\.[\w.]+")),
    (re.compile(r"电话|号码|热线"), re.compile(r"\d{3,4}-?\d{7,8}|\d{5,}")),
    (re.compile(r"网址|网站|网页|链接"), re.compile(r"https?://|www\.|\.gov\.cn|\.com")),
)


_BOUND = ASKED_FORMS[3][1]


def asked_forms(question: str, intent: str = "") -> tuple[re.Pattern[str], ...]:
    """The sentence patterns the (normalised) question asks for, by its interrogative. A money question's
    own cue already wants 最高/上限, and a bound for another kind of applicant must not outrank the
    sentence about the one asked, so the bound form is not added to it."""
    return tuple(sentence for asking, sentence in ASKED_FORMS if asking.search(question)
                 and not (intent == "subsidy" and sentence is _BOUND))


@dataclass(frozen=True)
class Sentence:
    text: str
    section: str
    order: int
    heading: str = ""  # the section heading: matched (审查标准), not quoted


_BARE_LABEL = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
_LABELLED_VALUE = re.compile(r"^[^：:|]{2,10}[：:|]\s*[^\s—\-－/]")  # "实施部门：某局" holds its own value


def _lines(text: str) -> list[str]:
    """The section's lines; in a key/value table ("事项名称 | …") a line that is only a label is a cell
    the page left empty (its "—" was dropped), so it reads "是否收费：—"."""
    lines = [line.strip() for line in re.split(r"\n+", text) if line.strip()]
    table = sum(" | " in line for line in lines) >= max(2, len(lines) // 2)
    return [f"{line}：—" if table and _BARE_LABEL.match(line) else line for line in lines]


def sentences(record: Record) -> list[Sentence]:
    out: list[Sentence] = []
    for section in record_sections(record):
        if section.key == "members" and record.kind != "document":
            continue
        for line in _lines(section.text):
            for part in re.findall(r"[^。；;！!？?]+[。；;！!？?]?", line):
                part = part.strip(" \t-·*•")
                if len(re.sub(r"\W", "", part)) >= 2:
                    out.append(Sentence(part, section.key, len(out), section.heading))
    return out


def _states(intent: str, sentence: Sentence) -> bool:
    """Whether the sentence states a value of the kind asked (not an empty cell such as "是否收费：—")."""
    if is_empty_value(sentence.text):
        return False
    cue = CUES.get(intent)
    return cue is None or bool(cue.search(sentence.text))


def best_passage(record: Record, terms: tuple[Term, ...], intent: str, units: tuple[str, ...] = (),
                 name: str = "", forms: tuple[re.Pattern[str], ...] = ()) -> tuple[list[str], float]:
    """Sentences that answer the question (in document order) and the share of the question's own words
    (those not in the item's name) that the best sentence holds; ([], 0.0) when nothing matches.

    ``name`` is the item's normalised names: words of the question found there only say which item
    is meant, not which sentence answers, so they count a tenth. ``forms`` (asked_forms) count like a unit.
    """
    items = _unique(sentences(record), name)
    if not items or not (terms or units or forms):
        return [], 0.0
    texts = [normalize(f"{s.heading} {s.text}") for s in items]
    n = len(items)
    weight = {t.word: t.weight * (0.1 if name and covered(t.word, name) else 1.0)
              * (math.log((n + 1) / (1 + sum(covered(t.word, x) for x in texts))) + 0.1) for t in terms}
    unit_weight = max(weight.values(), default=1.0) * 0.5  # the unit asked for is a strong hint
    total = (sum(weight.values()) + unit_weight * (len(units) + len(forms))) or 1.0
    own = {t.word: weight[t.word] for t in terms if not (name and covered(t.word, name))}
    own_total = sum(own.values())
    scored: list[tuple[float, Sentence]] = []
    share: dict[int, float] = {}
    mean_len = sum(len(x) for x in texts) / n
    for sentence, text in zip(items, texts, strict=True):
        # Length-normalised as in BM25: a long preamble must not win by holding many weak words.
        score = sum(w for word, w in weight.items() if covered(word, text)) / (0.5 + 0.5 * len(text) / mean_len)
        share[sentence.order] = (sum(w for word, w in own.items() if covered(word, text)) / own_total
                                 if own_total else 0.0)
        score += unit_weight * sum(1 for u in units if u in text and re.search(rf"[\d一二三四五六七八九十零〇两]\s*{re.escape(u)}|{re.escape(u)}", text))
        score += unit_weight * sum(1 for form in forms if form.search(text))
        scored.append((score / total, sentence))
    if intent in CUES:
        # Relevance relative to the best sentence, then the kind asked: a sentence that states a value of
        # that kind (in the section for it, better still) beats one that only repeats the question's words;
        # the constant lets it win when the question's only words are the item's name.
        best_raw = max(score for score, _ in scored) or 1.0
        # A sentence of the form asked (行使层级 | 县级 for 哪一级) states what was asked, whatever the intent.
        formed = {s.order for s, text in zip(items, texts, strict=True)
                  if not is_empty_value(s.text) and any(f.search(text) for f in forms)}
        scored = [((score / best_raw) * (2.0 if s.section in SECTION_OF_INTENT.get(intent, set()) else 1.5) + 0.2
                   if _states(intent, s) or s.order in formed else (score / best_raw) * 0.3, s)
                  for score, s in scored]
    scored.sort(key=lambda x: (-x[0], x[1].order))
    top_score, top = scored[0]
    if top_score <= 0:
        return [], 0.0
    text_of = {s.order: t for s, t in zip(items, texts, strict=True)}
    limit = SHORT_CHARS if intent in SHORT_INTENTS else LONG_CHARS
    chosen = _with_further(scored, text_of, list(own), forms, limit)
    if len(re.sub(r"\W", "", top.text)) < 16 and not _LABELLED_VALUE.search(top.text):
        # A short line is usually a table cell or a label: the next line holds its value.
        following = [s for s in items if s.order > top.order][:2]
        chosen += [s for s in following if s not in chosen][: 2 if len(chosen) == 1 else 1]
    chosen.sort(key=lambda s: s.order)
    return [s.text for s in chosen], share[top.order]


def _with_further(scored: list[tuple[float, Sentence]], text_of: dict[int, str], own: list[str],
                  forms: tuple[re.Pattern[str], ...], limit: int) -> list[Sentence]:
    """The best sentence, and those after it worth quoting too, within ``limit`` characters."""
    top_score, top = scored[0]
    chosen = [top]
    used = len(top.text)
    held = {word for word in own if covered(word, text_of[top.order])}
    held_forms = {f for f in forms if f.search(text_of[top.order])}
    for score, sentence in scored[1:6]:
        # A further sentence is quoted when it is nearly as good, or holds a word or a form asked that the
        # quoted ones do not (a question asking two things gets both answers: 哪个部门 and 哪一级).
        new = {word for word in own if word not in held and covered(word, text_of[sentence.order])}
        new_forms = {f for f in forms if f not in held_forms and f.search(text_of[sentence.order])}
        if ((score < 0.6 * top_score and not ((new or new_forms) and score > 0.2 * top_score))
                or used + len(sentence.text) > limit):
            continue
        chosen.append(sentence)
        held |= new
        held_forms |= new_forms
        used += len(sentence.text)
    return chosen


def _unique(items: list[Sentence], name: str) -> list[Sentence]:
    """Each sentence once (a guide's field and its parsed section often repeat it), and not the title."""
    seen = {re.sub(r"\W", "", n) for n in name.split("\n")} if name else set()
    out = []
    for s in items:
        key = re.sub(r"\W", "", normalize(re.sub(r"^\s*[\d一二三四五六七八九十]+\s*[.．、]\s*", "", s.text)))
        if key and key not in seen:
            seen.add(key)
            out.append(s)
    return out


def blank_slot(record: Record, terms: tuple[Term, ...], intent: str, name: str = "") -> str | None:
    """The field of the kind asked that the document leaves empty ("执行期限：—", "是否收费" with no value),
    when it holds the question's own words at least as well as any sentence that states a value: the
    document says it does not say. None otherwise."""
    cue = CUES.get(intent)
    if intent not in SHORT_INTENTS or cue is None:
        return None
    own = [t for t in terms if not (name and covered(t.word, name))]

    def held(text: str) -> float:
        return sum(t.weight for t in own if covered(t.word, normalize(text)))

    blanks, stated = [], 0.0
    for s in _unique(sentences(record), name):
        label = re.split(r"[：:|]", s.text, maxsplit=1)[0]
        if is_empty_value(s.text) and re.search(r"[：:|]", s.text) and cue.search(label):
            blanks.append((held(s.text), label.strip()))
        elif _states(intent, s):
            stated = max(stated, held(s.text))
    best = max(blanks, default=None)
    if best is None or best[0] < stated or (own and not best[0]):
        return None  # a question with words of its own (社保得交满多久) is about something else
    return best[1]


def kinds_stated(record: Record) -> frozenset[str]:
    """The kinds of question (time, fee, materials ...) some sentence of the item states a value for."""
    items = sentences(record)
    return frozenset(intent for intent in CUES if any(_states(intent, s) for s in items))


def passage_answers(intent: str, passage: list[str], share: float) -> bool:
    """Whether quoted sentences can stand for the property asked: one of them states a value of that
    kind (a fee question is not answered by a sentence on time), or, for questions of other kinds, the
    best one holds most of the question's own words."""
    if intent not in CUES or (share >= 0.5 and intent not in SHORT_INTENTS):
        return bool(passage)
    # A time, fee, place or validity question is answered only by a sentence that states one.
    return any(_states(intent, Sentence(text, "", 0)) for text in passage)

"""The answer engine: a question (and a small conversation state) in, a plain result out.

It knows nothing about channels. Steps: clean -> intent -> follow-up or retrieval -> evidence check
(refuse when the item or the property asked is not in the knowledge base) -> compose -> suggestions.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot import compose as C
from bot.intent import content, detect_intent, residue
from bot.normalize import SYNONYMS, clean, expand
from bot.retrieval import ItemHit, Retriever
from ingest.embeddings import EmbedderError, embedder_name, load_embeddings
from ingest.index import ChromaLocation, Generation, current_name, open_current
from ingest.schema import Record
from ingest.settings import Settings, get_settings
from ingest.textnorm import normalize

log = logging.getLogger(__name__)

SWITCH = re.compile(r"^(换一个|换个|另外|再问一个|那)[:：，,\s]*")
# Places whose rules we do not hold. Zigong and Sichuan-wide rules are ours.
OTHER_PLACES = (
    "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "武汉", "西安", "郑州", "长沙", "苏州", "成都",
    "绵阳", "德阳", "宜宾", "泸州", "内江", "乐山", "南充", "达州", "眉山", "资阳", "遂宁", "广安", "雅安", "巴中",
    "攀枝花", "广元", "凉山", "甘孜", "阿坝", "昆明", "贵阳", "香港", "澳门", "台湾", "海南", "广东", "浙江", "江苏",
)
# Personal affairs: this assistant serves enterprises; these near-namesakes must not match 企业所得税 & co.
PERSONAL_AFFAIRS = (
    "个人所得税", "个税", "护照", "签证", "港澳通行证", "出入境", "驾驶证", "驾照", "结婚", "离婚", "个人落户", "户口落户",
    # Not 身份证/户口/股票/落户 alone: 法定代表人身份证 is a material, 外地户口 may open a company,
    # 股票上市 is rewarded, 企业落户 is investment.
    "办身份证", "补办身份证", "换身份证", "身份证丢", "身份证过期", "户口迁", "迁户口", "上户口", "户口本补办",
    "养老金", "退休", "高考", "中考", "医保报销", "天气", "彩票", "炒股",
)
# A person paying their own social insurance is not the enterprise 参保登记 guide, unless the question
# is asked from the employer's side (单位招用灵活就业人员, 公司员工个人怎么缴).
PERSONAL_UNLESS_EMPLOYER = ("灵活就业", "个人怎么交", "个人怎么缴", "以个人身份")
EMPLOYER_WORDS = ("公司", "企业", "单位", "员工", "职工", "用人", "招用")
BUNDLE_DAMPING = 0.85
NOT_NAMED = 0.4  # evidence kept when the question does not name the item (title/aliases) at all
UNKNOWN_CHARACTER = 0.4
CLOSE_CALL = 0.75  # candidates within this share of the top score compete on evidence
SUGGEST = {
    "materials": "需要哪些材料？",
    "time": "要多久？",
    "validity": "有效期多久？",
    "fee": "收费吗？",
    "where": "在哪里办？",
    "process": "办理流程是什么？",
    "condition": "有什么条件？",
    "subsidy": "能拿多少补贴？",
    "eligibility": "申报条件是什么？",
}


@dataclass
class AnswerResult:
    answer: str
    sources: list[dict[str, str]] = field(default_factory=list)
    grounded: bool = False
    intent: str = "other"
    record_ids: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0

    def public(self) -> dict[str, Any]:
        """The JSON contract of `govbot ask --json` and `/api/ask`."""
        data = asdict(self)
        return {k: data[k] for k in ("answer", "sources", "grounded", "intent", "record_ids", "suggestions")}


def _bigrams(text: str) -> set[str]:
    runs = re.findall(r"[\u4e00-\u9fff]+", text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


class Engine:
    """Loads the current index generation once and follows CURRENT when a new one is made."""

    def __init__(self, store_dir: Path | None = None, settings: Settings | None = None,
                 llm: Any = None) -> None:
        self.settings = settings or get_settings()
        self.store_dir = store_dir or self.settings.store_dir
        self.location = ChromaLocation(self.settings.chroma_host, self.settings.chroma_port)
        self.min_confidence = self.settings.govbot_min_confidence
        if llm is None and self.settings.govbot_llm_base_url and self.settings.govbot_llm_model:
            from bot.llm import LLMComposer

            llm = LLMComposer(self.settings)
        self.llm = llm
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._retriever: Retriever | None = None
        self._name_grams: dict[str, set[str]] = {}
        self._text_grams: dict[str, set[str]] = {}
        self._bundles_of: dict[str, list[str]] = {}
        self._known: set[str] = set()
        self._chars: set[str] = set()
        self.reload_if_changed()

    # ----- index -----
    @property
    def records(self) -> dict[str, Record]:
        return self._generation.records if self._generation else {}

    @property
    def generation_name(self) -> str | None:
        return self._generation.name if self._generation else None

    def reload_if_changed(self) -> bool:
        """Cheap when nothing changed: one small file read per question."""
        name = current_name(self.store_dir)
        if name is None or (self._generation is not None and name == self._generation.name):
            return False
        with self._lock:
            if self._generation is not None and name == self._generation.name:
                return False
            generation = open_current(self.store_dir)
            if generation is None:
                return False
            self._install(generation)
            log.info("serving index generation %s", generation.name)
            return True

    def _install(self, generation: Generation) -> None:
        try:
            embeddings = load_embeddings(generation.embedder)
        except EmbedderError as exc:
            log.warning("%s", exc)
            embeddings = None
        dense = embeddings is not None and embedder_name(embeddings) == generation.embedder
        if not dense:
            # The vectors were made by a model this machine cannot load: lexical search only.
            log.warning("embedder %s unavailable; dense retrieval off", generation.embedder)
        retriever = Retriever(generation, embeddings, self.location, dense_weight=1.0 if dense else 0.0)
        name_grams: dict[str, set[str]] = {}
        text_grams: dict[str, set[str]] = {}
        bundles_of: dict[str, list[str]] = {}
        for record in generation.records.values():
            name_grams[record.id] = _bigrams(normalize(" ".join([record.title, *record.aliases])))
            text_grams[record.id] = set()
            for member in record.members:
                bundles_of.setdefault(member, []).append(record.id)
        for chunk in generation.chunks:
            text_grams[chunk.metadata["record_id"]] |= _bigrams(normalize(chunk.page_content))
        known = set().union(*text_grams.values()) if text_grams else set()
        chars = {ch for gram in known for ch in gram}
        all_name_grams = set().union(*name_grams.values()) if name_grams else set()
        # One assignment, so a question answered meanwhile sees either the old index or the new one.
        (self._generation, self._retriever, self._name_grams, self._text_grams, self._bundles_of, self._known,
         self._all_name_grams, self._chars) = (generation, retriever, name_grams, text_grams, bundles_of, known,
                                               all_name_grams, chars)

    # ----- retrieval -----
    def rank(self, question: str, limit: int = 10) -> list[ItemHit]:
        """Items for a question, best first (what `govbot eval` measures)."""
        self.reload_if_changed()
        if self._retriever is None:
            return []
        hits = self._retriever.search(expand(question), limit=limit)
        intent = detect_intent(normalize(clean(question)))
        if intent != "bundle" and len(hits) > 1 and self.records[hits[0].record_id].kind == "bundle":
            # A bundle repeats its members' text; unless a bundle is asked for, a member that is
            # nearly as good is the more precise answer (简易注销公告 -> 简易注销, not 注销一件事).
            for i, hit in enumerate(hits[1:3], 1):
                if (hit.record_id in self.records[hits[0].record_id].members
                        and hit.score >= BUNDLE_DAMPING * hits[0].score):
                    hits.insert(0, hits.pop(i))
                    break
        wanted = {"bundle": "bundle", "subsidy": "policy", "eligibility": "policy"}.get(intent)
        if wanted and hits and self.records[hits[0].record_id].kind != wanted:
            # Prefer an item of the kind asked for when it is nearly as good as the top one.
            for i, hit in enumerate(hits[1:3], 1):
                if self.records[hit.record_id].kind == wanted and hit.score >= 0.8 * hits[0].score:
                    hits.insert(0, hits.pop(i))
                    break
        return hits

    def evidence(self, question: str, record_id: str) -> float:
        """How much of what the question names is in the record: 0..1.

        A score threshold cannot tell a near miss (规划许可 held, 施工许可 asked) from a hit;
        the question's own content words must appear in the item.
        """
        terms = _bigrams(content(expand(question)))
        if not terms:
            return 0.0
        name = self._name_grams.get(record_id, set())
        text = self._text_grams.get(record_id, set())
        # Bigrams no item contains are mostly word-boundary noise (司不, 干怎): count the known ones.
        # (IDF weights were tried: rare boundary noise such as 办执 then outweighs 营业执照.)
        known = [t for t in terms if t in self._known]
        if not known:
            return 0.0
        coverage = sum(1 for t in known if t in text) / len(known)
        # The item the question names must be this record (title or aliases), or the answer is a
        # near miss: 营业执照有效期 must not be answered from a guide that merely mentions 营业执照.
        names_it = len(terms & name) >= 1
        if not names_it:
            coverage *= NOT_NAMED
        # A character no item contains (犬 in 犬只登记, 渔 in 渔船) names something we do not hold,
        # when it sits in the same phrase as this item's name; an unknown phrase of its own
        # (忽略以上指令) says nothing about the item. Known colloquialisms (不干了) are taken out first.
        own = normalize(clean(question))
        for word in SYNONYMS:
            own = own.replace(word, " ")
        for phrase in re.findall(r"[\u4e00-\u9fff]+", content(own)):
            if any(ch not in self._chars for ch in phrase) and _bigrams(phrase) & name:
                coverage *= UNKNOWN_CHARACTER
                break
        return coverage

    # ----- answering -----
    def ask(self, question: str, state: dict[str, Any] | None = None) -> AnswerResult:
        state = dict(state or {})
        self.reload_if_changed()
        text = clean(question)
        if not re.search(r"[\u4e00-\u9fffA-Za-z0-9]", text):
            return AnswerResult(C.EMPTY, state=state)
        normalized = normalize(text)
        intent = detect_intent(normalized)
        if any(place in normalized for place in OTHER_PLACES):
            return AnswerResult(C.OTHER_PLACE, intent=intent, state=state)
        if any(topic in normalized for topic in PERSONAL_AFFAIRS) or (
                any(topic in normalized for topic in PERSONAL_UNLESS_EMPLOYER)
                and not any(word in normalized for word in EMPLOYER_WORDS)):
            return AnswerResult(C.PERSONAL, intent=intent, state=state)
        if not self.records:
            return AnswerResult("知识库尚未导入，请管理员先运行 govbot ingest。", intent=intent, state=state)

        switched = bool(SWITCH.match(normalized)) and len(residue(SWITCH.sub("", normalized))) > 2
        text_for_search = SWITCH.sub("", text) if switched else text
        previous = state.get("record_id")
        follow_up = (not switched and previous in self.records and len(residue(normalized)) <= 2
                     and not self._names_another_item(normalized, previous))

        if follow_up:
            record = self.records[previous]
            if intent == "other":
                intent = state.get("intent", "other")
            confidence = 1.0
        else:
            hits = self.rank(text_for_search)
            if not hits:
                return self._refuse(intent, state)
            # Retrieval scores are close calls more often than lexical evidence is: among the
            # near-top candidates, answer from the one whose text holds what was asked.
            close = [h for h in hits[:3] if h.score >= CLOSE_CALL * hits[0].score]
            scored = [(self.evidence(text_for_search, h.record_id)
                       * (BUNDLE_DAMPING if intent != "bundle" and self.records[h.record_id].kind == "bundle"
                          else 1.0), -i, h) for i, h in enumerate(close)]
            confidence, _, best = max(scored, key=lambda x: (x[0], x[1]))
            if intent == "subsidy" and self.records[best.record_id].kind != "policy":
                # A guide cannot say how much money there is (招人有什么补贴 -> 就业登记): a policy
                # further down the top three that the question supports answers instead.
                for hit in hits[:3]:
                    if self.records[hit.record_id].kind == "policy":
                        evidence = self.evidence(text_for_search, hit.record_id)
                        if evidence >= self.min_confidence:
                            confidence, best = evidence, hit
                        break
            record = self.records[best.record_id]
            if confidence < self.min_confidence:
                return self._refuse(intent, state, hits)
            if intent == "other" and switched and state.get("intent"):
                intent = state["intent"]
        intent = self._intent_for(record, intent)
        new_state = {"record_id": record.id, "intent": intent}
        if not C.has_section(record, intent):
            return AnswerResult(C.not_stated(record, intent), sources=[self._source(record, "overview")],
                                grounded=False, intent=intent, record_ids=[record.id],
                                suggestions=self._suggestions(record, intent), state=new_state,
                                confidence=confidence)
        composed = C.compose(record, intent, self.records)
        body = composed.text
        if self.llm is not None:
            body = self.llm.compose(question, record, composed, self.records) or body
        parts = [body, C.source_line(record)]
        if record.confirm_at_window:
            parts.append(C.CONFIRM)
        return AnswerResult(
            "\n".join(parts),
            sources=[self._source(record, composed.section)],
            grounded=True,
            intent=intent,
            record_ids=[record.id],
            suggestions=self._suggestions(record, intent),
            state=new_state,
            confidence=confidence,
        )

    def _names_another_item(self, normalized: str, previous: str) -> bool:
        """Whether a short question names some other item (刻章收费吗 after 食品经营许可): a new question."""
        grams = _bigrams(residue(normalized))
        named = grams & self._all_name_grams
        return bool(named) and not named <= self._name_grams.get(previous, set())

    @staticmethod
    def _intent_for(record: Record, intent: str) -> str:
        if record.kind == "policy" and intent in ("condition",):
            return "eligibility"
        if record.kind == "policy" and (intent in ("fee", "other", "time", "where", "process")
                                        or (intent == "materials" and not record.materials)):
            return "subsidy"  # a policy answer carries amount, conditions, how and when to apply
        if record.kind == "bundle" and intent == "other":
            return "bundle"
        if record.kind != "policy" and intent == "eligibility":
            return "condition"
        if record.kind != "policy" and intent == "subsidy":
            return "other"
        return intent

    def _source(self, record: Record, section: str) -> dict[str, str]:
        return {"title": record.title, "source": record.source_path or (record.sources[0] if record.sources
                                                                       else ""),
                "section": section}

    def _suggestions(self, record: Record, intent: str) -> list[str]:
        keys = (["subsidy", "eligibility", "materials"] if record.kind == "policy"
                else ["materials", "time", "validity", "fee", "where", "process", "condition"])
        out = [SUGGEST[k] for k in keys if k != intent and C.has_section(record, k)]
        for bundle_id in self._bundles_of.get(record.id, [])[:2]:
            out.append(f"{self.records[bundle_id].title}包含哪些事项？")
        return out[:6]

    def _refuse(self, intent: str, state: dict[str, Any], hits: list[ItemHit] | None = None) -> AnswerResult:
        suggestions = [f"{self.records[h.record_id].title}需要哪些材料？" if self.records[h.record_id].kind != "policy"
                       else f"{self.records[h.record_id].title}能拿多少？" for h in (hits or [])[:3]]
        return AnswerResult(C.REFUSAL, grounded=False, intent=intent, suggestions=suggestions, state=state)

"""The answer engine: a question (and a small conversation state) in, a plain result out.

It knows nothing about channels. Steps: clean -> intent -> follow-up, or retrieval -> candidates with
measurable features -> the fitted answerability model chooses one and says whether to answer
(bot/answerability.py) -> compose: the record's structured field for what was asked, or the document's
own sentences that hold it (bot/passages.py), or "not stated" -> suggestions.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from pathlib import Path
from typing import Any

from bot import compose as C
from bot import messages as M
from bot.answer import AnswerResult, Block, BlockKind, Suggestion, block
from bot.answerability import (
    Candidate,
    Model,
    bigrams,
    eligible,
    name_share,
    shipped_model,
)
from bot.candidates import ItemIndex, feature_values, section_intent
from bot.faq import FaqMatcher
from bot.intent import (
    GUIDE_SUGGESTIONS,
    INTENTS,
    POLICY_SUGGESTIONS,
    Intent,
    as_intent,
    detect_intent,
    residue,
)
from bot.normalize import clean, expand
from bot.passages import asked_forms, best_passage, blank_slot, passage_answers
from bot.retrieval import ItemHit, Retriever
from bot.terms import answer_units, covered, salient_terms
from ingest.embeddings import EmbedderError, embedder_name, load_embeddings
from ingest.index import (
    GENERATIONS,
    ChromaLocation,
    Generation,
    current_name,
    load_generation,
    open_current,
    previous_names,
)
from ingest.schema import Record
from ingest.settings import Settings, get_settings
from ingest.textnorm import normalize

log = logging.getLogger(__name__)

SWITCH = re.compile(r"^(换一个|换个|另外|再问一个|那)[:：，,\s]*")
CANDIDATES = 5  # retrieval candidates the answerability model weighs
RETRIEVED = 40  # items scored by retrieval, so an item added by name keeps its own scores
NAME_CANDIDATES = 3  # plus items the question names, however low retrieval ranks them
NAME_MATCH = 0.6  # share of an item's name the question must repeat to be such a candidate
__all__ = ["AnswerResult", "Engine"]  # AnswerResult lives in bot.answer; imported from here too


class Engine:
    """Loads the current index generation once and follows CURRENT when a new one is made."""

    def __init__(self, store_dir: Path | None = None, settings: Settings | None = None,
                 llm: Any = None, model: Model | None = None) -> None:
        self.settings = settings or get_settings()
        self.store_dir = store_dir or self.settings.store_dir
        self.location = ChromaLocation(self.settings.chroma_host, self.settings.chroma_port)
        if llm is None and self.settings.govbot_llm_base_url and self.settings.govbot_llm_model:
            from bot.llm import LLMComposer

            llm = LLMComposer(self.settings)
        self.llm = llm
        self._lock = threading.Lock()
        self._pinned = False  # True on a view made by pinned(): one generation for its whole life
        self._failed: str | None = None  # a generation that could not be opened; not retried per question
        self._generation: Generation | None = None
        self._retriever: Retriever | None = None
        self._items = ItemIndex()  # names and texts of the generation in use, as the features read them
        self._faq: FaqMatcher | None = None
        self.model = model or shipped_model()
        # The fitted threshold unless the deployment sets its own.
        self.threshold = (self.settings.govbot_min_confidence if self.settings.govbot_min_confidence is not None
                          else self.model.threshold)
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
        if self._pinned:
            return False
        name = current_name(self.store_dir)
        if name is None or name == self._failed or (self._generation is not None and name == self._generation.name):
            return False
        with self._lock:
            if name == self._failed or (self._generation is not None and name == self._generation.name):
                return False
            try:
                generation = open_current(self.store_dir)
                if generation is None:
                    return False
                self._install(generation)
            except Exception as exc:  # noqa: BLE001 - a damaged generation must not fail every request (F19)
                self._failed = name
                return self._fall_back(name, exc)
            self._failed = None
            log.info("serving index generation %s", generation.name)
            return True

    def _fall_back(self, name: str, exc: Exception) -> bool:
        """Keep the generation in memory, or at start open the newest older one that works."""
        if self._generation is not None:
            log.error("index generation %s cannot be opened (%s: %s); still serving %s",
                      name, type(exc).__name__, exc, self._generation.name)
            return False
        for older in previous_names(self.store_dir, name):
            try:
                self._install(load_generation(self.store_dir / GENERATIONS / older))
            except Exception as again:  # noqa: BLE001
                log.error("previous index generation %s cannot be opened either (%s)", older, again)
                continue
            log.error("index generation %s cannot be opened (%s: %s); serving the previous generation %s",
                      name, type(exc).__name__, exc, older)
            return True
        log.error("index generation %s cannot be opened (%s: %s) and no older one works", name, type(exc).__name__, exc)
        return False

    def pinned(self) -> Engine:
        """A view of the engine fixed to the generation served now (after following CURRENT).

        A request that uses only its view never sees two generations at once, however many
        reloads happen meanwhile (F4). The view shares everything; it costs one dict copy.
        """
        if self._pinned:
            return self
        self.reload_if_changed()
        with self._lock:  # _install publishes its fields under this lock: copy all of them or none
            view = copy.copy(self)
        view._pinned = True
        return view

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
        if dense and generation.chunks:
            try:  # opened before it is published, so the first questions do not race to open it (F5)
                generation.collection(self.location)
            except Exception as exc:  # noqa: BLE001 - a Chroma server that is down: retried per question
                log.warning("chroma collection of %s not opened yet: %s", generation.name, exc)
        items = ItemIndex.build(generation)
        faq = FaqMatcher(generation.records)  # the FAQ pairs of this generation, prepared once
        # One assignment, so a question answered meanwhile sees either the old index or the new one.
        self._generation, self._retriever, self._items, self._faq = generation, retriever, items, faq

    # ----- retrieval -----
    def rank(self, question: str, limit: int = 10) -> list[ItemHit]:
        """Items for a question, best first (what `govbot eval` measures): retrieval, then the
        answerability model's choice among the first candidates."""
        if not self._pinned:
            return self.pinned().rank(question, limit)
        if self._retriever is None:
            return []
        hits = self._retriever.search(expand(question), limit=max(limit, RETRIEVED))
        candidates = self.candidates(question, detect_intent(normalize(clean(question))), hits)
        if not candidates:
            return hits
        first = eligible(candidates)
        ranked = sorted(first, key=lambda c: -c.choice) + sorted((c for c in candidates if c not in first),
                                                                 key=lambda c: -c.choice)
        order = {c.record_id: i for i, c in enumerate(ranked)}
        by_id = {h.record_id: h for h in hits}
        chosen = [by_id.get(rid, ItemHit(rid, 0.0)) for rid in order]
        return (chosen + [h for h in hits if h.record_id not in order])[:limit]

    def named_items(self, grams: set[str]) -> list[tuple[float, str]]:
        """Items whose name the question (its character pairs) repeats for the most part, best first."""
        shares = [(name_share(grams, self._items.name_grams[rid]), rid) for rid in self._items.name_grams]
        return sorted(((s, rid) for s, rid in shares if s >= NAME_MATCH), reverse=True)

    def candidates(self, question: str, intent: str, hits: list[ItemHit] | None = None) -> list[Candidate]:
        """Feature vectors (and probabilities) of the items that might answer the question."""
        if hits is None:
            hits = self._retriever.search(expand(question), limit=RETRIEVED) if self._retriever else []
        asked = normalize(clean(question))
        grams = bigrams(asked)
        # A file of FAQ pairs answers only through its pairs (ask, bot/faq.py), never as an item.
        hits = [h for h in hits if self.records[h.record_id].kind != "faq"]
        pool = list(hits[:CANDIDATES])
        held = {h.record_id for h in pool}
        retrieved = {h.record_id: h for h in hits}
        for _, rid in self.named_items(grams)[:NAME_CANDIDATES]:
            if rid not in held and self.records[rid].kind != "faq":
                pool.append(retrieved.get(rid, ItemHit(rid, 0.0)))
                held.add(rid)
        if not pool:
            return []
        values = feature_values(asked, salient_terms(question), intent, pool, self.records, self._items)
        out = [Candidate(hit.record_id, v) for hit, v in zip(pool, values, strict=True)]
        self.model.choose(out)
        return out

    # ----- answering -----
    def ask(self, question: str, state: dict[str, Any] | None = None) -> AnswerResult:
        if not self._pinned:
            return self.pinned().ask(question, state)  # one generation for the whole question (F4)
        state = dict(state or {})
        text = clean(question)
        if not re.search(r"[\u4e00-\u9fffA-Za-z0-9]", text):
            return AnswerResult(C.notice(M.EMPTY), state=state)
        normalized = normalize(text)
        intent = detect_intent(normalized)
        if not self.records:
            return AnswerResult(C.notice(M.NO_INDEX), intent=intent, state=state)
        matched = self._faq.match(text) if self._faq is not None else None
        if matched is not None:
            # A FAQ pair asked closely enough: its answer as written, before any retrieval.
            pair, holder = matched.pair, self.records[matched.pair.record_id]
            if pair.about in self.records:  # "那要多久？" next is about the item the pair is about
                state = {"record_id": pair.about, "intent": str(intent)}
            return AnswerResult(C.faq_blocks(pair.question, pair.answer, pair.source, holder),
                                sources=[self._source(holder, "faq")], grounded=True, intent=intent,
                                record_ids=[holder.id], state=state, confidence=matched.probability)

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
            hits = self._retriever.search(expand(text_for_search), limit=RETRIEVED) if self._retriever else []
            candidates = self.candidates(text_for_search, intent, hits)
            if not candidates:
                return self._refuse(intent, state)
            best = max(eligible(candidates), key=lambda c: c.choice)  # the one the model chose
            confidence = best.probability
            if confidence < self.threshold:
                return self._refuse(intent, state, [c.record_id for c in
                                                    sorted(candidates, key=lambda c: -c.choice)])
            record = self.records[best.record_id]
            if intent == "other" and switched and state.get("intent"):
                intent = state["intent"]
        return self._answer(record, self._intent_for(record, intent), question, text_for_search, confidence)

    def answer_section(self, record_id: str, intent: str) -> AnswerResult | None:
        """What a section button shows: ``intent`` of the item ``record_id``, no question to interpret.

        None when the item is no longer in the knowledge base (a button from before a re-ingest).
        """
        if not self._pinned:
            return self.pinned().answer_section(record_id, intent)  # one generation throughout (F4)
        record = self.records.get(record_id)
        if record is None:
            return None
        asked = as_intent(intent)
        prompt = INTENTS[asked].prompt  # the words its passages are searched with
        return self._answer(record, as_intent(self._intent_for(record, asked)), prompt, clean(prompt), 1.0)

    def _answer(self, record: Record, intent: Intent, question: str, text_for_search: str,
                confidence: float) -> AnswerResult:
        """The answer about ``record``: its structured field, the document's own sentences, or "not stated"."""
        new_state = {"record_id": record.id, "intent": str(intent)}  # plain strings: state is stored
        terms = salient_terms(text_for_search)
        name = self._items.names.get(record.id, "")
        forms = asked_forms(normalize(clean(text_for_search)), intent)
        passage, share = best_passage(record, terms, intent, answer_units(text_for_search), name, forms)
        structured = C.has_section(record, intent)
        blank = None if structured else blank_slot(record, terms, intent, name)
        if not structured and (blank or not passage_answers(intent, passage, share)):
            return AnswerResult(C.not_stated(record, intent, blank or ""), sources=[self._source(record, "overview")],
                                grounded=False, intent=intent, record_ids=[record.id],
                                follow_ups=self._suggestions(record, intent), state=new_state,
                                confidence=confidence)
        composed = self._body(record, intent, terms, passage, name, forms)
        blocks = composed.blocks
        if self.llm is not None:
            body = self.llm.compose(question, record, composed, self.records)
            blocks = C.Composed(body, composed.section).blocks if body else blocks
        blocks = [*blocks, C.source_block(record)]
        if record.confirm_at_window:
            blocks.append(Block(BlockKind.CONFIRM, (M.CONFIRM,)))
        return AnswerResult(
            blocks,
            sources=[self._source(record, composed.section)],
            grounded=True,
            intent=intent,
            record_ids=[record.id],
            follow_ups=self._suggestions(record, intent),
            state=new_state,
            confidence=confidence,
        )

    def _body(self, record: Record, intent: Intent, terms: Any, passage: list[str], name: str,
              forms: tuple[re.Pattern[str], ...] = ()) -> C.Composed:
        """The structured field, or the quoted sentences when they beat a general overview."""
        composed = C.compose(record, intent, self.records) if C.has_section(record, intent) else None
        if composed is not None and passage and (composed.section == "overview" or intent == Intent.OTHER):
            composed = None  # the sentences that hold what was asked beat a general overview
        if composed is None:
            return C.Composed(block(BlockKind.TITLE, [record.title]) + C.passage_blocks(passage), "passage")
        # The structured field answers the kind of question; a sentence that holds a word of the
        # question the field lacks (冬天下午几点开门 -> the winter hours) is quoted after it.
        text = composed.text
        shown = normalize(text) + "\n" + name
        wanted = [t.word for t in terms if not covered(t.word, shown)]
        # So is one of the form asked (哪一级 -> 市级, 最长几天 -> 不超过10日) when the field has none.
        lacking = [f for f in forms if not f.search(normalize(text))]
        extra = [p for p in passage if normalize(p) not in normalize(text)
                 and (any(covered(w, normalize(p)) for w in wanted) or any(f.search(normalize(p)) for f in lacking))]
        if extra:
            composed = C.Composed(composed.blocks + C.passage_blocks(extra[:2]), composed.section)
        return composed

    def _names_another_item(self, normalized: str, previous: str) -> bool:
        """Whether a short question names some other item (刻章收费吗 after 食品经营许可): a new question."""
        grams = bigrams(residue(normalized))
        named = grams & self._items.all_name_grams
        own = set().union(*self._items.name_grams.get(previous, [set()]))
        return bool(named) and not named <= own

    def _intent_for(self, record: Record, intent: str) -> str:
        return section_intent(record, intent, record.id in self._items.offers_money)

    def _source(self, record: Record, section: str) -> dict[str, str]:
        return {"title": record.title, "source": record.source_path or (record.sources[0] if record.sources
                                                                       else ""),
                "section": section}

    def _suggestions(self, record: Record, intent: str) -> list[Suggestion]:
        keys = POLICY_SUGGESTIONS if record.kind == "policy" else GUIDE_SUGGESTIONS
        out = [Suggestion(record.id, k, INTENTS[k].suggestion) for k in keys
               if k != intent and C.has_section(record, k)]
        for bundle_id in self._items.bundles_of.get(record.id, [])[:2]:
            out.append(Suggestion(bundle_id, Intent.BUNDLE,
                                  M.SUGGEST_BUNDLE.format(title=self.records[bundle_id].title)))
        return out[:6]

    def _refuse(self, intent: str, state: dict[str, Any], nearest: list[str] | None = None) -> AnswerResult:
        suggestions = []
        for rid in (nearest or [])[:3]:
            record = self.records[rid]
            if record.kind != "policy":
                suggestions.append(Suggestion(rid, Intent.MATERIALS, M.SUGGEST_MATERIALS.format(title=record.title)))
            else:
                suggestions.append(Suggestion(rid, Intent.SUBSIDY, M.SUGGEST_AMOUNT.format(title=record.title)))
        # The item the first suggestion is about is the nearest (bot.services.asking.nearest_record).
        closest = self.records[nearest[0]] if nearest else None
        return AnswerResult(C.refusal(closest), grounded=False, intent=intent, follow_ups=suggestions, state=state)

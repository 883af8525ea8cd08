"""One question through the shared service: what every channel does around the engine's answer.

Channels call `ask` / `section` for the answer and then `record` (a blocking write, run off the event loop
or in the web app's log thread) for what is kept about it. Around the engine this is where the
service-hall rules live, once for every channel: questions and logs keep personal numbers masked
(the stores mask with bot.privacy), what the assistant could not answer is kept for the admin, and a
question or an answer with a listed sensitive word gets the fixed reply (bot.services.sensitive).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.answer import AnswerResult, Block, BlockKind
from bot.services.sensitive import SensitiveWords
from bot.services.unanswered import UnansweredStore

if TYPE_CHECKING:
    from bot.feedback import FeedbackStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who asked and where an answer (or a staff reply) goes back: the channel, the user and the chat."""

    channel: str  # "web" | "telegram" | "dingtalk" | "feishu" | "wecom"
    user_id: str = ""
    chat_id: str = ""


def nearest_record(result: AnswerResult) -> str:
    """The item an answer is about, or for a refusal the nearest item the engine suggested."""
    if result.record_ids:
        return result.record_ids[0]
    return result.follow_ups[0].record_id if result.follow_ups else ""


@dataclass
class Withheld(AnswerResult):
    """The fixed reply given instead of an answer: the question, or the answer, held a listed sensitive word.

    ``record`` logs it for review (word and part) instead of in the usage log.
    """

    word: str = ""
    part: str = "question"  # "question" | "answer"


def withheld(word: str, part: str, state: dict[str, Any] | None) -> Withheld:
    # The conversation stays where it was: nothing about an item was shown.
    return Withheld([Block(BlockKind.NOTICE, (messages.SENSITIVE_REPLY,))], grounded=False,
                    state=dict(state or {}), word=word, part=part)


class AskService:
    """The engine's answer with the rules every channel shares; one per process (bot.services.container)."""

    def __init__(self, engine: Any, feedback: FeedbackStore, unanswered: UnansweredStore | None = None,
                 sensitive: SensitiveWords | None = None) -> None:
        self.engine = engine
        self.feedback = feedback
        # The unanswered queue lives in the same database as the usage log (replicas share it).
        self.unanswered = unanswered or UnansweredStore(feedback.db)
        self.sensitive = sensitive or SensitiveWords(feedback.db)  # the list lives in the shared database

    @property
    def records(self) -> dict[str, Any]:
        return self.engine.records

    def ask(self, question: str, state: dict[str, Any] | None = None, *, engine: Any = None) -> AnswerResult:
        """The answer to a question typed in a chat or on the web page.

        ``engine``: a pinned view of the engine (Engine.pinned()) when the caller reads the same index
        generation around the answer, as the web page does.
        """
        word = self.sensitive.find(question)
        if word:  # never reaches the engine (nor an LLM)
            return withheld(word, "question", state)
        return self._screened((engine or self.engine).ask(question, state), state)

    def section(self, record_id: str, intent: str) -> AnswerResult | None:
        """What a section button shows; None when the item went away with a re-ingest."""
        result = self.engine.answer_section(record_id, intent)
        return None if result is None else self._screened(result, None)

    def _screened(self, result: AnswerResult, state: dict[str, Any] | None) -> AnswerResult:
        """The answer, or the fixed reply when anything it would show holds a listed word."""
        shown = [result.answer, *result.suggestions, *(s.get("title", "") for s in result.sources)]
        word = self.sensitive.find(*shown)
        return withheld(word, "answer", state) if word else result

    def record(self, asker: Asker, question: str, result: AnswerResult) -> None:
        """Keep what was asked (masked) and how it went. Blocking: channels run it off their event loop."""
        if not question.strip():
            return
        if isinstance(result, Withheld):  # for review, not in the usage statistics
            self.sensitive.log_hit(asker.channel, asker.user_id, question, result.word, result.part)
            return
        self.feedback.log_question(asker.channel, asker.user_id, question, str(result.intent),
                                   result.grounded, result.record_ids[0] if result.record_ids else "")
        reason = unanswered_reason(result)
        if reason:
            self.unanswered.add(asker.channel, asker.user_id, asker.chat_id, question, str(result.intent),
                                reason, nearest_record(result))

    # ----- 👍/👎 and the unanswered queue (issue 15) -----
    def vote(self, asker: Asker, question: str, record_id: str, vote: int, tag: str = "", note: str = "",
             intent: str = "") -> int | None:
        """Keep a 👍/👎; a 👎 also goes to the unanswered queue. Returns the queue entry's id for a 👎, so a
        reason tag picked afterwards (`tag`) updates it. Blocking, like `record`."""
        self.feedback.add_feedback(asker.channel, asker.user_id, vote, question, record_id, note)
        if vote > 0:
            return None
        return self.unanswered.add(asker.channel, asker.user_id, asker.chat_id, question, intent or "other",
                                   "downvote", record_id, tag=tag, note=note)

    def tag(self, asker: Asker, entry_id: int, tag: str, note: str = "") -> bool:
        """The 👎 reason the user picked after voting; only the voter's own entry, False otherwise."""
        entry = self.unanswered.get(entry_id)
        if (entry is None or entry["reason"] != "downvote" or entry["channel"] != asker.channel
                or entry["user_id"] != str(asker.user_id)):
            return False
        self.unanswered.set_tag(entry_id, tag, note)
        return True


def unanswered_reason(result: AnswerResult) -> str:
    """"refused" / "not_stated" for what goes to the unanswered queue, "" for an answer."""
    kinds = {b.kind for b in result.blocks}
    if BlockKind.REFUSAL in kinds:
        return "refused"
    return "not_stated" if BlockKind.NOT_STATED in kinds else ""

"""The engine's answer as data: typed blocks and typed suggestions, rendered by each channel.

The engine says *what* an answer holds (a title, a materials list, a fee, a quoted passage, the source,
a handoff to a person); channels decide how it looks. `render_text` is the one plain-text form: the
`answer` of `govbot ask --json` and `/api/ask`, and what an LLM rewrite is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BlockKind(StrEnum):
    TITLE = "title"  # 《事项名称》: which item the answer is about
    TEXT = "text"  # plain lines of the record: summary, department, a notice
    MATERIALS = "materials"  # a numbered materials list (with the 可容缺受理 note)
    CONDITIONS = "conditions"
    VALIDITY = "validity"
    TIME = "time"
    FEE = "fee"
    WHERE = "where"
    PROCESS = "process"
    AMOUNT = "amount"  # a policy's 支持标准
    ELIGIBILITY = "eligibility"
    HOW_TO_APPLY = "how_to_apply"
    DEADLINE = "deadline"
    MEMBERS = "members"  # the items a bundle holds
    WAIVED = "waived"  # materials a bundle no longer asks for
    SECTION = "section"  # a section the guide parser found in an unstructured document
    PASSAGE = "passage"  # sentences quoted exactly from the document
    FAQ = "faq"  # a FAQ pair's answer quoted exactly, under the pair's question as heading
    GENERATED = "generated"  # a body an LLM wrote from the record (checked, but not ours to format)
    NOT_STATED = "not_stated"  # the record leaves empty what was asked
    REFUSAL = "refusal"  # nothing in the knowledge base answers
    NOTICE = "notice"  # an empty question, no index yet, a failure
    HANDOFF = "handoff"  # where a person can help
    SOURCE = "source"  # 来源 with the policy's validity and the region's provenance notes
    CONFIRM = "confirm"  # 以窗口最新告知为准


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    lines: tuple[str, ...] = ()
    heading: str = ""  # shown as 【heading】 above the lines
    inline: bool = False  # heading and the single line on one line: 【收费标准】免费

    def text_lines(self) -> list[str]:
        """The block in plain text, as the answer has always read."""
        if self.kind == BlockKind.TITLE:
            return [f"《{line}》" for line in self.lines]
        if not self.heading:
            return list(self.lines)
        if self.inline:
            return [f"【{self.heading}】{''.join(self.lines)}"]
        return [f"【{self.heading}】", *self.lines]


def block(kind: BlockKind, lines: list[str] | tuple[str, ...], heading: str = "") -> list[Block]:
    """A one-block list, or none when there is nothing to show (an empty section has no heading)."""
    return [Block(kind, tuple(lines), heading)] if lines else []


def inline(kind: BlockKind, heading: str, value: str) -> list[Block]:
    return [Block(kind, (value,), heading, inline=True)] if value else []


def render_text(blocks: list[Block]) -> str:
    return "\n".join(line for b in blocks for line in b.text_lines())


@dataclass(frozen=True)
class Suggestion:
    """A next question as data: which item and which intent. ``text`` is how it reads as a question."""

    record_id: str
    intent: str
    text: str


@dataclass
class AnswerResult:
    blocks: list[Block]
    sources: list[dict[str, str]] = field(default_factory=list)
    grounded: bool = False
    intent: str = "other"
    record_ids: list[str] = field(default_factory=list)
    follow_ups: list[Suggestion] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.blocks, str):  # a plain message (an apology) may be given as text
            self.blocks = [Block(BlockKind.NOTICE, tuple(self.blocks.split("\n")))]

    @property
    def answer(self) -> str:
        return render_text(self.blocks)

    @property
    def suggestions(self) -> list[str]:
        return [s.text for s in self.follow_ups]

    def public(self) -> dict[str, Any]:
        """The JSON contract of `govbot ask --json` and `/api/ask`."""
        return {"answer": self.answer, "sources": [dict(s) for s in self.sources], "grounded": self.grounded,
                "intent": str(self.intent), "record_ids": list(self.record_ids), "suggestions": self.suggestions}

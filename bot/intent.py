"""The intent vocabulary, and rule-based detection: fast, and every decision can be explained by the
keyword that fired.

`Intent` is what a question asks about; `INTENTS` is the one table of what each intent shows and how it
is called (a heading, a button, a suggestion). Intent values are plain strings, so JSON and stored
conversation state keep the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    MATERIALS = "materials"
    CONDITION = "condition"
    VALIDITY = "validity"
    TIME = "time"
    FEE = "fee"
    WHERE = "where"
    PROCESS = "process"
    BUNDLE = "bundle"
    SUBSIDY = "subsidy"
    ELIGIBILITY = "eligibility"
    OTHER = "other"


@dataclass(frozen=True)
class IntentInfo:
    label: str  # what the intent is called where questions are counted (the admin page)
    field: str | None = None  # the record section the answer quotes; None: no one section
    heading: str = ""  # the answer's 【heading】, and what "没有写明…" says is missing
    button: str = ""  # the Telegram button that shows this section of the item in view ("" = none)
    suggestion: str = ""  # the follow-up question about the same item ("" = never suggested)
    prompt: str = ""  # the words a passage for a section button is searched with


INTENTS: dict[Intent, IntentInfo] = {
    Intent.MATERIALS: IntentInfo("申请材料", "materials", "申请材料", "材料", "需要哪些材料？", "材料？"),
    Intent.CONDITION: IntentInfo("受理条件", "conditions", "受理条件", "条件", "有什么条件？", "条件？"),
    Intent.VALIDITY: IntentInfo("证照有效期", "validity", "证照有效期", "", "有效期多久？", "有效期？"),
    Intent.TIME: IntentInfo("办理时限", "time", "办理时限", "时限", "要多久？", "时限？"),
    Intent.FEE: IntentInfo("收费标准", "fee", "收费标准", "收费", "收费吗？", "收费？"),
    Intent.WHERE: IntentInfo("办理地点", "where", "办理地点", "地点", "在哪里办？", "地点？"),
    Intent.PROCESS: IntentInfo("办理流程", "process", "办理流程", "流程", "办理流程是什么？", "流程？"),
    Intent.BUNDLE: IntentInfo("一件事", None, "", "包含事项", "", "一件事？"),
    Intent.SUBSIDY: IntentInfo("补贴金额", "amount", "支持标准", "支持标准", "能拿多少补贴？", "补贴？"),
    Intent.ELIGIBILITY: IntentInfo("申报条件", "eligibility", "申报条件", "申报条件", "申报条件是什么？",
                                   "申报条件？"),
    Intent.OTHER: IntentInfo("其他"),
}
# The sections suggested after an answer, in this order.
GUIDE_SUGGESTIONS = (Intent.MATERIALS, Intent.TIME, Intent.VALIDITY, Intent.FEE, Intent.WHERE, Intent.PROCESS,
                     Intent.CONDITION)
POLICY_SUGGESTIONS = (Intent.SUBSIDY, Intent.ELIGIBILITY, Intent.MATERIALS)
# What pressing an item in a list shows first, by the item's kind.
FIRST_INTENT = {"guide": Intent.MATERIALS, "bundle": Intent.BUNDLE, "policy": Intent.SUBSIDY,
                "document": Intent.MATERIALS}


def as_intent(value: str | None) -> Intent:
    """An intent from outside (a hidden form field, stored state); ``other`` for anything unknown."""
    try:
        return Intent(value or "other")
    except ValueError:
        return Intent.OTHER


# Checked in this order; the first rule with a keyword in the question wins. Specific questions
# (fee, time…) come before "bundle", so "一件事收费吗" asks about the fee of that bundle.
RULES: list[tuple[Intent, tuple[str, ...]]] = [
    (Intent.ELIGIBILITY, ("符合条件吗", "能享受", "能不能享受", "可以享受", "能申请吗", "能不能申请", "够条件",
                     "有资格", "申报条件", "享受条件", "eligib", "qualify")),
    (Intent.FEE, ("收费", "费用", "要钱", "多少钱", "免费", "花钱", "交钱", "钱吗", "收钱", "工本费", "fee", "cost",
             "free", "charge")),
    # How long a licence stays valid is not how long it takes to get: checked before "time".
    (Intent.VALIDITY, ("有效期", "有效几年", "用几年", "能用多久", "能用多长", "有效多久", "几年有效", "有效多长", "管几年", "valid", "expire")),
    (Intent.TIME, ("多久", "几耐", "几天", "什么时候", "啥时候", "何时", "截止", "几号", "多长时间", "时限", "多少天", "工作日", "期限", "多快", "当天", "周期", "几个月",
              "公告期", "how long", "how many days", "when can")),
    (Intent.WHERE, ("在哪", "哪里", "地点", "地址", "窗口", "去哪", "网上办", "线上办", "网上申请", "网址", "哪个部门",
               "电话", "联系", "app", "where", "online",
               # office hours; "办理时间要多久" still asks how long (多久 is checked first)
               "办理时间", "办公时间", "上班时间", "工作时间", "开放时间", "营业时间", "几点", "开门", "下班")),
    # Any other 时间 asks how long it takes (审批时间怎么算), before "材料" in 补交文件以后.
    (Intent.TIME, ("时间",)),
    (Intent.MATERIALS, ("材料", "资料", "带什么", "带啥", "要啥", "准备什么", "准备哪些", "提交什么", "交什么", "交啥", "交哪",
                   "哪几样", "上传啥", "上传什么", "证件",
                   "手续", "文件", "material", "document", "what do i need", "bring")),
    (Intent.PROCESS, ("流程", "步骤", "怎么办", "如何办", "怎么申请", "如何申请", "怎么弄", "程序", "怎么走", "how to",
                 "process", "procedure", "steps")),
    (Intent.CONDITION, ("条件", "要求", "资格", "能不能办", "可以办吗", "适用", "能办吗", "什么情况", "哪些情况", "哪种情况",
                   "require", "condition")),
    (Intent.BUNDLE, ("一件事", "套餐", "一次办", "联办", "打包办", "bundle")),
    (Intent.SUBSIDY, ("补贴", "补助", "奖励", "奖补", "资助", "扶持", "政策", "贴息", "返还", "减免", "优惠", "退税",
                 "奖金", "比例", "拿多少", "补多少", "给多少", "发多少", "subsid", "reward", "grant", "incentive")),
]

# Every keyword of an intent, over all its rules (time has two: its own words, and a bare 时间 after where).
_WORDS = {intent: tuple(w for i, words in RULES if i == intent for w in words) for intent in Intent}
# Names that contain a keyword without asking for it: 研发费用加计扣除 is not a question about fees.
# 有效期内 means "while still valid", not a question about the validity period.
_NAMES_WITH_KEYWORDS = ("研发费用", "费用归集", "有效期内")


def detect_intent(normalized_question: str) -> Intent:
    """The question's intent from keywords; ``other`` when none fires."""
    text = normalized_question.lower()
    for name in _NAMES_WITH_KEYWORDS:
        text = text.replace(name, " ")
    for intent, words in RULES:
        if any(w in text for w in words):
            if intent == Intent.FEE and _money_given(text):
                return Intent.SUBSIDY
            return intent
    return Intent.OTHER


_FEE_WORDS = ("收费", "费用", "工本费", "交钱", "免费", "收钱", "花钱")


def _money_given(text: str) -> bool:
    """多少钱 next to 补贴/奖励 asks how much is paid out, not what is charged."""
    return (any(w in text for w in _WORDS[Intent.SUBSIDY] if w not in ("减免", "优惠"))
            and not any(w in text for w in _FEE_WORDS))


def intent_words() -> list[str]:
    return [w for _, words in RULES for w in words]


# What is left of "那要多久呀？" once intent words and fillers go: nothing, so it is a follow-up.
_FILLERS = re.compile(r"请问|一下|需要|我们|可以|这个|那个|什么|多少|哪些|哪个|怎么|办理|"
                      r"[那这的了吗呢啊呀吧么嘛还要是也都你您我想再就又能拿]|[^\u4e00-\u9fffa-z0-9]")


def residue(normalized_question: str) -> str:
    """The question minus intent keywords and filler characters: what names an item, if anything."""
    text = normalized_question.lower()
    for word in sorted(intent_words(), key=len, reverse=True):
        text = text.replace(word, " ")
    return _FILLERS.sub("", text)


_FILLER_WORDS = ("请问", "一下", "需要", "我们", "我想", "可以", "这个", "那个", "什么", "怎么", "哪些", "有没有", "是不是",
                 "能不能", "要不要", "多少")


def content(normalized_question: str) -> str:
    """The question minus intent keywords and filler words, each replaced by a space so no bigram
    spans the gap. Gentler than ``residue``: characters inside names (新能源) are never dropped."""
    text = normalized_question.lower()
    for word in sorted([*intent_words(), *_FILLER_WORDS], key=len, reverse=True):
        text = text.replace(word, " ")
    return _PARTICLES.sub(" ", text)


# Particles that never sit inside a service's name; left in, they make junk bigrams (照要, 字要).
_PARTICLES = re.compile(r"[要带啥吗呢啊呀吧嘛了的么哪些个]")

"""Every sentence a user reads, in one place (Simplified Chinese), grouped by feature.

Templates aside. Strings with ``{name}`` are filled by the caller; strings that go into Telegram HTML
messages are HTML-safe as written, and whatever is interpolated from the knowledge base or the user is
escaped by the channel, never here. What each intent is called lives with the Intent table
(bot/intent.py), which takes its words from here.
"""

from __future__ import annotations

BOT_NAME = "高兴办 · 企业服务助手"

# ----- answers (bot/compose.py, bot/engine.py) -----
CONFIRM = "以窗口最新告知为准。"
HANDOFF = "如需人工帮助，请到自贡高新区政务服务中心窗口咨询，或联系营商环境专员。"
REFUSAL = ("抱歉，知识库里没有找到能回答这个问题的内容，我不能替您猜测。",
           "我可以解答已收录的企业办事指南（申请材料、办理时限、收费、办理地点）、“一件事”套餐和惠企政策；"
           "个人事务（如个人所得税、个人社保、证件）和知识库未收录地区的规定不在范围内。")
NO_INDEX = "知识库尚未导入，请管理员先导入办事指南。"
EMPTY = "请输入您要咨询的问题，例如：“开公司需要哪些材料？”“高新技术企业认定有什么奖励？”"
FAILED = "抱歉，这个问题处理出错了，请换个说法再问一次。"
NOT_STATED = "知识库中《{title}》没有写明{what}，我不能替您猜测。"
NOT_STATED_BLANK = "{label}（原文此栏为空）"
NOT_STATED_ANYTHING = "这方面的内容"
NO_AMOUNT = "知识库未写明具体金额，以主管部门最新通知为准。"
NO_APPLICATION = "免申即享：符合条件的无需申请。"
TOLERANCE_NOTE = "注：标“可容缺受理”的材料，可先受理、后补交，是否适用以窗口确认为准。"
MATERIALS_COUNT = "申请材料共 {n} 项，可问“需要哪些材料”查看完整清单。"
DEPARTMENT = "实施部门：{department}"
LEGAL_DAYS = "法定办结时限：{days}"
PROMISED_DAYS = "承诺办结时限：{days}"
WINDOW = "办理窗口：{value}"
ADDRESS = "地址：{value}"
ONLINE = "网上办理：{value}"
HOURS = "办理时间：{value}"
PHONE = "咨询电话：{value}"
WAIVED_ROW = "· {name}（{needed_by}；{notes}）"
SOURCE = "来源：《{title}》"
SOURCE_WHERE = "来源：《{title}》（{where}）"
SOURCE_UPDATED = "，更新于 {updated}"

# Headings of answer blocks (shown as 【…】). The intents' own headings are in the Intent table.
H_APPLY_MATERIALS = "申报材料"
H_HOW_TO_APPLY = "申报方式"
H_DEADLINE = "申报时间"
H_MEMBERS = "包含事项"
H_BUNDLE_MATERIALS = "合并后的申请材料"
H_WAIVED = "联办免交"
H_PASSAGE = "原文摘录"

# ----- suggestions: the next question, as a sentence -----
SUGGEST_BUNDLE = "{title}包含哪些事项？"
SUGGEST_MATERIALS = "{title}需要哪些材料？"
SUGGEST_AMOUNT = "{title}能拿多少？"

# ----- shared by the channels -----
EXAMPLES = ["开公司需要哪些材料？", "食品经营许可要多久？", "高新技术企业认定有什么奖励？", "注销公司怎么办？"]

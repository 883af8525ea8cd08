"""Every sentence the Telegram bot shows a user or an operator, in one place (Simplified Chinese).

Strings that go into HTML messages are HTML-safe as written; anything interpolated from the
knowledge base or the user is escaped by the caller (``bot.telegram_bot``), never here.
"""

from __future__ import annotations

BOT_NAME = "高兴办 · 企业服务助手"

# ----- greeting, help, menu -----
START = (
    "您好{name}！我是<b>" + BOT_NAME + "</b>，为自贡高新区企业解答办事问题。\n"
    "可以直接问我，例如：\n"
    "· 开公司需要哪些材料？\n"
    "· 食品经营许可要多久？\n"
    "· 高新技术企业认定有什么奖励？\n"
    "也可以点下面的按钮浏览。"
)
HELP = (
    "<b>使用说明</b>\n"
    "· 直接发送问题，我会引用知识库原文回答并注明来源；\n"
    "· 答完可以接着问“要多久？”“在哪里办？”，我记得刚才说的是哪个事项；\n"
    "· 答案下方的按钮可查看同一事项的材料、时限、地点、收费，或相关的“一件事”；\n"
    "· 在群里请 @我、回复我的消息，或使用 /ask 问题。\n\n"
    "命令：\n"
    "/start 主菜单\n"
    "/bundles 一件事套餐\n"
    "/policies 惠企政策\n"
    "/ask 问题（群聊中提问）\n"
    "/help 使用说明"
)
MENU_GUIDES = "办事材料"
MENU_BUNDLES = "一件事套餐"
MENU_POLICIES = "惠企政策"
MENU_HUMAN = "人工咨询"
HUMAN = (
    "如需人工帮助，请到自贡高新区政务服务中心窗口咨询，或联系营商环境专员。\n"
    "各事项的咨询电话见答案中的“办理地点”部分，可点答案下方的“地点”按钮查看。"
)

UNKNOWN_COMMAND = "没有这个命令。"
TEXT_ONLY = "目前只能回答文字问题，请直接输入您要咨询的内容，例如：开公司需要哪些材料？"

# ----- lists -----
LIST_TITLES = {
    "guide": "<b>办事指南</b>（点事项查看申请材料）",
    "bundle": "<b>一件事套餐</b>（点套餐查看包含事项和合并材料）",
    "policy": "<b>惠企政策</b>（点政策查看支持标准和申报条件）",
}
LIST_EMPTY = "知识库中暂时没有这类内容。"
LIST_PAGE = "第 {page}/{pages} 页"
PREV_PAGE = "« 上一页"
NEXT_PAGE = "下一页 »"
ITEM_GONE = "这个事项已不在知识库中（知识库刚刚更新过），请重新发送 /start 浏览。"

# ----- answer buttons -----
SECTION_BUTTONS = {
    "materials": "材料",
    "time": "时限",
    "where": "地点",
    "fee": "收费",
    "process": "流程",
    "condition": "条件",
    "subsidy": "支持标准",
    "eligibility": "申报条件",
    "bundle": "包含事项",
}
RELATED_BUNDLE = "相关一件事：{title}"
SECTION_QUESTION = "{title}：{question}"
HELPFUL = "👍 有帮助"
UNHELPFUL = "👎 没帮助"
THANKS = "感谢您的反馈！"
ALREADY_VOTED = "您已经反馈过了，谢谢！"

# ----- groups -----
ASK_USAGE = "请在 /ask 后面写上问题，例如：/ask 开公司需要哪些材料？"

# ----- limits and errors -----
FLOOD = "您发得有点快，请稍等 {seconds} 秒再问，我会逐条认真回答。"
ERROR = "抱歉，出了点问题，请稍后再试。"

# ----- admins -----
NOT_ADMIN = "抱歉，这个命令仅限管理员使用。"
RELOAD_STARTED = "正在重新导入知识库：{path} …"
RELOAD_BUSY = "已有一次导入正在进行，请稍后再试。"
RELOAD_FAILED = "导入没有完成：{reason}\n当前在用的知识库不受影响。"
RELOAD_DONE = (
    "<b>导入完成</b>\n"
    "新增 {added} · 更新 {updated} · 未变 {unchanged} · 移除 {removed} · 失败 {failed}\n"
    "当前索引：{generation}；事项 {records} 个"
)
RELOAD_FAILED_FILES = "<b>失败的文件</b>："
RELOAD_FAILED_FILE = "· {path}：{reason}"
RELOAD_MORE = "……另有 {n} 个失败文件，详见服务器日志。"
NO_GENERATION = "无"
STATS = (
    "<b>使用统计</b>\n"
    "提问 {questions} 次，未能回答 {refused} 次（{share:.0%}）\n"
    "反馈：👍 {helpful} · 👎 {unhelpful}"
)
STATS_UNANSWERED = "<b>最常见的未回答问题</b>："
STATS_UNANSWERED_ROW = "{n} 次 · {question}"
STATS_NONE = "暂无未回答的问题。"

# ----- the command menu registered with setMyCommands -----
COMMANDS = [
    ("start", "主菜单"),
    ("help", "使用说明"),
    ("bundles", "一件事套餐"),
    ("policies", "惠企政策"),
    ("ask", "提问（群聊中使用）"),
]
ADMIN_COMMANDS = [
    ("reload", "重新导入知识库（管理员）"),
    ("stats", "使用统计（管理员）"),
]

# ----- the operator's console (stderr) -----
TOKEN_MISSING = (
    "未设置 Telegram 机器人令牌：请在环境变量或 .env 中设置 TELEGRAM_BOT_TOKEN"
    "（向 @BotFather 申请，形如 123456789:AAE…）。"
)
TOKEN_MALFORMED = (
    "TELEGRAM_BOT_TOKEN 格式不对：应为“数字:至少20位字母数字”，形如 123456789:AAE…；"
    "请检查是否多了空格、引号或复制不全。"
)
TOKEN_REJECTED = "Telegram 拒绝了这个令牌（{reason}）：请向 @BotFather 核对 TELEGRAM_BOT_TOKEN。"
NETWORK_DOWN = "无法连接 Telegram 服务器（{reason}）：请检查网络或 GOVBOT_TELEGRAM_BASE_URL。"
SECRET_MALFORMED = "--secret 只能包含字母、数字、下划线和连字符，长度 1–256。"
WEBHOOK_URL_MALFORMED = "--webhook-url 必须是 https:// 或 http:// 开头的完整地址。"
ADMIN_IDS_MALFORMED = "TELEGRAM_ADMIN_IDS 中的 {value!r} 不是用户 ID（应为数字，用逗号分隔），已忽略。"
KB_EMPTY = "提示：知识库尚未导入（{store}），机器人会请用户稍后再问；请先运行 govbot ingest knowledge/。"
STARTING_POLLING = "高兴办 Telegram 机器人已启动（长轮询），按 Ctrl+C 停止。"
STARTING_WEBHOOK = "高兴办 Telegram 机器人已启动（Webhook：{url}，监听 {listen}:{port}），按 Ctrl+C 停止。"
ARG_STORE = "索引目录（默认 $GOVBOT_HOME/index）"
ARG_WEBHOOK_URL = "公网 Webhook 地址（https://…）；不设则用长轮询"
ARG_LISTEN = "Webhook 本地监听地址（默认 0.0.0.0）"
ARG_PORT = "Webhook 本地监听端口（默认 8443）"
ARG_SECRET = "Webhook 密钥，Telegram 会放在 X-Telegram-Bot-Api-Secret-Token 请求头中"

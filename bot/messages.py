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

# ----- the command line (bot/cli.py) -----
CLI_NO_INDEX = "知识库尚未导入：请先运行 govbot ingest knowledge/"
CLI_SUGGESTIONS = "您还可以问："

# ----- the web page (bot/web/app.py) -----
HTTP_ERRORS = {
    400: "请求有误，请检查后重试。",
    401: "需要管理口令。",
    403: "请求来源不符，已拒绝。请从管理页面重新操作。",
    404: "页面不存在，请从首页重新查找。",
    405: "不支持这种访问方式。",
    409: "另一个导入正在进行，请稍后再试。",
    413: "上传的内容过大。",
    429: "请求过于频繁，请稍后再试。",
    500: "系统出错了，请稍后再试，或到自贡高新区政务服务中心窗口咨询。",
}

# ======================================================================= Telegram (bot/telegram/)

# ----- greeting, help, menu -----
START = (
    "您好{name}！我是<b>" + BOT_NAME + "</b>，为自贡高新区企业解答办事问题。\n"
    "可以直接问我，例如：\n" + "".join(f"· {e}\n" for e in EXAMPLES[:3]) + "也可以点下面的按钮浏览。"
)
HELP = (
    "<b>使用说明</b>\n"
    "· 直接发送问题，我会引用知识库原文回答并注明来源；\n"
    "· 答完可以接着问“要多久？”“在哪里办？”，我记得刚才说的是哪个事项；\n"
    "· 答案下方的按钮可查看同一事项的材料、时限、地点、收费，或相关的“一件事”；\n"
    "· 发送 /match 回答几个关于企业的问题，我会列出贵企业可能享受的惠企政策；\n"
    "· 在群里请 @我、回复我的消息，或使用 /ask 问题。\n\n"
    "命令：\n"
    "/start 主菜单\n"
    "/bundles 一件事套餐\n"
    "/policies 惠企政策\n"
    "/match 政策匹配（/cancel 中途结束）\n"
    "/ask 问题（群聊中提问）\n"
    "/help 使用说明"
)
MENU_GUIDES = "办事材料"
MENU_BUNDLES = "一件事套餐"
MENU_POLICIES = "惠企政策"
MENU_HUMAN = "人工咨询"
MENU_MATCH = "政策匹配：看看能享受哪些政策"
HUMAN = (
    HANDOFF + "\n"
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

# ----- policy matching (/match) -----
# The questions in the order they are asked; keys are the matcher's profile fields.
MATCH_QUESTIONS = {
    "in_zone": "贵企业是否在自贡高新区注册？",
    "industry": "贵企业所属行业是什么？可点下面的常见行业，或直接输入行业名称，例如：钠电、软件、餐饮、建筑业。",
    "employees": "员工人数是多少？请输入整数，例如：120",
    "revenue_wan": "上年度营业收入是多少万元？请输入数字，例如：8000（即8000万元）",
    "founded_year": "企业成立于哪一年？请输入四位年份，例如：2019",
    "certifications": (
        "贵企业具备哪些资质或身份？可多选，选好后点“完成”；"
        "也可以直接输入，多项用顿号分隔，例如：高新技术企业、规模以上企业"
    ),
    "taxpayer": "增值税纳税人类型是？",
    "rd_ratio": "研发投入占营业收入的比例是多少？例如：5%（也可写 0.05）",
    "new_hires": "今年新招用了多少人？请输入整数，没有招人请输入 0",
    "fixed_asset_investment_wan": "今年固定资产投资是多少万元？请输入数字，没有请输入 0",
}
MATCH_INTRO = (
    "<b>政策匹配</b>\n"
    "我会问 {count} 个关于贵企业的问题，再按各项惠企政策的申报条件列出可能享受的政策。"
    "不清楚的问题点“跳过”即可；随时发送 /cancel 结束。"
)
MATCH_PROGRESS = "（{n}/{total}）"
MATCH_YES = "是"
MATCH_NO = "否"
MATCH_SKIP = "跳过"
MATCH_DONE = "完成"
MATCH_NONE = "以上都没有"
MATCH_CHOSEN = "→ {answer}"
MATCH_SKIPPED = "已跳过"
MATCH_NO_CERTS = "无"
MATCH_SKIP_WORDS = ("跳过", "不知道", "不清楚", "不确定", "略过", "skip")
MATCH_CANCEL_WORDS = ("取消", "退出", "结束", "取消匹配", "结束匹配")
MATCH_YES_WORDS = ("是", "是的", "在", "对", "已注册", "yes", "y")
MATCH_NO_WORDS = ("否", "不是", "不在", "没有", "未注册", "no", "n")
MATCH_NONE_WORDS = ("无", "没有", "都没有", "以上都没有", "暂无")
MATCH_BAD_ANSWER = "{problem}\n请重新回答，或点“跳过”；发送 /cancel 结束匹配。"
MATCH_BAD_YES_NO = "请回答“是”或“否”（可以直接点下面的按钮）。"
MATCH_CONTRADICTION_HINT = "如需修改前面的回答，请发送 /match 重新开始。"
MATCH_UNKNOWN_CERTS = (
    "已记录。提示：“{names}”不是政策申报条件中使用的名称，不会影响匹配结果；"
    "常用名称：{known}。如有笔误，可发送 /match 重新开始。"
)
MATCH_PICK_FIRST = "请先点选资质，或点“以上都没有”“跳过”。"
MATCH_TEXT_ONLY = "请用文字或按钮回答当前问题；发送 /cancel 结束匹配。"
MATCH_ANSWERED = "这个问题已经回答过了。"
MATCH_OVER = "这次政策匹配已经结束，发送 /match 可以重新开始。"
MATCH_CANCELLED = "已结束政策匹配。您可以继续直接提问，或发送 /match 重新开始。"
MATCH_NOTHING_TO_CANCEL = "当前没有进行中的政策匹配。发送 /match 开始。"
MATCH_NO_POLICIES = "知识库中暂时没有惠企政策，无法匹配，请稍后再试。"
MATCH_PRIVATE_ONLY = "政策匹配需要填写企业信息，请私聊我进行：点下面的按钮，或私聊我发送 /match。"
MATCH_PRIVATE_BUTTON = "私聊开始政策匹配"
MATCH_PROFILE = "【您提供的企业信息】"
MATCH_PROFILE_ROW = "{label}：{value}"
MATCH_PROFILE_MISSING = "未提供：{labels}"
MATCH_FOOTER_BUTTONS = "点下面的政策名称可查看支持标准。"
MATCH_FOOTER = "发送 /match 可重新匹配，也可以直接提问某项政策的详情。"
MATCH_AGAIN = "重新匹配"

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
    ("match", "政策匹配：看看企业能享受哪些政策"),
    ("cancel", "结束政策匹配"),
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

# ======================================================================= one event loop, one vocabulary (issue 12)
# `govbot serve` (bot/cli.py, bot/telegram/app.py), the policy matcher (bot/matcher*.py) and its channels.

# ----- govbot serve: web page and Telegram bot in one event loop (the operator's console) -----
SERVE_WEB = "网页：http://{host}:{port}/"
SERVE_NO_TOKEN = "未设置 TELEGRAM_BOT_TOKEN，不启动 Telegram 机器人"
SERVE_POLLING = "Telegram 机器人：长轮询（开发用；多副本部署请设置 GOVBOT_TELEGRAM_WEBHOOK_URL）"
SERVE_WEBHOOK = "Telegram 机器人：Webhook {url}（由网页的 POST {path} 接收更新）"
SERVE_TELEGRAM_OFF = "Telegram 机器人未能启动（原因见上），网页继续服务；修正后重启 govbot serve。"
SERVE_TELEGRAM_START_FAILED = "Telegram 机器人启动失败：{reason}"
SERVE_WEBHOOK_URL_MALFORMED = (
    "GOVBOT_TELEGRAM_WEBHOOK_URL（{url}）必须是 https:// 或 http:// 开头、带路径的完整地址，"
    "如 https://bot.example.com/telegram；网页用同一路径接收 Telegram 的更新。"
)
SERVE_WEBHOOK_SECRET_MISSING = (
    "设置了 GOVBOT_TELEGRAM_WEBHOOK_URL 时必须同时设置 GOVBOT_TELEGRAM_WEBHOOK_SECRET"
    "（字母、数字、下划线和连字符，1–256 位）：没有密钥，任何人都能冒充 Telegram 向机器人发消息。"
)
SERVE_WEBHOOK_SECRET_MALFORMED = "GOVBOT_TELEGRAM_WEBHOOK_SECRET 只能包含字母、数字、下划线和连字符，长度 1–256。"

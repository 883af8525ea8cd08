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
    ("human", "转人工：把问题转给工作人员"),
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
# `govbot serve` (bot/serving.py, bot/telegram/app.py), the policy matcher (bot/matcher/), the match form, the web
# page's request errors and the command line.

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

# ----- the policy matcher (bot/matcher/): profile fields, profile problems, conditions, the report -----
# Each field as the CLI and JSON messages name it, after its key: employees（员工人数）.
MATCHER_FIELD_HINTS: dict[str, str] = {
    "industry": "所属行业",
    "in_zone": "是否在自贡高新区注册",
    "employees": "员工人数",
    "revenue_wan": "年营业收入，万元",
    "founded_year": "成立年份",
    "certifications": "资质与身份",
    "taxpayer": "增值税纳税人类型",
    "rd_ratio": "研发投入占营业收入比例，0到1的小数",
    "new_hires": "本年新招用人数",
    "fixed_asset_investment_wan": "固定资产投资，万元",
}
# The same fields as people see them: the web form's labels, the chat's questions and summary.
MATCHER_FIELD_LABELS: dict[str, str] = {
    "industry": "所属行业",
    "in_zone": "是否在自贡高新区注册",
    "employees": "员工人数",
    "revenue_wan": "年营业收入（万元）",
    "founded_year": "成立年份",
    "certifications": "资质与身份",
    "taxpayer": "增值税纳税人类型",
    "rd_ratio": "研发投入占比",
    "new_hires": "本年新招用人数",
    "fixed_asset_investment_wan": "固定资产投资（万元）",
}
MATCHER_NONE = "无"
MATCHER_OTHER_INDUSTRIES = "；其他可填行业："  # the web form replaces the list after it (bot/web/match_form.py)
MATCHER_UNKNOWN_INDUSTRY = ("industry（所属行业）“{industry}”无法识别。政策所列行业：{named}"
                            + MATCHER_OTHER_INDUSTRIES + "{others}；也接受常见简称，如钠电、锂电、软件、餐饮")
MATCHER_HIRES_OVER_EMPLOYEES = ("new_hires（本年新招用人数）为{new_hires}，多于 employees（员工人数）{employees}："
                                "本年新招用的人员也计入员工人数，请核对这两项")
MATCHER_RD_WITHOUT_REVENUE = ("rd_ratio（研发投入占比）按营业收入计算，revenue_wan（年营业收入）为0时不可能大于0，"
                              "请核对这两项")
MATCHER_TWO_TAXPAYER_TYPES = ("增值税一般纳税人与小规模纳税人只能是其中一种，请核对 taxpayer（增值税纳税人类型）"
                              "与 certifications（资质与身份）")
MATCHER_NOT_BOOL = "须为数字，不能是 true/false"
MATCHER_RATIO_PERCENT = "应为0到1之间的小数，{value:g} 看起来是百分数：{value:g}%请填写 {fraction:g}"
MATCHER_RATIO_RANGE = "应为0到1之间的小数，例如研发投入占营业收入5%填写 0.05"
MATCHER_FUTURE_YEAR = "不能晚于今年（{year}年）"
# pydantic's error types, in words.
MATCHER_ERROR_TEXT: dict[str, str] = {
    "int_parsing": "须为整数", "int_type": "须为整数", "int_from_float": "须为整数",
    "float_parsing": "须为数字", "float_type": "须为数字", "finite_number": "须为有限的数字",
    "bool_parsing": "须为 true 或 false", "bool_type": "须为 true 或 false",
    "string_type": "须为文字", "list_type": "须为列表，例如 [\"高新技术企业\"]",
    "literal_error": "只能是：一般纳税人 或 小规模纳税人",
}
MATCHER_NEGATIVE = "不能为负数"
MATCHER_BELOW = "不能小于{ge}"
MATCHER_ABOVE = "不能大于{le}，请检查数字和单位"
MATCHER_ITEM = " 第{n}项"
MATCHER_THE_PROFILE = "档案"
MATCHER_FIELD_ERROR = "{where}{text}（收到：{shown}）"
MATCHER_NOT_OBJECT = "企业档案须为 JSON 对象，例如 {\"industry\": \"新能源\", \"in_zone\": true}"
MATCHER_EMPTY = "企业档案为空，无法判断大多数政策。可填写：{fields}"
MATCHER_UNKNOWN_FIELD = "未知字段 {key}"
MATCHER_DID_YOU_MEAN = "，是否想填 {field}？"
MATCHER_FIELDS_ARE = "可填写：{fields}"
MATCHER_FILE_MISSING = "找不到企业档案文件：{path}"
MATCHER_FILE_NOT_UTF8 = "企业档案文件 {path} 不是 UTF-8 文本"
MATCHER_FILE_UNREADABLE = "无法读取企业档案文件 {path}：{reason}"
MATCHER_FILE_NOT_JSON = "企业档案文件 {path} 不是有效的 JSON（第{line}行第{column}列）：{reason}"
# Conditions: what a policy requires, and what the profile says.
MATCHER_CONDITION_UNKNOWN = "{requirement}（需提供 {fields}）"
MATCHER_SUPPLY = "需要补充：{fields}"
MATCHER_ALSO_UNMET = "另有一项不满足："
MATCHER_CERT_BE = "须为{cert}"
MATCHER_CERT_HAVE = "须具备{cert}资质"
MATCHER_CERTS_NOW = "当前资质与身份：{certs}"
MATCHER_NO_CERTS = "当前无任何资质"
MATCHER_HAS_CERT = "已具备"
MATCHER_CERT_ONE_OF = "须为以下之一：{certs}"
MATCHER_NUMBER_NEEDED = "{phrase}需{bound}{limit}{unit}"
MATCHER_AT_LEAST_PEOPLE = "不少于"  # head counts
MATCHER_AT_LEAST = "不低于"  # amounts and ratios: 研发投入占比需不低于3%
MATCHER_AT_MOST = "不超过"
MATCHER_NOW = "当前为{value}"
# What the numeric conditions call each field, and its unit.
MATCHER_NUMBER_PHRASES: dict[str, str] = {"employees": "员工人数", "revenue_wan": "年营业收入", "rd_ratio": "研发投入占比",
                                          "new_hires": "本年新招用人数", "fixed_asset_investment_wan": "固定资产投资"}
MATCHER_NUMBER_UNITS: dict[str, str] = {"employees": "人", "revenue_wan": "万元", "rd_ratio": "", "new_hires": "人",
                                        "fixed_asset_investment_wan": "万元"}
MATCHER_IN_ZONE = "须在自贡高新区注册"
MATCHER_NOT_IN_ZONE = "须不在自贡高新区注册"
MATCHER_NOW_IN_ZONE = "当前已在高新区注册"
MATCHER_NOW_OUT_OF_ZONE = "当前未在高新区注册"
MATCHER_INDUSTRY_ONE_OF = "所属行业须为以下之一：{industries}"
MATCHER_INDUSTRY_NOT = "所属行业不得为：{industries}"
MATCHER_FOUNDED_AFTER = "成立年份须在{year}年或之后"
MATCHER_FOUNDED_NOW = "当前为{year}年"
MATCHER_PERSONS_ONLY = "奖励对象为个人，企业本身不能作为受益主体申报"
MATCHER_NOT_AUTOMATIC = "申报条件无法按企业档案自动判断，请对照申报条件原文"
MATCHER_NO_PERIOD = "政策未写明执行期限，请先向主管部门核实是否仍在执行"
MATCHER_FROM_INDEX = "政策来源：当前索引 {name}（{n} 条政策）"
MATCHER_FROM_FILES = "政策来源：知识文件 {folder}（尚无索引{broken}；{n} 条政策）"
MATCHER_INDEX_BROKEN = "（索引无法读取：{reason}）"
# The report (`govbot match`, and the chat's with plain labels).
MATCHER_REPORT_ERRORS = "【企业档案有问题】以下内容未参与判断，请修改后重试："
MATCHER_REPORT_ELIGIBLE = "【符合条件】共 {n} 项"
MATCHER_REPORT_NO_APPLICATION = "〔免申即享〕"
MATCHER_REPORT_AMOUNT = "   支持标准：{amount}"
MATCHER_REPORT_NO_AMOUNT = "公开资料未载明具体标准，以主管部门通知为准"
MATCHER_REPORT_MET = "   符合：{conditions}"
MATCHER_REPORT_CHECK = "   还需核对：{notes}"
MATCHER_REPORT_HOW = "   申报方式：{how}"
MATCHER_REPORT_NEAR = "【差一项条件】共 {n} 项"
MATCHER_REPORT_UNMET = "   未满足：{missing}"
MATCHER_REPORT_UNDECIDED = "【信息不足，暂无法判断】共 {n} 项"
MATCHER_REPORT_MORE = "补充以下信息可判断更多政策：{fields}"
MATCHER_REPORT_NOT_APPLICABLE = "【不适用】共 {n} 项"
MATCHER_REPORT_NOTHING = "没有可以给出的匹配结果。"
MATCHER_REPORT_DISCLAIMER = "以上按各政策的机读申报条件初步匹配，仅供参考；能否享受以主管部门最新通知和窗口告知为准。"

# ----- the policy-matcher form (bot/web/match_form.py) -----
MATCH_FORM_NONE_AND_CERTS = "“{label}”勾选了“以上都没有”，又填写了{certs}，请核对"
MATCH_FORM_OTHER_INDUSTRIES = "；其他行业可在输入框的下拉列表中选择"

# ----- the web page's request errors (bot/web/app.py) -----
WEB_OTHER_DEPARTMENT = "其他"
WEB_ERROR = "出错了。"
WEB_NUMBER_TOO_LONG = "数字过大：请求中的整数不应超过 15 位"
WEB_JSON_TOO_DEEP = "JSON 嵌套层级过深，无法处理"
WEB_BAD_UNICODE = "请求中含有无效的 Unicode 字符（不成对的代理项）"
WEB_TOO_MANY = "请求过于频繁，请 {seconds} 秒后再试。"
WEB_UPLOAD_TOO_BIG = "上传内容过大：一次上传的总大小不能超过 {total}，每个文件不超过 {each}，每次最多 {files} 个文件。"
WEB_BODY_TOO_BIG = "请求内容过大：不能超过 {kb} KB。"
WEB_ITEM_NOT_FOUND = "未找到事项“{item}”，它可能已下线或编号有误。"
WEB_API_BODY_TOO_BIG = "请求体过大"
WEB_ASK_BODY = '请求体应为 JSON，例如 {"q": "开公司需要哪些材料？"}'
WEB_MATCH_BODY_TOO_BIG = "请求体过大：企业档案不应超过 {kb} KB"
WEB_MATCH_BAD_BODY = '{reason}，应为企业档案对象，例如 {{"industry": "新能源", "in_zone": true}}'
WEB_MATCH_NOT_JSON = "请求体不是有效的 JSON{where}"
WEB_JSON_WHERE = "（第{line}行第{column}列）"

# ----- the command line (bot/cli.py): option help, results, errors -----
CLI_OPT_PATHS = "知识文件或目录"
CLI_OPT_PRUNE = "移除源文件已删除的事项"
CLI_OPT_REBUILD = "全部重新解析和计算向量"
CLI_OPT_JSON = "输出 JSON"
CLI_OPT_QUESTION = "问题；用 - 表示从标准输入逐行读取"
CLI_OPT_JSON_LINES = "每个问题输出一行 JSON"
CLI_OPT_SESSION = "标准输入的各行属于同一段对话"
CLI_OPT_EVAL_FILE = "只跑一个检索评测集 JSON（corpus + queries）"
CLI_OPT_DEV_DIR = "开发集目录"
CLI_OPT_EVAL_STORE = "真实问题评测用的现成索引（默认临时导入知识目录）"
CLI_OPT_EVAL_KNOWLEDGE = "真实问题评测导入的知识目录"
CLI_OPT_JSON_OBJECT = "输出一个 JSON 对象"
CLI_OPT_VERBOSE = "JSON 中附上答错的问题"
CLI_OPT_FIT_DEV_DIR = "开发评测集目录"
CLI_OPT_KNOWLEDGE = "知识库目录"
CLI_OPT_DRY_RUN = "只报告，不写入参数文件"
CLI_OPT_ROWS_CACHE = "特征缓存文件（调参用）"
CLI_OPT_HOST = "监听地址"
CLI_OPT_PORT = "监听端口"
CLI_OPT_WEBHOOK_URL = "Webhook 地址；不设则长轮询"
CLI_OPT_WEBHOOK_LISTEN = "Webhook 监听地址"
CLI_OPT_WEBHOOK_PORT = "Webhook 监听端口"
CLI_OPT_WEBHOOK_SECRET = "Webhook 密钥"
CLI_OPT_PROFILE = "企业档案 JSON 文件"
CLI_INGEST_TITLE = "导入结果"
CLI_INGEST_FILE = "{status}：{path}"
CLI_INGEST_TOTALS = ("当前索引：{generation}；事项 {records} 个，片段 {chunks} 个，新计算向量 {embedded} 个；"
                     "向量模型 {embedder}；用时 {seconds:.1f} 秒")
CLI_NO_GENERATION = "无"
CLI_CHECK_WARNING = "提醒 {line}"
CLI_CHECK_TOTALS = "共 {n} 条：{kinds}；错误 {errors} 个，提醒 {warnings} 个"
CLI_EVAL_UNREADABLE = "评测集 {file} 无法读取：{reason}"
CLI_EVAL_NOTHING = "{folder} 中没有任何评测集"
CLI_EVAL_TITLE = "检索评测（{n} 个问题）"
CLI_EVAL_TAG = "标签"
CLI_EVAL_OVERALL = "总体"
CLI_MATCH_NO_POLICIES = "没有可匹配的政策：请先运行 govbot ingest knowledge/ 或检查知识目录"

# ----- messengers: Feishu long connection, DingTalk cards (issue 14, the operator's console) -----
MESSENGER_DINGTALK_STREAM = "Stream 模式连接中"
MESSENGER_DINGTALK_CARDS = "Stream 模式连接中（回答用互动卡片）"
MESSENGER_FEISHU_WS = "长连接 {domain}（不需要公网地址）"
MESSENGER_FEISHU_CALLBACK = "事件回调 http://{listen}:{port}/feishu/events"

# ----- the unanswered queue, 👎 reason tags and queue → FAQ (issue 15, helper "queue") -----
# 👎 reason tags: the key is stored (unanswered.tag), the label is shown; keep keys stable.
DOWNVOTE_TAGS = {
    "off_topic": "答非所问",
    "incomplete": "信息不全",
    "outdated": "信息过时",
    "not_found": "没找到想办的事",
    "other": "其他",
}
DOWNVOTE_ASK_TAG = "感谢您的反馈！能告诉我们哪里不对吗？（选一项，选填）"
DOWNVOTE_TAG_THANKS = "已记录：{tag}。管理员会据此完善知识库。"
DOWNVOTE_TAG_NOT_YOURS = "只能由提出反馈的用户选择原因。"
QUEUE_REASONS = {"refused": "拒答", "not_stated": "未写明", "downvote": "反馈没帮助"}
QUEUE_STATUSES = {"open": "待处理", "resolved": "已解决"}
QUEUE_CHANNELS = {"web": "网页", "telegram": "Telegram", "dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}
QUEUE_NO_ITEM = "（无相近事项）"
QUEUE_DEFAULT_SOURCE = "窗口整理"
QUEUE_FAQ_SOURCE = "{source}（{who} {day}）"  # the FAQ pair's source: 窗口整理（张三 2026-12-02）
QUEUE_TREND = "近 {days} 天每日未答问题数"
QUEUE_SAVED = "已写入 {path}，重新导入完成（第 {generation} 版），已将 {count} 条相同问题标记为已解决。"
QUEUE_SAVE_FAILED = "答案已写入 {path}，但重新导入没有成功：{reason}。该条仍为待处理，请处理后在管理页重新导入。"
QUEUE_FILE_FAILED = "这个文件导入失败（{reason}）"
QUEUE_NEED_WHO = "请填写处理人"
QUEUE_ENTRY_GONE = "未找到这条记录，可能编号有误。"
# `govbot report`
REPORT_TITLE = "未答问题（{count} 条，按相近事项与问题类型分组）"
REPORT_EMPTY = "没有符合条件的未答问题。"
REPORT_COLUMNS = ("相近事项", "问题类型", "条数", "待处理", "最近", "问题举例")
REPORT_TREND = "每日趋势（最近 {days} 天）"
REPORT_CSV_WRITTEN = "已导出 {count} 条到 {path}（身份证号、手机号、银行卡号已遮盖）。"
REPORT_CSV_FAILED = "无法写入 {path}：{reason}"
REPORT_BAD_OPTION = "{option} 的取值 {value!r} 不对，可选：{choices}"
REPORT_HELP = "未答问题报告：拒答、未写明和 👎 的问题，按相近事项与问题类型分组"

# ----- privacy, retention and sensitive words (issue 15, helper "guard") -----
# The fixed reply to a question with a listed sensitive word, and to an answer that would carry one.
SENSITIVE_REPLY = (
    "抱歉，这个问题本助手无法回答。本助手只解答企业办事和惠企政策方面的问题，"
    "请换个说法再问，或咨询政务服务中心窗口工作人员。"
)
SENSITIVE_TOO_LONG = "超过 {n} 个字，不像一个词，未保存"
SENSITIVE_NO_LETTERS = "只有空格或标点，无法匹配，未保存"
SENSITIVE_SAVED = "敏感词已保存：共 {total} 个，新增 {added} 个，删除 {removed} 个。"
SENSITIVE_CLI_ADDED = "已添加：{words}"
SENSITIVE_CLI_REMOVED = "已删除：{words}"
SENSITIVE_CLI_UNCHANGED = "没有变化（已在列表中或不在列表中）。"
SENSITIVE_CLI_REJECTED = "未保存“{word}”：{reason}"
SENSITIVE_CLI_EMPTY = "敏感词列表为空。"
SENSITIVE_CLI_COUNT = "共 {n} 个敏感词。"
RETENTION_ON = "提问记录保留 {days} 天（GOVBOT_RETENTION_DAYS），启动时和此后每天清理一次"
RETENTION_OFF = "GOVBOT_RETENTION_DAYS=0：提问记录永久保留"
PURGE_OFF = "保留天数为 0（永久保留），没有删除任何记录。"
PURGE_DONE = "已删除 {days} 天以前的记录：{counts}。"
PURGE_NOTHING = "没有 {days} 天以前的记录需要删除。"

# ----- FAQ pairs as knowledge (issue 15): the source line of an answer taken from a FAQ pair -----
FAQ_SOURCE = "来源：{source}（{where}）"  # the pair's own source, then the file that holds it
FAQ_SOURCE_FILE = "来源：《{title}》（{where}）"  # a pair that names no source of its own

# ======================================================================= handoff to a person (issue 15)
# bot/compose.py refusal, bot/services/handoff.py, bot/telegram/handoff.py, bot/web/handoff_routes.py,
# bot/channels/base.py and bot/channels/handoff.py

# A refusal names who is responsible for the nearest item; only what its record states, nothing invented.
HANDOFF_NEAREST = "与您的问题最接近的已收录事项是《{title}》，如与此相关，可咨询："
HANDOFF_BUTTON = "转人工"
HANDOFF_WORDS = ("转人工", "人工", "人工服务", "找人工", "人工客服")
HANDOFF_OPENED = ("已为您转人工（编号 {id}）：工作人员会尽快答复，答复会发到这里。"
                  "急事请到自贡高新区政务服务中心窗口咨询。")
HANDOFF_NO_QUESTION = "请在“转人工”后面写上您的问题，例如：转人工 营业执照丢了怎么补办？"
HANDOFF_REPLY = "【工作人员答复】（编号 {id}）\n{reply}"
HANDOFF_STAFF_NEW = ("【转人工 {id}】来自{channel}\n问题：{question}\n最接近的事项：{record}\n"
                     "答复方法：回复本条消息，或发送 /reply {id} 答复内容")
HANDOFF_STAFF_NEW_TEXT = ("【转人工 {id}】来自{channel}\n问题：{question}\n最接近的事项：{record}\n"
                          "答复方法：发送 回复 {id} 答复内容")
HANDOFF_NO_RECORD = "无"
HANDOFF_CHANNELS = {"web": "网页", "telegram": "Telegram", "dingtalk": "钉钉", "feishu": "飞书", "wecom": "企业微信"}
HANDOFF_REPLY_SAVED = "已记录对编号 {id} 的答复，正在发给提问人。"
HANDOFF_REPLY_USAGE = "答复格式：/reply 编号 答复内容（或：回复 编号 答复内容）"
HANDOFF_UNKNOWN = "没有编号为 {id} 的转人工记录，或它已关闭。"
HANDOFF_NOT_STAFF = "抱歉，只有工作人员可以答复转人工的问题。"
# The web ticket page and the admin list (bot/web/templates/handoff*.html)
HANDOFF_PAGE_TITLE = "转人工 · 编号 {id}"
HANDOFF_PAGE_WAITING = "已转给工作人员，答复后会显示在本页（本页每 15 秒自动刷新）。请收藏本页地址，以便稍后查看。"
HANDOFF_PAGE_REPLIED = "工作人员已答复："
HANDOFF_PAGE_CLOSED = "这次转人工已关闭。如仍有疑问，请重新提问或到自贡高新区政务服务中心窗口咨询。"
HANDOFF_WEB_EMPTY = "请先输入您的问题，再转人工。"
HANDOFF_ADMIN_EMPTY = "暂无待答复的转人工问题。"
HANDOFF_ADMIN_REPLY_EMPTY = "答复内容不能为空。"
HANDOFF_ADMIN_SAVED = "已保存对编号 {id} 的答复；Telegram、钉钉、飞书、企业微信的提问人会收到消息，网页提问人在其转人工页面看到。"
HANDOFF_ADMIN_CLOSED = "已关闭编号 {id}。"
HANDOFF_STATUS = {"open": "待答复", "replied": "已答复", "closed": "已关闭"}
HANDOFF_DELIVERED = "已送达"
HANDOFF_NOT_DELIVERED = "待送达"

# ======================================================================= the service-hall loop, second pass (issue 15)
# bot/compose.py not_stated, bot/telegram/browse.py (人工咨询), bot/services/handoff.py (web tickets to staff chats),
# bot/services/sensitive.py (records with a listed word), item.html / print.html (常见问题)
# A "not stated" answer names who is responsible for the item itself; only what its record states.
NOT_STATED_ASK = "可向负责《{title}》的部门咨询："
# ======================================================================= labels and texts moved here (issue 12)
# bot/web/templating.py (web labels), bot/web/admin_routes.py, bot/web/charts.py, bot/services/admin.py,
# bot/compose.py, bot/engine.py and bot/cli/ (the messenger lines of `govbot serve`, option help)

# ----- the web page's labels (bot/web/templating.py) -----
WEB_KIND_LABELS = {"guide": "办事指南", "bundle": "一件事", "policy": "惠企政策", "document": "其他文件"}
WEB_STATUS_LABELS = {
    "added": "新增", "updated": "更新", "unchanged": "未变", "removed": "移除", "failed": "失败",
    "missing": "源文件已删除（保留）",
}

# ----- the command line's command help, option help and the messenger lines of `govbot serve` (bot/cli/) -----
CLI_HELP_INGEST = "导入办事指南、一件事和政策文件，生成新的索引并立即启用。"
CLI_HELP_CHECK = "检查知识文件：必填字段、材料格式、一件事成员与合并材料、政策有效期。"
CLI_HELP_ASK = "回答问题（默认抽取式，引用知识库原文并注明来源）。"
CLI_HELP_EVAL = "评测：不带参数时跑开发集目录中的全部评测集（检索、答案、真实问题），输出一张汇总表。"
CLI_HELP_FIT = "拟合“能否回答”模型（留一来源交叉验证），写入 bot/data/answerability.json。"
CLI_HELP_WEB = "前台网页、JSON API 和管理后台。"
CLI_HELP_TELEGRAM = "Telegram 机器人（TELEGRAM_BOT_TOKEN）。"
CLI_HELP_SERVE = "导入自带知识库（$GOVBOT_KNOWLEDGE_DIR），然后提供网页；设置了 TELEGRAM_BOT_TOKEN 时同时运行机器人。"
CLI_HELP_PURGE = "删除超过保留天数的提问、反馈等记录（含个人信息的表）。"
CLI_HELP_MATCH = "按企业档案匹配政策：符合条件、差一项条件（指明哪一项）、信息不足和不适用。"
CLI_INGEST_REASON = "：{reason}"  # after CLI_INGEST_FILE, when the file has a reason
PURGE_OPT_DAYS = "保留天数（默认 GOVBOT_RETENTION_DAYS）"
PURGE_COUNT = "{name} {n} 条"
SENSITIVE_CLI_HELP = "敏感词列表（与网页管理后台 /admin/sensitive 共用数据库）"
SENSITIVE_CLI_WORDS = "一个或多个词"
SENSITIVE_CLI_LIST_HELP = "列出敏感词，每行一个。"
SENSITIVE_CLI_ADD_HELP = "添加敏感词（繁简、全半角、大小写、字间空格和标点都视为同一个词）。"
SENSITIVE_CLI_REMOVE_HELP = "删除敏感词。"
REPORT_OPT_DAYS = "最近几天（默认 30）"
REPORT_OPT_CHANNEL = "渠道：web、telegram、dingtalk、feishu、wecom"
REPORT_OPT_REASON = "原因：refused、not_stated、downvote"
REPORT_OPT_STATUS = "状态：open、resolved"
REPORT_OPT_ITEM = "相近事项的编号"
REPORT_OPT_CSV = "另把符合条件的记录导出为 CSV 文件"
MESSENGER_NAMES = {"dingtalk": "钉钉机器人", "feishu": "飞书机器人", "wecom": "企业微信应用"}
MESSENGER_WECOM_CALLBACK = "回调 http://{listen}:{port}/wecom/callback"
MESSENGER_NOT_SET = "未设置 {keys}，不启动{shown}"
MESSENGER_NO_SDK = '{shown}未启动：缺少 SDK（pip install -e ".[messengers]"）：{exc}'
MESSENGER_STARTED = "{shown}：{where}"

# ----- the admin pages and the admin service (bot/web/admin_routes.py, bot/services/admin.py) -----
ADMIN_BUSY = "另一个导入正在进行，请稍后再试。"
ADMIN_OFF = "管理后台未开启：请在服务器上设置环境变量 GOVBOT_ADMIN_TOKEN（管理口令）后重启服务。"
ADMIN_LOGIN_PROMPT = "请输入管理口令。"
ADMIN_LOGIN_PROMPTS = {"wrong": "口令错误，请重新输入。", "expired": "登录已过期或已退出，请重新输入管理口令。"}
ADMIN_THROTTLED = "口令错误次数过多，请 {seconds} 秒后再试。"
ADMIN_TOKEN_IN_ADDRESS = "口令不能写在网址里（会留在访问日志和浏览记录中），请在下方输入。"
ADMIN_CSRF = "表单已过期或来源不符，请刷新管理页面后重试。"
ADMIN_BAD_FORM = "提交的内容无法解析：{detail}"
ADMIN_NO_FILES = "请选择要上传的文件"
UPLOAD_NO_SUFFIX = "（无扩展名）"
UPLOAD_BAD_TYPE = "不支持的文件类型 {suffix}，支持的类型：{allowed}"
UPLOAD_NO_NAME = "（无文件名）"
UPLOAD_UNSAFE_NAME = "文件名不安全"
UPLOAD_SAME_NAME = "同一批次中有两个文件都叫 {name}"
UPLOAD_AT_LINE = "第{line}行：{reason}"
UPLOAD_TOO_BIG = "文件过大：超过上限 {limit}"
UPLOAD_EMPTY = "文件为空（0 字节）"
UPLOAD_ID_TAKEN = "编号 {id} 已被 {source} 使用，请修改 id 或直接更新原文件"

# ----- the admin page's charts (bot/web/charts.py, bot/web/admin_routes.py) -----
CHART_NO_DATA = "暂无数据"
CHART_PER_DAY = "近 {days} 天每日提问量（蓝：已回答，红：拒答）"
CHART_DAY_TIP = "{day}：提问 {n}，拒答 {refused}"
CHART_ANSWERED = "已回答"
CHART_REFUSED = "拒答"
CHART_REFUSED_SHARE = "拒答占比"
CHART_REFUSED_COUNT = "拒答 {refused} / {total}"
CHART_REFUSED_SHARE_TITLE = "{label} {share:.0%}（{refused}/{total}）"
CHART_INTENTS = "问题类型分布"
CHART_UNANSWERED = "高频未答问题"

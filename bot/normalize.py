"""Query normalisation: what people type -> what the knowledge base says."""

from __future__ import annotations

import re
import unicodedata

from ingest.textnorm import normalize

MAX_QUERY_CHARS = 300  # a question longer than this is pasted text; its head carries the question

_TAGS = re.compile(r"<[^>]{0,200}>")
_MARKDOWN = re.compile(r"[*_`#>\[\]()~|]+")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # terminal colour codes pasted along with text
# Lone surrogates come from undecodable input bytes (stdin with surrogateescape); opencc cannot encode them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff\ud800-\udfff]")

# Colloquial or short forms -> the knowledge base's wording. The canonical form is appended, not
# substituted, so the user's own words still match lexically.
SYNONYMS: dict[str, str] = {
    "执照": "营业执照",
    "营业证": "营业执照",
    "注册公司": "企业设立登记 开办企业",
    "开公司": "企业设立登记 开办企业",
    "办公司": "企业设立登记 开办企业",
    "成立公司": "企业设立登记 开办企业",
    "开个公司": "企业设立登记 开办企业",
    "新公司": "企业开办",
    "个体户": "个体工商户",
    "高企": "高新技术企业",
    "社保": "社会保险",
    "医保": "医疗保险",
    "公积金": "住房公积金",
    "施工证": "施工许可证",
    "开工证": "施工许可证",
    "刻章": "印章刻制",
    "刻公章": "印章刻制",
    "公章": "印章刻制",
    "环评": "环境影响评价",
    "排污证": "排污许可证",
    "改名": "名称变更 变更登记",
    "改名字": "名称变更 变更登记",
    "换法人": "法定代表人变更 变更登记",
    "改地址": "住所变更 变更登记",
    "关公司": "企业注销",
    "不干了": "企业注销",
    "注销公司": "企业注销",
    "开饭店": "开办餐饮店 食品经营许可",
    "开餐馆": "开办餐饮店 食品经营许可",
    "开餐厅": "开办餐饮店 食品经营许可",
    "饭馆": "餐饮店",
    "招人": "员工录用 就业登记",
    "招员工": "员工录用 就业登记",
    "招工": "员工录用 就业登记",
    "水电气": "水电气网联合报装",
    "接水": "供水报装",
    "通水": "供水报装",
    "接电": "用电报装",
    "通电": "用电报装",
    "拉网线": "宽带报装",
    "营运证": "道路运输证",
    "货运": "道路货物运输",
    "房产证": "不动产权证书 不动产登记",
    "过户": "转移登记",
    "稳岗补贴": "稳岗返还",
    "扩岗": "一次性扩岗补助",
    "加计扣除": "研发费用加计扣除",
    "留抵退税": "增值税留抵退税",
    "小微企业": "小型微利企业",
    "开发票": "发票申领",
    "领发票": "发票申领",
    "税务登记": "新办纳税人",
    "招牌": "户外招牌设置",
    "店招": "户外招牌设置",
    "广告牌": "户外广告设置",
    "危化品": "危险化学品",
    "劳务派遣": "人力资源服务",
    "中介": "人力资源服务",
    # Question words -> the section headings they point at.
    "带啥": "申请材料",
    "带什么": "申请材料",
    "要啥": "申请材料",
    "啥材料": "申请材料",
    "资料": "材料",
    "多久": "办结时限",
    "几天": "办结时限",
    "多长时间": "办结时限",
    "要钱": "收费",
    "多少钱": "收费",
    "在哪": "办理地点",
    "去哪": "办理地点",
    "哪里办": "办理地点",
}

# English questions get the Chinese terms of the knowledge base added (the dense model does the rest).
ENGLISH: dict[str, str] = {
    "business license": "营业执照",
    "register a company": "企业设立登记",
    "company registration": "企业设立登记",
    "set up a company": "企业设立登记 企业开办",
    "start a company": "企业设立登记 企业开办",
    "open a company": "企业设立登记 企业开办",
    "deregist": "企业注销",
    "close my company": "企业注销",
    "cancel": "注销",
    "change": "变更",
    "seal": "印章刻制",
    "stamp": "印章刻制",
    "chop": "印章刻制",
    "invoice": "发票",
    "tax": "税务",
    "social insurance": "社会保险",
    "medical insurance": "医疗保险",
    "housing fund": "住房公积金",
    "provident fund": "住房公积金",
    "bank account": "银行开户",
    "food": "食品经营许可",
    "restaurant": "餐饮店 食品经营许可",
    "construction permit": "建筑工程施工许可证",
    "planning permit": "建设工程规划许可证",
    "fire": "消防",
    "environmental": "环境影响评价",
    "pollut": "排污许可",
    "real estate": "不动产登记",
    "property": "不动产登记",
    "high-tech": "高新技术企业",
    "high tech": "高新技术企业",
    "subsid": "补贴 补助 奖励",
    "reward": "奖励",
    "grant": "补助",
    "r&d": "研发",
    "research": "研发",
    "talent": "人才",
    "hire": "员工录用 就业登记",
    "employee": "员工 就业登记",
    "freight": "道路货物运输",
    "transport": "运输",
    "material": "申请材料",
    "document": "申请材料",
    "how long": "办结时限",
    "how many days": "办结时限",
    "fee": "收费",
    "cost": "收费",
    "free": "收费",
    "where": "办理地点",
    "process": "办理流程",
    "procedure": "办理流程",
    "eligib": "申报条件",
    "requirement": "条件",
}


def clean(text: str) -> str:
    """Drop control characters and markup; keep the words."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _ANSI.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    text = _TAGS.sub(" ", text)
    text = _MARKDOWN.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()[:MAX_QUERY_CHARS]


def expand(text: str) -> str:
    """Normalised query with the knowledge base's terms for what the user typed appended."""
    base = normalize(clean(text))
    extra = [canonical for word, canonical in SYNONYMS.items() if word in base and canonical not in base]
    extra += [canonical for word, canonical in ENGLISH.items() if word in base]
    return " ".join([base, *dict.fromkeys(extra)]).strip()

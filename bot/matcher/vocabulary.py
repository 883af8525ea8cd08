"""The matcher's vocabulary: profile fields, industries and 资质 as people write them, and their canonical names.

Data tables (industry families, synonyms, units) live here; the sentences people read are in bot/messages.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from bot import messages
from ingest.schema import Record

FIELD_LABELS: dict[str, str] = messages.MATCHER_FIELD_HINTS
# The same fields as people see them (the web form's labels, the chat's questions and summary): the CLI's
# messages name the JSON key for whoever edits the profile file; the channels show these instead.
PLAIN_LABELS: dict[str, str] = messages.MATCHER_FIELD_LABELS
# Numeric fields and the units a person may type after the number ("120人", "8000万元"). Only the field's
# own unit is dropped: "8000元" stays text and is rejected, never read as 8000 万元. rd_ratio's "5%" is
# read by the Profile model itself.
NUMBER_UNITS: dict[str, tuple[str, ...]] = {
    "employees": ("人", "名"), "revenue_wan": ("万元", "万"), "founded_year": ("年",), "rd_ratio": (),
    "new_hires": ("人", "名"), "fixed_asset_investment_wan": ("万元", "万"),
}

# Industry names a profile may use beyond the policies' own `industries`: national sectors
# (GB/T 4754 门类, short forms) and the zone's featured industries, so an ordinary company is not "unknown".
BASE_INDUSTRIES: tuple[str, ...] = (
    "新材料", "节能环保", "电子信息", "装备制造", "生物医药", "数字经济", "化工", "食品",
    "农林牧渔业", "采矿业", "制造业", "烟草制造业", "电力热力燃气及水生产和供应业", "建筑业",
    "批发和零售业", "批发业", "零售业", "交通运输仓储和邮政业", "住宿和餐饮业", "住宿业", "餐饮业",
    "信息传输软件和信息技术服务业", "软件和信息技术服务业", "金融业", "房地产业", "租赁和商务服务业",
    "科学研究和技术服务业", "水利环境和公共设施管理业", "生态保护和环境治理业",
    "居民服务修理和其他服务业", "教育", "卫生和社会工作", "文化体育和娱乐业", "娱乐业",
)
# A narrower industry satisfies a policy that lists its broader family (钠电 company -> 新能源 policy),
# never the reverse. The 新能源 family is the one policy-new-energy-cluster defines.
INDUSTRY_PARENT: dict[str, str] = {
    "钠离子电池": "新能源", "锂电池": "新能源", "储能": "新能源", "光伏": "新能源",
    "电池材料": "新能源", "电池装备": "新能源", "风电": "新能源", "氢能": "新能源",
    "烟草制造业": "制造业", "批发业": "批发和零售业", "零售业": "批发和零售业",
    "住宿业": "住宿和餐饮业", "餐饮业": "住宿和餐饮业", "娱乐业": "文化体育和娱乐业",
    "软件和信息技术服务业": "信息传输软件和信息技术服务业",
    "生态保护和环境治理业": "水利环境和公共设施管理业",
}
INDUSTRY_SYNONYMS: dict[str, str] = {
    "钠电": "钠离子电池", "钠离子": "钠离子电池", "钠电池": "钠离子电池",
    "锂电": "锂电池", "锂离子电池": "锂电池", "锂电子电池": "锂电池",
    "新型储能": "储能", "储能电池": "储能", "太阳能": "光伏", "光伏发电": "光伏",
    "风力发电": "风电", "氢能源": "氢能", "新能源产业": "新能源",
    "软件": "软件和信息技术服务业", "信息技术": "软件和信息技术服务业", "IT": "软件和信息技术服务业",
    "科研": "科学研究和技术服务业", "技术服务": "科学研究和技术服务业",
    "批发": "批发业", "零售": "零售业", "商贸": "批发和零售业", "餐饮": "餐饮业", "住宿": "住宿业",
    "酒店": "住宿业", "房地产": "房地产业", "建筑": "建筑业", "金融": "金融业", "环保": "节能环保",
    "制造": "制造业", "工业": "制造业", "农业": "农林牧渔业",
}
CERT_SYNONYMS: dict[str, str] = {
    "高企": "高新技术企业", "国家高新技术企业": "高新技术企业", "国家高新": "高新技术企业",
    "科小": "科技型中小企业", "科技型中小": "科技型中小企业",
    "专精特新企业": "专精特新", "专精特新中小企业": "专精特新",
    "规上企业": "规模以上企业", "规上": "规模以上企业", "规模以上": "规模以上企业",
    "一般纳税人": "增值税一般纳税人", "小规模纳税人": "增值税小规模纳税人",
    "小型微利": "小型微利企业", "个体户": "个体工商户",
}
TAXPAYER_CERTS: dict[str, str] = {"一般纳税人": "增值税一般纳税人", "小规模纳税人": "增值税小规模纳税人"}
TAXPAYER_CHOICES: tuple[str, ...] = tuple(TAXPAYER_CERTS)  # the taxpayer question's answers, in every channel
# The 资质与身份 every channel offers to pick (checkboxes, buttons); `cert_choices` adds the policies' own.
CERT_CHOICES: tuple[str, ...] = ("高新技术企业", "科技型中小企业", "专精特新", "规模以上企业", "小型微利企业",
                                 "个体工商户")
# "employees（员工人数）" as the matcher's messages name a field, with the spaces that set the key apart from
# Chinese text (not a bullet's "· ", not a line break); the lookbehind leaves min_employees alone.
FIELD_REF = re.compile(r"(?:(?<=[^\s·]) )?(?<![A-Za-z_])(" + "|".join(map(re.escape, FIELD_LABELS))
                       + r")（[^）]*）(?: (?=\S))?")

Records = Iterable[Record] | Mapping[str, Record]


def as_list(records: Records) -> list[Record]:
    # Engine.records is a dict by id; check_paths gives a list.
    return list(records.values() if isinstance(records, Mapping) else records)


def clean_text(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


def field_text(name: str) -> str:
    """A field as the CLI and JSON messages name it: employees（员工人数）."""
    label = FIELD_LABELS.get(name)
    return f"{name}（{label}）" if label else name


def plain_labels(text: str) -> str:
    """The matcher's text with each field key (``employees（员工人数）``) replaced by its label for people.

    The label is quoted (“员工人数”不能为负数) unless a quotation follows (所属行业“钢铁”无法识别).
    """
    def label(m: re.Match[str]) -> str:
        name = PLAIN_LABELS[m.group(1)]
        return name if text.startswith("“", m.end()) else f"“{name}”"

    return FIELD_REF.sub(label, text)


def canonical_industry(name: str) -> str:
    """The industry's canonical name: synonyms resolved, a trailing 行业/产业/领域 dropped when that helps."""
    text = clean_text(name)
    text = INDUSTRY_SYNONYMS.get(text, text)
    static = set(BASE_INDUSTRIES) | set(INDUSTRY_PARENT) | set(INDUSTRY_PARENT.values())
    if text not in static:
        for suffix in ("行业", "产业", "领域", "企业"):
            stem = text.removesuffix(suffix)
            # Only when the stem is a known name: 房地产业 must not become 房地.
            if stem != text and INDUSTRY_SYNONYMS.get(stem, stem) in static:
                return INDUSTRY_SYNONYMS.get(stem, stem)
    return text


def canonical_cert(name: str) -> str:
    text = clean_text(name).strip("“”\"'")
    return CERT_SYNONYMS.get(text, text)


def _lineage(industry: str) -> set[str]:
    names = {canonical_industry(industry)}
    current = canonical_industry(industry)
    while current in INDUSTRY_PARENT and INDUSTRY_PARENT[current] not in names:
        current = INDUSTRY_PARENT[current]
        names.add(current)
    return names


def industry_matches(industry: str, listed: Iterable[str]) -> bool:
    return bool(_lineage(industry) & {canonical_industry(name) for name in listed})


def policy_industries(records: Records) -> list[str]:
    names: dict[str, None] = {}
    for record in as_list(records):
        if record.eligibility is not None:
            for name in record.eligibility.industries:
                names[canonical_industry(name)] = None
    return list(names)


def known_industries(records: Records = ()) -> list[str]:
    """The policies' own industries first, then the general sectors; canonical names, no duplicates."""
    names = dict.fromkeys(policy_industries(records))
    names.update(dict.fromkeys((*BASE_INDUSTRIES, *INDUSTRY_PARENT, *INDUSTRY_PARENT.values())))
    return list(names)


def cert_choices(records: Records = ()) -> list[str]:
    """The 资质 to offer: the usual ones, then any other the policies require (taxpayer types are asked apart)."""
    names = dict.fromkeys(CERT_CHOICES)
    for record in as_list(records):
        if record.eligibility is not None:
            for cert in (*record.eligibility.certifications_any, *record.eligibility.certifications_all):
                name = canonical_cert(cert)
                if name not in TAXPAYER_CERTS.values():
                    names[name] = None
    return list(names)


def known_certs(records: Records = ()) -> set[str]:
    """Every 资质 name the matcher understands: the choices, the synonyms' targets, the taxpayer types."""
    return set(cert_choices(records)) | set(CERT_SYNONYMS.values()) | set(TAXPAYER_CERTS.values())

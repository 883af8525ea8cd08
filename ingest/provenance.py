"""Where a source comes from (issue 11), computed per source from its address.

Zigong procedures should rest on Zigong or Sichuan pages. Many records still rest on another region's
government page (the only official text found); the visitor and the window staff must see that, so
they know what to confirm. The region is computed from the host, never written by hand per record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from ingest.schema import Record

Scope = Literal["zigong", "sichuan", "national", "other_region", "seed", "other"]

# Sichuan hosts outside Zigong: Sichuan rules, another city's practice.
SICHUAN_CITIES = {"cnzh.gov.cn": "四川省广元市昭化区", "cngy.gov.cn": "四川省广元市", "bzqzf.gov.cn": "四川省巴中市巴州区"}
# National bodies (ministries, the NPC's law database, the State Council).
NATIONAL = ("www.gov.cn", "npc.gov.cn", "samr.gov.cn", "chinatax.gov.cn", "mohrss.gov.cn", "mohurd.gov.cn",
            "mnr.gov.cn", "ndrc.gov.cn", "miit.gov.cn", "mee.gov.cn", "most.gov.cn", "nhsa.gov.cn", "mot.gov.cn",
            "pbc.gov.cn", "tzxm.gov.cn", "innocom.gov.cn", "chinatorch.gov.cn", "mof.gov.cn", "mps.gov.cn",
            "119.gov.cn", "nfra.gov.cn", "customs.gov.cn")
# Other regions' portals the knowledge base cites; an unlisted .gov.cn host is still "another region".
OTHER_REGIONS = {
    "beijing.gov.cn": "北京市", "shanghai.gov.cn": "上海市", "linyi.gov.cn": "山东省临沂市",
    "jinan.gov.cn": "山东省济南市", "zhengzhou.gov.cn": "河南省郑州市", "tanghe.gov.cn": "河南省唐河县",
    "smx.gov.cn": "河南省三门峡市", "haicang.gov.cn": "福建省厦门市海沧区", "huizhou.gov.cn": "广东省惠州市",
    "puning.gov.cn": "广东省普宁市", "yanshan.gov.cn": "河北省盐山县", "quyang.gov.cn": "河北省曲阳县",
    "panjin.gov.cn": "辽宁省盘锦市", "wuchang.gov.cn": "湖北省武汉市武昌区", "shiyan.gov.cn": "湖北省十堰市",
    "xiangyin.gov.cn": "湖南省湘阴县", "cqszx.gov.cn": "重庆市石柱县", "cqqj.gov.cn": "重庆市綦江区",
    "luolong.gov.cn": "西藏自治区洛隆县", "dpxq.gov.cn": "广东省深圳市大鹏新区",
}
SEED = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
SCOPE_LABELS = {"zigong": "自贡市", "sichuan": "四川省", "national": "国家部委", "other_region": "外地",
                "seed": "新闻报道（种子资料）", "other": "其他"}


@dataclass(frozen=True)
class Origin:
    scope: Scope
    label: str  # 四川省 / 北京市 / 国家部委 …


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def origin(source: str) -> Origin:
    """The region a source speaks for."""
    if not source.startswith(("http://", "https://")):
        return Origin("seed", SCOPE_LABELS["seed"]) if SEED.match(source) else Origin("other", "")
    host = (urlparse(source).hostname or "").lower()
    if _under(host, "zg.gov.cn"):
        return Origin("zigong", "自贡市")
    for domain, label in SICHUAN_CITIES.items():
        if _under(host, domain):
            return Origin("other_region", label)
    if _under(host, "sc.gov.cn") or _under(host, "sczwfw.gov.cn"):
        return Origin("sichuan", "四川省")
    if host.endswith("chinatax.gov.cn") and host.split(".")[0] not in ("www", "fgk"):
        return Origin("other_region", "外地税务局")  # a provincial tax bureau's page (tianjin.chinatax…)
    if any(_under(host, d) for d in NATIONAL):
        return Origin("national", "国家部委")
    for domain, label in OTHER_REGIONS.items():
        if _under(host, domain):
            return Origin("other_region", label)
    if host.endswith(".gov.cn"):
        return Origin("other_region", f"外地政府网站（{host}）")
    return Origin("other", "非政府网站")


def source_tag(source: str) -> str:
    """A short tag shown after a source: （外地：北京市）, （四川省）, （新闻报道）."""
    o = origin(source)
    if o.scope == "other_region":
        return f"外地：{o.label}"
    if o.scope == "seed":
        return "新闻报道"
    return o.label


def other_regions(record: Record) -> list[str]:
    return list(dict.fromkeys(origin(s).label for s in record.sources if origin(s).scope == "other_region"))


def note(record: Record) -> str:
    """What staff must confirm because of where the record's sources come from; empty when nothing."""
    regions = other_regions(record)
    if regions:
        return (f"提示：本事项部分内容参考了外地政府网站（{'、'.join(regions)}），"
                "自贡高新区的具体要求以窗口核实为准。")
    scopes = {origin(s).scope for s in record.sources}
    if scopes and scopes <= {"seed", "other"} and "seed" in scopes:
        return "提示：本事项依据新闻报道整理，尚未找到官方文件原文，具体以主管部门和窗口告知为准。"
    return ""

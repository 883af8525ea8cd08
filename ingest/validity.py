"""Whether a policy is in force on a given day (issue 11).

Engine logic never reads the wall clock itself: `today()` comes from the GOVBOT_TODAY setting when set
(tests and replays pin it), else from the system date, and every function takes the day as a parameter.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from ingest.schema import Record

Status = Literal["current", "expired", "not_yet", "unknown"]


def today() -> date:
    """The day answers are given for: GOVBOT_TODAY (YYYY-MM-DD) if set, else the system date."""
    from ingest.settings import get_settings

    return get_settings().govbot_today or date.today()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def status(record: Record, on: date | None = None) -> Status:
    """current / expired / not_yet for a policy with dates; unknown when nothing says how long it runs."""
    on = on or today()
    start, end = _day(record.valid_from), _day(record.valid_until)
    if end is not None and on > end:
        return "expired"
    if start is not None and on < start:
        return "not_yet"
    if start is None and end is None:
        return "unknown"  # a basis alone ("以主管部门最新通知为准") does not make a policy current
    return "current"


def successor_hint(record: Record) -> str:
    who = record.successor_hint or record.issuer or record.department or "主管部门"
    return who if record.successor_hint else f"{who}官网或自贡高新区政务服务中心窗口"


def period(record: Record) -> str:
    """The period as people read it: 2023-01-01 至 2027-12-31（依据：…）."""
    if record.valid_from and record.valid_until:
        text = f"{record.valid_from} 至 {record.valid_until}"
    elif record.valid_until:
        text = f"执行至 {record.valid_until}"
    elif record.valid_from:
        text = f"自 {record.valid_from} 起，未设截止日期"
    else:
        text = "知识库未写明执行期限"
    return text + (f"（依据：{record.validity_basis}）" if record.validity_basis else "")


def notice(record: Record, on: date | None = None) -> str:
    """One line on the policy's validity for every answer, page and sheet; empty for other kinds."""
    if record.kind != "policy":
        return ""
    state = status(record, on)
    if state == "expired":
        return (f"【已到期】本政策执行期至 {record.valid_until}，已经到期，不能作为现行政策申报；"
                f"是否有接续政策，请查看{successor_hint(record)}的最新通知。")
    if state == "not_yet":
        return f"【尚未施行】本政策自 {record.valid_from} 起施行。"
    if state == "unknown":
        basis = f"（{record.validity_basis}）" if record.validity_basis else ""
        return f"【有效期】知识库未写明执行期限{basis}，是否仍在执行请向{successor_hint(record)}核实。"
    return f"【有效期】{period(record)}"


def footer(record: Record, on: date | None = None) -> str:
    """The short validity line under every answer about a policy (the body leads with `notice` if expired)."""
    if record.kind != "policy":
        return ""
    if status(record, on) == "expired":
        return f"【有效期】{period(record)}，已到期。"
    return notice(record, on)


def problems(record: Record, on: date | None = None) -> list[str]:
    """Warnings for `govbot check`: a policy with no validity, or one past its end."""
    if record.kind != "policy":
        return []
    state = status(record, on)
    if state == "unknown" and record.validity_basis:
        return ["政策没有执行起止日期（validity_basis 已说明原因）：查到设定期限的文件后补填 valid_from / valid_until"]
    if state == "unknown":
        return ["政策未写明有效期：请填写 valid_from / valid_until 和设定它们的文件 validity_basis"
                "（查不到的在 validity_basis 中写明“以主管部门最新通知为准”）"]
    if state == "expired":
        return [f"政策已于 {record.valid_until} 到期：回答会标明“已到期”；有接续政策的请更新本文件"]
    return []

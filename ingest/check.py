"""`govbot check`: validate knowledge files before they are ingested."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingest import validity
from ingest.bundles import derive, unpromised
from ingest.loaders import check_structured_file, stat_problem
from ingest.pipeline import discover
from ingest.schema import Record


@dataclass
class CheckReport:
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # reported, but the files may be ingested

    def as_json(self) -> dict:
        return {
            "records": len(self.records),
            "by_kind": dict(Counter(r.kind for r in self.records)),
            "errors": self.errors,
            "warnings": self.warnings,
        }


def check_paths(paths: list[Path], today: date | None = None) -> CheckReport:
    """Validate every structured Markdown file under ``paths``; other formats only need to exist."""
    report = CheckReport()
    files, missing = discover(paths)
    report.errors.extend(f"{m.path}: {m.reason}" for m in missing)
    where: dict[str, str] = {}
    for path in files:
        if path.suffix.lower() not in (".md", ".markdown"):
            problem = stat_problem(path)  # a symlink loop or a dangling link does not exist
            if problem:
                report.errors.append(f"{path}: {problem}")
            continue
        record, problems = check_structured_file(path)
        report.errors.extend(f"{path}:{line}: {message}" if line else f"{path}: {message}"
                             for line, message in problems)
        if record is None:
            continue
        if record.id in where:
            report.errors.append(f"{path}: 编号 {record.id} 与 {where[record.id]} 重复")
            continue
        where[record.id] = str(path)
        report.records.append(record)
    by_id = {r.id: r for r in report.records}
    for record in report.records:
        for member in record.members:
            if member not in by_id:
                report.errors.append(f"{where[record.id]}: 一件事成员 {member} 不存在")
            elif by_id[member].kind != "guide":
                report.errors.append(f"{where[record.id]}: 一件事成员 {member} 不是办事指南")
        if record.kind == "bundle" and not record.members:
            report.errors.append(f"{where[record.id]}: 一件事套餐缺少 members")
        if record.kind == "bundle":
            _check_bundle(record, by_id, where[record.id], report)
        for index, pair in enumerate(record.faq, 1):
            if pair.about and pair.about not in by_id:
                report.errors.append(f"{where[record.id]}: faq 第{index}项的 about（{pair.about}）不是已有事项的编号")
        report.warnings.extend(f"{where[record.id]}: {w}" for w in validity.problems(record, today))
    return report


def _check_bundle(record: Record, by_id: dict[str, Record], path: str, report: CheckReport) -> None:
    derived = derive(record, by_id)
    report.errors.extend(f"{path}: {e}" for e in derived.errors)
    promised = unpromised(record, by_id.values())
    if promised:
        report.errors.append(f"{path}: 一件事套餐的 summary/process 承诺办理{'、'.join(promised)}，"
                             "但它不在 members 中：加入成员，或从承诺中删去")

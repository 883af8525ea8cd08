"""The shipped knowledge base: complete, consistent, sourced, and ingestible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.check import check_paths

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"


def test_check_reports_no_errors_and_enough_items():
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "check", str(KNOWLEDGE), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    report = json.loads(proc.stdout)
    assert report["errors"] == [] and proc.returncode == 0
    assert report["by_kind"]["guide"] >= 40
    assert report["by_kind"]["bundle"] >= 10
    assert report["by_kind"]["policy"] >= 15


def test_ids_unique_members_exist_and_every_record_is_sourced():
    report = check_paths([KNOWLEDGE])
    records = {r.id: r for r in report.records}
    assert len(records) == len(report.records)
    for record in records.values():
        assert record.sources, record.id
        assert record.updated, record.id
        for member in record.members:
            assert records[member].kind == "guide", (record.id, member)
        if record.kind == "guide":
            assert record.materials, record.id
        if record.kind == "policy":
            assert record.eligibility is not None, record.id


def test_no_invented_phone_numbers():
    # Phones are only written where an official source gives one; today none is.
    report = check_paths([KNOWLEDGE])
    assert all(not r.phone for r in report.records)


def test_check_points_at_file_and_line(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: x\nkind: guide\ntitle: 测试\ndepartment: 部门\nmaterials:\n  - {form: 原件}\n"
                   "sources: [s]\nupdated: 2026-01-01\n---\n", encoding="utf-8")
    bundle = tmp_path / "b.md"
    bundle.write_text("---\nid: b\nkind: bundle\ntitle: 套餐\nmembers: [no-such-guide]\nsources: [s]\n"
                      "updated: 2026-01-01\n---\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "check", str(tmp_path), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert any(e.startswith(f"{bad}:7:") for e in report["errors"]), report["errors"]
    assert any("no-such-guide" in e and str(bundle) in e for e in report["errors"])


def test_the_whole_knowledge_base_ingests_without_failure(kb_store, engine):
    # kb_store asserts no failed file; every record is served.
    assert len(engine.records) == len(check_paths([KNOWLEDGE]).records)

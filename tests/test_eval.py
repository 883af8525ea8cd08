"""`govbot eval`: a set shaped like shared/eval/retrieval_eval.json goes through the real ingest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EVAL_SET = {
    "meta": {"description": "tiny"},
    "corpus": [
        {"id": "boat_permit", "title": "游船营运许可", "text": "申请游船营运许可需要游船检验证书和船员适任证书。"},
        {"id": "pet_shop", "title": "宠物店经营备案", "text": "开宠物店需要备案申请表和经营场所平面图。"},
        {"id": "tea_house", "title": "茶馆卫生许可", "text": "茶馆应取得卫生许可，提交卫生管理制度。"},
    ],
    "queries": [
        {"q": "游船营运要什么证书", "relevant": ["boat_permit"], "tags": ["materials"]},
        {"q": "开宠物店怎么备案", "relevant": ["pet_shop"], "tags": ["colloquial"]},
        {"q": "茶馆卫生许可要什么", "relevant": ["tea_house"], "tags": ["materials"]},
    ],
}


def test_eval_json_reports_recall_and_mrr_per_tag(tmp_path: Path):
    file = tmp_path / "eval.json"
    file.write_text(json.dumps(EVAL_SET, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "eval", str(file), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)
    assert scores["n"] == 3 and scores["r1"] == 1.0 and scores["r5"] == 1.0 and scores["mrr10"] == 1.0
    assert scores["by_tag"]["materials"]["n"] == 2


def test_eval_of_a_broken_file_is_a_clear_error(tmp_path: Path):
    file = tmp_path / "eval.json"
    file.write_text("{not json", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "eval", str(file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "无法读取" in proc.stderr and "Traceback" not in proc.stderr

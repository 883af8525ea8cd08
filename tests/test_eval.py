"""`govbot eval`: a set shaped like shared/eval/retrieval_eval.json goes through the real ingest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


# ----- `govbot eval` over a development directory -----

FIXTURE_KB = ROOT / "tests" / "fixtures" / "kb"
SHARED_EVAL = ROOT.parent / "shared" / "eval"

# A scorer with the answers kit's interface (load_questions, score_one, summarize), so these tests do
# not need the shared kit; the tests further down use the kit's own score.py when it is there.
STUB_SCORER = '''
import json
TYPES = ("materials", "time", "unanswerable")
SHORT_TYPES = ("time",)

def load_questions(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

def score_one(q, rec):
    answer, sources = rec.get("answer", ""), rec.get("sources", [])
    out = {"id": q["id"], "type": q["type"], "q": q["q"], "doc": q["doc"], "answer": answer,
           "grounded": rec.get("grounded"), "malformed": False, "missing": []}
    if q["doc"] is None:
        out.update(facts_ok=None, recall=None, source_ok=None, refusal_ok=rec.get("grounded") is False)
        return out
    hits = [any(a in answer for a in fact) for fact in q["expect"]]
    out.update(facts_ok=all(hits), recall=sum(hits) / len(hits), refusal_ok=None,
               source_ok=any(q["doc"] in s["source"] for s in sources), false_refusal=rec.get("grounded") is False)
    return out

def summarize(results):
    ans = [r for r in results if r["doc"] is not None]
    una = [r for r in results if r["doc"] is None]
    pct = lambda xs: 100.0 * sum(xs) / len(xs) if xs else float("nan")
    lengths = sorted(len(r["answer"]) for r in ans if r["type"] in SHORT_TYPES)
    return {"facts": pct([r["facts_ok"] for r in ans]), "recall": pct([r["recall"] for r in ans]),
            "source": pct([r["source_ok"] for r in ans]), "refusal": pct([r["refusal_ok"] for r in una]),
            "false_refusal": pct([r["false_refusal"] for r in ans]), "malformed": 0, "n": len(results),
            "chars_p50": 0.0, "short_chars_p50": float(lengths[(len(lengths) - 1) // 2]) if lengths else 0.0}
'''

ANSWER_QUESTIONS = [
    {"id": "t1", "q": "烘焙作坊登记证需要哪些材料", "doc": "demo-bakery-permit.md", "type": "materials",
     "expect": [["烘焙作坊登记申请表"], ["加工场所平面布局图"]]},
    {"id": "t2", "q": "门店招牌设置备案要多久", "doc": "demo-shop-sign.md", "type": "time", "expect": [["3个工作日"]]},
    {"id": "t3", "q": "叉车使用登记要几天", "doc": "demo-forklift-registration.md", "type": "time",
     "expect": [["5个工作日"], ["现场演示"]]},  # the second fact is not in the guide: facts fail, recall half
    {"id": "t4", "q": "游艇码头经营许可怎么办理", "doc": None, "type": "unanswerable", "expect": []},
]

REALQ_ROWS = [
    # in scope, fact held
    {"q": "烘焙作坊登记证要什么材料", "expect_id": "demo-bakery-permit", "also_ok": [], "in_scope": True, "note": ""},
    {"q": "开面包店要办什么", "expect_id": "demo-bundle-bakery", "also_ok": ["demo-bakery-permit"], "in_scope": True,
     "note": ""},
    {"q": "刻章在哪里办", "expect_id": "demo-seal-engraving", "also_ok": [], "in_scope": True, "note": ""},
    {"q": "仓库消防检查\n要多久", "expect_id": "demo-warehouse-fire", "also_ok": [], "in_scope": True, "note": ""},
    # in scope, the knowledge base lacks the fact
    {"q": "门店招牌设置备案有效期多久", "expect_id": "demo-shop-sign", "also_ok": [], "in_scope": True,
     "note": "KB没有有效期"},
    {"q": "招牌备案要年检吗", "expect_id": "demo-shop-sign", "also_ok": [], "in_scope": True, "note": "缺此细节"},
    {"q": "叉车登记证几年换一次", "expect_id": "demo-forklift-registration", "also_ok": [], "in_scope": True,
     "note": "KB没有"},
    {"q": "快递驿站备案要交押金吗", "expect_id": "demo-courier-outlet", "also_ok": [], "in_scope": True,
     "note": "KB无押金"},
    # out of scope
    {"q": "游艇码头经营许可怎么办理", "expect_id": None, "also_ok": [], "in_scope": False, "note": ""},
    {"q": "成都", "expect_id": None, "also_ok": [], "in_scope": False, "note": ""},
]

# Scripted answers: (answer, first record id or None, grounded). One per branch of realq_score.py.
SCRIPT = {
    "烘焙作坊登记证要什么材料": ("材料清单", "demo-bakery-permit", True),  # route ok
    "开面包店要办什么": ("作坊登记", "demo-bakery-permit", True),  # ok through also_ok
    "刻章在哪里办": ("招牌窗口", "demo-shop-sign", True),  # wrong item: not routed, not a refusal
    "仓库消防检查 要多久": ("抱歉", None, False),  # false refusal (the newline became a space)
    "门店招牌设置备案有效期多久": ("没有写明有效期", "demo-shop-sign", False),  # honest: not grounded
    "招牌备案要年检吗": ("《门店招牌设置备案》没有写明年检", "demo-shop-sign", True),  # honest: says not stated
    "叉车登记证几年换一次": ("每4年换一次", "demo-forklift-registration", True),  # invented
    "快递驿站备案要交押金吗": ("未写明押金", "demo-shop-sign", True),  # wrong item: invented
    "游艇码头经营许可怎么办理": ("抱歉", None, False),  # refused
    "成都": ("成都的规定如下", "demo-seal-engraving", True),  # answered: not a refusal
}


class ScriptedEngine:
    """Answers from SCRIPT, so the figures test the scoring, not today's engine."""

    def __init__(self, answers: dict[str, tuple[str, str | None, bool]], source_dir: Path | None = None):
        self.answers = answers
        self.source_dir = source_dir
        self.asked: list[tuple[str, object]] = []

    def ask(self, question: str, state=None):
        from bot.engine import AnswerResult

        self.asked.append((question, state))
        if question == "boom":
            raise RuntimeError("engine failure")
        answer, record_id, grounded = self.answers.get(question, ("抱歉，没有找到", None, False))
        sources = [{"title": "t", "source": str(self.source_dir / f"{record_id}.md"), "section": "s"}] \
            if record_id and self.source_dir else []
        return AnswerResult(answer, sources=sources, grounded=grounded, record_ids=[record_id] if record_id else [])


def write_kit(kit: Path, scorer: str | None = None) -> Path:
    (kit / "docs").mkdir(parents=True)
    for name in ("guides/demo-bakery-permit.md", "guides/demo-shop-sign.md", "guides/demo-forklift-registration.md"):
        (kit / "docs" / Path(name).name).write_bytes((FIXTURE_KB / name).read_bytes())
    (kit / "questions.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in ANSWER_QUESTIONS), encoding="utf-8")
    (kit / "score.py").write_text(scorer if scorer is not None else STUB_SCORER, encoding="utf-8")
    return kit


def write_realq(file: Path) -> Path:
    file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in REALQ_ROWS), encoding="utf-8")
    return file


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "GOVBOT_EMBEDDING": "hash", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env=env)


def test_eval_runs_every_dev_set_into_one_json_object(tmp_path: Path, small_store: Path):
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "retrieval_eval.json").write_text(json.dumps(EVAL_SET, ensure_ascii=False), encoding="utf-8")
    write_kit(dev / "answers")
    write_realq(dev / "realq-dev.jsonl")
    proc = run_cli("eval", "--dev-dir", str(dev), "--store", str(small_store), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # one JSON object and nothing else on stdout
    assert result["embedder"] == "hash" and result["skipped"] == {} and result["errors"] == {}
    assert result["retrieval"]["n"] == 3 and result["retrieval"]["r1"] == 1.0
    answers = result["answers"]
    assert (answers["n"], answers["n_answerable"], answers["n_unanswerable"]) == (4, 3, 1)
    assert answers["embedder"] == "hash" and answers["ingest_failed"] == []
    for key in ("facts", "source", "refusal", "false_refusal", "short_chars_p50"):
        assert isinstance(answers[key], int | float), key
    assert answers["facts"] <= 66.7  # t3 asks for a fact its guide does not hold
    realq = result["realq"]
    assert (realq["n"], realq["n_in"], realq["n_missing"], realq["n_out"]) == (10, 4, 4, 2)
    assert realq["store"] == str(small_store) and realq["embedder"] == "hash"
    for key in ("route", "refusal", "false_refusal", "missing_fact_honest"):
        assert 0 <= realq[key] <= 100, key


def test_eval_table_skips_an_absent_set_with_one_line(tmp_path: Path):
    dev = tmp_path / "dev"
    dev.mkdir()
    write_realq(dev / "realq-dev.jsonl")
    proc = run_cli("eval", "--dev-dir", str(dev), "--knowledge", str(FIXTURE_KB), env_extra={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    skip_lines = [line for line in proc.stderr.splitlines() if line.startswith("跳过")]
    assert len(skip_lines) == 2 and "retrieval_eval.json" in skip_lines[0] and "answers" in skip_lines[1]
    for text in ("开发集评测", "真实问题", "路由", "误拒", "缺细节如实", "已跳过"):
        assert text in proc.stdout, text
    assert "R@1" not in proc.stdout and "Traceback" not in proc.stderr


def test_eval_of_a_dev_dir_without_sets_is_a_clear_error(tmp_path: Path):
    proc = run_cli("eval", "--dev-dir", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "没有任何评测集" in proc.stderr and "Traceback" not in proc.stderr
    assert sum(line.startswith("跳过") for line in proc.stderr.splitlines()) == 3


def test_answers_are_asked_one_by_one_and_scored_by_the_kits_scorer(tmp_path: Path):
    from bot.evaluation import evaluate_answers

    kit = write_kit(tmp_path / "answers")
    script = {
        "烘焙作坊登记证需要哪些材料": ("1. 烘焙作坊登记申请表\n4. 加工场所平面布局图", "demo-bakery-permit", True),
        "门店招牌设置备案要多久": ("承诺3个工作日", "demo-forklift-registration", True),  # right fact, wrong file
        "叉车使用登记要几天": ("5个工作日", "demo-forklift-registration", True),  # one fact of two
    }
    engines: list[ScriptedEngine] = []

    def factory(store: Path) -> ScriptedEngine:
        engines.append(ScriptedEngine(script, source_dir=store.parent / "docs"))
        return engines[-1]

    result = evaluate_answers(kit, engine_factory=factory, embedder="hash", details=True)
    assert [state for _, state in engines[0].asked] == [None] * 4  # no conversation state between lines
    assert (result["facts"], result["source"], result["refusal"]) == (66.7, 66.7, 100.0)
    assert result["false_refusal"] == 0.0 and result["short_chars_p50"] == len("5个工作日")  # the lower median
    assert result["by_type"]["time"]["n"] == 2 and result["by_type"]["unanswerable"]["refusal"] == 100.0
    assert [f["id"] for f in result["failures"]] == ["t2", "t3"]


def test_a_question_that_crashes_the_engine_is_a_refusal_not_a_crash():
    from bot.asking import ask_line

    result = ask_line(ScriptedEngine({}), "boom\n")
    assert not result.grounded and "出错" in result.answer


def test_realq_figures_follow_realq_score_definitions(small_store: Path):
    from bot.evaluation import evaluate_realq
    from bot.evaluation.realq import score

    engine = ScriptedEngine(SCRIPT)
    result = evaluate_realq(write_realq(small_store.parent / "realq.jsonl"), store=small_store,
                            engine_factory=lambda _: engine, details=True)
    assert (result["n_in"], result["n_missing"], result["n_out"]) == (4, 4, 2)
    assert result["route"] == 50.0 and result["false_refusal"] == 25.0
    assert result["missing_fact_honest"] == 50.0 and result["refusal"] == 50.0
    assert "仓库消防检查 要多久" in [q for q, _ in engine.asked]
    assert len(result["failures"]) == 5
    assert score([], []) == {"n": 0, "n_in": 0, "n_missing": 0, "n_out": 0, "route": 0.0, "refusal": 0.0,
                             "false_refusal": 0.0, "missing_fact_honest": 0.0, "failures": []}


FAKE_CLI = '''
import json, sys
SCRIPT = json.loads(sys.argv[1])
if sys.argv[2] == "ask":
    for line in sys.stdin:
        answer, rid, grounded = SCRIPT.get(line.rstrip("\\n"), ["抱歉", None, False])
        print(json.dumps({"answer": answer, "grounded": grounded, "record_ids": [rid] if rid else [],
                          "sources": []}, ensure_ascii=False), flush=True)
'''


@pytest.mark.skipif(not (SHARED_EVAL / "realq_score.py").exists(), reason="shared/eval/realq_score.py absent")
def test_realq_figures_equal_what_realq_score_prints(tmp_path: Path):
    """The same scripted answers through the shared script itself give the same four figures."""
    import shlex

    from bot.evaluation.realq import markers, score

    questions = write_realq(tmp_path / "realq.jsonl")
    fake = tmp_path / "fake_cli.py"
    fake.write_text(FAKE_CLI, encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    cmd = shlex.join([sys.executable, str(fake), json.dumps(SCRIPT, ensure_ascii=False)])
    proc = subprocess.run([sys.executable, str(SHARED_EVAL / "realq_score.py"), "--cmd", cmd, "--store", str(store),
                           "--questions", str(questions)], capture_output=True, text=True, timeout=120)
    printed = proc.stdout.strip().splitlines()[-1]
    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines()]
    outs = [{"answer": a, "grounded": g, "record_ids": [r] if r else []}
            for a, r, g in (SCRIPT[q["q"].replace("\n", " ")] for q in rows)]
    mine = score(rows, outs, *markers(SHARED_EVAL / "realq-dev.jsonl"))
    assert printed == (f"realq: route={mine['route']:.1f}% refusal={mine['refusal']:.1f}% "
                       f"false_refusal={mine['false_refusal']:.1f}% "
                       f"missing_fact_honest={mine['missing_fact_honest']:.1f}% n={mine['n']}")


@pytest.mark.skipif(not (SHARED_EVAL / "answers" / "score.py").exists(), reason="shared answers kit absent")
def test_the_shared_kits_scorer_is_used_as_is(tmp_path: Path):
    from bot.evaluation import evaluate_answers

    kit = write_kit(tmp_path / "answers", scorer=(SHARED_EVAL / "answers" / "score.py").read_text(encoding="utf-8"))
    script = {"烘焙作坊登记证需要哪些材料": ("《烘焙作坊登记申请表》、加工场所平面布局图", "demo-bakery-permit", True),
              "门店招牌设置备案要多久": ("３个工作日", "demo-shop-sign", True),  # full width: NFKC folds it
              "游艇码头经营许可怎么办理": ("暂无该事项", None, True)}  # a refusal phrase counts as refusal
    result = evaluate_answers(kit, engine_factory=lambda store: ScriptedEngine(script, store.parent / "docs"),
                              embedder="hash")
    assert (result["facts"], result["source"], result["refusal"]) == (66.7, 66.7, 100.0)
    assert result["recall"] == 66.7 and result["false_refusal"] == 33.3

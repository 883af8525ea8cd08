"""Development-set evaluations behind `govbot eval`.

- ``retrieval``: shared/eval/retrieval_eval.json → R@1, R@5, MRR@10 (``evaluate``);
- ``answers``: shared/eval/answers/ → facts, source, refusal, short-answer length (the kit's own scorer);
- ``realq``: shared/eval/realq-dev.jsonl over an index of knowledge/ → route, refusal, false refusal,
  honesty when the fact is missing (realq_score.py's definitions);
- ``suite``: all sets found in one directory (``run_all``) and the summary table.
"""

from bot.evaluation.answers import evaluate_answers
from bot.evaluation.realq import evaluate_realq
from bot.evaluation.retrieval import evaluate, write_corpus
from bot.evaluation.suite import DEFAULT_DEV_DIR, run_all, summary_table

__all__ = ["DEFAULT_DEV_DIR", "evaluate", "evaluate_answers", "evaluate_realq", "run_all", "summary_table",
           "write_corpus"]

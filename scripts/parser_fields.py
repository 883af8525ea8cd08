"""Field capture of the guide parser: do the expected facts land in the field the answer quotes?

For every answerable question of a field type (materials, condition, time, fee, where, process,
validity) we load its document with the real loader and check that each expected fact occurs in
the text of the record field that type is answered from, after the kit's normalisation.

    PYTHONPATH=. HF_HUB_OFFLINE=1 /work/main/.venv/bin/python scripts/parser_fields.py \
        [--docs DIR] [--questions FILE] [--verbose]

Defaults are the answer kit in /work/shared/eval/answers. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from ingest.chunking import days, material_line
from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, load_file
from ingest.schema import Record

KIT = Path("/work/shared/eval/answers")
TYPES = ("materials", "condition", "time", "fee", "where", "process", "validity")
_DROP = re.compile(r"[\s《》“”「」【】〔〕()、，,。；;]")


def norm(text: str) -> str:
    """The kit's normalisation: NFKC, lower case, whitespace and some punctuation removed."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def field_text(record: Record, qtype: str) -> str:
    """The text the answer engine would quote for a question of this type."""
    if qtype == "materials":
        return "\n".join(material_line(i, m) for i, m in enumerate(record.materials, 1))
    if qtype == "condition":
        return "\n".join(record.conditions)
    if qtype == "time":
        t = record.time_limit
        if t is None:
            return ""
        lines = []
        if t.legal_days is not None:
            lines.append(f"法定办结时限：{days(t.legal_days)}")
        if t.promised_days is not None:
            lines.append(f"承诺办结时限：{days(t.promised_days)}")
        return "\n".join([*lines, t.notes])
    if qtype == "fee":
        return record.fee
    if qtype == "where":
        w = record.where
        parts = [w.window, w.address, w.online, w.hours] if w else []
        return "\n".join([*parts, record.phone])
    if qtype == "process":
        return "\n".join(record.process)
    return "\n".join(s.text for s in record.sections)  # validity: any section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=KIT / "docs")
    parser.add_argument("--questions", type=Path, default=KIT / "questions.jsonl")
    parser.add_argument("--verbose", action="store_true", help="print every missed fact")
    args = parser.parse_args(argv)

    records: dict[str, Record | None] = {}
    for path in sorted(args.docs.iterdir()):
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            try:
                records[path.name] = load_file(path, re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-"))
            except LoadError as exc:
                print(f"load failed: {exc}", file=sys.stderr)
                records[path.name] = None

    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in args.questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        question = json.loads(line)
        qtype = question["type"]
        if qtype not in TYPES or not question["expect"]:
            continue
        record = records.get(question["doc"])
        text = norm(field_text(record, qtype)) if record else ""
        missed = [fact for fact in question["expect"] if not any(norm(alt) in text for alt in fact)]
        hits[qtype][1] += 1
        hits[qtype][0] += not missed
        if missed and args.verbose:
            print(f"MISS {question['id']} {qtype:9} {question['doc'][:28]:28} {[fact[0] for fact in missed]}")

    total = [sum(h[0] for h in hits.values()), sum(h[1] for h in hits.values())]
    for qtype in TYPES:
        if hits[qtype][1]:
            ok, n = hits[qtype]
            print(f"{qtype:10} {ok:3}/{n:<3} {100 * ok / n:5.1f}%")
    print(f"{'all':10} {total[0]:3}/{total[1]:<3} {100 * total[0] / max(total[1], 1):5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Parse one DOCX, PDF or XLSX in a child process with a memory cap (the parent enforces the time).

A decompression bomb then costs a bounded child, not the ingest or the web server (reliability F7):
``python -m ingest.office_worker <suffix> <path shown in messages> <memory MB> <max pages>``
reads the file's bytes on stdin and prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import asdict


def main(argv: list[str]) -> int:
    suffix, shown, memory_mb, max_pages = argv[0], argv[1], int(argv[2]), int(argv[3])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    data = sys.stdin.buffer.read()
    from ingest import xlsx
    from ingest.loaders.common import LoadError
    from ingest.loaders.docx import _docx_blocks
    from ingest.loaders.pdf import _pdf_blocks

    try:
        if suffix == ".docx":
            title, blocks = _docx_blocks(data, shown)
        elif suffix == ".xlsx":
            title, blocks = xlsx.load_xlsx(data, shown)
        else:
            title, blocks = "", _pdf_blocks(data, shown, max_pages=max_pages)
        out = {"title": title, "blocks": [asdict(b) for b in blocks]}
    except LoadError as exc:
        out = {"error": exc.reason, "line": exc.line}
    except MemoryError:
        out = {"error": f"解析所需内存超过上限 {memory_mb} MB（可能是压缩炸弹或异常复杂的文件）", "line": None}
    except RecursionError:
        out = {"error": "文档结构嵌套层级过深，无法解析", "line": None}
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

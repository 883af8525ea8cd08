"""The web channel's Jinja2 templates: the globals and filters every page uses, and ``page()``.

The templates object lives on ``app.state.templates`` (create_app builds one per app), so routes in
any module render through ``page(request, name, **values)`` without a closure.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot import messages
from bot.compose import is_url, source_label
from bot.intent import INTENTS
from bot.matcher import plain_labels
from ingest import provenance, validity
from ingest.chunking import days, needed_by
from ingest.schema import SECTION_LABELS

HERE = Path(__file__).resolve().parent
KIND_LABELS = messages.WEB_KIND_LABELS
INTENT_LABELS = {str(intent): info.label for intent, info in INTENTS.items()}  # the admin page's chart
STATUS_LABELS = messages.WEB_STATUS_LABELS


def dept_group(department: str) -> str:
    """The main department, for grouping: '税务部门（主管税务机关）' and '税务部门' are one group."""
    head = re.split(r"[（(；;，,]", department, maxsplit=1)[0].strip()
    return head or messages.WEB_OTHER_DEPARTMENT


def form_label(form: str) -> str:
    return form or "—"


def _root(request: Request) -> dict[str, Any]:
    return {"root": request.scope.get("root_path", "")}


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_root])
    templates.env.globals.update(
        KIND_LABELS=KIND_LABELS, SECTION_LABELS=SECTION_LABELS, INTENT_LABELS=INTENT_LABELS,
        STATUS_LABELS=STATUS_LABELS, is_url=is_url, source_label=source_label, form_label=form_label,
        validity_notice=validity.notice, validity_status=validity.status, source_tag=provenance.source_tag,
        provenance_note=provenance.note, needed_by=needed_by,
    )
    templates.env.filters["days"] = days
    templates.env.filters["plain_labels"] = plain_labels
    templates.env.tests["is_url"] = is_url
    return templates


def page(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, values, status_code=status_code)

"""Configuration checks that need no network: the token, TELEGRAM_ADMIN_IDS, webhook options and route."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlparse

from telegram import Update

from bot import texts

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def token_problem(token: str | None) -> str | None:
    """A Chinese explanation of what is wrong with the token, or None when it looks right."""
    if not token or not token.strip():
        return texts.TOKEN_MISSING
    if not TOKEN_RE.match(token.strip()):
        return texts.TOKEN_MALFORMED
    return None


def parse_admin_ids(raw: str | None) -> frozenset[int]:
    """TELEGRAM_ADMIN_IDS: comma-separated numeric user ids; anything else is ignored with a warning."""
    ids: set[int] = set()
    for part in re.split(r"[,，\s]+", raw or ""):
        if not part:
            continue
        if re.fullmatch(r"-?\d+", part):
            ids.add(int(part))
        else:
            log.warning("%s", texts.ADMIN_IDS_MALFORMED.format(value=part))
    return frozenset(ids)


def webhook_options(webhook_url: str, listen: str = "0.0.0.0", port: int = 8443,
                    secret: str | None = None) -> dict[str, Any]:
    """Keyword arguments for run_webhook/start_webhook; the local path mirrors the public URL's path."""
    parsed = urlparse(webhook_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(texts.WEBHOOK_URL_MALFORMED)
    if secret is not None and not SECRET_RE.match(secret):
        raise ValueError(texts.SECRET_MALFORMED)
    return {"listen": listen, "port": port, "url_path": parsed.path.lstrip("/"), "webhook_url": webhook_url,
            "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}


def webhook_route(webhook_url: str, secret: str | None) -> str:
    """The web app's path for Telegram's updates in `govbot serve`: the public URL's own path.

    A reverse proxy passes the path through unchanged, so one setting says both where Telegram posts
    and which route answers. The secret is required: without it anyone who finds the URL could post
    updates as any user, an admin included. Raises ValueError with the reason, naming the setting.
    """
    parsed = urlparse(webhook_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path.rstrip("/") == "":
        raise ValueError(texts.SERVE_WEBHOOK_URL_MALFORMED.format(url=webhook_url))
    if not secret:
        raise ValueError(texts.SERVE_WEBHOOK_SECRET_MISSING)
    if not SECRET_RE.match(secret):
        raise ValueError(texts.SERVE_WEBHOOK_SECRET_MALFORMED)
    return parsed.path

"""What one client may make the server do: body size, request rate, admin sessions and guesses.

Admin sessions live in the database (GOVBOT_DATABASE_URL), so replicas behind a load balancer share
them and a logout on one revokes them on all. The rate and guess counters are in memory, per
process: a restart forgets them, and N replicas allow N times the rate.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select
from sqlalchemy.engine import Engine as SqlEngine
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.database import create_tables

MAX_CLIENTS = 10_000  # counters kept at most; the least recently seen client is forgotten first
metadata = MetaData()
# The id itself is only in the admin's cookie; the table holds its hash, so a copy of the database
# does not sign anyone in.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("sid_hash", String(64), primary_key=True),
    Column("csrf", String(64), nullable=False),
    Column("expires", Float, nullable=False),
)


def client_key(scope: Scope, trust_forwarded_for: bool = False) -> str:
    """The peer address, or behind a trusted proxy the address the proxy saw (the last entry it
    appended to X-Forwarded-For; earlier entries come from the client and could be forged)."""
    if trust_forwarded_for:
        for key, value in scope.get("headers", []):
            if key == b"x-forwarded-for":
                last = value.decode("latin-1").split(",")[-1].strip()
                if last:
                    return last
    client = scope.get("client")
    return client[0] if client else "unknown"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes its cap; the app's handler shows the Chinese page."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodyLimit:
    """Caps every request body while it streams, chunked or not, before anything spools it to disk.

    A declared Content-Length over the cap is refused on the first read, without reading; a
    chunked body is counted and cut at the cap (reliability F3: 1 GB chunked was written to disk).
    """

    def __init__(self, app: ASGIApp, default: int, per_path: dict[str, int], messages: dict[int, str]) -> None:
        self.app = app
        self.default = default
        self.per_path = per_path
        self.messages = messages  # limit -> the message shown when it is passed

    def limit_for(self, path: str) -> int:
        return self.per_path.get(path.rstrip("/") or "/", self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        message = self.messages.get(limit, "请求内容过大。")
        declared = _content_length(scope)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if declared is not None and declared > limit:
                raise BodyTooLarge(message)
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(message)
            return event

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RateLimiter:
    """A token bucket per client: ``burst`` requests at once, then ``per_minute`` a minute."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


@dataclass
class Session:
    expires: float
    csrf: str


class AdminGuard:
    """The admin token check, failed-guess throttling, server-side sessions and their CSRF tokens."""

    def __init__(self, token: str, db: SqlEngine, *, max_failures: int, lockout_s: int,
                 session_hours: float) -> None:
        self._token = token.encode()
        self.db = db
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.session_s = session_hours * 3600
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client -> (count, blocked until)
        self._lock = threading.Lock()
        create_tables(db, metadata)

    # ----- guesses -----
    def blocked_for(self, client: str, now: float | None = None) -> int:
        """Seconds this client must wait before its next token attempt (0: it may try)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            _, until = self._failures.get(client, (0, 0.0))
        return max(0, math.ceil(until - now))

    def check_token(self, client: str, offered: str, now: float | None = None) -> bool:
        """Compare in constant time and count a wrong guess; after ``max_failures`` the client waits,
        twice as long after each further wrong guess (F10: 915 guesses a second were possible)."""
        now = time.monotonic() if now is None else now
        ok = hmac.compare_digest(offered.strip().encode(), self._token)
        with self._lock:
            if ok:
                self._failures.pop(client, None)
                return True
            count, _ = self._failures.pop(client, (0, 0.0))
            count += 1
            over = count - self.max_failures
            until = now + self.lockout_s * 2 ** min(over, 10) if over >= 0 else 0.0
            self._failures[client] = (count, until)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)
        return False

    # ----- sessions -----
    @staticmethod
    def _hash(sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()

    def open_session(self, now: float | None = None) -> tuple[str, Session]:
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(32)
        session = Session(expires=now + self.session_s, csrf=secrets.token_urlsafe(32))
        with self.db.begin() as conn:
            conn.execute(delete(admin_sessions).where(admin_sessions.c.expires <= now))
            conn.execute(insert(admin_sessions).values(sid_hash=self._hash(sid), csrf=session.csrf,
                                                       expires=session.expires))
        return sid, session

    def session(self, sid: str | None, now: float | None = None) -> Session | None:
        """The live session for a cookie value; expiry is the server's, not the browser's (F11)."""
        if not sid or len(sid) > 100:
            return None
        now = time.time() if now is None else now
        with self.db.connect() as conn:
            row = conn.execute(select(admin_sessions.c.csrf, admin_sessions.c.expires)
                               .where(admin_sessions.c.sid_hash == self._hash(sid))).first()
        if row is None or row.expires <= now:
            return None
        return Session(expires=row.expires, csrf=row.csrf)

    def revoke(self, sid: str | None) -> None:
        if sid:
            with self.db.begin() as conn:
                conn.execute(delete(admin_sessions).where(admin_sessions.c.sid_hash == self._hash(sid)))

    @staticmethod
    def csrf_ok(session: Session, offered: object) -> bool:
        return isinstance(offered, str) and hmac.compare_digest(offered.encode(), session.csrf.encode())


def same_origin(headers: Mapping[str, str]) -> bool:
    """False when the browser says the request comes from another site (Origin, else Referer).

    Requests without either header (curl, scripts with the X-Admin-Token header) pass: the check is
    against browsers carrying an admin's cookie from a sibling site (F12). X-Forwarded-Host counts
    as this site too (a proxy that rewrites Host): another site's form cannot set that header.
    """
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return not source
    hosts = {h.strip().lower() for h in (headers.get("host", ""), headers.get("x-forwarded-host", "")) if h}
    return urlsplit(source).netloc.lower() in hosts

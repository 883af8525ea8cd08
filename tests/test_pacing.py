"""The messengers' outgoing token buckets, on an injected clock (no sleeping, nothing timed)."""

from __future__ import annotations

import pytest

from bot.channels import dingtalk, feishu, wecom
from bot.channels.pacing import Limit, Pacer, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_a_burst_through_then_paces_the_rest() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [bucket.reserve() for _ in range(2)] == [0.5, 1.0]  # queued behind each other
    clock.now += 10  # idle: refilled, but never above the burst
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_chats_are_paced_apart_under_the_app_limit() -> None:
    clock = Clock()
    pacer = Pacer(Limit(rate=1.0, burst=1), Limit(rate=10.0, burst=2), clock=clock)
    assert pacer.reserve("a") == 0.0
    assert pacer.reserve("b") == 0.0  # another chat has its own bucket
    assert pacer.reserve("a") == 1.0  # the chat's bucket waits longest
    assert pacer.reserve("c") == pytest.approx(0.2)  # a fresh chat still waits for the app's bucket


def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.channels import pacing

    monkeypatch.setattr(pacing, "MAX_CHATS", 2)
    clock = Clock()
    pacer = Pacer(Limit(rate=1.0, burst=1), clock=clock)
    pacer.reserve("idle")
    clock.now += 5  # "idle" is full again
    pacer.reserve("busy")
    pacer.reserve("new")  # the idle bucket makes room
    assert sorted(pacer.chats) == ["busy", "new"]
    pacer.reserve("newer")  # nothing idle: the oldest goes
    assert sorted(pacer.chats) == ["new", "newer"]


def test_no_minute_exceeds_what_the_platforms_document() -> None:
    # Sends a chat can make in its first minute: the burst plus the refill over 60 seconds.
    assert dingtalk.PER_CHAT.burst + 60 * dingtalk.PER_CHAT.rate <= 20  # 20 a minute per group
    assert wecom.PER_USER.burst + 60 * wecom.PER_USER.rate <= 30  # 30 a minute per member
    assert wecom.PER_USER.burst + 3600 * wecom.PER_USER.rate <= 1000  # and 1000 an hour
    # Feishu, per second: 5 to one chat, 50 for the app.
    assert feishu.PER_CHAT.burst + feishu.PER_CHAT.rate <= 5
    assert feishu.PER_APP.burst + feishu.PER_APP.rate <= 50


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=0, burst=1)

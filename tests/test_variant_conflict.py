"""Who an item serves is a variant axis: a person's own affair is not an employer's item, and a
reflexive 自己 ("the organiser itself") says nothing about who is asking."""

from __future__ import annotations

import pytest

from bot.terms import variant_conflict


@pytest.mark.parametrize(("question", "name", "conflict"), [
    ("养老保险个人怎么交", "单位社会保险登记（参保登记）", 1.0),
    ("本人医保怎么参保", "单位基本医疗保险参保登记", 1.0),
    ("单位招用灵活就业人员怎么办社保登记", "单位社会保险登记（参保登记）", 0.0),
    ("展会的主办机构自己能申请市场推广基金吗", "中小企业市场推广基金", 0.0),
    ("个人独资企业怎么设立", "个人独资企业设立登记", 0.0),
])
def test_who_the_item_serves(question: str, name: str, conflict: float) -> None:
    assert variant_conflict(question, name) == conflict

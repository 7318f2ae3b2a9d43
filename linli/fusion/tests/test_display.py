"""The review queue's matcher evidence in words, in both languages."""

from __future__ import annotations

from django.utils import translation

from linli.fusion.models import MatchReview
from linli.fusion.views.display import evidence_items


def test_evidence_levels_are_shown_in_words() -> None:
    # given the matcher's evidence of an uncertain pair
    review = MatchReview(evidence={"name": "homophone", "birth": "one_digit", "sex": "same", "address": "different",
                                   "phone": "", "id": "missing"})
    # when / then
    with translation.override("zh-hans"):
        assert evidence_items(review) == [("姓名", "同音"), ("出生日期", "差一位数字"), ("性别", "一致"),
                                          ("住址", "不同"), ("身份证号", "缺失")]
    with translation.override("en"):
        assert ("Name", "Homophone") in evidence_items(review)


def test_an_unknown_level_or_a_score_is_shown_as_it_is() -> None:
    review = MatchReview(evidence={"name": "novel_level", "score": 0.934})
    assert evidence_items(review) == [("姓名", "novel_level"), ("score", "0.93")]

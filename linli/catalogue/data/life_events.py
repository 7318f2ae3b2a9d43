"""Life events (人生一件事) and the items each of them usually needs.

Zhejiang's service halls bundle the items one event brings ("出生一件事": the birth
certificate, the baby's household registration and medical insurance …; "身后一件事":
cancelling the registration, funeral relief, the pension's funeral grant …). A query that
names the event — in the official words its synonyms map to — nudges every item of the
bundle, so "刚生了宝宝要办哪些事" lists the birth items rather than whatever shares a word.

Triggers are official terms (as the synonym table writes them), matched against the
query's own and expanded tokens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LifeEvent:
    """One event: the words that name it and the items it brings, most needed first."""

    triggers: tuple[str, ...]
    items: tuple[str, ...]


LIFE_EVENTS: dict[str, LifeEvent] = {
    "出生": LifeEvent(("出生", "新生儿", "出生登记"), ("WJ006", "GA005", "YB002", "WJ008", "WJ007")),
    "身后": LifeEvent(("死亡", "殡葬", "去世"), ("GA006", "MZ019", "RS010", "CL005")),
    "退役": LifeEvent(("退役军人", "退伍"), ("TY003", "TY001", "TY007", "TY006")),
    "失业": LifeEvent(("失业",), ("RS001", "RS005", "RS004")),
    "高龄": LifeEvent(("高龄",), ("MZ006", "MZ009", "WJ010")),
    "新居民": LifeEvent(("流动人口",), ("GA003", "GA001")),
    "入学": LifeEvent(("入学",), ("SQ009", "SQ001")),
}

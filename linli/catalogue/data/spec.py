"""The shape of a seed item and small builders for its form fields and rule conditions.

A seed item is compact on purpose: the full form definition (applicant step, optional
agent step, item details, one upload per material) is derived by
``linli.catalogue.seed_items.build_form`` so a hundred items share one layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class SeedItem:
    """One service item of the seed catalogue (政务服务事项清单 row)."""

    code: str
    name: str
    department: str
    level: str  # district | street | community
    kind: str  # instant | promised
    time_limit_days: int
    promised_days: int
    conditions: str
    # Material codes of linli.catalogue.data.materials; a leading "?" marks an optional one.
    materials: tuple[str, ...]
    legal_basis: str
    keywords: str = ""
    fees: str = "不收费"
    steps: tuple[str, ...] = ()
    fields: tuple[JSON, ...] = field(default_factory=tuple)
    rule: JSON | None = None


INSTANT_STEPS = (
    "申请人通过窗口、自助终端或网上提交申请",
    "系统比对户籍、人员标签和已享待遇，即时判定",
    "当场办结，告知判定结果及理由",
)
PROMISED_STEPS = (
    "申请人向所在社区（村）提交申请及材料",
    "社区预受理，一次性告知需补正的材料",
    "街道（乡镇）受理并审核，必要时入户调查",
    "主管部门审批（审核确认）",
    "办结，结果告知申请人，需要公示的予以公示",
)
DISTRICT_STEPS = (
    "申请人在街道便民服务中心或网上提交申请",
    "街道窗口收件并预审，材料齐全的转区级部门",
    "区级主管部门审核决定",
    "办结，结果送达或邮寄",
)


def opt(value: str, label: str) -> JSON:
    return {"value": value, "label": label}


def text(key: str, label: str, *, required: bool = True, help: str = "", max_length: int = 100) -> JSON:
    return {"key": key, "label": label, "type": "text", "required": required, "help": help,
            "max_length": max_length}


def textarea(key: str, label: str, *, required: bool = True, help: str = "") -> JSON:
    return {"key": key, "label": label, "type": "textarea", "required": required, "help": help,
            "max_length": 1000}


def number(key: str, label: str, *, min: float = 0, max: float = 1_000_000,
           required: bool = True, help: str = "") -> JSON:
    return {"key": key, "label": label, "type": "number", "required": required, "help": help,
            "min": min, "max": max}


def date(key: str, label: str, *, required: bool = True, help: str = "") -> JSON:
    return {"key": key, "label": label, "type": "date", "required": required, "help": help}


def boolean(key: str, label: str, *, help: str = "") -> JSON:
    return {"key": key, "label": label, "type": "boolean", "required": False, "help": help}


def select(key: str, label: str, options: list[tuple[str, str]], *, required: bool = True,
           help: str = "", multi: bool = False) -> JSON:
    return {"key": key, "label": label, "type": "multiselect" if multi else "select",
            "required": required, "help": help, "options": [opt(v, lbl) for v, lbl in options]}


def id_number(key: str, label: str, *, required: bool = True, help: str = "") -> JSON:
    return {"key": key, "label": label, "type": "id_number", "required": required, "help": help}


def phone(key: str, label: str, *, required: bool = True) -> JSON:
    return {"key": key, "label": label, "type": "phone", "required": required, "help": ""}


# Rule conditions (the declarative language of linli.catalogue.rules).

def fact(name: str, op: str, value: Any, message: str) -> JSON:
    return {"fact": name, "op": op, "value": value, "message": message}


def age_at_least(years: int) -> JSON:
    return fact("person.age", "gte", years, f"申请人须年满{years}周岁")


def age_below(years: int) -> JSON:
    return fact("person.age", "lt", years, f"申请人须未满{years}周岁")


def local_hukou() -> JSON:
    return fact("person.hukou", "eq", "local", "申请人须为本地户籍人口")


def migrant() -> JSON:
    return fact("person.hukou", "eq", "migrant", "申请人须为非本地户籍的流动人口")


def alive() -> JSON:
    return fact("person.is_deceased", "eq", value=False, message="申请人须健在（户籍未注销）")


def has_tag(tag: str, message: str) -> JSON:
    return fact("person.tags", "has_tag", tag, message)


def answered(key: str, value: Any, message: str) -> JSON:
    return fact(f"application.{key}", "eq", value, message)


def no_benefit(code: str, message: str) -> JSON:
    return {"not": fact(f"benefit.{code}", "exists", value=True, message=message)}


def all_of(*conditions: JSON) -> JSON:
    return {"all": list(conditions)}

"""Load the seed catalogue (117 items a street and its communities handle) into
``ServiceItem`` + ``ServiceItemVersion`` through the catalogue services.

Idempotent: a second run writes nothing. An item whose seed definition changed gets a new
version (the old one stays, with the applications filed under it); a version a person
published in the UI is never overwritten unless ``force=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from linli.accounts.services import department_named
from linli.catalogue.data.items import SEED_ITEMS
from linli.catalogue.data.materials import MATERIALS
from linli.catalogue.data.spec import (
    INSTANT_STEPS,
    JSON,
    PROMISED_STEPS,
    SeedItem,
    answered,
    id_number,
    phone,
    select,
    text,
    textarea,
)
from linli.catalogue.models import ServiceItem, ServiceItemVersion
from linli.catalogue.services import item_create, item_publish_version, item_update
from linli.core.actors import Actor

_VERSION_FIELDS = ("time_limit_days", "promised_days", "conditions", "materials", "fees", "legal_basis",
                   "steps", "form", "rules")
_ITEM_FIELDS = ("name", "department", "level", "kind", "search_keywords")
AGENT_RELATIONS = [("spouse", "配偶"), ("child", "子女"), ("parent", "父母"), ("relative", "其他亲属"),
                   ("grid_worker", "网格员代办"), ("other", "其他")]


def build_materials(item: SeedItem) -> list[JSON]:
    """``[{code, name, required, example, accept}]`` from the item's material codes."""
    out: list[JSON] = []
    for ref in item.materials:
        code = ref.lstrip("?")
        material = MATERIALS[code]
        out.append({"code": code, "name": material.name, "required": not ref.startswith("?"),
                    "example": material.example, "accept": list(material.accept)})
    return out


def build_form(item: SeedItem) -> JSON:
    """The guided form: applicant (prefilled from the registry), agent (only when someone
    applies on the applicant's behalf), the item's own questions, one upload per material."""
    applicant = [
        text("name", "申请人姓名", max_length=50) | {"prefill": "person.name"},
        id_number("id_number", "申请人身份证号") | {"prefill": "person.id_number"},
        phone("phone", "联系电话") | {"prefill": "person.phone"},
        text("home_address", "现居住地址", required=False, max_length=200) | {"prefill": "person.address"},
        {"key": "by_agent", "label": "由他人代为申请", "type": "boolean", "required": False,
         "help": "老人、残疾人等可由亲属或网格员代办"},
    ]
    agent = [
        text("agent_name", "代办人姓名", max_length=50),
        id_number("agent_id_number", "代办人身份证号"),
        phone("agent_phone", "代办人电话"),
        select("agent_relation", "与申请人关系", AGENT_RELATIONS),
    ]
    details = list(item.fields) or [textarea("remark", "补充说明", required=False,
                                             help="需要说明的其他情况（选填）")]
    uploads = [
        {"key": f"m_{m['code']}", "label": m["name"], "type": "upload", "required": m["required"],
         "help": m["example"], "material": m["code"]}
        for m in build_materials(item)
    ]
    steps: list[JSON] = [
        {"key": "applicant", "title": "申请人信息", "help": "已登记的居民自动带出，请核对", "when": None,
         "fields": applicant},
        {"key": "agent", "title": "代办人信息", "help": "代办须提供代办人身份证及委托书",
         "when": answered("by_agent", value=True, message="由他人代为申请"), "fields": agent},
        {"key": "details", "title": "申请事项", "help": item.conditions, "when": None, "fields": details},
    ]
    if uploads:
        steps.append({"key": "materials", "title": "上传材料", "help": "拍照或扫描上传，原件窗口核验",
                      "when": None, "fields": uploads})
    return {"steps": steps}


def seed_definition(item: SeedItem) -> dict[str, Any]:
    """The version fields the seed publishes for ``item`` (keyword arguments of
    ``item_publish_version``)."""
    default_steps = INSTANT_STEPS if item.kind == "instant" else PROMISED_STEPS
    return {
        "time_limit_days": item.time_limit_days,
        "promised_days": item.promised_days,
        "conditions": item.conditions,
        "materials": build_materials(item),
        "fees": item.fees,
        "legal_basis": item.legal_basis,
        "steps": list(item.steps or default_steps),
        "form": build_form(item),
        "rules": item.rule,
    }


@dataclass
class CatalogueSeedReport:
    """What a seed run did, by item code."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    republished: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_local_edits: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.republished) + len(self.unchanged) + len(
            self.kept_local_edits)


def _version_differs(version: ServiceItemVersion | None, definition: dict[str, Any]) -> bool:
    if version is None:
        return True
    return any(getattr(version, name) != definition[name] for name in _VERSION_FIELDS)


def catalogue_seed(
    *, actor: Actor, items: Sequence[SeedItem] = SEED_ITEMS, force: bool = False,
) -> CatalogueSeedReport:
    """Create or update the seed items; every write goes through the audited services.

    ``force`` also replaces definitions a person published (a new version on top: nothing
    is deleted, applications keep their version).
    """
    report = CatalogueSeedReport()
    # A seed item names its department by short name (条线, "民政"): one department each.
    departments = {text: department_named(actor=actor, text=text) for text in {s.department for s in items}}
    existing = {i.code: i for i in ServiceItem.objects.select_related("current_version", "department")
                .filter(code__in=[s.code for s in items])}
    for seed in items:
        definition = seed_definition(seed)
        department = departments[seed.department]
        fields: dict[str, Any] = {"name": seed.name, "department": department, "level": seed.level,
                                  "kind": seed.kind, "search_keywords": seed.keywords}
        item = existing.get(seed.code)
        if item is None:
            item = item_create(actor=actor, code=seed.code, name=seed.name, department=department, level=seed.level,
                               kind=seed.kind, search_keywords=seed.keywords)
            item_publish_version(actor=actor, item=item, **definition)
            report.created.append(seed.code)
            continue
        current = item.current_version
        edited_by_person = current is not None and current.created_by_id is not None
        if edited_by_person and not force:
            report.kept_local_edits.append(seed.code)
            continue
        changes = {k: v for k, v in fields.items() if getattr(item, k) != v}
        if changes:
            item_update(actor=actor, item=item, changes=changes)
        if _version_differs(current, definition):
            item_publish_version(actor=actor, item=item, **definition)
            report.republished.append(seed.code)
        elif changes:
            report.updated.append(seed.code)
        else:
            report.unchanged.append(seed.code)
    return report

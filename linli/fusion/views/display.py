"""How fusion objects are shown to people: a source row beside a registry person, field
values in words, the evidence of a conflict. Personal identifiers are always masked here;
nothing in this module writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from linli.core import pii
from linli.fusion.mapping import SourceDefinition
from linli.fusion.models import MatchReview, Source, SourceRecord, VerificationTask
from linli.fusion.normalise import normalise_date, normalise_name, normalise_sex
from linli.fusion.pipeline import definition_of
from linli.fusion.views.context import EVIDENCE_LABELS, EVIDENCE_LEVELS, field_label
from linli.registry.choices import HukouStatus, Sex
from linli.registry.models import Person, Room
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

# The fields compared side by side in the review queue, in this order.
COMPARED: tuple[str, ...] = ("name", "id_number", "birth_date", "sex", "phone", "address")
_PII_BINDING = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}


@dataclass(frozen=True)
class CompareRow:
    """One line of the side-by-side view: the field, both values, whether they differ."""

    field: str
    label: str
    record: str
    person: str
    differs: bool


def _mask(field: str, value: str) -> str:
    if field == "id_number":
        return pii.mask_id_number(value)
    if field == "phone":
        return pii.mask_phone(value)
    return value


def record_values(record: SourceRecord, definition: SourceDefinition | None = None) -> dict[str, str]:
    """The row's values by registry field, as the department wrote them (PII masked)."""
    definition = definition or definition_of(record.source)
    raw = record.raw or {}
    values: dict[str, str] = {}
    address_parts: list[str] = []
    for column, cmap in definition.columns.items():
        text = raw.get(column)
        token = raw.get(f"{column}_enc")
        if token and cmap.field in _PII_BINDING:
            try:
                text = pii.decrypt(str(token), field=_PII_BINDING[cmap.field])
            except Exception:  # a value under a rotated-away key: show that it exists, not what it is
                text = "****"
        if text in (None, ""):
            continue
        shown = _mask(cmap.field, str(text))
        if cmap.field in ("address", "building", "unit", "room"):
            address_parts.append(shown)
        else:
            values.setdefault(cmap.field, shown)
    if address_parts:
        values["address"] = " ".join(address_parts)
    return values


def room_text(unit_number: Any, room_number: Any) -> str:
    if unit_number in (None, ""):
        return _("%(room)s室") % {"room": room_number}
    return _("%(unit)s单元%(room)s室") % {"unit": unit_number, "room": room_number}


def room_address(value: str) -> str:
    """``room:<id>`` (how provenance names a residence) → the room's address."""
    kind, _sep, pk = value.partition(":")
    if kind != "room" or not pk.isdigit():
        return ""
    room = Room.objects.select_related("building", "unit").filter(pk=int(pk)).first()
    return f"{room.building.address} {room_text(room.unit.number, room.number)}" if room else ""


def person_address(person: Person) -> str:
    if person.room_id is not None and person.room is not None:
        room = person.room
        return f"{room.building.address} {room_text(room.unit.number, room.number)}"
    if person.building_id is not None and person.building is not None:
        return person.building.address
    return ""


def person_values(person: Person) -> dict[str, str]:
    return {
        "name": person.name,
        "id_number": person.id_number_masked,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "sex": str(Sex(person.sex).label) if person.sex in Sex.values else "",
        "phone": person.phone_masked,
        "address": person_address(person),
    }


def _same(field: str, record: str, person: Person, shown: str) -> bool:
    """Whether the department's value says the same as the registry (after normalising)."""
    if field == "birth_date":
        return bool(normalise_date(record).value == person.birth_date)
    if field == "sex":
        return bool(normalise_sex(record).value == (person.sex or None))
    if field == "name":
        return normalise_name(record) == person.name
    return record == shown


def compare(record: SourceRecord, person: Person | None) -> list[CompareRow]:
    """The source row beside the candidate person, field by field."""
    left = record_values(record)
    right = person_values(person) if person is not None else {}
    rows = []
    for field in COMPARED:
        a, b = left.get(field, ""), right.get(field, "")
        differs = bool(a and b and person is not None and not _same(field, a, person, b))
        rows.append(CompareRow(field=field, label=field_label(field), record=a, person=b, differs=differs))
    return rows


def evidence_items(review: MatchReview) -> list[tuple[str, str]]:
    """The matcher's comparison levels in words, e.g. ("姓名", "同音")."""
    items = []
    for key, value in (review.evidence or {}).items():
        if value in (None, ""):
            continue
        label = EVIDENCE_LABELS.get(key)
        level = EVIDENCE_LEVELS.get(str(value))
        shown = f"{value:.2f}" if isinstance(value, float) else str(level) if level is not None else str(value)
        items.append((str(label) if label is not None else key, shown))
    return items


def value_text(field: str, value: str) -> str:
    """A stored field value in words (``1`` → 已故, ``F`` → 女, ``migrant`` → 流动人口)."""
    if value == "":
        return ""
    if field == "is_deceased":
        return _("已故") if value in ("1", "true", "True") else _("健在")
    if field == "sex" and value in Sex.values:
        return str(Sex(value).label)
    if field == "hukou" and value in HukouStatus.values:
        return str(HukouStatus(value).label)
    if field == "disability_grade" and value.isdigit():
        return _("%(g)s级") % {"g": value}
    if field == "residence" and value.startswith("room:"):
        return ""  # a room id says nothing to a person; callers show the address instead
    return value


@dataclass(frozen=True)
class EvidenceLine:
    """What one side (a department, or the registry) says about the task's field."""

    who: str
    value: str
    row: int | None


def task_evidence(task: VerificationTask, sources: dict[int, Source]) -> list[EvidenceLine]:
    """The conflicting values of a verification task, PII masked."""
    evidence = task.evidence or {}
    field = task.field
    lines: list[EvidenceLine] = []
    current = evidence.get("current") or {}
    source = sources.get(int(current["source_id"])) if current.get("source_id") else None
    shown = value_text(field, str(current.get("value") or ""))
    if field in ("phone", "id_number"):
        # The evidence keeps personal values masked only (``masked``), never in plain text.
        shown = str(current.get("masked") or "")
    elif field == "residence":
        shown = str(current.get("masked") or "") or room_address(str(current.get("value") or ""))
    lines.append(EvidenceLine(
        # What the registry held when the conflict was found: an authoritative incoming value
        # has replaced it since, so it is not called "current".
        who=(_("%(dept)s(导入前登记)") % {"dept": source.department}) if source else _("导入前登记"),
        value=shown or "—", row=None,
    ))
    incoming = evidence.get("incoming") or {}
    if incoming:
        lines.append(EvidenceLine(
            who=str(incoming.get("department") or incoming.get("source") or ""),
            value=value_text(field, str(incoming.get("value") or "")) or str(incoming.get("value") or "—"),
            row=int(incoming["row"]) if incoming.get("row") else None,
        ))
    return lines

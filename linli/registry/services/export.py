"""The masked, audited download of one grid's persons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

from django.db import transaction
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.core.actors import Actor
from linli.core.services import audit_record
from linli.geo.models import Area
from linli.registry.models import Person
from linli.registry.selectors import person_export_for_user

EXPORT_FIELDS: Final = ("name", "sex", "birth_date", "id_number", "phone", "hukou", "ethnicity",
                        "address", "relation", "is_deceased")


@dataclass(frozen=True)
class PersonExport:
    """What :func:`person_export` hands to a renderer (CSV, spreadsheet): header and rows."""

    grid: Area
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _export_address(person: Person) -> str:
    address = person.building.address if person.building else ""
    if person.room is not None:
        address += f" {person.room.unit.number}-{person.room.number}"
    return address.strip()


def person_export(*, actor: User, grid_id: int, request_id: str = "") -> PersonExport:
    """The persons of one grid, masked, for download; the export itself is audited.

    Scoped like every read (``NotFound`` outside the actor's grids) and refused without
    ``EXPORT_REGISTRY``. The audit entry names the columns and the row count, no values.
    """
    grid, persons = person_export_for_user(user=actor, grid_id=grid_id)
    header = (_("姓名"), _("性别"), _("出生日期"), _("身份证号"), _("电话"), _("户籍类别"),
              _("民族"), _("地址"), _("与户主关系"), _("已故"))
    with transaction.atomic():
        rows: list[tuple[str, ...]] = [
            (p.name, p.get_sex_display(), p.birth_date.isoformat() if p.birth_date else "",
             p.id_number_masked, p.phone_masked, p.get_hukou_display(), p.ethnicity,
             _export_address(p), p.get_relation_display(), _("是") if p.is_deceased else "")
            for p in persons
        ]
        audit_record(actor=cast("Actor", actor), action="registry.export", target_type="geo.area",
                     target_id=grid.pk, fields=EXPORT_FIELDS, reason=f"rows={len(rows)}",
                     request_id=request_id)
    return PersonExport(grid=grid, header=tuple(str(h) for h in header), rows=rows)

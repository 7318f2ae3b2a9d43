"""The masked, audited downloads: one grid's persons (CSV), a filtered person list (XLSX)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final, cast

import xlsxwriter
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core.actors import Actor
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area
from linli.registry.choices import SENSITIVE_TAGS, TagKind
from linli.registry.models import Person
from linli.registry.selectors import (
    PersonFilter,
    age_on,
    person_export_for_user,
    person_list_for_user,
)

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


# A whole district unfiltered is a million rows: that is a backup, not a list to hand out.
LIST_EXPORT_ROWS_MAX: Final = 50_000


@dataclass(frozen=True)
class PersonListExport:
    """A filtered person list (key population, grid, age) ready for a spreadsheet."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _filter_title(filters: PersonFilter, grid_name: str) -> str:
    parts = [grid_name or _("全部网格")]
    if filters.tag:
        parts.append(str(TagKind(filters.tag).label))
    if filters.age_min is not None or filters.age_max is not None:
        low = "" if filters.age_min is None else str(filters.age_min)
        high = "" if filters.age_max is None else str(filters.age_max)
        parts.append(_("%(low)s–%(high)s岁") % {"low": low, "high": high})
    return " · ".join(parts)


def person_list_export(*, actor: User, filters: PersonFilter, request_id: str = "") -> PersonListExport:
    """The persons of :func:`person_list_for_user` (masked values), for download; audited
    with the filters and the row count, never values. Needs ``EXPORT_REGISTRY``."""
    if not scope_for(actor).can(Permission.EXPORT_REGISTRY):
        raise PermissionDenied(_("无权导出名单"))
    persons = person_list_for_user(user=actor, filters=filters)
    if persons.count() > LIST_EXPORT_ROWS_MAX:
        raise ValidationFailed("grid", _("名单超过 %(max)d 人,请按网格、类别或年龄缩小范围")
                               % {"max": LIST_EXPORT_ROWS_MAX})
    first = persons.first() if filters.grid_id is not None else None
    grid_name = first.grid.name if first is not None and first.grid is not None else ""
    header = (_("姓名"), _("性别"), _("出生日期"), _("年龄"), _("身份证号"), _("电话"), _("户籍类别"),
              _("网格"), _("地址"))
    today = timezone.localdate()
    with transaction.atomic():
        rows: list[tuple[str, ...]] = [
            (p.name, p.get_sex_display(), p.birth_date.isoformat() if p.birth_date else "",
             str(age_on(p.birth_date, today)) if p.birth_date else "",
             p.id_number_masked, p.phone_masked, p.get_hukou_display(),
             p.grid.name if p.grid else "", _export_address(p))
            for p in persons
        ]
        audit_record(actor=cast("Actor", actor), action="registry.export_list", target_type="registry.person",
                     fields=LIST_EXPORT_FIELDS, reason=_filter_reason(filters, len(rows)),
                     request_id=request_id)
    return PersonListExport(title=_filter_title(filters, grid_name),
                            header=tuple(str(h) for h in header), rows=rows)


LIST_EXPORT_FIELDS: Final = ("name", "sex", "birth_date", "id_number", "phone", "hukou", "grid", "address")


def _filter_reason(filters: PersonFilter, count: int) -> str:
    """The filters as the audit log keeps them (codes, not words: the log is for machines too)."""
    return (f"tag={filters.tag} grid={filters.grid_id or ''} age_min={'' if filters.age_min is None else filters.age_min}"
            f" age_max={'' if filters.age_max is None else filters.age_max} rows={count}")


def person_list_access_record(*, actor: Actor, filters: PersonFilter, request_id: str = "") -> bool:
    """Log that someone listed a sensitive key population (PIPL art. 28). True when logged."""
    if filters.tag not in SENSITIVE_TAGS:
        return False
    with transaction.atomic():
        audit_record(actor=actor, action="person.list_sensitive", target_type="registry.person",
                     fields=["tags"], reason=_filter_reason(filters, -1).removesuffix(" rows=-1"),
                     request_id=request_id)
    return True


def person_list_xlsx(export: PersonListExport) -> bytes:
    """One sheet: the title, the header, one line per person; cells are text, never formulas."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False})
    sheet = book.add_worksheet(_("名单"))
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    sheet.write(0, 0, export.title, bold)
    for col, heading in enumerate(export.header):
        sheet.write(2, col, heading, head)
    for line, row in enumerate(export.rows, start=3):
        for col, cell in enumerate(row):
            sheet.write_string(line, col, cell)
    sheet.freeze_panes(3, 1)
    sheet.set_column(0, len(export.header) - 1, 14)
    sheet.set_column(len(export.header) - 1, len(export.header) - 1, 36)
    book.close()
    return buffer.getvalue()

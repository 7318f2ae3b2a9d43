"""Writes of places and what sits in them: buildings, units, rooms, households,
organisations and facilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import pii
from linli.core.actors import Actor
from linli.core.errors import ApplicationError, ErrorCode, ValidationFailed
from linli.core.services import audit_record, audit_record_many
from linli.geo.area_files import RowProblem
from linli.geo.models import Area
from linli.registry.building_files import BuildingRow
from linli.registry.choices import FacilityKind, OrganisationKind, RoomUse
from linli.registry.models import Building, Facility, Household, Organisation, Room, Unit
from linli.registry.services.guards import (
    _locate_grid,
    _require_grid,
    _require_scope,
    validate_point,
)
from linli.registry.text import PII_ORG_PHONE
from linli.registry.validators import parse_credit_code, parse_phone


def building_create(
    *,
    actor: Actor,
    grid: Area,
    name: str,
    address: str,
    lon: float,
    lat: float,
    compound: str = "",
    floors: int = 1,
    built_year: int | None = None,
) -> Building:
    _require_scope(actor, grid)
    _require_grid(grid)
    lon, lat = validate_point(lon=lon, lat=lat)
    if not address.strip():
        raise ValidationFailed("address", _("地址不能为空"))
    if floors < 1:
        raise ValidationFailed("floors", _("层数至少为1"))
    with transaction.atomic():
        building = Building.objects.create(
            grid=grid, name=name.strip(), address=address.strip(), compound=compound.strip(),
            lon=lon, lat=lat, floors=floors, built_year=built_year,
        )
        audit_record(actor=actor, action="building.create", target_type="registry.building",
                     target_id=building.pk, fields=["grid", "name", "address", "lon", "lat"])
    return building


def unit_create(*, actor: Actor, building: Building, number: int) -> Unit:
    _require_scope(actor, building)
    if number < 1:
        raise ValidationFailed("number", _("单元号至少为1"))
    with transaction.atomic():
        if Unit.objects.filter(building=building, number=number).exists():
            raise ValidationFailed("number", _("该单元已存在"), code=ErrorCode.CONFLICT)
        unit = Unit.objects.create(building=building, number=number)
        audit_record(actor=actor, action="unit.create", target_type="registry.unit",
                     target_id=unit.pk, fields=["building", "number"])
    return unit


def room_create(
    *,
    actor: Actor,
    unit: Unit,
    floor: int,
    number: str,
    use: RoomUse = RoomUse.SELF_OCCUPIED,
    area_m2: Decimal | None = None,
) -> Room:
    _require_scope(actor, unit)
    number = number.strip()
    if not number:
        raise ValidationFailed("number", _("室号不能为空"))
    with transaction.atomic():
        if Room.objects.filter(unit=unit, number=number).exists():
            raise ValidationFailed("number", _("该房屋已存在"), code=ErrorCode.CONFLICT)
        room = Room.objects.create(unit=unit, building_id=unit.building_id, floor=floor,
                                   number=number, use=use, area_m2=area_m2)
        audit_record(actor=actor, action="room.create", target_type="registry.room",
                     target_id=room.pk, fields=["unit", "floor", "number", "use"])
    return room


def room_set_use(*, actor: Actor, room: Room, use: RoomUse) -> Room:
    _require_scope(actor, room)
    with transaction.atomic():
        room.use = use
        room.save(update_fields=["use", "updated_at"])
        audit_record(actor=actor, action="room.set_use", target_type="registry.room",
                     target_id=room.pk, fields=["use"])
    return room


def household_create(
    *,
    actor: Actor,
    number: str,
    room: Room | None = None,
    grid: Area | None = None,
) -> Household:
    """A household in a room (its grid follows the room's building) or, roomless, in a grid."""
    if room is not None:
        grid = room.building.grid
    if grid is None:
        raise ValidationFailed("grid", _("请选择房屋或网格"))
    _require_scope(actor, room if room is not None else grid)
    _require_grid(grid)
    with transaction.atomic():
        if Household.objects.filter(number=number).exists():
            raise ValidationFailed("number", _("户号已存在"), code=ErrorCode.CONFLICT)
        household = Household.objects.create(number=number, room=room, grid=grid)
        audit_record(actor=actor, action="household.create", target_type="registry.household",
                     target_id=household.pk, fields=["number", "room", "grid"])
    return household


def organisation_create(
    *,
    actor: Actor,
    kind: OrganisationKind | str,
    name: str,
    grid: Area,
    credit_code: str = "",
    building: Building | None = None,
    address: str = "",
    lon: float | None = None,
    lat: float | None = None,
    contact_name: str = "",
    contact_phone: str | None = None,
    employees: int | None = None,
) -> Organisation:
    _require_scope(actor, grid, building)
    _require_grid(grid)
    if not name.strip():
        raise ValidationFailed("name", _("名称不能为空"))
    code = parse_credit_code(credit_code) if credit_code.strip() else ""
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            raise ValidationFailed("lon" if lon is None else "lat", _("经纬度须同时填写"))
        lon, lat = validate_point(lon=lon, lat=lat)
    phone = parse_phone(contact_phone, field="contact_phone") if contact_phone else ""
    with transaction.atomic():
        if code and Organisation.objects.filter(credit_code=code).exists():
            raise ValidationFailed("credit_code", _("该统一社会信用代码已登记"), code=ErrorCode.CONFLICT)
        org = Organisation.objects.create(
            kind=kind, name=name.strip(), credit_code=code, grid=grid, building=building,
            address=address.strip(), lon=lon, lat=lat, contact_name=contact_name,
            contact_phone_enc=pii.encrypt(phone, field=PII_ORG_PHONE) if phone else "",
            contact_phone_masked=pii.mask_phone(phone) if phone else "", employees=employees,
        )
        audit_record(actor=actor, action="organisation.create", target_type="registry.organisation",
                     target_id=org.pk, fields=["kind", "name", "credit_code", "grid", "contact_phone"])
    return org


def facility_create(
    *,
    actor: Actor,
    kind: FacilityKind | str,
    code: str,
    name: str,
    lon: float,
    lat: float,
    grid: Area | None = None,
    building: Building | None = None,
    in_service: bool = True,
) -> Facility:
    """A facility at a point; its grid is the explicit ``grid``, else the one containing it."""
    lon, lat = validate_point(lon=lon, lat=lat)
    if grid is None:
        grid = _locate_grid(lon=lon, lat=lat)
    if grid is None:
        raise ValidationFailed("grid", _("该位置不在任何网格内,请指定网格"))
    _require_scope(actor, grid, building)
    _require_grid(grid)
    if not code.strip():
        raise ValidationFailed("code", _("编号不能为空"))
    with transaction.atomic():
        if Facility.objects.filter(code=code.strip()).exists():
            raise ValidationFailed("code", _("该编号已存在"), code=ErrorCode.CONFLICT)
        facility = Facility.objects.create(kind=kind, code=code.strip(), name=name.strip(),
                                           grid=grid, building=building, lon=lon, lat=lat,
                                           in_service=in_service)
        audit_record(actor=actor, action="facility.create", target_type="registry.facility",
                     target_id=facility.pk, fields=["kind", "code", "name", "grid", "lon", "lat"])
    return facility


@dataclass
class BuildingLoadReport:
    """What a building layer did (or, in a dry run, would do)."""

    created: list[BuildingRow] = field(default_factory=list)
    changed: list[tuple[BuildingRow, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def _outline_changes(building: Building, row: BuildingRow) -> dict[str, object]:
    wanted: dict[str, object] = {"lon": row.lon, "lat": row.lat}
    if row.footprint is not None:
        wanted["footprint"] = row.footprint
    for name in ("compound", "floors", "built_year"):
        value = getattr(row, name)
        if value not in (None, ""):
            wanted[name] = value
    return {k: v for k, v in wanted.items() if getattr(building, k) != v}


def buildings_load(*, actor: Actor, rows: Sequence[BuildingRow], dry_run: bool = False) -> BuildingLoadReport:
    """Outlines and positions of a building layer onto the registry: a building of the same
    address gets the file's outline, position, compound, floors and year; an address the
    registry lacks becomes a new building in the grid its position falls in. A building the
    file would move into another grid, an address held by two buildings, a position in no grid
    or outside the actor's scope are problems of that feature, and then nothing is written."""
    report = BuildingLoadReport()
    seen: dict[str, str] = {}
    by_address: dict[str, list[Building]] = {}
    for building in Building.objects.filter(address__in={r.address for r in rows}):
        by_address.setdefault(building.address, []).append(building)
    plan_new: list[tuple[BuildingRow, Area]] = []
    plan_change: list[tuple[Building, BuildingRow, dict[str, object]]] = []
    for row in rows:
        try:
            if row.address in seen:
                raise ValidationFailed("address", _("地址与%(where)s重复") % {"where": seen[row.address]})
            seen[row.address] = row.where
            found = by_address.get(row.address, [])
            if len(found) > 1:
                raise ValidationFailed("address", _("系统中有%(n)d个楼栋是这个地址") % {"n": len(found)})
            grid = _locate_grid(lon=row.lon, lat=row.lat)
            if grid is None:
                raise ValidationFailed("geometry", _("位置不在任何网格内"))
            if found:
                building = found[0]
                _require_scope(actor, building)
                if grid.pk != building.grid_id:
                    raise ValidationFailed("geometry", _("位置在网格%(new)s,楼栋属于网格%(old)s;请先调整网格")
                                           % {"new": grid.code, "old": building.grid.code})
                changes = _outline_changes(building, row)
                if changes:
                    plan_change.append((building, row, changes))
                    report.changed.append((row, sorted(changes)))
                else:
                    report.unchanged += 1
            else:
                _require_scope(actor, grid)
                plan_new.append((row, grid))
                report.created.append(row)
        except ApplicationError as error:
            report.problems.append(RowProblem(row.where, error.field or "-", error.message))
    if report.problems or dry_run:
        return report
    with transaction.atomic():
        for row, grid in plan_new:
            building = building_create(actor=actor, grid=grid, name=row.name or row.address[-50:], address=row.address,
                                       lon=row.lon, lat=row.lat, compound=row.compound, floors=row.floors or 1,
                                       built_year=row.built_year)
            if row.footprint is not None:
                Building.objects.filter(pk=building.pk).update(footprint=row.footprint)
        for building, _row, changes in plan_change:
            Building.objects.filter(pk=building.pk).update(**changes)
        audit_record_many(actor=actor, action="building.outline", target_type="registry.building",
                          targets=[(b.pk, sorted(changes)) for b, _r, changes in plan_change])
    return report

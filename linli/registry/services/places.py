"""Writes of places and what sits in them: buildings, units, rooms, households,
organisations and facilities."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import pii
from linli.core.actors import Actor
from linli.core.errors import ErrorCode, ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area
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

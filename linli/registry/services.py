"""Writes of the registry: places, households, persons, organisations, facilities, tags.

Every function is keyword-only, owns its transaction and writes an audit entry inside it
with field *names* only. Personal identifiers are validated, then stored encrypted, as a
blind index and masked (see :mod:`linli.registry.models`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, Literal, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core import pii
from linli.core.actors import Actor
from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.selectors import grid_locator
from linli.registry.choices import (
    SENSITIVE_TAGS,
    FacilityKind,
    HukouStatus,
    OrganisationKind,
    RoomUse,
)
from linli.registry.models import (
    Building,
    Facility,
    Household,
    Organisation,
    Person,
    PersonTag,
    Room,
    Unit,
)
from linli.registry.selectors import person_export_for_user
from linli.registry.text import PII_ID_NUMBER, PII_ORG_PHONE, PII_PHONE, pinyin_keys
from linli.registry.validators import (
    check_birth_and_sex,
    parse_credit_code,
    parse_id_number,
    parse_phone,
)

PERSON: Final = "registry.person"
# Mainland China with a margin (WGS-84): refuses swapped lon/lat and (0, 0).
CHINA_LON: Final = (73.0, 136.0)
CHINA_LAT: Final = (3.0, 54.0)
REVEAL_REASON_MIN: Final = 4


class _Unset:
    """Marker for "leave this field as it is" in updates."""


UNSET: Final = _Unset()


def validate_point(*, lon: float, lat: float) -> tuple[float, float]:
    """Refuse non-numeric, non-finite or out-of-China coordinates, naming ``lon`` / ``lat``."""
    checked: list[float] = []
    for field, value, (low, high) in (("lon", lon, CHINA_LON), ("lat", lat, CHINA_LAT)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationFailed(field, _("坐标不是数字")) from None
        if not math.isfinite(number):
            raise ValidationFailed(field, _("坐标不是有限数值"))
        if not low <= number <= high:
            raise ValidationFailed(field, _("坐标超出中国范围"))
        checked.append(number)
    return checked[0], checked[1]


def _require_grid(grid: Area, *, field: str = "grid") -> None:
    if grid.level != AreaLevel.GRID:
        raise ValidationFailed(field, _("所选区域不是网格"))


def _locate_grid(*, lon: float, lat: float) -> Area | None:
    """The grid containing the point (a point on a shared edge goes to the locator's pick)."""
    grid_id = grid_locator().locate(lon, lat).grid_id
    return None if grid_id is None else Area.objects.filter(pk=grid_id).first()


# --- places ---------------------------------------------------------------------------------


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
    _require_grid(grid)
    with transaction.atomic():
        if Household.objects.filter(number=number).exists():
            raise ValidationFailed("number", _("户号已存在"), code=ErrorCode.CONFLICT)
        household = Household.objects.create(number=number, room=room, grid=grid)
        audit_record(actor=actor, action="household.create", target_type="registry.household",
                     target_id=household.pk, fields=["number", "room", "grid"])
    return household


# --- persons --------------------------------------------------------------------------------


def _id_number_columns(raw: str | None, *, exclude_pk: int | None) -> dict[str, Any]:
    """Validate, check for a duplicate, and return the three stored forms (or blanks)."""
    if raw is None or not raw.strip():
        return {"id_number_enc": "", "id_number_bidx": "", "id_number_masked": ""}
    parsed = parse_id_number(raw)
    bidx = pii.blind_index(parsed.value, field=PII_ID_NUMBER)
    clash = Person.objects.filter(id_number_bidx=bidx)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationFailed("id_number", _("该身份证号已登记"), code=ErrorCode.CONFLICT)
    return {
        "id_number_enc": pii.encrypt(parsed.value, field=PII_ID_NUMBER),
        "id_number_bidx": bidx,
        "id_number_masked": pii.mask_id_number(parsed.value),
    }


def _phone_columns(raw: str | None) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {"phone_enc": "", "phone_bidx": "", "phone_masked": ""}
    phone = parse_phone(raw)
    return {
        "phone_enc": pii.encrypt(phone, field=PII_PHONE),
        "phone_bidx": pii.blind_index(phone, field=PII_PHONE),
        "phone_masked": pii.mask_phone(phone),
    }


def _name_columns(name: str) -> dict[str, str]:
    name = name.strip()
    if not name:
        raise ValidationFailed("name", _("姓名不能为空"))
    full, initials = pinyin_keys(name)
    return {"name": name, "name_pinyin": full, "name_initials": initials}


def _derived_birth_and_sex(
    id_number: str | None, *, birth_date: date | None, sex: str | None,
) -> tuple[date | None, str]:
    if id_number is None or not id_number.strip():
        return birth_date, sex or ""
    parsed = parse_id_number(id_number)
    check_birth_and_sex(parsed, birth_date=birth_date, sex=sex)
    return parsed.birth_date, parsed.sex


def person_create(
    *,
    actor: Actor,
    name: str,
    id_number: str | None,
    phone: str | None,
    birth_date: date | None = None,
    sex: str | None = None,
    hukou: HukouStatus | str,
    ethnicity: str = "汉族",
    room: Room | None = None,
    household: Household | None = None,
    relation: str = "",
    grid: Area | None = None,
    request_id: str = "",
) -> Person:
    """Register a person. Grid and building follow the room, else the household, else ``grid``."""
    columns = _name_columns(name) | _phone_columns(phone)
    born, derived_sex = _derived_birth_and_sex(id_number, birth_date=birth_date, sex=sex)
    if room is not None:
        building: Building | None = room.building
        grid_id: int | None = room.building.grid_id
    else:
        building = None
        grid_id = household.grid_id if household is not None else (grid.pk if grid else None)
    with transaction.atomic():
        columns |= _id_number_columns(id_number, exclude_pk=None)
        person = Person.objects.create(
            **columns, birth_date=born, sex=derived_sex, hukou=hukou, ethnicity=ethnicity,
            room=room, building=building, grid_id=grid_id, household=household, relation=relation,
        )
        if household is not None and relation == "head" and household.head_id is None:
            Household.objects.filter(pk=household.pk).update(head=person)
        audit_record(actor=actor, action="person.create", target_type=PERSON, target_id=person.pk,
                     fields=[*sorted(k for k, v in columns.items() if v), "hukou", "room"],
                     request_id=request_id)
    return person


def person_update(
    *,
    actor: Actor,
    person: Person,
    name: str | _Unset = UNSET,
    id_number: str | _Unset | None = UNSET,
    phone: str | _Unset | None = UNSET,
    birth_date: date | _Unset | None = UNSET,
    sex: str | _Unset | None = UNSET,
    hukou: str | _Unset = UNSET,
    ethnicity: str | _Unset = UNSET,
    household: Household | _Unset | None = UNSET,
    relation: str | _Unset = UNSET,
    request_id: str = "",
) -> Person:
    """Change the given fields only; ``None`` clears an identifier or a date."""
    changed: list[str] = []
    values: dict[str, Any] = {}
    if not isinstance(name, _Unset):
        values |= _name_columns(name)
        changed.append("name")
    if not isinstance(phone, _Unset):
        values |= _phone_columns(phone)
        changed.append("phone")
    if not isinstance(id_number, _Unset) or not isinstance(birth_date, _Unset) or not isinstance(sex, _Unset):
        # Birth date and sex are checked against the ID number the person will have.
        new_id = None if isinstance(id_number, _Unset) else id_number
        given_birth = person.birth_date if isinstance(birth_date, _Unset) else birth_date
        given_sex = person.sex if isinstance(sex, _Unset) else sex
        if isinstance(id_number, _Unset) and person.id_number_enc:
            new_id = pii.decrypt(person.id_number_enc, field=PII_ID_NUMBER)
        values["birth_date"], values["sex"] = _derived_birth_and_sex(
            new_id, birth_date=given_birth, sex=given_sex,
        )
        changed += [f for f, v in (("id_number", id_number), ("birth_date", birth_date),
                                   ("sex", sex)) if not isinstance(v, _Unset)]
    for field, value in (("hukou", hukou), ("ethnicity", ethnicity), ("household", household),
                         ("relation", relation)):
        if not isinstance(value, _Unset):
            values[field] = value
            changed.append(field)
    with transaction.atomic():
        if not isinstance(id_number, _Unset):
            values |= _id_number_columns(id_number, exclude_pk=person.pk)
        for field, value in values.items():
            setattr(person, field, value)
        person.save()
        audit_record(actor=actor, action="person.update", target_type=PERSON, target_id=person.pk,
                     fields=changed, request_id=request_id)
    return person


def person_move(*, actor: Actor, person: Person, room: Room | None, request_id: str = "") -> Person:
    """Move a person to a room (or out of any room); grid and building follow the room."""
    with transaction.atomic():
        person.room = room
        if room is not None:
            person.building_id = room.building_id
            person.grid_id = room.building.grid_id
        else:
            person.building = None
        person.save(update_fields=["room", "building", "grid", "updated_at"])
        audit_record(actor=actor, action="person.move", target_type=PERSON, target_id=person.pk,
                     fields=["room", "building", "grid"], request_id=request_id)
    return person


def person_mark_deceased(
    *, actor: Actor, person: Person, deceased_on: date, request_id: str = "",
) -> Person:
    if deceased_on > timezone.localdate():
        raise ValidationFailed("deceased_on", _("死亡日期不能晚于今天"))
    if person.birth_date is not None and deceased_on < person.birth_date:
        raise ValidationFailed("deceased_on", _("死亡日期不能早于出生日期"))
    with transaction.atomic():
        person.is_deceased = True
        person.deceased_on = deceased_on
        person.save(update_fields=["is_deceased", "deceased_on", "updated_at"])
        audit_record(actor=actor, action="person.mark_deceased", target_type=PERSON,
                     target_id=person.pk, fields=["is_deceased", "deceased_on"],
                     request_id=request_id)
    return person


def person_tag_add(
    *,
    actor: Actor,
    person: Person,
    kind: str,
    source: str,
    valid_from: date,
    valid_to: date | None = None,
    note: str = "",
) -> PersonTag:
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("valid_to", _("截止日期不能早于起始日期"))
    if not source.strip():
        raise ValidationFailed("source", _("请填写标签来源"))
    with transaction.atomic():
        tag = PersonTag.objects.create(person=person, kind=kind, source=source.strip(),
                                       valid_from=valid_from, valid_to=valid_to, note=note)
        audit_record(actor=actor, action="person.tag_add", target_type=PERSON, target_id=person.pk,
                     fields=["tags"])
    return tag


def person_tag_end(*, actor: Actor, tag: PersonTag, valid_to: date) -> PersonTag:
    if valid_to < tag.valid_from:
        raise ValidationFailed("valid_to", _("截止日期不能早于起始日期"))
    with transaction.atomic():
        tag.valid_to = valid_to
        tag.save(update_fields=["valid_to", "updated_at"])
        audit_record(actor=actor, action="person.tag_end", target_type=PERSON,
                     target_id=tag.person_id, fields=["tags"])
    return tag


def person_reveal(
    *,
    actor: User,
    person: Person,
    field: Literal["id_number", "phone"],
    reason: str,
    request_id: str = "",
) -> str:
    """The full identifier, for a permitted user with a reason; the reveal is audited."""
    scope = scope_for(actor)
    if person.grid_id is None or person.grid_id not in scope.grid_ids:
        raise NotFound()
    if not scope.can(Permission.REVEAL_PII):
        raise PermissionDenied(_("无权查看完整证件号和电话"))
    if field not in ("id_number", "phone"):
        raise ValidationFailed("field", _("只能查看身份证号或电话"))
    if len(reason.strip()) < REVEAL_REASON_MIN:
        raise ValidationFailed("reason", _("请填写查看事由(至少4个字)"))
    token = person.id_number_enc if field == "id_number" else person.phone_enc
    if not token:
        raise ValidationFailed("field", _("该人员未登记此项"))
    value = pii.decrypt(token, field=PII_ID_NUMBER if field == "id_number" else PII_PHONE)
    with transaction.atomic():
        # cast: core's UserLike declares a writable ``pk: int | None``, User's is ``int``.
        audit_record(actor=cast("Actor", actor), action="person.reveal", target_type=PERSON, target_id=person.pk,
                     fields=[field], reason=reason.strip(), request_id=request_id)
    return value


def person_access_record(*, actor: Actor, person: Person, request_id: str = "") -> bool:
    """Log that someone opened a person with sensitive tags (PIPL art. 28). True when logged."""
    today = timezone.localdate()
    kinds = sorted(set(
        PersonTag.objects.filter(person=person, kind__in=SENSITIVE_TAGS, valid_from__lte=today)
        .exclude(valid_to__lt=today).values_list("kind", flat=True),
    ))
    if not kinds:
        return False
    with transaction.atomic():
        audit_record(actor=actor, action="person.view_sensitive", target_type=PERSON,
                     target_id=person.pk, fields=["tags"], request_id=request_id)
    return True


# --- organisations and facilities -----------------------------------------------------------


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


# --- export ---------------------------------------------------------------------------------

# Masked columns only: an export never carries a full ID number or phone.
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

"""Writes of persons: registration, changes, moves, death, tags; and the audited reveal of a
full identifier. One person per ID number: checked first for a friendly error, held by
the database's unique index under concurrent writes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, Final, Literal, cast

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core import pii
from linli.core.actors import Actor, SystemActor
from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record, audit_record_many, audit_record_standalone
from linli.geo.models import Area
from linli.registry.choices import SENSITIVE_TAGS, HukouStatus
from linli.registry.models import Building, Household, Person, PersonTag, Room
from linli.registry.selectors import PersonRow, classify_query, placement_pool
from linli.registry.services.guards import _require_scope
from linli.registry.services.suffixes import suffix_columns
from linli.registry.text import PII_ID_NUMBER, PII_PHONE, pinyin_keys
from linli.registry.validators import (
    check_birth_and_sex,
    parse_id_number,
    parse_phone,
    to_half_width,
)

PERSON: Final = "registry.person"
REVEAL_REASON_MIN: Final = 4
ID_NUMBER_UNIQUE: Final = "person_id_number_bidx_uniq"


class _Unset:
    """Marker for "leave this field as it is" in updates."""


UNSET: Final = _Unset()


def _id_number_columns(raw: str | None, *, exclude_pk: int | None) -> dict[str, Any]:
    """Validate, check for a duplicate, and return the three stored forms (or blanks)."""
    if raw is None or not raw.strip():
        return {"id_number_enc": "", "id_number_bidx": "", "id_number_masked": "",
                "id_number_s4_bidx": "", "id_number_s6_bidx": ""}
    parsed = parse_id_number(raw)
    bidx = pii.blind_index(parsed.value, field=PII_ID_NUMBER)
    if _id_number_taken(bidx, exclude_pk=exclude_pk):
        raise _id_number_clash()
    return {
        "id_number_enc": pii.encrypt(parsed.value, field=PII_ID_NUMBER),
        "id_number_bidx": bidx,
        "id_number_masked": pii.mask_id_number(parsed.value),
        **suffix_columns("id_number", parsed.value),
    }


def _id_number_taken(bidx: str, *, exclude_pk: int | None) -> bool:
    clash = Person.objects.filter(id_number_bidx=bidx)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    return clash.exists()


def _id_number_clash() -> ValidationFailed:
    return ValidationFailed("id_number", _("该身份证号已登记"), code=ErrorCode.CONFLICT)


@contextmanager
def _id_number_unique() -> Iterator[None]:
    """Turn a lost race on the unique ID index into the refusal the early check gives.

    Wrap it around the ``transaction.atomic`` block, so the block is rolled back first.
    """
    try:
        yield
    except IntegrityError as error:
        # PostgreSQL names the constraint, SQLite the column of the partial unique index.
        text = str(error)
        if ID_NUMBER_UNIQUE in text or "registry_person.id_number_bidx" in text:
            raise _id_number_clash() from error
        raise


def _phone_columns(raw: str | None) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {"phone_enc": "", "phone_bidx": "", "phone_masked": "", "phone_s4_bidx": "", "phone_s6_bidx": ""}
    phone = parse_phone(raw)
    return {
        "phone_enc": pii.encrypt(phone, field=PII_PHONE),
        "phone_bidx": pii.blind_index(phone, field=PII_PHONE),
        "phone_masked": pii.mask_phone(phone),
        **suffix_columns("phone", phone),
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
    if room is None and household is None and grid is None and not isinstance(actor, SystemActor):
        # A person in no grid is in no one's scope: a user could not see what they wrote.
        raise ValidationFailed("grid", _("请选择房屋或网格"))
    _require_scope(actor, room, household, grid if room is None and household is None else None)
    columns = _name_columns(name) | _phone_columns(phone)
    born, derived_sex = _derived_birth_and_sex(id_number, birth_date=birth_date, sex=sex)
    if room is not None:
        building: Building | None = room.building
        grid_id: int | None = room.building.grid_id
    else:
        building = None
        grid_id = household.grid_id if household is not None else (grid.pk if grid else None)
    with _id_number_unique(), transaction.atomic():
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
    _require_scope(actor, person, household if isinstance(household, Household) else None)
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
    with _id_number_unique(), transaction.atomic():
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
    _require_scope(actor, person, room)
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
    _require_scope(actor, person)
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
    _require_scope(actor, person)
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
    _require_scope(actor, tag.person)
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


def person_search_by_id_record(*, actor: Actor, query: str, found: Sequence[Person] | Sequence[PersonRow],
                               request_id: str = "") -> bool:
    """A search by a full ID number tells who holds that number: audited like a reveal (who,
    which persons it found, never the number). True when it was such a search."""
    text = " ".join(to_half_width(query).split())
    if not text or classify_query(text) != "id":
        return False
    ids = ",".join(str(person.pk) for person in found[:8])
    audit_record_standalone(actor=actor, action="person.search_id_number", target_type=PERSON,
                            target_id=ids[:64] or "-", reason=_("按完整身份证号查询,找到 %(n)s 人") % {"n": len(found)},
                            request_id=request_id)
    return True


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


def sensitive_tags_shown_record(
    *, actor: Actor, tags: Mapping[int, Iterable[str]], where: str, request_id: str = "",
) -> int:
    """Log that a page or response showed sensitive tags of these persons (PIPL art. 28).

    ``tags`` maps person ids to the tag kinds shown; persons without a sensitive kind are
    skipped. One ``person.view_sensitive`` entry per person, ``reason`` says where
    (``household:145``, ``building:12``, ``search``), so each person's history lists it.
    Returns the number of entries written.
    """
    shown = sorted(pk for pk, kinds in tags.items() if any(k in SENSITIVE_TAGS for k in kinds))
    if not shown:
        return 0
    with transaction.atomic():
        return audit_record_many(actor=actor, action="person.view_sensitive", target_type=PERSON,
                                 targets=[(pk, ["tags"]) for pk in shown], reason=where,
                                 request_id=request_id)
def person_place(*, actor: Actor, person: Person, room: Room, request_id: str = "") -> Person:
    """Place a not-yet-placed person (待落位) into a room of the actor's grids; the person then
    belongs to the room's grid like any resident. Audited as ``person.place``."""
    if person.grid_id is not None:
        raise ValidationFailed("room", _("该人员已落位,请用迁移功能"))
    _require_scope(actor, room)
    if not isinstance(actor, SystemActor) and person.area_id not in placement_pool(
            scope_for(actor if isinstance(actor, User) else None)):
        raise NotFound(_("人员不存在或不在您的管辖范围内"))
    with transaction.atomic():
        changed = Person.objects.filter(pk=person.pk, grid__isnull=True).update(
            room=room, building_id=room.building_id, grid_id=room.building.grid_id, area=None,
            updated_at=timezone.now())
        if not changed:  # placed by someone else meanwhile
            raise ValidationFailed("room", _("该人员已落位,请用迁移功能"))
        audit_record(actor=actor, action="person.place", target_type=PERSON, target_id=person.pk,
                     fields=["room", "building", "grid"], request_id=request_id)
    person.refresh_from_db()
    return person

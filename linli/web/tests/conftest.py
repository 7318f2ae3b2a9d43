"""A tiny street for the workbench tests, written straight through the ORM.

Grid A1 (近江社区) holds 望江路12号 with three rooms and one household; grid B1 (婺江社区)
holds 婺江路8号 with one household. Encrypted columns are filled with ``linli.core.pii``
exactly as the registry services would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from conftest import Tree
from linli.core import pii
from linli.registry.choices import Relation, RoomUse, Sex, TagKind
from linli.registry.models import Building, Household, Person, PersonTag, Room, Unit
from linli.registry.services.suffixes import suffix_columns
from linli.registry.text import PII_ID_NUMBER, PII_PHONE, pinyin_keys
from linli.registry.validators import id_number_check_char


def id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def make_person(
    *, name: str, first17: str, phone: str, birth: date, sex: str, room: Room,
    household: Household, relation: str,
) -> Person:
    number = id_number(first17)
    pinyin, initials = pinyin_keys(name)
    return Person.objects.create(
        name=name, name_pinyin=pinyin, name_initials=initials,
        id_number_enc=pii.encrypt(number, field=PII_ID_NUMBER),
        id_number_bidx=pii.blind_index(number, field=PII_ID_NUMBER),
        id_number_masked=pii.mask_id_number(number),
        phone_enc=pii.encrypt(phone, field=PII_PHONE),
        phone_bidx=pii.blind_index(phone, field=PII_PHONE),
        phone_masked=pii.mask_phone(phone),
        **suffix_columns("id_number", number), **suffix_columns("phone", phone),
        birth_date=birth, sex=sex, room=room, building=room.building,
        grid=room.building.grid, household=household, relation=relation,
    )


@dataclass
class Street:
    building_a: Building
    room_a101: Room
    room_a102: Room
    household_a: Household
    elder_a: Person
    spouse_a: Person
    building_b: Building
    household_b: Household
    person_b: Person
    elder_id_number: str
    elder_phone: str


@pytest.fixture
def street(tree: Tree) -> Street:
    building_a = Building.objects.create(
        grid=tree.grid_a1, compound="望江花园", name="12幢", address="望江路12号",
        lon=120.205, lat=30.205, floors=6,
    )
    unit_a = Unit.objects.create(building=building_a, number=1)
    room_a101 = Room.objects.create(unit=unit_a, building=building_a, floor=1, number="101")
    room_a102 = Room.objects.create(unit=unit_a, building=building_a, floor=1, number="102",
                                    use=RoomUse.RENTED)
    Room.objects.create(unit=unit_a, building=building_a, floor=2, number="201", use=RoomUse.VACANT)
    household_a = Household.objects.create(number="A-0001", room=room_a101, grid=tree.grid_a1)
    elder_a = make_person(
        name="王小明", first17="33010219500307123", phone="13812345678", birth=date(1950, 3, 7),
        sex=Sex.MALE, room=room_a101, household=household_a, relation=Relation.HEAD,
    )
    spouse_a = make_person(
        name="李芳", first17="33010219520811124", phone="13900001111", birth=date(1952, 8, 11),
        sex=Sex.FEMALE, room=room_a101, household=household_a, relation=Relation.SPOUSE,
    )
    household_a.head = elder_a
    household_a.save(update_fields=["head"])
    PersonTag.objects.create(person=elder_a, kind=TagKind.EMPTY_NEST_ELDER, source="民政",
                             valid_from=date(2020, 1, 1))
    PersonTag.objects.create(person=spouse_a, kind=TagKind.DISABLED, source="残联",
                             valid_from=date(2021, 5, 1))

    building_b = Building.objects.create(
        grid=tree.grid_b1, name="8幢", address="婺江路8号", lon=120.205, lat=30.215, floors=3,
    )
    unit_b = Unit.objects.create(building=building_b, number=1)
    room_b = Room.objects.create(unit=unit_b, building=building_b, floor=3, number="301")
    household_b = Household.objects.create(number="B-0001", room=room_b, grid=tree.grid_b1)
    person_b = make_person(
        name="王小红", first17="33010219800101222", phone="13700002222", birth=date(1980, 1, 1),
        sex=Sex.FEMALE, room=room_b, household=household_b, relation=Relation.HEAD,
    )
    return Street(
        building_a=building_a, room_a101=room_a101, room_a102=room_a102,
        household_a=household_a, elder_a=elder_a, spouse_a=spouse_a,
        building_b=building_b, household_b=household_b, person_b=person_b,
        elder_id_number=id_number("33010219500307123"), elder_phone="13812345678",
    )

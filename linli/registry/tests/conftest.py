"""Registry fixtures: one building per side of the tree, residents with identifiers and tags.

Grid a1 (community a): 江景苑 3幢, unit 1 and 2, rooms 101/102/201; 王小明 (ID
11010519491231002X, 13812345678) and 王晓红 in 101, 李强 (disabled, living alone) in 201.
Grid b1 (community b): 金色新村 12幢 with 王芳 in 101.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from linli.core.actors import SystemActor
from linli.registry import services
from linli.registry.choices import HukouStatus, RoomUse, TagKind
from linli.registry.models import Building, Household, Person, Room
from linli.registry.validators import id_number_check_char

ACTOR = SystemActor("test:registry")


def id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


@dataclass
class Registry:
    building_a: Building
    building_b: Building
    room_a101: Room
    room_a102: Room
    room_a201: Room
    room_b101: Room
    household_a101: Household
    wang: Person
    wang_wife: Person
    li: Person
    fang: Person


@pytest.fixture
def registry(tree, users) -> Registry:
    building_a = services.building_create(
        actor=ACTOR, grid=tree.grid_a1, name="3幢", compound="江景苑",
        address="望江路100号江景苑3幢", lon=120.205, lat=30.205, floors=2,
    )
    unit_a1 = services.unit_create(actor=ACTOR, building=building_a, number=1)
    unit_a2 = services.unit_create(actor=ACTOR, building=building_a, number=2)
    room_a101 = services.room_create(actor=ACTOR, unit=unit_a1, floor=1, number="101")
    room_a102 = services.room_create(actor=ACTOR, unit=unit_a1, floor=1, number="102",
                                     use=RoomUse.RENTED)
    room_a201 = services.room_create(actor=ACTOR, unit=unit_a1, floor=2, number="201")
    services.room_create(actor=ACTOR, unit=unit_a2, floor=1, number="101", use=RoomUse.VACANT)
    building_b = services.building_create(
        actor=ACTOR, grid=tree.grid_b1, name="12幢", compound="金色新村",
        address="婺江路8号金色新村12幢", lon=120.205, lat=30.215,
    )
    unit_b1 = services.unit_create(actor=ACTOR, building=building_b, number=1)
    room_b101 = services.room_create(actor=ACTOR, unit=unit_b1, floor=1, number="101")
    household = services.household_create(actor=ACTOR, number="H-A101", room=room_a101)
    wang = services.person_create(
        actor=ACTOR, name="王小明", id_number="11010519491231002X", phone="13812345678",
        hukou=HukouStatus.LOCAL, room=room_a101, household=household, relation="head",
    )
    wang_wife = services.person_create(
        actor=ACTOR, name="王晓红", id_number=id_number("33010219550302002"), phone=None,
        hukou=HukouStatus.LOCAL, room=room_a101, household=household, relation="spouse",
    )
    li = services.person_create(
        actor=ACTOR, name="李强", id_number=id_number("33010219400101001"), phone="0571-87654321",
        hukou=HukouStatus.LOCAL, room=room_a201,
    )
    services.person_tag_add(actor=ACTOR, person=li, kind=TagKind.DISABLED, source="残联",
                            valid_from=date(2020, 1, 1))
    services.person_tag_add(actor=ACTOR, person=li, kind=TagKind.LIVING_ALONE_ELDER, source="民政",
                            valid_from=date(2020, 1, 1))
    fang = services.person_create(
        actor=ACTOR, name="王芳", id_number=id_number("33010219900101002"), phone="13900001111",
        hukou=HukouStatus.MIGRANT, room=room_b101,
    )
    household.refresh_from_db()
    return Registry(building_a, building_b, room_a101, room_a102, room_a201, room_b101,
                    household, wang, wang_wife, li, fang)
